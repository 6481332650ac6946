package copy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
)

// childEnv, when set, makes this test binary a copy process of the kill test below
// instead of running tests: a SIGKILL has to land on a process of its own, with no
// chance to save anything on its way out.
const childEnv = "COPY_TEST_KILLED_CHILD"

// child is what a copy process is told to do.
type child struct {
	Src, Dst testenv.Conn
	State    string
	Shard    copy.Shard
}

const killWorkers = 4

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		if err := runChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChild(spec string) error {
	var c child
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		return err
	}
	open := func(conn testenv.Conn) (*s3.Client, error) {
		return s3.New(s3.Options{Endpoint: conn.Endpoint, AccessKey: conn.AccessKey, SecretKey: conn.SecretKey, Region: "us-east-1"})
	}
	src, err := open(c.Src)
	if err != nil {
		return err
	}
	dst, err := open(c.Dst)
	if err != nil {
		return err
	}
	e := &copy.Engine{Src: src, Dst: dst, Checkpoints: checkpoint.Dir(c.State),
		Opt: copy.Options{Workers: killWorkers, Ranges: 8, Shard: c.Shard, CheckpointEvery: 50 * time.Millisecond}}
	res, err := e.Run(context.Background(), recordings)
	if err != nil {
		return err
	}
	if !res[0].OK() {
		return fmt.Errorf("not OK: %+v", res[0])
	}
	return nil
}

// A SIGKILL in the middle of a pass listed in ranges, the process alone or one of two
// shards at once: the restart resumes every range the killed process held, each from
// its own watermark (it handles exactly the keys past them, no more), and no object is
// copied twice beyond those in flight at the kill.
func TestSIGKILLMidParallelPassResumesEveryRange(t *testing.T) {
	t.Parallel()
	for _, shards := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d shards", shards), func(t *testing.T) {
			t.Parallel()
			killMidParallelPass(t, shards)
		})
	}
}

func killMidParallelPass(t *testing.T, shards int) {
	ctx := context.Background()
	r := newRig(t, many)
	keys := r.src.Snapshot(seed.Recordings)
	pair := recordings[0]
	if shards == 1 {
		// A first pass lists as one stream and learns where the keys are; emptied, the
		// destination gives the next pass, split in ranges, everything to copy again.
		// (Shards split a bucket from its first pass on.)
		run(t, r.engine(copy.Options{Workers: killWorkers, Ranges: 8}))
		emptyBucket(t, r.dst, pair.Dest)
	}
	// From here on every PUT makes a version: an object copied twice shows as two.
	if err := r.dst.Client().EnableVersioning(ctx, pair.Dest); err != nil {
		t.Fatal(err)
	}
	// Slower than loopback, so that the kill lands in the middle of the pass.
	link := testenv.StartToxi(t, r.dst)
	link.Latency("slow", "downstream", 10, 0)
	dst := r.dst.Conn()
	dst.Endpoint = link.Endpoint

	shard := func(i int) copy.Shard { return copy.Shard{Index: i, Count: shards} }
	procs := make([]*copyProcess, shards)
	for i := range shards {
		procs[i] = startCopyProcess(t, child{Src: r.src.Conn(), Dst: dst, State: string(r.state), Shard: shard(i)})
	}

	// Wait until the first process's checkpoint shows ranges being listed at once, with
	// the pass not over, then kill it.
	name := copy.CheckpointName(pair, shard(0))
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if st, err := r.state.Load(ctx, name); err == nil && midway(st.Ranges) {
			break
		}
		if procs[0].ended() {
			t.Fatalf("the copy ended before it could be killed mid-pass:\n%s", procs[0].out.String())
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint showed two ranges under way in two minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	procs[0].kill(t)
	for _, p := range procs[1:] {
		p.wait(t)
	}

	// What the killed process held, as it left it: its checkpoint's ranges and, for a
	// shard, the ranges it had claimed (a claim can be a moment ahead of the checkpoint).
	st, err := r.state.Load(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	held := st.Ranges
	if shards > 1 {
		claimed, err := copy.ClaimedRanges(ctx, r.state, pair, shard(0), st.Generation)
		if err != nil {
			t.Fatal(err)
		}
		byIndex := map[int]checkpoint.Range{}
		for _, rg := range st.Ranges {
			byIndex[rg.Index] = rg
		}
		held = nil
		for _, rg := range claimed {
			if saved, ok := byIndex[rg.Index]; ok {
				rg = saved
			}
			held = append(held, rg)
		}
		if len(claimed) < 2 {
			t.Fatalf("the killed shard had claimed %d ranges: %+v", len(claimed), claimed)
		}
	}
	left := keysAbove(keys, held)
	if left == 0 || left == len(keys) {
		t.Fatalf("the kill left %d of %d keys past the watermarks: not mid-pass", left, len(keys))
	}

	res, err := r.engine(copy.Options{Workers: killWorkers, Ranges: 8, Shard: shard(0)}).Run(ctx, recordings)
	if err != nil {
		t.Fatal(err)
	}
	if got := res[0].Copied + res[0].Skipped; got != int64(left) || !res[0].OK() {
		t.Fatalf("the restart handled %d objects (%+v); want the %d past the watermarks of the ranges it held: %+v",
			got, res[0], left, held)
	}
	testenv.AssertSame(t, r.src, seed.Recordings, r.dst, pair.Dest, true)
	twice := 0
	for o := range r.dst.Client().ListObjects(ctx, pair.Dest, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if !o.IsLatest {
			twice++
			t.Logf("%s was copied twice", o.Key)
		}
	}
	if twice > 2*killWorkers {
		t.Fatalf("%d objects were copied twice; want at most the %d that can be in flight", twice, 2*killWorkers)
	}
}

// midway: at least two ranges have a watermark, and not every range is done.
func midway(ranges []checkpoint.Range) bool {
	moved, done := 0, 0
	for _, rg := range ranges {
		if rg.Watermark > rg.After {
			moved++
		}
		if rg.Done {
			done++
		}
	}
	return moved >= 2 && done < len(ranges)
}

// copyProcess is this test binary run as a copy process (see TestMain).
type copyProcess struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan error
}

func startCopyProcess(t *testing.T, c child) *copyProcess {
	t.Helper()
	spec, _ := json.Marshal(c)
	p := &copyProcess{cmd: exec.Command(os.Args[0], "-test.run=^$"), out: new(bytes.Buffer), done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

func (p *copyProcess) ended() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return true
	default:
		return false
	}
}

func (p *copyProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func (p *copyProcess) wait(t *testing.T) {
	t.Helper()
	if err := <-p.done; err != nil {
		t.Fatalf("a copy process failed: %v\n%s", err, p.out.String())
	}
}
