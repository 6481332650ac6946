package main_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

func get(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// serve finishes the bulk copy, then syncs on its schedule: a new source object reaches
// the destination, and syncs with nothing to do send no GET, PUT or HEAD at all.
func TestServeCopiesThenSyncsOnSchedule(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 10, Assets: 10, Sourcemaps: 2, Seed: 21}, 4)
	s.Config = s.WriteConfig(strings.Replace(readFile(t, s.Config), "gracePeriod: 20s", "gracePeriod: 20s\nschedule: \"@every 1s\"", 1))
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cmd, out := s.Command("serve", "--config", s.Config, "--metrics-addr", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	metrics := "http://" + addr + "/metrics"
	testenv.Eventually(t, 60*time.Second, "/healthz and /readyz", func() bool {
		return get("http://"+addr+"/healthz") == 200 && get("http://"+addr+"/readyz") == 200
	})
	lastSync := func() float64 {
		return testenv.Sum(testenv.Scrape(t, metrics), "openreplay_migrator_last_run_success_timestamp_seconds", `kind="sync"`)
	}
	testenv.Eventually(t, 60*time.Second, "the bulk copy and a first sync", func() bool { return lastSync() > 0 })
	s.AssertIdentical()

	// A recording written now is copied by a scheduled sync.
	key := "9999999999999999/dom.mobs"
	if _, err := s.Src.Client().PutObject(context.Background(), seed.Recordings, key, strings.NewReader("new session"), 11,
		minio.PutObjectOptions{CacheControl: "max-age=2628000, immutable, private"}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "the new recording in the destination", func() bool {
		_, err := s.Dst.Client().StatObject(context.Background(), "openreplay-recordings", key, minio.StatObjectOptions{})
		return err == nil
	})

	// Let a sync finish after the copy, then two more: nothing changed, so no object request.
	first := lastSync()
	testenv.Eventually(t, 30*time.Second, "a sync after the new object", func() bool { return lastSync() > first })
	// Syncs are counted, not told apart by their one-second timestamps: a sync may be
	// running at the first scrape, so three finished after it hold two whole ones.
	syncs := func(series map[string]float64) float64 {
		return testenv.Sum(series, "openreplay_migrator_runs_total", `kind="sync"`, `result="ok"`)
	}
	before := testenv.Scrape(t, metrics)
	var after map[string]float64
	testenv.Eventually(t, 30*time.Second, "two more whole syncs", func() bool {
		after = testenv.Scrape(t, metrics)
		return syncs(after) >= syncs(before)+3
	})
	for _, op := range []string{"get", "put", "head", "multipart", "tag"} {
		d := testenv.Sum(after, "openreplay_migrator_requests_total", `op="`+op+`"`) - testenv.Sum(before, "openreplay_migrator_requests_total", `op="`+op+`"`)
		if d != 0 {
			t.Errorf("%v %s requests during syncs with nothing to do; want 0", d, op)
		}
	}
	if d := testenv.Sum(after, "openreplay_migrator_requests_total", `op="list"`) - testenv.Sum(before, "openreplay_migrator_requests_total", `op="list"`); d < 6 {
		t.Errorf("%v list requests over two syncs of 3 buckets; want at least 6", d)
	}
	s.AssertIdentical()

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, out)
	}
}
