package copy_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// seedRecordings writes n tiny recordings under session-ID keys, many at once.
func seedRecordings(t *testing.T, m *testenv.MinIO, bucket string, n int) {
	t.Helper()
	m.MakeBuckets(bucket)
	r := rand.New(rand.NewPCG(5, 5))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = strconv.FormatUint(1_000_000_000_000_000+r.Uint64N(8_000_000_000_000_000_000), 10) + "/dom.mobs"
	}
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(32)
	for i, k := range keys {
		g.Go(func() error {
			body := []byte(fmt.Sprintf("recording %d", i))
			_, err := m.Client().PutObject(ctx, bucket, k, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// runShards runs N shards at once, as an Indexed Job's pods do, over one checkpoint store.
func runShards(t *testing.T, n int, engine func(copy.Shard) *copy.Engine, pairs []copy.Pair) []copy.Result {
	t.Helper()
	var mu sync.Mutex
	var all []copy.Result
	var g errgroup.Group
	for i := range n {
		g.Go(func() error {
			res, err := engine(copy.Shard{Index: i, Count: n}).Run(context.Background(), pairs)
			mu.Lock()
			all = append(all, res...)
			mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return all
}

// N shards running at once copy every object exactly once (one PUT per key), each
// listing only the key ranges it claimed: together they list the bucket about once.
func TestShardsOwnRangesCopyEveryObjectOnceAndListTheBucketOnce(t *testing.T) {
	t.Parallel()
	src, dst := testenv.StartMinIO(t), testenv.StartMinIO(t)
	srcReq, dstReq := testenv.NewRequests(), testenv.NewRequests()
	const objects = 6_000
	seedRecordings(t, src, "mobs", objects)
	dst.MakeBuckets("openreplay-recordings")
	srcS, dstS := client(t, src, srcReq), client(t, dst, dstReq)
	state := checkpoint.Dir(t.TempDir())
	pairs := []copy.Pair{{Source: "mobs", Dest: "openreplay-recordings"}}
	const shards = 2
	engine := func(s copy.Shard) *copy.Engine {
		return &copy.Engine{Src: srcS, Dst: dstS, Checkpoints: state, Opt: copy.Options{Workers: 8, Shard: s, Ranges: 1}}
	}

	res := runShards(t, shards, engine, pairs)
	var copied int64
	for _, r := range res {
		copied += r.Copied
		if !r.OK() {
			t.Fatalf("shard result not OK: %+v", r)
		}
	}
	puts := dstReq.PerPath("PUT")
	if copied != objects || len(puts) != objects {
		t.Fatalf("the shards copied %d objects with PUTs to %d keys; want %d", copied, len(puts), objects)
	}
	for path, n := range puts {
		if n != 1 {
			t.Errorf("%s was PUT %d times; want once", path, n)
		}
	}
	testenv.AssertSame(t, src, "mobs", dst, "openreplay-recordings", true)

	// A sync with nothing to do: the shards together against one single-stream pass.
	single := &copy.Engine{Src: srcS, Dst: dstS, Checkpoints: checkpoint.Dir(t.TempDir()), Opt: copy.Options{Workers: 8, Ranges: 1}}
	srcReq.Reset()
	dstReq.Reset()
	if _, err := single.Run(context.Background(), pairs); err != nil {
		t.Fatal(err)
	}
	one := srcReq.Count("LIST") + dstReq.Count("LIST")
	srcReq.Reset()
	dstReq.Reset()
	res = runShards(t, shards, engine, pairs)
	var skipped int64
	for _, r := range res {
		skipped += r.Skipped
	}
	together := srcReq.Count("LIST") + dstReq.Count("LIST")
	t.Logf("listing requests: %d by one pass, %d by %d shards together", one, together, shards)
	if skipped != objects {
		t.Fatalf("the shards' no-op sync looked at %d objects; want every one of %d once", skipped, objects)
	}
	if float64(together) > 1.2*float64(one) {
		t.Fatalf("%d shards sent %d listing requests; want at most 1.2x the %d of one pass", shards, together, one)
	}
}

// firstPassLists runs a first pass of mobs by `running` of `shards` shards at once, into
// a new destination, and returns the source listing requests it sent.
func firstPassLists(t *testing.T, srcS store.Store, srcReq *testenv.Requests, objects, running, shards int, countAhead bool) int {
	t.Helper()
	dst := testenv.StartMinIO(t)
	dst.MakeBuckets("openreplay-recordings")
	dstS := client(t, dst, testenv.NewRequests())
	state := checkpoint.Dir(t.TempDir())
	engine := func(s copy.Shard) *copy.Engine {
		return &copy.Engine{Src: srcS, Dst: dstS, Checkpoints: state,
			Opt: copy.Options{Workers: 8, Shard: copy.Shard{Index: s.Index, Count: shards}, Ranges: 1, CountAhead: countAhead}}
	}
	srcReq.Reset()
	var copied int64
	for _, r := range runShards(t, running, engine, []copy.Pair{{Source: "mobs", Dest: "openreplay-recordings"}}) {
		copied += r.Copied
	}
	if copied != int64(objects) {
		t.Fatalf("%d of %d shards (counting ahead %v) copied %d objects; want %d", running, shards, countAhead, copied, objects)
	}
	return srcReq.Count("LIST")
}

// A first pass shared by N shards lists the source about once, for two reasons that
// each cost a bucket of millions dearly:
//   - splitting it takes dozens of start-after probes: N shards beginning a pass at once
//     probe it once, so together they send no more listing requests than one shard doing
//     the whole pass alone (before, each probed: about 40 requests more per shard);
//   - counting ahead (how the CLI shows a first pass's total) must not make every shard
//     list the whole source: they send no more with it than without.
func TestShardsFirstPassListsTheSourceOnce(t *testing.T) {
	t.Parallel()
	src := testenv.StartMinIO(t)
	srcReq := testenv.NewRequests()
	const objects = 6_000
	seedRecordings(t, src, "mobs", objects)
	srcS := client(t, src, srcReq)
	const shards = 4
	alone := firstPassLists(t, srcS, srcReq, objects, 1, shards, false)
	together := firstPassLists(t, srcS, srcReq, objects, shards, shards, false)
	counting := firstPassLists(t, srcS, srcReq, objects, shards, shards, true)
	t.Logf("source listing requests of a first pass shared %d ways: %d by shard 0 alone, %d by all at once, %d counting ahead",
		shards, alone, together, counting)
	if together > alone+shards {
		t.Errorf("%d shards at once sent the source %d listing requests; one doing the whole pass alone sent %d",
			shards, together, alone)
	}
	// Each shard counting the bucket would add about shards x 6 pages.
	if counting > together+shards {
		t.Errorf("with counting ahead the shards sent the source %d listing requests, %d without", counting, together)
	}
}

// A shard killed while it probed the bucket leaves its claim on the split and no split:
// the others wait for it only so long, then split the pass themselves and copy it all.
func TestShardsSplitAPassThemselvesWhenTheShardSplittingItDied(t *testing.T) {
	src, dst := testenv.StartMinIO(t), testenv.StartMinIO(t)
	const objects = 300
	seedRecordings(t, src, "mobs", objects)
	dst.MakeBuckets("openreplay-recordings")
	state := checkpoint.Dir(t.TempDir())
	pair := copy.Pair{Source: "mobs", Dest: "openreplay-recordings"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := copy.ClaimSplit(ctx, state, pair, copy.Shard{Index: 0, Count: 2}, 1); err != nil {
		t.Fatal(err)
	}
	copy.SetSplitWait(t, time.Second)
	e := &copy.Engine{Src: client(t, src, testenv.NewRequests()), Dst: client(t, dst, testenv.NewRequests()),
		Checkpoints: state, Opt: copy.Options{Workers: 8, Shard: copy.Shard{Index: 1, Count: 2}, Ranges: 1}}
	res, err := e.Run(ctx, []copy.Pair{pair})
	if err != nil {
		t.Fatalf("shard 1 with shard 0's split never saved: %v", err)
	}
	if res[0].Copied != objects {
		t.Fatalf("shard 1 alone copied %d objects; want all %d", res[0].Copied, objects)
	}
	testenv.AssertSame(t, src, "mobs", dst, "openreplay-recordings", true)
}
