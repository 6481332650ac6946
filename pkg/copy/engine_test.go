package copy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/preflight"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/verify"
)

// small is an OpenReplay-like set that still has multipart recordings and odd keys.
var small = seed.Spec{Sessions: 30, Assets: 20, Sourcemaps: 5, LargeEvery: 15, LargeMax: 12 << 20, Odd: true, Seed: 42}

var pairs = []copy.Pair{
	{Source: seed.Recordings, Dest: "openreplay-recordings"},
	{Source: seed.Assets, Dest: "openreplay-assets"},
	{Source: seed.Sourcemaps, Dest: "openreplay-sourcemaps"},
}

type rig struct {
	src, dst       *testenv.MinIO
	srcReq, dstReq *testenv.Requests
	srcS, dstS     store.Store
	state          checkpoint.Dir
}

func newRig(t *testing.T, spec seed.Spec) *rig {
	t.Helper()
	r := &rig{src: testenv.StartMinIO(t), dst: testenv.StartMinIO(t), srcReq: testenv.NewRequests(), dstReq: testenv.NewRequests()}
	r.src.MakeBuckets(seed.Recordings, seed.Assets, seed.Sourcemaps)
	if _, err := seed.Write(context.Background(), r.src.Client(), seed.Plan(spec), 8); err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		r.dst.MakeBuckets(p.Dest)
	}
	r.srcS = client(t, r.src, r.srcReq)
	r.dstS = client(t, r.dst, r.dstReq)
	r.state = checkpoint.Dir(t.TempDir())
	return r
}

func client(t *testing.T, s testenv.Server, req *testenv.Requests) store.Store {
	t.Helper()
	c := s.Conn()
	cl, err := s3.New(s3.Options{Endpoint: c.Endpoint, AccessKey: c.AccessKey, SecretKey: c.SecretKey, Region: "us-east-1", WrapTransport: req.Wrap})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func (r *rig) engine(opt copy.Options) *copy.Engine {
	if opt.Workers == 0 {
		opt.Workers = 8
	}
	if opt.Retry.Attempts == 0 {
		opt.Retry = retry.Policy{Attempts: 4, Base: time.Millisecond, Max: 10 * time.Millisecond}
	}
	return &copy.Engine{Src: r.srcS, Dst: r.dstS, Checkpoints: r.state, Opt: opt}
}

func run(t *testing.T, e *copy.Engine) []copy.Result {
	t.Helper()
	res, err := e.Run(context.Background(), pairs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func total(res []copy.Result) (copied, skipped int64) {
	for _, r := range res {
		copied += r.Copied
		skipped += r.Skipped
	}
	return
}

func TestCopyKeepsBytesHeadersTagsAndETags(t *testing.T) {
	t.Parallel()
	r := newRig(t, small)
	res := run(t, r.engine(copy.Options{}))
	for _, x := range res {
		if !x.OK() {
			t.Fatalf("%s: not OK: failed %v conflicts %v", x.Source, x.Failed, x.Conflicts)
		}
	}
	for _, p := range pairs {
		testenv.AssertSame(t, r.src, p.Source, r.dst, p.Dest, true)
		testenv.AssertNoUploads(t, r.dst, p.Dest)
	}
	// The data set must really exercise the hard cases, or this test proves little.
	snap := r.src.Snapshot(seed.Recordings)
	multipart, tagged := 0, 0
	for _, s := range snap {
		if strings.Contains(s.ETag, "-") {
			multipart++
		}
		if s.Tags["retention"] == "default" {
			tagged++
		}
	}
	if multipart == 0 || tagged == 0 {
		t.Fatalf("seed made %d multipart and %d tagged recordings; want some of each", multipart, tagged)
	}
	assets := r.src.Snapshot(seed.Assets)
	for _, k := range seed.OddKeys {
		if _, ok := assets[k]; !ok {
			t.Fatalf("odd key %q was not seeded", k)
		}
	}
}

func TestSecondRunCostsTwoListingsAndNoObjectRequest(t *testing.T) {
	t.Parallel()
	r := newRig(t, small)
	run(t, r.engine(copy.Options{}))
	r.srcReq.Reset()
	r.dstReq.Reset()
	res := run(t, r.engine(copy.Options{}))
	copied, skipped := total(res)
	if copied != 0 || skipped == 0 {
		t.Fatalf("second run copied %d, skipped %d; want 0 copied", copied, skipped)
	}
	for _, req := range []*testenv.Requests{r.srcReq, r.dstReq} {
		for _, kind := range []string{"GET", "PUT", "HEAD", "POST"} {
			if n := req.Count(kind); n != 0 {
				t.Errorf("%d %s requests on a run with nothing to copy; want 0", n, kind)
			}
		}
		if n := req.Count("LIST"); n != len(pairs) {
			t.Errorf("%d listing requests; want one per bucket (%d)", n, len(pairs))
		}
	}
}

// finishOrder records the order in which objects finished, as bucket/key, and closes
// firstOf's channel when the first object of that bucket finishes.
type finishOrder struct {
	copy.Observers
	mu      sync.Mutex
	keys    []string
	firstOf string
	first   chan struct{}
}

func (f *finishOrder) Finished(b, k string, _ copy.Outcome, _ int64, _ error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, b+"/"+k)
	if b == f.firstOf && f.first != nil {
		close(f.first)
		f.first = nil
	}
}

// The workers go on to the next bucket while the last objects of the previous one are
// still being copied: a slow last object of the recordings must not hold back the assets.
func TestNextBucketStartsWhileTheLastObjectsFinish(t *testing.T) {
	t.Parallel()
	r := newRig(t, seed.Spec{Sessions: 4, Assets: 20, Seed: 13})
	var last string
	for k := range r.src.Snapshot(seed.Recordings) {
		last = max(last, k)
	}
	// The last recording's GET is held until an asset has been copied (not for a fixed
	// time, which a busy machine may not finish an asset in). An engine that held the
	// assets back behind it would let none finish: the hold then ends after a minute and
	// the order below shows the fault.
	assetDone := make(chan struct{})
	order := finishOrder{firstOf: seed.Assets, first: assetDone}
	slow := &testenv.Faulty{Store: r.srcS, Fail: func(op, key string, n int) error {
		if op == "get" && key == last {
			select {
			case <-assetDone:
			case <-time.After(time.Minute):
			}
		}
		return nil
	}}
	e := r.engine(copy.Options{Workers: 4, Observer: &order})
	e.Src = slow
	run(t, e)
	i := slices.Index(order.keys, seed.Recordings+"/"+last)
	if i < 0 {
		t.Fatalf("%s never finished: %q", last, order.keys)
	}
	if before := slices.IndexFunc(order.keys, func(k string) bool { return strings.HasPrefix(k, seed.Assets+"/") }); before < 0 || before > i {
		t.Fatalf("no asset was copied while the recordings' last object was: finished in the order %q", order.keys)
	}
	testenv.AssertSame(t, r.src, seed.Assets, r.dst, "openreplay-assets", true)
	testenv.AssertSame(t, r.src, seed.Recordings, r.dst, "openreplay-recordings", true)
}

func TestConflictIsReportedAndLeftAlone(t *testing.T) {
	t.Parallel()
	r := newRig(t, seed.Spec{Assets: 5, Seed: 9})
	keys := r.src.Snapshot(seed.Assets)
	var key string
	for k := range keys {
		key = k
		break
	}
	// Someone wrote a different object to the destination after the source's.
	time.Sleep(1100 * time.Millisecond)
	if _, err := r.dst.Client().PutObject(context.Background(), "openreplay-assets", key, strings.NewReader("theirs"), 6, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	res := run(t, r.engine(copy.Options{}))
	var got []string
	for _, x := range res {
		got = append(got, x.Conflicts...)
	}
	if len(got) != 1 || got[0] != key {
		t.Fatalf("conflicts %q; want [%q]", got, key)
	}
	after := r.dst.Snapshot("openreplay-assets")
	if after[key].Size != 6 {
		t.Fatalf("the conflicting object was overwritten: %+v", after[key])
	}
	if len(after) != len(keys) {
		t.Fatalf("destination holds %d objects; want %d", len(after), len(keys))
	}
}

func TestFailedMultipartUploadIsAbortedAndRetried(t *testing.T) {
	t.Parallel()
	r := newRig(t, seed.Spec{Sessions: 2, LargeEvery: 1, LargeMax: 11 << 20, Seed: 5})
	f := &testenv.Faulty{Store: r.dstS, Fail: func(op, key string, n int) error {
		if op == "part" && n == 2 { // the second part of the first attempt fails
			return &store.Error{Op: "multipart", Key: key, Status: 503, Code: "SlowDown", Err: errors.New("injected")}
		}
		if op == "complete" && n == 1 { // and the first completion of each object
			return &store.Error{Op: "multipart", Key: key, Status: 500, Code: "InternalError", Err: errors.New("injected")}
		}
		return nil
	}}
	e := r.engine(copy.Options{})
	e.Dst = f
	res := run(t, e)
	for _, x := range res {
		if !x.OK() {
			t.Fatalf("%s: %v", x.Source, x.Failed)
		}
	}
	testenv.AssertSame(t, r.src, seed.Recordings, r.dst, "openreplay-recordings", true)
	testenv.AssertNoUploads(t, r.dst, "openreplay-recordings")
}

// A retry that completes an object must not leave its failed attempts' uploads behind:
// an upload whose creation went unanswered (the connection broke after the request was
// sent), or one whose abort failed (the network was down). Unseen in the bucket listing,
// such an upload keeps its parts' bytes, billed, until someone aborts it.
func TestRetriedMultipartLeavesNoUpload(t *testing.T) {
	t.Parallel()
	lost := &store.Error{Op: "multipart", Err: testenv.ErrAnswerLost}
	down := &store.Error{Op: "multipart", Err: errors.New("injected: connection refused")}
	for _, tc := range []struct {
		name string
		fail func(op string, n int) error
	}{
		{"create answer lost", func(op string, n int) error {
			if op == "create" && n == 1 {
				return lost
			}
			return nil
		}},
		{"abort fails after a part failed", func(op string, n int) error {
			if (op == "part" && n == 2) || (op == "abort" && n == 1) {
				return down
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, seed.Spec{Sessions: 2, LargeEvery: 1, LargeMax: 11 << 20, Seed: 5})
			var created atomic.Int64
			f := &testenv.Faulty{Store: r.dstS, Fail: func(op, key string, n int) error {
				if op == "create" {
					created.Add(1)
				}
				return tc.fail(op, n)
			}}
			e := r.engine(copy.Options{})
			e.Dst = f
			for _, x := range run(t, e) {
				if !x.OK() {
					t.Fatalf("%s: %v", x.Source, x.Failed)
				}
			}
			if created.Load() < 2 {
				t.Fatalf("%d uploads created; the fault did not strike", created.Load())
			}
			testenv.AssertSame(t, r.src, seed.Recordings, r.dst, "openreplay-recordings", true)
			testenv.AssertNoUploads(t, r.dst, "openreplay-recordings")
		})
	}
}

func TestKeyThatKeepsFailingIsRecordedAndTheRestCopied(t *testing.T) {
	t.Parallel()
	r := newRig(t, seed.Spec{Assets: 30, Seed: 11})
	snap := r.src.Snapshot(seed.Assets)
	var bad string
	for k := range snap {
		bad = k
		break
	}
	f := &testenv.Faulty{Store: r.dstS, Fail: func(op, key string, n int) error {
		if key == bad {
			return &store.Error{Op: op, Key: key, Status: 503, Code: "ServiceUnavailable", Err: errors.New("injected outage")}
		}
		return nil
	}}
	e := r.engine(copy.Options{})
	e.Dst = f
	res := run(t, e)
	var failed map[string]string
	for _, x := range res {
		if x.Source == seed.Assets {
			failed = x.Failed
			if x.Copied != int64(len(snap)-1) {
				t.Errorf("copied %d; want every other object (%d)", x.Copied, len(snap)-1)
			}
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[bad], "injected outage") {
		t.Fatalf("failed = %v; want only %q", failed, bad)
	}
	st, err := r.state.Load(context.Background(), copy.CheckpointName(pairs[1], copy.Shard{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Failed[bad]; !ok {
		t.Fatalf("checkpoint does not keep the failed key: %+v", st.Failed)
	}
	// The outage ends: the next run copies the key and forgets the failure.
	res = run(t, r.engine(copy.Options{}))
	for _, x := range res {
		if !x.OK() {
			t.Fatalf("%s: %v", x.Source, x.Failed)
		}
	}
	testenv.AssertSame(t, r.src, seed.Assets, r.dst, "openreplay-assets", true)
}

// A destination that does not keep MD5 ETags (SSE-KMS) must not make the next run copy
// everything again or report conflicts: the ETag map recognises the migrator's copies.
func TestDestinationWithOtherETagsIsRecognisedWithoutReading(t *testing.T) {
	t.Parallel()
	r := newRig(t, seed.Spec{Sessions: 6, Assets: 6, Sourcemaps: 2, LargeEvery: 3, LargeMax: 11 << 20, Seed: 13})
	kms := &testenv.Faulty{Store: r.dstS, ETag: func(e string) string { return "kms" + e }}
	e := r.engine(copy.Options{})
	e.Dst = kms
	run(t, e)
	r.srcReq.Reset()
	r.dstReq.Reset()
	res := run(t, e)
	copied, skipped := total(res)
	for _, x := range res {
		if len(x.Conflicts) > 0 {
			t.Fatalf("false conflicts on the migrator's own copies: %v", x.Conflicts)
		}
	}
	if copied != 0 || skipped == 0 || r.srcReq.Count("GET")+r.dstReq.Count("GET")+r.dstReq.Count("HEAD") != 0 {
		t.Fatalf("second run: copied %d skipped %d, GET %d; want nothing copied or read", copied, skipped, r.srcReq.Count("GET"))
	}
	// verify cannot trust the ETags here, so it reads both sides.
	v := &verify.Verifier{Src: r.srcS, Dst: kms, Checkpoints: r.state}
	for _, p := range pairs {
		rep, err := v.Pair(context.Background(), p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Differences) != 0 || rep.ReadChecked != rep.Objects {
			t.Fatalf("%s: %d differences, %d of %d read-checked", p.Source, len(rep.Differences), rep.ReadChecked, rep.Objects)
		}
	}
}

func TestVerifyReportsMissingDifferentAndExtra(t *testing.T) {
	t.Parallel()
	r := newRig(t, seed.Spec{Assets: 10, Seed: 17})
	run(t, r.engine(copy.Options{}))
	snap := r.src.Snapshot(seed.Assets)
	var keys []string
	for k := range snap {
		keys = append(keys, k)
	}
	ctx := context.Background()
	dc := r.dst.Client()
	if err := dc.RemoveObject(ctx, "openreplay-assets", keys[0], minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.PutObject(ctx, "openreplay-assets", keys[1], strings.NewReader("changed"), 7, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.PutObject(ctx, "openreplay-assets", "zz-extra", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// preflight's probe is no difference: the guide's key cannot delete it.
	if _, err := dc.PutObject(ctx, "openreplay-assets", preflight.ProbePrefix+"preflight-probe", strings.NewReader("p"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// Same bytes, other headers and tags: only a deep verify can tell.
	if _, err := dc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "openreplay-assets", Object: keys[2], ReplaceMetadata: true,
		UserMetadata: map[string]string{"Content-Type": "text/plain"}, ReplaceTags: true, UserTags: map[string]string{"retention": "short"}},
		minio.CopySrcOptions{Bucket: "openreplay-assets", Object: keys[2]}); err != nil {
		t.Fatal(err)
	}
	for _, deep := range []bool{false, true} {
		v := &verify.Verifier{Src: r.srcS, Dst: r.dstS, Checkpoints: r.state, Deep: deep, Workers: 4}
		rep, err := v.Pair(ctx, pairs[1], nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, d := range rep.Differences {
			got[d.Key] = d.Kind
		}
		want := map[string]string{keys[0]: verify.Missing, keys[1]: verify.Different, "zz-extra": verify.Extra}
		if deep {
			want[keys[2]] = verify.Different
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("deep=%v: differences %v; want %v", deep, got, want)
		}
	}
}

// A source whose ETags are not MD5s (encrypted, or another service) cannot give the
// destination a Content-MD5: the body then travels with a streaming CRC32C the
// destination checks, and later runs still recognise the copies from the listings.
func TestSourceWithoutMD5ETagsIsCopiedWithAStreamingChecksum(t *testing.T) {
	t.Parallel()
	r := newRig(t, seed.Spec{Assets: 8, Seed: 23})
	opaque := &testenv.Faulty{Store: r.srcS, ETag: func(e string) string { return "sse-" + e }}
	e := r.engine(copy.Options{})
	e.Src = opaque
	res := run(t, e)
	for _, x := range res {
		if !x.OK() {
			t.Fatalf("%s: %v", x.Source, x.Failed)
		}
	}
	testenv.AssertSame(t, r.src, seed.Assets, r.dst, "openreplay-assets", true)
	ctx := context.Background()
	for k := range r.src.Snapshot(seed.Assets) {
		info, err := r.dst.Client().StatObject(ctx, "openreplay-assets", k, minio.StatObjectOptions{Checksum: true})
		if err != nil {
			t.Fatal(err)
		}
		if info.ChecksumCRC32C == "" {
			t.Fatalf("%s was stored without the streaming checksum", k)
		}
	}
	r.srcReq.Reset()
	res = run(t, e)
	if copied, _ := total(res); copied != 0 || r.srcReq.Count("GET") != 0 {
		t.Fatalf("second run copied %d objects with %d GETs; want none", copied, r.srcReq.Count("GET"))
	}
}
