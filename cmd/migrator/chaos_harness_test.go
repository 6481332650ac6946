package main_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// The fault suite runs short by default (in `make test`); `make chaos` sets
// MIGRATOR_CHAOS=full for the long version (20 kills, more data, longer faults) and
// MIGRATOR_CHAOS_TABLE to a file that receives the per-scenario table. Under -short,
// scenarios with two variants (source and destination restart, truncated and garbage
// checkpoint) run one.
func chaosFull() bool { return os.Getenv("MIGRATOR_CHAOS") == "full" }

// pick returns short in the default run and full under MIGRATOR_CHAOS=full.
func pick[T any](short, full T) T {
	if chaosFull() {
		return full
	}
	return short
}

// chaosSpec is the data every fault scenario copies: recordings with several multipart
// objects (so bodies are cut in the middle of parts), assets and sourcemaps.
func chaosSpec(seedN uint64) seed.Spec {
	return pick(
		seed.Spec{Sessions: 24, Assets: 16, Sourcemaps: 3, LargeEvery: 8, LargeMax: 11 << 20, Odd: true, Seed: seedN},
		seed.Spec{Sessions: 120, Assets: 80, Sourcemaps: 10, LargeEvery: 12, LargeMax: 16 << 20, Odd: true, Seed: seedN},
	)
}

// multipartSpec is a data set where a third of the recordings are multipart, for the
// kills: most instants then find uploads in progress.
func multipartSpec(seedN uint64) seed.Spec {
	return pick(
		seed.Spec{Sessions: 24, Assets: 16, Sourcemaps: 3, LargeEvery: 3, LargeMax: 11 << 20, Seed: seedN},
		seed.Spec{Sessions: 80, Assets: 40, Sourcemaps: 6, LargeEvery: 3, LargeMax: 12 << 20, Seed: seedN},
	)
}

// faultRow is one line of the table docs/testing.md shows.
type faultRow struct {
	order    int
	Scenario string
	Objects  int
	Faults   string
	Retries  string
	Result   string
}

var faultTable struct {
	sync.Mutex
	rows []faultRow
}

// report adds the scenario's row and rewrites the table file, so the file is whole
// whichever scenario ends last.
func report(t *testing.T, r faultRow) {
	t.Helper()
	t.Logf("fault table: %s | %d objects | %s | retries %s | %s", r.Scenario, r.Objects, r.Faults, r.Retries, r.Result)
	path := os.Getenv("MIGRATOR_CHAOS_TABLE")
	if path == "" {
		return
	}
	faultTable.Lock()
	defer faultTable.Unlock()
	faultTable.rows = append(faultTable.rows, r)
	sort.SliceStable(faultTable.rows, func(i, j int) bool { return faultTable.rows[i].order < faultTable.rows[j].order })
	var b strings.Builder
	b.WriteString("| scenario | objects | faults injected | retries | final result |\n| --- | ---: | --- | ---: | --- |\n")
	for _, r := range faultTable.rows {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", r.Scenario, r.Objects, r.Faults, r.Retries, r.Result)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Errorf("write the fault table: %v", err)
	}
}

// objects counts the source's objects over every bucket pair.
func (s *site) objects() int {
	n := 0
	for src := range destBuckets {
		n += len(s.Src.Snapshot(src))
	}
	return n
}

// withEndpoints is the site's configuration pointed at other addresses (proxies).
func (s *site) withEndpoints(src, dst string) string {
	c := readFile(s.t, s.Config)
	c = strings.Replace(c, s.Src.Endpoint, src, 1)
	c = strings.Replace(c, s.Dst.Endpoint, dst, 1)
	return s.WriteConfig(c)
}

// editConfig is the site's configuration with one line replaced.
func (s *site) editConfig(old, new string) string {
	c := readFile(s.t, s.Config)
	if !strings.Contains(c, old) {
		s.t.Fatalf("config has no %q", old)
	}
	return s.WriteConfig(strings.Replace(c, old, new, 1))
}

// proxied puts a toxiproxy in front of each server and returns a config that goes
// through them.
func (s *site) proxied() (src, dst *testenv.Toxi, config string) {
	src, dst = testenv.StartToxi(s.t, s.Src), testenv.StartToxi(s.t, s.Dst)
	return src, dst, s.withEndpoints(src.Endpoint, dst.Endpoint)
}

// stateFiles is the content of every file in the state folder.
func (s *site) stateFiles() map[string]string {
	out := map[string]string{}
	filepath.WalkDir(filepath.Join(s.Dir, "state"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = string(b)
		}
		return nil
	})
	return out
}

// migratorRun is one migrator process with its metrics scraped while it runs.
type migratorRun struct {
	cmd     *exec.Cmd
	out     *strings.Builder
	outMu   *sync.Mutex
	addr    string
	exited  chan struct{} // closed when the process has ended; err is its Wait error
	err     error
	done    chan struct{} // closed when the scraper has stopped
	mu      sync.Mutex
	retries float64
	copied  float64
	scrapes []string // raw /metrics bodies, kept for the secret check
	keep    bool
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// start starts the migrator with JSON logs and metrics on a free port, and scrapes
// openreplay_migrator_retries_total every 50 ms until it exits.
func (s *site) start(args ...string) *migratorRun {
	s.t.Helper()
	r := &migratorRun{out: &strings.Builder{}, outMu: &sync.Mutex{}, exited: make(chan struct{}), done: make(chan struct{}),
		addr: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(s.t))}
	args = append(args, "--log-format", "json", "--metrics-addr", r.addr)
	if args[0] == "copy" || args[0] == "sync" {
		args = append(args, "--progress", "off")
	}
	r.cmd = exec.Command(binary, args...)
	r.cmd.Env = s.Env
	// A test that dies does not leave its migrator running.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	w := lockedWriter{r.outMu, r.out}
	r.cmd.Stdout, r.cmd.Stderr = w, w
	if err := r.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.exited) }()
	go r.scrape()
	return r
}

func (r *migratorRun) scrape() {
	defer close(r.done)
	c := &http.Client{Timeout: 2 * time.Second}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		r.scrapeOnce(c)
		select {
		case <-r.exited:
			return
		case <-t.C:
		}
	}
}

func (r *migratorRun) scrapeOnce(c *http.Client) {
	resp, err := c.Get("http://" + r.addr + "/metrics")
	if err != nil {
		return // not listening yet, or gone
	}
	defer resp.Body.Close()
	var body strings.Builder
	if _, err := io.Copy(&body, resp.Body); err != nil {
		return
	}
	series, err := testenv.ParseMetrics(strings.NewReader(body.String()))
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retries = max(r.retries, testenv.Sum(series, "openreplay_migrator_retries_total"))
	r.copied = max(r.copied, testenv.Sum(series, "openreplay_migrator_objects_total", `result="copied"`))
	if r.keep {
		r.scrapes = append(r.scrapes, body.String())
	}
}

// wait waits for the process and returns its exit status (-1 if killed by a signal).
func (r *migratorRun) wait() int {
	<-r.exited
	<-r.done
	err := r.err
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -2
	}
	return 0
}

func (r *migratorRun) output() string {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	return r.out.String()
}

// Retries is the last value of retries_total scraped while the run lasted (a retry in
// its last 50 ms may be missing).
func (r *migratorRun) Retries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return int(r.retries)
}

// waitCopied waits until the run has copied n objects; false if it ended first.
func (r *migratorRun) waitCopied(n int) bool {
	for {
		r.mu.Lock()
		c := r.copied
		r.mu.Unlock()
		if c >= float64(n) {
			return true
		}
		select {
		case <-r.exited:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL and waits; it tells whether the kill landed before the run ended.
func (r *migratorRun) kill() bool {
	r.cmd.Process.Signal(syscall.SIGKILL)
	return r.wait() == -1
}

// runFull runs the migrator to its end with metrics scraped.
func (s *site) runFull(args ...string) (int, string, int) {
	s.t.Helper()
	r := s.start(args...)
	code := r.wait()
	return code, r.output(), r.Retries()
}

// verifyClean is the independent end check of every scenario: each object read back on
// both sides, compared in bytes, headers, metadata and tags, and no multipart upload
// left in any destination bucket.
func (s *site) verifyClean() {
	s.t.Helper()
	s.AssertIdentical()
}

func waitFor(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// shortStallTimeout is the site's configuration with a 2 s stall timeout on both sides,
// so a silent peer costs seconds in a test, not minutes.
func (s *site) shortStallTimeout() string {
	c := readFile(s.t, s.Config)
	c = strings.ReplaceAll(c, "region: us-east-1}", "region: us-east-1, stallTimeout: 2s}")
	return s.WriteConfig(c)
}
