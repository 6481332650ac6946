package metrics

import "testing"

// A dashboard panel over increase() or rate() shows "No data" for a series that does not
// exist, and misses the first rise of one that appears with its first event. Every series
// whose labels are known before anything happens must therefore be there, at 0, before
// the first request, retry, run or object.
func TestSeriesKnownUpFrontStartAtZero(t *testing.T) {
	m, reg := newTestMetrics(nil)
	for _, side := range []string{"source", "destination"} {
		m.WrapStore(side, nil)
		m.RetryHook(side)
	}
	m.PassStarted("recordings", "")

	type series struct {
		name   string
		labels map[string]string
	}
	var want []series
	for _, side := range []string{"source", "destination"} {
		for _, op := range []string{"list", "get", "head", "tag", "put", "multipart", "bucket"} {
			want = append(want, series{"openreplay_migrator_requests_total", map[string]string{"side": side, "op": op, "code": "error"}})
		}
		for _, r := range []string{"slowdown", "5xx", "timeout", "reset", "checksum", "other"} {
			want = append(want, series{"openreplay_migrator_retries_total", map[string]string{"side": side, "reason": r}})
		}
	}
	for _, kind := range []string{"copy", "sync", "verify", "cutover"} {
		for _, result := range []string{"ok", "failed"} {
			want = append(want, series{"openreplay_migrator_runs_total", map[string]string{"kind": kind, "result": result}})
		}
	}
	for _, result := range []string{"copied", "skipped", "failed", "conflict"} {
		want = append(want, series{"openreplay_migrator_objects_total", map[string]string{"bucket": "recordings", "result": result}})
	}
	want = append(want, series{"openreplay_migrator_bytes_copied_total", map[string]string{"bucket": "recordings"}},
		series{"openreplay_migrator_sync_skipped_overlap_total", map[string]string{}})

	for _, s := range want {
		v, ok := scrape(t, reg, s.name, s.labels)
		if !ok {
			t.Errorf("no series %s%v before anything happened: a panel over it shows no data", s.name, s.labels)
		} else if v != 0 {
			t.Errorf("%s%v = %v before anything happened, want 0", s.name, s.labels, v)
		}
	}
}
