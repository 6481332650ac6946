package main_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// TestBenchNotify is scripts/bench_notify.sh's measurement (issue 18, 4(c)), skipped
// unless BENCH_NOTIFY=1: under serve with an hourly schedule, a writer adds recordings
// to the source at BENCH_NOTIFY_RATE objects a second for BENCH_NOTIFY_SECONDS, as
// OpenReplay's sink would, and a watcher lists the destination every 50 ms; the time
// from each PUT's answer to the first listing that shows the object is its lag. The
// source is the MinIO built here behind testenv.NotifyingProxy (that MinIO does not
// flush its notification stream). It prints one BENCH_NOTIFY line for the script.
func TestBenchNotify(t *testing.T) {
	if os.Getenv("BENCH_NOTIFY") != "1" {
		t.Skip("a benchmark: scripts/bench_notify.sh (make bench-notify) runs it")
	}
	rate := envInt("BENCH_NOTIFY_RATE", 20)
	seconds := envInt("BENCH_NOTIFY_SECONDS", 60)
	s := newSite(t, seed.Spec{Sessions: 20, Assets: 10, Sourcemaps: 2, Seed: 51}, 16)
	np := testenv.StartNotifyingProxy(t, s.Src)
	r := s.start("serve", "--config", s.hourly(s.withEndpoints(np.Conn().Endpoint, s.Dst.Endpoint)))
	defer r.kill()
	testenv.Eventually(t, 120*time.Second, "the bulk copy, and three notification streams open", func() bool {
		return get("http://"+r.addr+"/healthz") == 200 &&
			testenv.Sum(testenv.Scrape(t, "http://"+r.addr+"/metrics"), "openreplay_migrator_last_run_success_timestamp_seconds", `kind="copy"`) > 0 &&
			streams(t, r.addr, "connected") == 3
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	put := map[string]time.Time{}  // key -> when its PUT was answered
	seen := map[string]time.Time{} // key -> the first destination listing that showed it
	// The floor: the same watching of the source itself, on the same loaded machine, is
	// how soon any lister could see an object there.
	floor := map[string]time.Time{}
	var watch sync.WaitGroup
	for _, w := range []struct {
		c      *minio.Client
		bucket string
		into   map[string]time.Time
	}{{s.Dst.Client(), "openreplay-recordings", seen}, {s.Src.Client(), seed.Recordings, floor}} {
		watch.Go(func() {
			for ctx.Err() == nil {
				for o := range w.c.ListObjectsIter(ctx, w.bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "77"}) {
					if o.Err == nil {
						mu.Lock()
						if _, ok := w.into[o.Key]; !ok {
							w.into[o.Key] = time.Now()
						}
						mu.Unlock()
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	src := np.Client()
	rnd := rand.New(rand.NewPCG(51, 52))
	n := rate * seconds
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
		key := fmt.Sprintf("77%017d/dom.mobs", i)
		body := bytes.Repeat([]byte{byte(i)}, 2<<10+rnd.IntN(62<<10)) // 2-64 KiB, as recordings' first parts
		if _, err := src.PutObject(ctx, seed.Recordings, key, bytes.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{CacheControl: "max-age=2628000, immutable, private"}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		put[key] = time.Now()
		mu.Unlock()
	}
	testenv.Eventually(t, 120*time.Second, "every written object in the destination", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= n
	})
	cancel()
	watch.Wait()
	var lags, floors []float64
	for k, at := range put {
		lags = append(lags, max(seen[k].Sub(at).Seconds(), 0))
		if f, ok := floor[k]; ok {
			floors = append(floors, max(f.Sub(at).Seconds(), 0))
		}
	}
	slices.Sort(lags)
	slices.Sort(floors)
	quantile := func(v []float64, p float64) float64 {
		if len(v) == 0 {
			return -1
		}
		return v[min(len(v)-1, int(p*float64(len(v))))]
	}
	q := func(p float64) float64 { return quantile(lags, p) }
	m := testenv.Scrape(t, "http://"+r.addr+"/metrics")
	notified := testenv.Sum(m, "openreplay_migrator_notification_objects_total")
	syncs := testenv.Sum(m, "openreplay_migrator_runs_total", `kind="sync"`)
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
	rss := 0.0 // MiB
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			rss = float64(kb) / 1024
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("BENCH_NOTIFY objects=%d rate=%d/s p50=%.3fs p90=%.3fs p99=%.3fs max=%.3fs floor_p50=%.3fs floor_p99=%.3fs notified=%.0f syncs=%.0f peak_rss=%.1fMiB load=%s\n",
		n, rate, q(0.5), q(0.9), q(0.99), lags[len(lags)-1], quantile(floors, 0.5), quantile(floors, 0.99), notified, syncs, rss,
		strings.Fields(string(load))[0])
	if syncs != 0 {
		t.Errorf("%v syncs ran: the lags are not the notification stream's alone", syncs)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
