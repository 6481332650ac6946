package metrics

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

func obj(key string, size int64) store.Object { return store.Object{Key: key, Size: size, ETag: "e"} }

func bucketLabel(b string) map[string]string { return map[string]string{"bucket": b} }

// gauge reads a per-bucket gauge, failing when it is absent.
func gauge(t *testing.T, reg prometheus.Gatherer, name, bucket string) float64 {
	t.Helper()
	return mustScrape(t, reg, "openreplay_migrator_"+name, bucketLabel(bucket))
}

func TestObserverProgressAndETA(t *testing.T) {
	c := newClock()
	m, reg := newTestMetrics(c)

	m.PassStarted("recordings", "")
	c.advance(10 * time.Second)
	for _, k := range []string{"a", "b", "c", "d"} {
		m.Listed("recordings", obj(k, 100))
	}
	m.Finished("recordings", "a", copy.Skipped, 0, nil)
	m.Finished("recordings", "b", copy.Copied, 100, nil)

	if got := gauge(t, reg, "source_objects", "recordings"); got != 4 {
		t.Errorf("source_objects = %v, want 4", got)
	}
	if got := gauge(t, reg, "source_bytes", "recordings"); got != 400 {
		t.Errorf("source_bytes = %v, want 400", got)
	}
	// Done is copied + skipped bytes: 200 of 400.
	if got := gauge(t, reg, "progress_ratio", "recordings"); got != 0.5 {
		t.Errorf("progress_ratio = %v, want 0.5", got)
	}
	// 200 bytes in 10s is 20 B/s; 200 bytes left take 10s.
	if got := gauge(t, reg, "eta_seconds", "recordings"); got != 10 {
		t.Errorf("eta_seconds = %v, want 10", got)
	}
	if got := gauge(t, reg, "pass_running", "recordings"); got != 1 {
		t.Errorf("pass_running = %v, want 1", got)
	}

	// A failure leaves the progress where it was; a conflict is done (left alone).
	m.Finished("recordings", "c", copy.Failed, 0, errors.New("put: SlowDown"))
	m.Finished("recordings", "d", copy.Conflict, 0, nil)
	if got := gauge(t, reg, "progress_ratio", "recordings"); got != 0.75 {
		t.Errorf("progress_ratio after a failure and a conflict = %v, want 0.75", got)
	}

	// Stalled: 10 minutes without an object, the 5-minute rate is 0 and the ETA unknown.
	c.advance(10 * time.Minute)
	if _, ok := scrape(t, reg, "openreplay_migrator_eta_seconds", bucketLabel("recordings")); ok {
		t.Error("eta_seconds present for a pass that made no progress in the rate window")
	}

	// The end-of-pass retry copies c: everything is in place.
	m.Finished("recordings", "c", copy.Copied, 100, nil)
	m.PassEnded("recordings", true)
	for name, want := range map[string]float64{"progress_ratio": 1, "eta_seconds": 0, "pass_complete": 1, "pass_running": 0} {
		if got := gauge(t, reg, name, "recordings"); got != want {
			t.Errorf("%s after a complete pass = %v, want %v", name, got, want)
		}
	}
	for result, want := range map[string]float64{"copied": 2, "skipped": 1, "failed": 1, "conflict": 1} {
		got := mustScrape(t, reg, "openreplay_migrator_objects_total", map[string]string{"bucket": "recordings", "result": result})
		if got != want {
			t.Errorf("objects_total{result=%s} = %v, want %v", result, got, want)
		}
	}
	if got := mustScrape(t, reg, "openreplay_migrator_bytes_copied_total", bucketLabel("recordings")); got != 200 {
		t.Errorf("bytes_copied_total = %v, want 200", got)
	}
}

func TestObserverRateUsesRecentWindow(t *testing.T) {
	c := newClock()
	m, _ := newTestMetrics(c)
	m.PassStarted("b", "")
	// 1000 objects of 1000 bytes; 1 per second for 10 minutes at first, then 10 per second.
	for i := range 1000 {
		m.Listed("b", obj(key(i), 1000))
	}
	i := 0
	for ; i < 600; i++ {
		c.advance(time.Second)
		m.Finished("b", key(i), copy.Copied, 1000, nil)
	}
	for ; i < 700; i++ {
		c.advance(100 * time.Millisecond)
		m.Finished("b", key(i), copy.Copied, 1000, nil)
	}
	st := m.Snapshot().Buckets[0]
	// The window's base is the sample at or before now-5min: 4m50s of 1 object/s, then
	// 10s of 10 objects/s; it holds 390 objects over 300s, give or take one sample.
	if st.BytesPerSecond < 1250 || st.BytesPerSecond > 1350 {
		t.Fatalf("rate = %v B/s, want about 1300", st.BytesPerSecond)
	}
	if st.ETASeconds == nil || math.Abs(*st.ETASeconds-300e3/st.BytesPerSecond) > 1e-6 {
		t.Fatalf("eta = %v, want %v", st.ETASeconds, 300e3/st.BytesPerSecond)
	}
	if n := len(m.buckets["b"].samples); n > int(rateWindow/sampleEvery)+2 {
		t.Fatalf("%d rate samples kept, want at most %d", n, int(rateWindow/sampleEvery)+2)
	}
}

func key(i int) string {
	return string(rune('a'+i/676)) + string(rune('a'+i/26%26)) + string(rune('a'+i%26))
}

func TestObserverExpectationsGiveTheListingItsSize(t *testing.T) {
	c := newClock()
	m, _ := newTestMetrics(c)
	progress := func() float64 { return m.Snapshot().Buckets[0].Progress }

	// A first copy knows only what is listed, and the listing runs barely ahead of the
	// workers; Expect (a plan count) gives the real size.
	m.Expect("b", 10, 1000)
	if st := m.Snapshot().Buckets[0]; st.BytesKnown != 1000 || st.Running || st.Progress != 0 {
		t.Fatalf("a bucket waiting for its first pass: %+v; want 1000 bytes known, progress 0", st)
	}
	m.PassStarted("b", "")
	m.Listed("b", obj("a", 100))
	m.Finished("b", "a", copy.Copied, 100, nil)
	if got := progress(); got != 0.1 {
		t.Fatalf("progress with an expectation of 1000 bytes = %v, want 0.1", got)
	}
	for _, k := range []string{"b", "c", "d"} {
		m.Listed("b", obj(k, 100))
		m.Finished("b", k, copy.Skipped, 0, nil)
	}
	m.PassEnded("b", true)
	if st := m.Snapshot().Buckets[0]; st.BytesKnown != 400 || st.Progress != 1 {
		t.Fatalf("after the pass: known %d bytes, progress %v; want what was listed (400) and 1", st.BytesKnown, st.Progress)
	}

	// The next pass from the beginning expects what this one listed.
	m.PassStarted("b", "")
	m.Listed("b", obj("a", 100))
	m.Finished("b", "a", copy.Skipped, 0, nil)
	if got := progress(); got != 0.25 {
		t.Fatalf("progress of a sync after a 400-byte pass = %v, want 0.25", got)
	}
	if st := m.Snapshot().Buckets[0]; st.ObjectsKnown != 4 || st.ObjectsListed != 1 {
		t.Fatalf("objects known %d, listed %d; want 4 and 1", st.ObjectsKnown, st.ObjectsListed)
	}
	m.PassEnded("b", false) // interrupted

	// A resumed pass lists only past its watermark: the full bucket's size says nothing.
	m.PassStarted("b", "a")
	m.Listed("b", obj("b", 100))
	m.Finished("b", "b", copy.Skipped, 0, nil)
	if got := progress(); got != 1 {
		t.Fatalf("progress of a resumed pass = %v, want 1 (all it listed is done)", got)
	}
}

func TestObserverFailuresOfEarlierRunsDoNotMoveProgress(t *testing.T) {
	m, _ := newTestMetrics(newClock())
	m.PassStarted("b", "m") // resumed after "m"
	m.Listed("b", obj("x", 100))
	m.Finished("b", "x", copy.Copied, 100, nil)
	// "c" failed in an earlier run, before the watermark: retried now, never listed.
	m.Finished("b", "c", copy.Failed, 0, errors.New("boom"))
	m.Finished("b", "c", copy.Copied, 50, nil)
	st := m.Snapshot().Buckets[0]
	if st.Progress != 1 || st.BytesDone != 100 || st.Copied != 2 || st.BytesCopied != 150 || st.Failed != 0 {
		t.Fatalf("got %+v; want progress 1, 100 bytes done, 2 copied (150 bytes), 0 failed", st)
	}
}

func TestObserverInFlightAndCheckpoint(t *testing.T) {
	c := newClock()
	m, reg := newTestMetrics(c)
	m.InFlight(3)
	m.InFlight(-1)
	if got := mustScrape(t, reg, "openreplay_migrator_inflight_objects", map[string]string{}); got != 2 {
		t.Errorf("inflight_objects = %v, want 2", got)
	}
	m.PassStarted("b", "")
	at := time.Date(2025, 3, 1, 12, 30, 0, 500e6, time.UTC)
	m.Checkpointed("b", at)
	if got := mustScrape(t, reg, "openreplay_migrator_checkpoint_timestamp_seconds", bucketLabel("b")); got != float64(at.Unix())+0.5 {
		t.Errorf("checkpoint_timestamp_seconds = %v, want %v", got, float64(at.Unix())+0.5)
	}
	// A new pass keeps the last checkpoint time: the file is still there.
	m.PassStarted("b", "")
	if st := m.Snapshot(); !st.Buckets[0].LastCheckpoint.Equal(at) || st.InFlight != 2 {
		t.Errorf("snapshot = %+v; want checkpoint %v and 2 in flight", st, at)
	}
}

// Many workers report at once while Prometheus scrapes; run with -race.
func TestObserverConcurrentUse(t *testing.T) {
	m, reg := newTestMetrics(nil)
	m.PassStarted("b", "")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := key(w*500 + i)
				m.Listed("b", obj(k, 10))
				m.InFlight(1)
				m.Finished("b", k, copy.Copied, 10, nil)
				m.InFlight(-1)
				if i%100 == 0 {
					m.Checkpointed("b", time.Now())
					m.Snapshot()
					if _, err := reg.Gather(); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	m.PassEnded("b", true)
	st := m.Snapshot().Buckets[0]
	if st.Copied != 4000 || st.BytesDone != 40000 || st.Progress != 1 || m.Snapshot().InFlight != 0 {
		t.Fatalf("after 4000 concurrent copies: %+v", st)
	}
}
