package copy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
)

// many is enough recordings (three small objects per session) for a listing of several
// pages, split into ranges.
var many = seed.Spec{Sessions: 300, MobsMax: 4 << 10, Seed: 21}

var recordings = []copy.Pair{{Source: seed.Recordings, Dest: "openreplay-recordings"}}

// stopAfter cancels its run once n objects have been copied.
type stopAfter struct {
	copy.Observers
	n      int64
	cancel context.CancelFunc
	copied atomic.Int64
}

func (s *stopAfter) Finished(_, _ string, out copy.Outcome, _ int64, _ error) {
	if out == copy.Copied && s.copied.Add(1) == s.n {
		s.cancel()
	}
}

// keysAbove counts the source keys a resumed range lists: those past its watermark.
func keysAbove(keys map[string]testenv.ObjectState, ranges []checkpoint.Range) int {
	n := 0
	for k := range keys {
		for _, r := range ranges {
			if !r.Done && k > max(r.After, r.Watermark) && (r.Through == "" || k <= r.Through) {
				n++
			}
		}
	}
	return n
}

// A pass listed in ranges and stopped in the middle resumes every range from its own
// watermark: it lists exactly the keys past them, and copies no object twice beyond those
// in flight at the stop.
func TestStoppedParallelPassResumesEveryRange(t *testing.T) {
	t.Parallel()
	r := newRig(t, many)
	keys := r.src.Snapshot(seed.Recordings)
	const workers = 4
	// A first pass lists as one stream and learns where the keys are; emptied, the
	// destination gives the next pass, split in ranges, everything to copy again.
	run(t, r.engine(copy.Options{Workers: workers, Ranges: 8}))
	emptyBucket(t, r.dst, "openreplay-recordings")
	r.dstReq.Reset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := &stopAfter{n: int64(len(keys) / 3), cancel: cancel}
	first := r.engine(copy.Options{Workers: workers, Ranges: 8, Observer: stop})
	res, err := first.Run(ctx, recordings)
	if err != nil || !res[0].Interrupted {
		t.Fatalf("first run: %v, %+v; want it interrupted", err, res)
	}
	st, err := r.state.Load(context.Background(), copy.CheckpointName(recordings[0], copy.Shard{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Ranges) != 8 {
		t.Fatalf("the checkpoint holds %d ranges; want the 8 the pass was split into: %+v", len(st.Ranges), st.Ranges)
	}
	moved := 0
	for _, rg := range st.Ranges {
		if rg.Watermark > rg.After {
			moved++
		}
	}
	if moved < 2 {
		t.Fatalf("only %d ranges got anywhere before the stop; want the ranges listed at once: %+v", moved, st.Ranges)
	}
	left := keysAbove(keys, st.Ranges)

	res = run(t, r.engine(copy.Options{Workers: workers, Ranges: 8}))
	if got := res[0].Copied + res[0].Skipped; got != int64(left) || !res[0].OK() {
		t.Fatalf("the resumed run handled %d objects (%+v); want the %d past the ranges' watermarks", got, res[0], left)
	}
	testenv.AssertSame(t, r.src, seed.Recordings, r.dst, "openreplay-recordings", true)
	twice := 0
	for path, n := range r.dstReq.PerPath("PUT") {
		if n > 1 {
			twice++
			t.Logf("%s PUT %d times", path, n)
		}
	}
	if twice > 2*workers {
		t.Fatalf("%d objects were copied twice; want at most the %d that can be in flight", twice, 2*workers)
	}
}

// A checkpoint written before passes had ranges (one watermark) resumes as one range
// from that watermark, whatever the ranges setting.
func TestSingleWatermarkCheckpointResumes(t *testing.T) {
	t.Parallel()
	r := newRig(t, many)
	keys := r.src.Snapshot(seed.Recordings)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := &stopAfter{n: int64(len(keys) / 2), cancel: cancel}
	if _, err := r.engine(copy.Options{Workers: 4, Ranges: 1, Observer: stop}).Run(ctx, recordings); err != nil {
		t.Fatal(err)
	}
	// Rewrite the checkpoint as the version before ranges wrote it.
	path := filepath.Join(string(r.state), checkpointFile(recordings[0]))
	var old map[string]any
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &old); err != nil {
		t.Fatal(err)
	}
	delete(old, "ranges")
	watermark, _ := old["watermark"].(string)
	if watermark == "" {
		t.Fatalf("the stopped pass saved no watermark: %s", data)
	}
	data, _ = json.Marshal(old)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	res := run(t, r.engine(copy.Options{Workers: 4, Ranges: 8}))
	want := keysAbove(keys, []checkpoint.Range{{Watermark: watermark}})
	if got := res[0].Copied + res[0].Skipped; got != int64(want) || !res[0].OK() {
		t.Fatalf("the resumed run handled %d objects (%+v); want the %d past the old watermark %q", got, res[0], want, watermark)
	}
	testenv.AssertSame(t, r.src, seed.Recordings, r.dst, "openreplay-recordings", true)
}

func emptyBucket(t *testing.T, m *testenv.MinIO, bucket string) {
	t.Helper()
	objs := make(chan minio.ObjectInfo)
	go func() {
		defer close(objs)
		for o := range m.Client().ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
			objs <- o
		}
	}()
	for e := range m.Client().RemoveObjects(context.Background(), bucket, objs, minio.RemoveObjectsOptions{}) {
		t.Fatalf("empty %s: %v", bucket, e.Err)
	}
}

func checkpointFile(p copy.Pair) string {
	return p.Source + "--" + p.Dest + ".json"
}

// sizes records what ListingDone tells.
type sizes struct {
	stopAfter
	mu   sync.Mutex
	told map[string]int64
}

func (s *sizes) ListingDone(bucket string, objects, _ int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.told[bucket] = objects
}

// The pass's listings tell its size once every range has been listed to its end, and
// not when the pass is stopped before: the progress bars show a percentage from then on.
func TestListingsTellThePassSizeWhenEveryRangeEnded(t *testing.T) {
	t.Parallel()
	r := newRig(t, many)
	keys := r.src.Snapshot(seed.Recordings)
	whole := &sizes{told: map[string]int64{}}
	run(t, r.engine(copy.Options{Workers: 4, Ranges: 8, Observer: whole}))
	if whole.told[seed.Recordings] != int64(len(keys)) {
		t.Fatalf("the first pass told %v; want %d objects in %s", whole.told, len(keys), seed.Recordings)
	}
	emptyBucket(t, r.dst, "openreplay-recordings")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := &sizes{stopAfter: stopAfter{n: 10, cancel: cancel}, told: map[string]int64{}}
	if _, err := r.engine(copy.Options{Workers: 4, Ranges: 8, Observer: stopped}).Run(ctx, recordings); err != nil {
		t.Fatal(err)
	}
	if n, ok := stopped.told[seed.Recordings]; ok {
		t.Fatalf("a pass stopped after 10 objects told a size of %d", n)
	}
	again := &sizes{told: map[string]int64{}}
	run(t, r.engine(copy.Options{Workers: 4, Ranges: 8, Observer: again}))
	if again.told[seed.Recordings] == 0 {
		t.Fatalf("the resumed pass, its ranges listed to their ends, told %v", again.told)
	}
}
