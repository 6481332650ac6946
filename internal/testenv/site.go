package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
)

// SiteBuckets pairs each bucket a Site seeds (OpenReplay's default names) with the
// destination bucket its config copies it to.
var SiteBuckets = map[string]string{
	seed.Recordings: "openreplay-recordings",
	seed.Assets:     "openreplay-assets",
	seed.Sourcemaps: "openreplay-sourcemaps",
}

// SiteOptions say what a Site starts with.
type SiteOptions struct {
	Spec    seed.Spec // what the source holds (seed.Plan)
	Workers int       // the config's workers
	// Dest is the destination server, for a test that needs one started its own way
	// (KMS, TLS, a given disk); nil starts a plain MinIO.
	Dest *MinIO
	// Config is appended to the config file's common part (see ConfigText).
	Config string
}

// Site is what every end-to-end test starts from: two real servers, the source seeded
// like an OpenReplay install, the destination buckets made, a config file naming both,
// the keys in the environment the migrator reads them from, and the migrator binary.
// Fields may be changed by a test (another Env for one run, another Dst after a crash).
type Site struct {
	Src, Dst *MinIO
	Dir      string   // the test's folder: configs, state, logs
	Config   string   // the config file's path
	Env      []string // os.Environ and both sides' keys; the last of a name wins
	Binary   string   // the migrator

	t       *testing.T
	workers int
	logs    atomic.Int64
}

// NewSite starts a Site. Everything it starts ends with the test.
func NewSite(t *testing.T, o SiteOptions) *Site {
	t.Helper()
	s := &Site{Src: StartMinIO(t), Dst: o.Dest, Dir: t.TempDir(), Binary: Migrator(t), t: t, workers: o.Workers}
	if s.Dst == nil {
		s.Dst = StartMinIO(t)
	}
	s.Src.MakeBuckets(seed.Recordings, seed.Assets, seed.Sourcemaps)
	if _, err := seed.Write(context.Background(), s.Src.Client(), seed.Plan(o.Spec), 8); err != nil {
		t.Fatal(err)
	}
	for _, d := range SiteBuckets {
		s.Dst.MakeBuckets(d)
	}
	s.Config = s.WriteConfig(s.ConfigText(s.Dst.Endpoint, o.Config))
	s.Env = append(os.Environ(),
		"MIGRATOR_SOURCE_ACCESS_KEY="+s.Src.AccessKey, "MIGRATOR_SOURCE_SECRET_KEY="+s.Src.SecretKey,
		"MIGRATOR_DESTINATION_ACCESS_KEY="+s.Dst.AccessKey, "MIGRATOR_DESTINATION_SECRET_KEY="+s.Dst.SecretKey)
	return s
}

// ConfigText is the site's config with the destination at dstEndpoint (the server
// itself, or a proxy in front of it), then extra.
func (s *Site) ConfigText(dstEndpoint, extra string) string {
	return fmt.Sprintf(`source:      {endpoint: %s, region: us-east-1}
destination: {endpoint: %s, region: us-east-1}
buckets:     {mobs: %s, sessions-assets: %s, sourcemaps: %s}
workers: %d
stateDir: %s
allowInsecure: true
`, s.Src.Endpoint, dstEndpoint, SiteBuckets[seed.Recordings], SiteBuckets[seed.Assets], SiteBuckets[seed.Sourcemaps],
		s.workers, filepath.Join(s.Dir, "state")) + extra
}

// WriteConfig writes a config file of its own and returns its path.
func (s *Site) WriteConfig(body string) string {
	p := filepath.Join(s.Dir, fmt.Sprintf("config-%d.yaml", time.Now().UnixNano()))
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// Command is the migrator with args in the site's environment, its stdout and stderr
// both into the buffer returned.
func (s *Site) Command(args ...string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.Command(s.Binary, args...)
	cmd.Env = s.Env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// Run runs the migrator to its end and returns its exit status and output.
func (s *Site) Run(args ...string) (int, string) {
	s.t.Helper()
	cmd, out := s.Command(args...)
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return 0, out.String()
}

// AssertIdentical fails the test unless every destination bucket holds what its source
// bucket holds, with the same ETags, and no multipart upload is left open.
func (s *Site) AssertIdentical() {
	s.t.Helper()
	for src, dst := range SiteBuckets {
		AssertSame(s.t, s.Src, src, s.Dst, dst, true)
		AssertNoUploads(s.t, s.Dst, dst)
	}
}

// DestCount is how many objects the destination holds in all buckets.
func (s *Site) DestCount() int {
	n := 0
	for _, d := range SiteBuckets {
		for o := range s.Dst.Client().ListObjects(context.Background(), d, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil {
				n++
			}
		}
	}
	return n
}

// WaitForCopies waits until the destination holds n objects, or cmd exited (the
// caller then sees that it did).
func (s *Site) WaitForCopies(n int, cmd *exec.Cmd) {
	s.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for s.DestCount() < n && time.Now().Before(deadline) {
		if cmd.ProcessState != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Process is a migrator started in the background (a `serve`), its output in a file.
type Process struct {
	Cmd *exec.Cmd
	Log string // the file its stdout and stderr go to
}

// Start starts the migrator with args and stops it (as Stop does) when the test ends;
// a failed test shows the tail of its log.
func (s *Site) Start(args ...string) *Process {
	t := s.t
	t.Helper()
	p := &Process{Cmd: exec.Command(s.Binary, args...),
		Log: filepath.Join(s.Dir, fmt.Sprintf("migrator-%d.log", s.logs.Add(1)))}
	out, err := os.Create(p.Log)
	if err != nil {
		t.Fatal(err)
	}
	p.Cmd.Env = s.Env
	p.Cmd.Stdout, p.Cmd.Stderr = out, out
	// The test binary may die without running its cleanups; the migrator goes with it.
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.Cmd.Start(); err != nil {
		out.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(p.Log)
			t.Logf("migrator log %s (tail):\n%s", p.Log, tail(string(b), 4000))
		}
	})
	return p
}

// Stop ends the process as Kubernetes would (SIGTERM, then SIGKILL after a grace
// period) and waits for it. Stopping a stopped process does nothing.
func (p *Process) Stop() {
	if p.Cmd.ProcessState != nil {
		return
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.Cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.Cmd.Process.Kill()
		<-done
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
