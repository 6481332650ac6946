package main_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// With no workers set, the number of objects in flight finds itself over a link with
// round trips of tens of milliseconds, shrinks when the live source slows down, and
// grows again once it is quick: the copy ends identical all the same.
func TestConcurrencyFindsItselfAndYieldsToASlowSource(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 1500, MobsMax: 4 << 10, Assets: 50, Sourcemaps: 2, Seed: 77}, 1)
	link := testenv.StartToxi(t, s.Src)
	// A long round trip, so that the link and not a busy CPU sets the pace: twice as
	// many in flight then means twice as many done, on any machine that runs the test.
	// It is a Delay, changed while objects flow without removing or updating a toxic
	// (toxiproxy's RemoveToxic can hang on a busy proxy).
	const wanMs, busyMs = 250, 800
	wan := link.Delay("wan", "downstream", wanMs)
	cfg := regexp.MustCompile(`(?m)^workers: 1\n`).ReplaceAllString(readFile(t, s.Config), "maxWorkers: 128\nlimits: {sourceLatency: 600ms}\n")
	cfg = regexp.MustCompile(`(?m)^source: .*$`).ReplaceAllString(cfg, fmt.Sprintf("source: {endpoint: %s, region: us-east-1}", link.Endpoint))
	s.Config = s.WriteConfig(cfg)

	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cmd, out := s.Command("copy", "--config", s.Config, "--metrics-addr", addr, "--progress", "off")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	metrics := "http://" + addr + "/metrics"
	scrape := func() map[string]float64 {
		select {
		case err := <-exited:
			t.Fatalf("copy ended (%v) before the test saw what it waits for:\n%s", err, out)
		default:
		}
		resp, err := http.Get(metrics)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		m, _ := testenv.ParseMetrics(resp.Body)
		return m
	}
	limit := func() float64 { return testenv.Sum(scrape(), "openreplay_migrator_concurrency_limit") }
	changes := func(reason string) float64 {
		return testenv.Sum(scrape(), "openreplay_migrator_concurrency_changes_total", `reason="`+reason+`"`)
	}

	testenv.Eventually(t, 90*time.Second, "the limit grown past its start while throughput rose", func() bool {
		return changes("throughput_rising") >= 1 && limit() >= 32
	})
	peak := limit()

	// The source slows down, as a busy OpenReplay's store would.
	wan.Set(wanMs + busyMs)
	testenv.Eventually(t, 60*time.Second, "the limit cut for the slow source", func() bool {
		return changes("source_latency") >= 1 && limit() < peak
	})
	testenv.Eventually(t, 60*time.Second, "the limit at its floor while the source stays slow", func() bool { return limit() <= 8 })
	low := limit()
	wan.Set(wanMs)
	testenv.Eventually(t, 60*time.Second, "the limit grown again once the source is quick", func() bool { return limit() > low*2 })

	if err := <-exited; err != nil {
		t.Fatalf("copy: %v\n%s", err, out)
	}
	s.AssertIdentical()
	t.Logf("peak %v, floor %v; state in %s", peak, low, filepath.Base(s.Dir))
}

// limits.bandwidth holds for the whole copy: the rate over the run stays at or under the
// cap (a busy machine can only make it slower, so only the upper bound is asserted here;
// pkg/limit's tests hold it within 10% on a virtual clock).
func TestBandwidthCapHoldsForACopy(t *testing.T) {
	t.Parallel()
	spec := seed.Spec{Sessions: 6, Assets: 20, Sourcemaps: 2, MobsMax: 1 << 20, Seed: 78}
	s := newSite(t, spec, 8)
	s.Config = s.WriteConfig(readFile(t, s.Config) + "limits: {bandwidth: 2M}\n")
	var total int64
	for _, o := range seed.Plan(spec) {
		total += o.Size
	}
	start := time.Now()
	if code, out := s.Run("copy", "--config", s.Config, "--progress", "off"); code != 0 {
		t.Fatalf("copy exited %d:\n%s", code, out)
	}
	rate := float64(total) / time.Since(start).Seconds()
	if rate > 2*(1<<20)*1.1 {
		t.Errorf("copied %d bytes at %.2f MiB/s under a 2 MiB/s cap", total, rate/(1<<20))
	}
	s.AssertIdentical()
}
