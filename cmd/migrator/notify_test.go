package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// notifyStatus is the notification part of /api/status.
type notifyStatus struct {
	Mode    string `json:"mode"`
	Buckets []struct {
		Bucket     string `json:"bucket"`
		Connected  bool   `json:"connected"`
		Reconnects int64  `json:"reconnects"`
		Copied     int64  `json:"copied"`
	} `json:"buckets"`
}

func apiNotifications(t *testing.T, addr string) *notifyStatus {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/status")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var s struct {
		Notifications *notifyStatus `json:"notifications"`
	}
	if json.NewDecoder(resp.Body).Decode(&s) != nil {
		return nil
	}
	return s.Notifications
}

func streams(t *testing.T, addr, state string) float64 {
	return testenv.Sum(testenv.Scrape(t, "http://"+addr+"/metrics"), "openreplay_migrator_notification_streams", `state="`+state+`"`)
}

func exists(c *minio.Client, bucket, key string) bool {
	_, err := c.StatObject(context.Background(), bucket, key, minio.StatObjectOptions{})
	return err == nil
}

// hourly makes serve's schedule hourly: a test that sees an object arrive before any
// scheduled sync ran knows the notification stream brought it.
func (s *site) hourly(config string) string {
	return s.WriteConfig(strings.Replace(readFile(s.t, config), "gracePeriod: 20s", "gracePeriod: 20s\nschedule: \"@every 1h\"", 1))
}

// Under serve with an hourly schedule, objects written to a MinIO source reach the
// destination with no sync run at all, through the copy a pass makes: a multipart one
// keeps its ETag, headers and tags travel, keys are read back unescaped. A deletion is
// not mirrored. The next listing sync finds nothing to copy.
func TestServeCopiesAnnouncedObjectsBetweenSyncs(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 5, Assets: 5, Sourcemaps: 1, Seed: 41}, 4)
	np := testenv.StartNotifyingProxy(t, s.Src) // the stand-in for a MinIO that flushes its stream
	cfg := s.hourly(s.withEndpoints(np.Conn().Endpoint, s.Dst.Endpoint))
	r := s.start("serve", "--config", cfg)
	defer r.kill()
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(r.output())
		}
	})
	metrics := "http://" + r.addr + "/metrics"
	series := func() map[string]float64 { return testenv.Scrape(t, metrics) }
	testenv.Eventually(t, 90*time.Second, "the bulk copy, and three notification streams open", func() bool {
		return get("http://"+r.addr+"/healthz") == 200 &&
			testenv.Sum(series(), "openreplay_migrator_last_run_success_timestamp_seconds", `kind="copy"`) > 0 &&
			streams(t, r.addr, "connected") == 3
	})
	if n := series(); testenv.Sum(n, "openreplay_migrator_notification_objects_total") != 0 {
		t.Fatalf("objects copied from notifications before any was written: %v", testenv.Sum(n, "openreplay_migrator_notification_objects_total"))
	}
	ctx := context.Background()
	src, dst := np.Client(), s.Dst.Client()
	// A recording copied earlier is deleted at the source: the destination keeps it.
	gone := ""
	for o := range src.ListObjectsIter(ctx, seed.Recordings, minio.ListObjectsOptions{Recursive: true}) {
		gone = o.Key
		break
	}
	if err := src.RemoveObject(ctx, seed.Recordings, gone, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	rec := "9999999999999999/dom.mobs"
	big := "9999999999999999/devtools.mob"
	asset := "fonts/Open Sans+Bold é.woff2"
	tg, _ := tags.NewTags(map[string]string{"retention": "vault"}, true)
	if _, err := src.PutObject(ctx, seed.Recordings, rec, strings.NewReader("new session"), 11, minio.PutObjectOptions{
		CacheControl: "max-age=2628000, immutable, private", UserTags: tg.ToMap()}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 7<<16) // 7 MiB: two parts
	if _, err := src.PutObject(ctx, seed.Recordings, big, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		PartSize: 5 << 20, ContentType: "application/octet-stream", ContentEncoding: "zstd"}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.PutObject(ctx, seed.Assets, asset, strings.NewReader("font"), 4, minio.PutObjectOptions{ContentType: "font/woff2"}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, "the three new objects in the destination", func() bool {
		return exists(dst, "openreplay-recordings", rec) && exists(dst, "openreplay-recordings", big) && exists(dst, "openreplay-assets", asset)
	})
	after := series()
	if n := testenv.Sum(after, "openreplay_migrator_runs_total", `kind="sync"`); n != 0 {
		t.Fatalf("%v syncs ran under an hourly schedule; the objects should have come from the notification stream", n)
	}
	testenv.Eventually(t, 30*time.Second, "three objects counted as copied from notifications, with their lag", func() bool {
		n := series()
		return testenv.Sum(n, "openreplay_migrator_notification_objects_total") == 3 &&
			testenv.Sum(n, "openreplay_migrator_notification_lag_seconds_count") == 3
	})
	if !exists(dst, "openreplay-recordings", gone) {
		t.Errorf("%s was deleted at the destination after its deletion at the source; a sync never deletes", gone)
	}
	// The notified copies are the copies a pass makes: same bytes, ETags, headers, tags.
	for _, pr := range []struct{ src, dst, key string }{{seed.Recordings, "openreplay-recordings", rec},
		{seed.Recordings, "openreplay-recordings", big}, {seed.Assets, "openreplay-assets", asset}} {
		a, err := src.StatObject(ctx, pr.src, pr.key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := dst.StatObject(ctx, pr.dst, pr.key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if a.ETag != b.ETag || a.Size != b.Size || a.ContentType != b.ContentType ||
			a.Metadata.Get("Content-Encoding") != b.Metadata.Get("Content-Encoding") || a.Metadata.Get("Cache-Control") != b.Metadata.Get("Cache-Control") {
			t.Errorf("%s: destination %s %d %q %v, source %s %d %q %v", pr.key, b.ETag, b.Size, b.ContentType, b.Metadata,
				a.ETag, a.Size, a.ContentType, a.Metadata)
		}
	}
	if tt, err := dst.GetObjectTagging(ctx, "openreplay-recordings", rec, minio.GetObjectTaggingOptions{}); err != nil || tt.ToMap()["retention"] != "vault" {
		t.Errorf("tags of %s at the destination: %v, %v; want retention=vault", rec, tt, err)
	}
	st := apiNotifications(t, r.addr)
	if st == nil || st.Mode != "listening" || len(st.Buckets) != 3 {
		t.Fatalf("/api/status notifications = %+v; want mode listening with three buckets", st)
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.wait(); code != 0 {
		t.Fatalf("serve exited %d after SIGTERM:\n%s", code, r.output())
	}

	// The listing sync that follows copies nothing: the notified copies are recognised.
	mf := filepath.Join(s.Dir, "sync.prom")
	if code, out := s.Run("sync", "--config", cfg, "--metrics-file", mf, "--progress", "off"); code != 0 {
		t.Fatalf("sync exited %d:\n%s", code, out)
	}
	f, err := os.Open(mf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := testenv.ParseMetrics(f)
	if err != nil {
		t.Fatal(err)
	}
	if n := testenv.Sum(m, "openreplay_migrator_objects_total", `result="copied"`); n != 0 {
		t.Errorf("the sync after the notified copies copied %v objects; want 0", n)
	}
	if n := testenv.Sum(m, "openreplay_migrator_objects_total", `result="skipped"`); n < 3 {
		t.Errorf("the sync skipped %v objects; want every object, the notified ones among them", n)
	}
}

// A notification stream that breaks (MinIO restarting, a connection dropped) is opened
// again with backoff, and counted; a catch-up sync brings what was written while it was
// down, which no notification announced, long before the hourly schedule.
func TestServeNotificationStreamReconnects(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 3, Assets: 3, Sourcemaps: 1, Seed: 43}, 4)
	x := testenv.StartNotifyingProxy(t, s.Src)
	cfg := s.hourly(s.withEndpoints(x.Conn().Endpoint, s.Dst.Endpoint))
	r := s.start("serve", "--config", cfg)
	defer r.kill()
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(r.output())
		}
	})
	metrics := "http://" + r.addr + "/metrics"
	testenv.Eventually(t, 90*time.Second, "the bulk copy, and three notification streams open", func() bool {
		return get("http://"+r.addr+"/healthz") == 200 &&
			testenv.Sum(testenv.Scrape(t, metrics), "openreplay_migrator_last_run_success_timestamp_seconds", `kind="copy"`) > 0 &&
			streams(t, r.addr, "connected") == 3
	})
	x.Cut()
	testenv.Eventually(t, 60*time.Second, "every stream seen down", func() bool { return streams(t, r.addr, "disconnected") == 3 })
	ctx := context.Background()
	var keys []string
	for i := range 5 {
		k := fmt.Sprintf("88888888888888%02d/dom.mobs", i)
		if _, err := x.Client().PutObject(ctx, seed.Recordings, k, strings.NewReader("written while cut"), 17, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	x.Restore()
	testenv.Eventually(t, 120*time.Second, "the objects written while the stream was down, in the destination", func() bool {
		for _, k := range keys {
			if !exists(s.Dst.Client(), "openreplay-recordings", k) {
				return false
			}
		}
		return true
	})
	testenv.Eventually(t, 30*time.Second, "a reconnection of each stream counted, and the catch-up sync finished", func() bool {
		n := testenv.Scrape(t, metrics)
		return testenv.Sum(n, "openreplay_migrator_notification_reconnects_total") >= 3 &&
			testenv.Sum(n, "openreplay_migrator_runs_total", `kind="sync"`, `result="ok"`) >= 1
	})
	testenv.Eventually(t, 60*time.Second, "three streams open again", func() bool { return streams(t, r.addr, "connected") == 3 })
	if !strings.Contains(r.output(), "notification stream down; reconnecting") {
		t.Errorf("no log line says the stream went down:\n%s", r.output())
	}
	s.AssertIdentical()
}

// A source that has not shown it is MinIO (versitygw here, as RustFS would be) is never
// asked for notifications: serve syncs on its schedule alone, says so once, logs no error.
func TestServeScheduleOnlyWithoutNotifications(t *testing.T) {
	t.Parallel()
	v := testenv.StartVersitygw(t)
	v.MakeBuckets(seed.Recordings, seed.Assets, seed.Sourcemaps)
	if _, err := seed.Write(context.Background(), v.Client(), seed.Plan(seed.Spec{Sessions: 3, Assets: 3, Sourcemaps: 1, Seed: 47}), 4); err != nil {
		t.Fatal(err)
	}
	s := newSite(t, seed.Spec{Sessions: 1, Seed: 47}, 4) // its MinIO source is replaced
	s.Env = append(s.Env, "MIGRATOR_SOURCE_ACCESS_KEY="+v.Conn().AccessKey, "MIGRATOR_SOURCE_SECRET_KEY="+v.Conn().SecretKey)
	cfg := s.hourly(s.withEndpoints(v.Conn().Endpoint, s.Dst.Endpoint))
	r := s.start("serve", "--config", cfg)
	defer r.kill()
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(r.output())
		}
	})
	metrics := "http://" + r.addr + "/metrics"
	testenv.Eventually(t, 90*time.Second, "the bulk copy", func() bool {
		return get("http://"+r.addr+"/healthz") == 200 &&
			testenv.Sum(testenv.Scrape(t, metrics), "openreplay_migrator_last_run_success_timestamp_seconds", `kind="copy"`) > 0
	})
	testenv.Eventually(t, 30*time.Second, "status mode schedule", func() bool {
		st := apiNotifications(t, r.addr)
		return st != nil && st.Mode == "schedule"
	})
	r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.wait(); code != 0 {
		t.Fatalf("serve exited %d after SIGTERM:\n%s", code, r.output())
	}
	out := r.output()
	if c := strings.Count(out, "the schedule alone syncs"); c != 1 {
		t.Errorf("%d lines say the schedule alone syncs; want one:\n%s", c, out)
	}
	if strings.Contains(out, `"level":"error"`) || strings.Contains(out, "notification stream") {
		t.Errorf("errors or stream lines logged for a store without notifications:\n%s", out)
	}
}

// With shards, every pod hears every announcement and copies only the keys its shard
// owns, by the rule its listing uses: two shards together copy each new object once.
func TestServeShardsSplitAnnouncedObjects(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 4, Assets: 2, Sourcemaps: 1, Seed: 53}, 4)
	np := testenv.StartNotifyingProxy(t, s.Src)
	cfg := s.hourly(s.withEndpoints(np.Conn().Endpoint, s.Dst.Endpoint))
	var runs []*migratorRun
	for i := range 2 {
		r := s.start("serve", "--config", cfg, "--shard", fmt.Sprintf("%d/2", i))
		defer r.kill()
		runs = append(runs, r)
	}
	for _, r := range runs {
		testenv.Eventually(t, 90*time.Second, "each shard's bulk copy, and its three streams open", func() bool {
			return get("http://"+r.addr+"/healthz") == 200 &&
				testenv.Sum(testenv.Scrape(t, "http://"+r.addr+"/metrics"), "openreplay_migrator_last_run_success_timestamp_seconds", `kind="copy"`) > 0 &&
				streams(t, r.addr, "connected") == 3
		})
	}
	const n = 20
	for i := range n {
		k := fmt.Sprintf("66666666666666%02d/dom.mobs", i)
		if _, err := np.Client().PutObject(context.Background(), seed.Recordings, k, strings.NewReader("sharded"), 7, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	copied := func() (total float64, each []float64) {
		for _, r := range runs {
			v := testenv.Sum(testenv.Scrape(t, "http://"+r.addr+"/metrics"), "openreplay_migrator_notification_objects_total")
			total += v
			each = append(each, v)
		}
		return total, each
	}
	testenv.Eventually(t, 60*time.Second, "the new objects copied by the shards", func() bool {
		total, _ := copied()
		return total >= n
	})
	total, each := copied()
	if total != n || each[0] == 0 || each[1] == 0 {
		t.Errorf("shards copied %v of %d announced objects (%v each); want each once, both shards at work", total, n, each)
	}
	s.AssertIdentical()
}
