package metrics

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

func TestRunFinishedAndPhase(t *testing.T) {
	c := newClock()
	m, reg := newTestMetrics(c)
	kind := func(k string) map[string]string { return map[string]string{"kind": k} }

	m.RunFinished("sync", c.t.Add(-90*time.Second), false)
	if _, ok := scrape(t, reg, "openreplay_migrator_last_run_success_timestamp_seconds", kind("sync")); ok {
		t.Error("a failed sync set the success timestamp")
	}
	if got := mustScrape(t, reg, "openreplay_migrator_last_run_duration_seconds", kind("sync")); got != 90 {
		t.Errorf("last_run_duration_seconds = %v, want 90", got)
	}
	c.advance(time.Hour)
	m.RunFinished("sync", c.t.Add(-30*time.Second), true)
	if got := mustScrape(t, reg, "openreplay_migrator_last_run_success_timestamp_seconds", kind("sync")); got != float64(c.t.Unix()) {
		t.Errorf("last_run_success_timestamp_seconds = %v, want %v", got, c.t.Unix())
	}
	for result, want := range map[string]float64{"ok": 1, "failed": 1} {
		if got := mustScrape(t, reg, "openreplay_migrator_runs_total", map[string]string{"kind": "sync", "result": result}); got != want {
			t.Errorf("runs_total{result=%s} = %v, want %v", result, got, want)
		}
	}

	phase := func(p string) float64 {
		return mustScrape(t, reg, "openreplay_migrator_phase", map[string]string{"phase": p})
	}
	if phase("idle") != 1 || phase("copy") != 0 {
		t.Errorf("a new process is not idle")
	}
	m.SetPhase("cutover")
	for _, p := range knownPhases {
		want := 0.0
		if p == "cutover" {
			want = 1
		}
		if got := phase(p); got != want {
			t.Errorf("phase{phase=%s} = %v, want %v", p, got, want)
		}
	}

	m.SkippedOverlap()
	m.SkippedOverlap()
	if got := mustScrape(t, reg, "openreplay_migrator_sync_skipped_overlap_total", map[string]string{}); got != 2 {
		t.Errorf("sync_skipped_overlap_total = %v, want 2", got)
	}
}

func TestRetryHookReasons(t *testing.T) {
	storeErr := func(status int, code string) error {
		return &store.Error{Op: "put", Bucket: "b", Key: "k", Status: status, Code: code, Err: errors.New("x")}
	}
	cases := []struct {
		err  error
		want string
	}{
		{storeErr(503, "SlowDown"), "slowdown"},
		{storeErr(429, ""), "slowdown"},
		{storeErr(500, "InternalError"), "5xx"},
		{storeErr(503, "XMinioServerNotInitialized"), "5xx"},
		{storeErr(400, "RequestTimeout"), "timeout"},
		{storeErr(400, "BadDigest"), "checksum"},
		{storeErr(400, "XAmzContentSHA256Mismatch"), "checksum"},
		{storeErr(400, "IncompleteBody"), "reset"},
		{&store.Error{Op: "get", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, "reset"},
		{&net.OpError{Op: "dial", Err: errors.New("no route")}, "reset"},
		{fmt.Errorf("read b/k: %w (%w)", io.ErrUnexpectedEOF, retry.ErrTransient), "reset"},
		{fmt.Errorf("put b/k: destination stored other bytes than were sent: %w", retry.ErrTransient), "checksum"},
		{&net.DNSError{IsTimeout: true}, "timeout"},
		{storeErr(403, "RequestTimeTooSkewed"), "other"},
	}
	m, reg := newTestMetrics(nil)
	hook := m.RetryHook("source")
	want := map[string]float64{}
	for _, c := range cases {
		if got := reason(c.err); got != c.want {
			t.Errorf("reason(%v) = %q, want %q", c.err, got, c.want)
		}
		hook(c.err)
		want[c.want]++
	}
	for _, r := range reasons {
		got := mustScrape(t, reg, "openreplay_migrator_retries_total", map[string]string{"side": "source", "reason": r})
		if got != want[r] {
			t.Errorf("retries_total{reason=%s} = %v, want %v", r, got, want[r])
		}
	}
}

func TestRestoreLastSuccessKeepsTheNewest(t *testing.T) {
	c := newClock()
	m, reg := newTestMetrics(c)
	old := c.now().Add(-time.Hour)
	m.RestoreLastSuccess("sync", old)
	kind := map[string]string{"kind": "sync"}
	if got := mustScrape(t, reg, "openreplay_migrator_last_run_success_timestamp_seconds", kind); got != float64(old.Unix()) {
		t.Fatalf("restored success %v; want %v", got, old.Unix())
	}
	m.RunFinished("sync", c.now(), true)
	m.RestoreLastSuccess("sync", old)
	if got := mustScrape(t, reg, "openreplay_migrator_last_run_success_timestamp_seconds", kind); got != float64(c.now().Unix()) {
		t.Fatalf("an older restored time replaced a newer success: %v", got)
	}
}
