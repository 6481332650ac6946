package main_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
)

var binary string

func TestMain(m *testing.M) {
	var err error
	if binary, err = testenv.BuildMigrator(); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(filepath.Dir(binary))
	os.Exit(code)
}

var destBuckets = testenv.SiteBuckets

// site is the end-to-end rig (testenv.Site) with this package's helpers on it.
type site struct {
	*testenv.Site
	t *testing.T
}

func newSite(t *testing.T, spec seed.Spec, workers int) *site {
	t.Helper()
	return newSiteOn(t, spec, workers, testenv.StartMinIO(t))
}

// newSiteOn is newSite with the destination server the test started.
func newSiteOn(t *testing.T, spec seed.Spec, workers int, dst *testenv.MinIO) *site {
	t.Helper()
	return &site{t: t, Site: testenv.NewSite(t, testenv.SiteOptions{Spec: spec, Workers: workers, Dest: dst, Config: "gracePeriod: 20s\n"})}
}

func TestCopyThenVerify(t *testing.T) {
	t.Parallel()
	spec := seed.Spec{Sessions: 20, Assets: 20, Sourcemaps: 4, LargeEvery: 10, LargeMax: 11 << 20, Odd: true, Seed: 3}
	s := newSite(t, spec, 8)
	metricsFile := filepath.Join(s.Dir, "textfile", "migrator.prom")
	if err := os.MkdirAll(filepath.Dir(metricsFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if code, out := s.Run("copy", "--config", s.Config, "--metrics-file", metricsFile); code != 0 {
		t.Fatalf("copy exited %d:\n%s", code, out)
	}
	s.AssertIdentical()
	// The metrics file holds the finished run, for node_exporter's textfile collector:
	// every object counted, and none of the go_ or process_ families node_exporter has.
	f, err := os.Open(metricsFile)
	if err != nil {
		t.Fatal(err)
	}
	series, err := testenv.ParseMetrics(f)
	f.Close()
	if err != nil {
		t.Fatalf("metrics file does not parse: %v", err)
	}
	if got, want := testenv.Sum(series, "openreplay_migrator_objects_total", `result="copied"`), float64(len(seed.Plan(spec))); got != want {
		t.Errorf("metrics file counts %v objects copied, want %v", got, want)
	}
	for name := range series {
		if !strings.HasPrefix(name, "openreplay_migrator_") {
			t.Errorf("metrics file holds %s; node_exporter would refuse the file", name)
			break
		}
	}
	for _, deep := range []string{"--deep=false", "--deep"} {
		code, out := s.Run("verify", "--config", s.Config, deep)
		if code != 0 || !strings.Contains(out, "destination matches source") {
			t.Fatalf("verify %s exited %d:\n%s", deep, code, out)
		}
	}
	// A lost object makes verify fail, naming it.
	if err := s.Dst.Client().RemoveObject(context.Background(), "openreplay-assets", seed.OddKeys[0], minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out := s.Run("verify", "--config", s.Config)
	if code != 1 || !strings.Contains(out, fmt.Sprintf("missing   %q", seed.OddKeys[0])) {
		t.Fatalf("verify after a deletion exited %d:\n%s", code, out)
	}
}

// SIGKILL at random instants, three times over one copy: every restart resumes, the end
// state is identical, and no object is written twice beyond those in flight at a kill.
// With stateS3 each restart also gets an empty state folder, as a pod rescheduled
// without a volume would: it resumes from the checkpoints kept in the bucket.
func TestSIGKILLMidCopyLosesNothing(t *testing.T) {
	t.Parallel()
	for _, where := range []string{"stateDir", "stateS3"} {
		t.Run(where, func(t *testing.T) {
			t.Parallel()
			sigkillMidCopy(t, where == "stateS3")
		})
	}
}

func sigkillMidCopy(t *testing.T, inBucket bool) {
	const workers, kills = 4, 3
	s := newSite(t, seed.Spec{Sessions: 150, Assets: 100, Sourcemaps: 10, LargeEvery: 15, LargeMax: 16 << 20, Seed: 8}, workers)
	ctx := context.Background()
	dc := s.Dst.Client()
	for _, d := range destBuckets {
		// Every PUT makes a version: an object copied twice shows as two versions.
		if err := dc.EnableVersioning(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var states checkpoint.Store = checkpoint.Dir(filepath.Join(s.Dir, "state"))
	config := func(int) string { return s.Config }
	if inBucket {
		s.Dst.MakeBuckets("migrator-state")
		c, err := s3.New(s3.Options{Endpoint: s.Dst.Endpoint, AccessKey: s.Dst.AccessKey, SecretKey: s.Dst.SecretKey, Region: "us-east-1"})
		if err != nil {
			t.Fatal(err)
		}
		states = checkpoint.S3{Objects: c, Bucket: "migrator-state", Prefix: "openreplay/"}
		body, err := os.ReadFile(s.Config)
		if err != nil {
			t.Fatal(err)
		}
		config = func(run int) string {
			local := filepath.Join(s.Dir, fmt.Sprintf("pod-%d", run))
			return s.WriteConfig(strings.Replace(string(body), filepath.Join(s.Dir, "state"), local, 1) + "stateS3: s3://migrator-state/openreplay\n")
		}
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	killed := 0
	for i := 0; i < kills; i++ {
		cmd, out := s.Command("copy", "--config", config(i))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill once the copy has made some progress in this run, at a random point.
		target := s.DestCount() + 5 + r.IntN(60)
		s.WaitForCopies(target, cmd)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Logf("run %d ended before the kill (%v):\n%s", i, err, out)
			continue
		}
		killed++
	}
	if killed == 0 {
		t.Fatal("the copy always finished before the kill: the data set is too small to test a crash")
	}
	st, err := states.Load(ctx, "mobs--openreplay-recordings")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after %d kills the recordings checkpoint (%s) says: watermark %q, %d copied, %d uploads open", killed, states, st.Watermark, st.Copied, len(st.Uploads))
	code, out := s.Run("copy", "--config", config(kills))
	if code != 0 {
		t.Fatalf("final copy exited %d:\n%s", code, out)
	}
	if st.Watermark != "" && !strings.Contains(out, st.Watermark) {
		t.Errorf("the checkpoint held watermark %q, but the restart did not resume from it:\n%s", st.Watermark, out)
	}
	if inBucket {
		st, err := states.Load(ctx, "mobs--openreplay-recordings")
		if err != nil || st.LastComplete.IsZero() {
			t.Errorf("after the final copy the bucket's checkpoint says %+v (%v); want a completed pass", st, err)
		}
		local, _ := filepath.Glob(filepath.Join(s.Dir, "pod-*", "*.json"))
		if len(local) > 0 {
			t.Errorf("with stateS3, checkpoints were written to the state folder: %v", local)
		}
	}
	s.AssertIdentical()
	twice := 0
	for _, d := range destBuckets {
		seen := map[string]int{}
		for o := range dc.ListObjects(ctx, d, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			seen[o.Key]++
		}
		for _, n := range seen {
			twice += n - 1
		}
	}
	t.Logf("%d objects copied twice over %d kills with %d workers", twice, killed, workers)
	if twice > killed*workers {
		t.Fatalf("%d objects copied twice; at most %d were in flight at the kills", twice, killed*workers)
	}
}

// SIGTERM during a copy: in-flight objects finish, the checkpoint is written, and the run
// says it was interrupted, on stdout and in its exit status (3, not 0: a script or a
// Job must not take it for a finished copy), with how many objects it left.
func TestSIGTERMFinishesInFlightAndSaysInterrupted(t *testing.T) {
	t.Parallel()
	spec := seed.Spec{Sessions: 150, Assets: 50, Sourcemaps: 5, LargeEvery: 10, LargeMax: 16 << 20, Seed: 4}
	s := newSite(t, spec, 4)
	cmd, out := s.Command("copy", "--config", s.Config, "--log-format", "json")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.WaitForCopies(30, cmd)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("copy after SIGTERM: %v, want exit status 3\n%s%s", err, out, &stdout)
	}
	m := regexp.MustCompile(`(?m)^interrupted: (\d+) objects not copied yet(, and an unknown number in [^;]+)?; .*run the same command again to resume$`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("stdout does not say the run was interrupted:\n%s", &stdout)
	}
	// Exact once every bucket's count has ended, as it has long before 30 copies here;
	// a bucket not yet listed to the end is named instead.
	if left, want := m[1], fmt.Sprint(len(seed.Plan(spec))-s.DestCount()); m[2] == "" && left != want {
		t.Errorf("stdout says %s objects are left; the destination lacks %s:\n%s", left, want, &stdout)
	}
	st, err := checkpoint.Dir(filepath.Join(s.Dir, "state")).Load(context.Background(), "mobs--openreplay-recordings")
	if err != nil || st.PassStarted.IsZero() || st.Copied == 0 || len(st.Uploads) != 0 {
		t.Fatalf("checkpoint after SIGTERM: %+v, %v; want a pass in progress with copies and no open upload", st, err)
	}
	for _, d := range destBuckets {
		testenv.AssertNoUploads(t, s.Dst, d)
	}
	if code, out := s.Run("copy", "--config", s.Config); code != 0 {
		t.Fatalf("resumed copy exited %d:\n%s", code, out)
	}
	s.AssertIdentical()
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
