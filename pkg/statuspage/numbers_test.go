package statuspage_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// After a real copy with a skip, a conflict and a refused key, /api/status and /metrics,
// read at the same moment, carry the same numbers for every bucket.
func TestStatusCarriesTheMetricsNumbers(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 20, Assets: 20, Sourcemaps: 4, LargeEvery: 10, LargeMax: 7 << 20, Seed: 9})
	s.serve("@every 1h", s.Dst.Endpoint)
	testenv.Eventually(t, 120*time.Second, "the bulk copy to finish", func() bool {
		st, _ := s.status()
		return copyFinished(st)
	})
	// Nothing runs until the next hour: both reads see the same instant.
	st, body := s.status()
	m := testenv.Scrape(t, s.url("/metrics"))

	if len(st.Buckets) != 3 {
		t.Fatalf("%d buckets in /api/status, want 3:\n%s", len(st.Buckets), body)
	}
	for _, b := range st.Buckets {
		bl := fmt.Sprintf("bucket=%q", b.Bucket)
		obj := func(result string) float64 {
			return testenv.Sum(m, "openreplay_migrator_objects_total", bl, fmt.Sprintf("result=%q", result))
		}
		gauge := func(name string) float64 { return testenv.Sum(m, "openreplay_migrator_"+name, bl) }
		for _, c := range []struct {
			what          string
			status, scrap float64
		}{
			{"copied", float64(b.Copied), obj("copied")},
			{"skipped", float64(b.Skipped), obj("skipped")},
			// Failed in the status is keys still failing; the counter counts failures, and
			// the run retries each failed key once more at its end.
			{"failed", float64(b.Failed), obj("failed") / 2},
			{"conflicts", float64(b.Conflicts), obj("conflict")},
			{"bytes copied", float64(b.BytesCopied), testenv.Sum(m, "openreplay_migrator_bytes_copied_total", bl)},
			{"progress", b.Progress, gauge("progress_ratio")},
			{"bytes known", float64(b.BytesKnown), gauge("pass_size_bytes")},
			{"bytes done", float64(b.BytesDone), gauge("pass_done_bytes")},
			{"objects listed", float64(b.ObjectsListed), gauge("source_objects")},
			{"bytes listed", float64(b.BytesListed), gauge("source_bytes")},
			{"complete", boolFloat(b.Complete), gauge("pass_complete")},
			{"running", boolFloat(b.Running), gauge("pass_running")},
			{"last checkpoint", unix(b.LastCheckpoint), gauge("checkpoint_timestamp_seconds")},
		} {
			if math.Abs(c.status-c.scrap) > 1e-3 {
				t.Errorf("%s %s: /api/status says %v, /metrics %v", b.Bucket, c.what, c.status, c.scrap)
			}
		}
		if b.LastCheckpoint.IsZero() {
			t.Errorf("%s: no checkpoint time", b.Bucket)
		}
	}
	if v := testenv.Sum(m, "openreplay_migrator_phase", fmt.Sprintf("phase=%q", st.Phase)); v != 1 {
		t.Errorf("phase %q in /api/status is %v in /metrics", st.Phase, v)
	}
	if v := testenv.Sum(m, "openreplay_migrator_inflight_objects"); v != float64(st.InFlight) {
		t.Errorf("in flight: /api/status %d, /metrics %v", st.InFlight, v)
	}
	if v := testenv.Sum(m, "openreplay_migrator_concurrency_limit"); v != float64(st.ConcurrencyLimit) || v == 0 {
		t.Errorf("concurrency limit: /api/status %d, /metrics %v", st.ConcurrencyLimit, v)
	}
	for _, r := range st.Runs {
		if got := testenv.Sum(m, "openreplay_migrator_last_run_duration_seconds", fmt.Sprintf("kind=%q", r.Kind)); math.Abs(got-r.LastDurationSeconds) > 1e-3 {
			t.Errorf("run %s duration: /api/status %v, /metrics %v", r.Kind, r.LastDurationSeconds, got)
		}
		if got := testenv.Sum(m, "openreplay_migrator_last_run_success_timestamp_seconds", fmt.Sprintf("kind=%q", r.Kind)); math.Abs(got-unix(r.LastSuccess)) > 1e-3 {
			t.Errorf("run %s last success: /api/status %v, /metrics %v", r.Kind, r.LastSuccess, got)
		}
	}

	// The planted cases, where they were planted.
	want := map[string][3]int64{ // skipped, failed, conflicts
		seed.Recordings: {1, 0, 0}, seed.Assets: {0, 1, 0}, seed.Sourcemaps: {0, 0, 1},
	}
	for _, b := range st.Buckets {
		if got := [3]int64{b.Skipped, b.Failed, b.Conflicts}; got != want[b.Bucket] {
			t.Errorf("%s: skipped, failed, conflicts = %v, want %v", b.Bucket, got, want[b.Bucket])
		}
		if b.Bucket == seed.Assets {
			if len(b.FailedKeys) != 1 || b.FailedKeys[0].Key != evilKey || b.FailedKeys[0].Error == "" {
				t.Errorf("%s failed keys = %+v, want %q with its error", b.Bucket, b.FailedKeys, evilKey)
			}
		}
	}
	// No credential of either side, and the markup of the key only as JSON escapes.
	for _, secret := range []string{s.Src.SecretKey, s.Dst.SecretKey, s.Src.AccessKey, s.Dst.AccessKey, secretMarker,
		s.srcKeys.AccessKeyID, s.srcKeys.SecretAccessKey, s.srcKeys.SessionToken} {
		if strings.Contains(string(body), secret) {
			t.Errorf("/api/status holds a credential (%q):\n%s", secret, body)
		}
	}
	if strings.Contains(string(body), "<img") {
		t.Errorf("/api/status holds raw markup:\n%s", body)
	}
	t.Logf("/api/status:\n%s", body)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
