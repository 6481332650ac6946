package copy_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/metrics"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/statuspage"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store/storetest"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/verify"
)

// A destination that refuses tags (Cloudflare R2; here testenv.TaglessProxy, an
// S3-speaking proxy in front of MinIO that answers x-amz-tagging as R2 documents it)
// gets every object without its tags instead of none: the refusal is learned once per
// bucket, said once, and counted in the result, the metric and /api/status. A re-run
// sends no object request, and a deep verify reports the objects as a class of its own.
func TestDestinationWithoutTaggingGetsEveryObjectWithoutTags(t *testing.T) {
	t.Parallel()
	r := newRig(t, small)
	proxy := testenv.StartTaglessProxy(t, r.dst)
	r.dstS = client(t, proxy, r.dstReq)
	logs, seen := observer.New(zap.WarnLevel)
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	res := run(t, r.engine(copy.Options{Log: zap.New(logs), Observer: copy.Observers{m}}))

	tagged := map[string]int64{}
	for _, p := range pairs {
		want := testenv.Snapshot(t, r.src, p.Source)
		for k, st := range want {
			if len(st.Tags) > 0 {
				tagged[p.Source]++
			}
			st.Tags = map[string]string{}
			want[k] = st
		}
		got := testenv.Snapshot(t, r.dst, p.Dest) // behind the proxy: the tags as stored
		if len(got) != len(want) {
			t.Fatalf("%s: %d objects arrived of %d", p.Dest, len(got), len(want))
		}
		for k, st := range want {
			g := got[k]
			if !maps.Equal(g.Tags, st.Tags) || g.MD5 != st.MD5 || g.ETag != st.ETag || g.CacheControl != st.CacheControl || g.ContentType != st.ContentType {
				t.Errorf("%s/%s:\n got %+v\nwant %+v (the source's, without tags)", p.Dest, k, g, st)
			}
		}
	}
	if tagged[seed.Recordings] == 0 {
		t.Fatal("the seed tagged no recording: this test would prove nothing")
	}
	for _, x := range res {
		if !x.OK() || x.TagsDropped != tagged[x.Source] {
			t.Errorf("%s: OK %v (failed %v), %d copied without tags; want OK and %d", x.Source, x.OK(), x.Failed, x.TagsDropped, tagged[x.Source])
		}
	}
	warnings := seen.FilterMessageSnippet("refuses object tags").All()
	if len(warnings) != 1 || !strings.Contains(warnings[0].Message, "USE_S3_TAGS=false") {
		t.Errorf("%d warnings about the refused tags; want one naming USE_S3_TAGS=false: %v", len(warnings), warnings)
	}
	// One refused request per worker at most: the bucket's answer is learned, not
	// met again for every object.
	if n := proxy.Refused.Load(); n == 0 || n > 8 {
		t.Errorf("the destination refused %d tagged requests; want between 1 and the 8 workers", n)
	}
	if got := counterValue(t, reg, "openreplay_migrator_objects_tags_dropped_total", seed.Recordings); got != float64(tagged[seed.Recordings]) {
		t.Errorf("openreplay_migrator_objects_tags_dropped_total{bucket=%q} = %v; want %d", seed.Recordings, got, tagged[seed.Recordings])
	}
	rec := httptest.NewRecorder()
	statuspage.Handler(m.Snapshot).ServeHTTP(rec, httptest.NewRequest("GET", "/api/status", nil))
	var status struct {
		Buckets []struct {
			Bucket      string
			TagsDropped int64
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &status); err != nil {
		t.Fatal(err)
	}
	for _, b := range status.Buckets {
		if b.TagsDropped != tagged[b.Bucket] {
			t.Errorf("/api/status: %s tagsDropped %d; want %d", b.Bucket, b.TagsDropped, tagged[b.Bucket])
		}
	}

	r.srcReq.Reset()
	r.dstReq.Reset()
	again := run(t, r.engine(copy.Options{}))
	if c, _ := total(again); c != 0 {
		t.Errorf("a second run copied %d objects; want 0", c)
	}
	for _, kind := range []string{"GET", "PUT", "HEAD", "POST"} {
		if n := r.srcReq.Count(kind) + r.dstReq.Count(kind); n != 0 {
			t.Errorf("%d %s requests on a run with nothing to copy; want 0", n, kind)
		}
	}

	v := &verify.Verifier{Src: r.srcS, Dst: r.dstS, Checkpoints: checkpoint.Dir(r.state), Deep: true, Workers: 4}
	rep, err := v.Pair(context.Background(), pairs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 || int64(len(rep.TagsDropped)) != tagged[seed.Recordings] {
		t.Fatalf("deep verify: %d differences %v, %d without tags; want none and %d", len(rep.Differences), rep.Differences, len(rep.TagsDropped), tagged[seed.Recordings])
	}
	if rep.TagsDropped[0].Kind != verify.TagsDropped {
		t.Fatalf("kind %q", rep.TagsDropped[0].Kind)
	}
}

// counterValue reads the counter name{bucket} off reg, as a scrape would.
func counterValue(t *testing.T, reg *prometheus.Registry, name, bucket string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if f.GetName() == name && l.GetName() == "bucket" && l.GetValue() == bucket {
					return mt.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{bucket=%q} on the registry", name, bucket)
	return 0
}

// The traits the conformance suite recorded for a store are data the engine reads: told
// that the destination keeps no tags, it never sends any, so not one request is refused.
func TestRecordedTraitsSpareTheRefusals(t *testing.T) {
	t.Parallel()
	r := newRig(t, seed.Spec{Sessions: 4, Seed: 5})
	proxy := testenv.StartTaglessProxy(t, r.dst)
	r.dstS = client(t, proxy, r.dstReq)
	traits := storetest.Known[proxy.Kind()]
	res := run(t, r.engine(copy.Options{DestTraits: &traits}))
	if !res[0].OK() || res[0].TagsDropped != 12 {
		t.Fatalf("recordings: OK %v (failed %v), %d copied without tags; want OK and 12", res[0].OK(), res[0].Failed, res[0].TagsDropped)
	}
	if n := proxy.Refused.Load(); n != 0 {
		t.Fatalf("%d requests refused; want none: the engine knew the destination keeps no tags", n)
	}
}
