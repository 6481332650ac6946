package cli

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/metrics"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// The first copy lists each source bucket once (the count and the copy share it), and
// its progress knows every bucket's total.
func TestFirstCopyListsTheSourceOnce(t *testing.T) {
	t.Parallel()
	src, dst := testenv.StartMinIO(t), testenv.StartMinIO(t)
	src.MakeBuckets(seed.Recordings, seed.Assets, seed.Sourcemaps)
	objs := seed.Plan(seed.Spec{Sessions: 40, Assets: 30, Sourcemaps: 6, LargeEvery: 20, LargeMax: 7 << 20, Seed: 91})
	if _, err := seed.Write(context.Background(), src.Client(), objs, 8); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, o := range objs {
		want[o.Bucket]++
	}
	p := &parts{cfg: &config.Config{Workers: 8}, log: zap.NewNop(), metrics: metrics.New(prometheus.NewRegistry()),
		state: checkpoint.Dir(t.TempDir()), quietProgress: true}
	srcReq, dstReq := testenv.NewRequests(), testenv.NewRequests()
	for _, side := range []struct {
		m   *testenv.MinIO
		req *testenv.Requests
		s   *store.Store
	}{{src, srcReq, &p.src}, {dst, dstReq, &p.dst}} {
		c, err := s3.New(s3.Options{Endpoint: side.m.Endpoint, AccessKey: side.m.AccessKey, SecretKey: side.m.SecretKey, Region: "us-east-1", WrapTransport: side.req.Wrap})
		if err != nil {
			t.Fatal(err)
		}
		*side.s = c
	}
	for b := range want {
		p.pairs = append(p.pairs, copy.Pair{Source: b, Dest: "copy-" + b})
		dst.MakeBuckets("copy-" + b)
	}
	res, err := p.runPass(context.Background(), "copy")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.OK() || r.Copied != want[r.Source] {
			t.Fatalf("%s: copied %d of %d, failed %v", r.Source, r.Copied, want[r.Source], r.Failed)
		}
		testenv.AssertSame(t, src, r.Source, dst, r.Dest, true)
	}
	if n := srcReq.Count("LIST"); n != len(want) {
		t.Fatalf("%d listing requests at the source; want one per bucket (%d)", n, len(want))
	}
	for _, b := range p.metrics.Snapshot().Buckets {
		if b.ObjectsKnown != want[b.Bucket] {
			t.Fatalf("%s: progress knows %d objects; want %d", b.Bucket, b.ObjectsKnown, want[b.Bucket])
		}
	}
}
