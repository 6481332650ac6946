package copy

import (
	"context"
	"fmt"
	"iter"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// syntheticRange yields the synthetic keys (as synthetic makes them) inside r, without
// holding them: a listing of r from its start.
func syntheticRange(n int, r rangeBounds, keep func(int) bool, etag func(int) string) iter.Seq2[store.Object, error] {
	key := func(i int) string { return strconv.FormatInt(int64(1_000_000_000_000+i), 10) + "/dom.mobs" }
	from := sort.Search(n, func(i int) bool { return key(i) > r.after })
	return func(yield func(store.Object, error) bool) {
		for o, err := range synthetic(n, func(i int) bool { return i >= from && keep(i) }, etag) {
			if r.through != "" && o.Key > r.through {
				return
			}
			if !yield(o, err) {
				return
			}
		}
	}
}

type rangeBounds struct{ after, through string }

// liveHeap is the largest heap left after a collection: what the join holds, without the
// garbage a busy machine's collector has not yet caught up with (peak-heap-MiB has it).
type liveHeap struct {
	mu   sync.Mutex
	peak uint64
}

func (l *liveHeap) sample() {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	l.mu.Lock()
	l.peak = max(l.peak, m.HeapAlloc)
	l.mu.Unlock()
}

// BenchmarkRangedJoin is a no-op-heavy pass as the engine runs it at 1M and 10M keys:
// a first pass samples where the keys are, the next splits at its quantiles into 16
// ranges and merge-joins each on its own, all at once (a third of the keys missing at the
// destination, a third different). Memory must not grow with the keys: peak-heap-MiB is
// the largest live heap seen during the ranged join, and sample-KiB what the split kept.
func BenchmarkRangedJoin(b *testing.B) {
	const ranges = 16
	same := "9b2cf535f27731c974343645a3985328"
	etag := func(i int) string {
		if i%3 == 2 {
			return "0f343b0931126a20f133d67c2b018a3b"
		}
		return same
	}
	for _, n := range []int{1_000_000, 3_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			ctx := context.Background()
			var s sample
			for o := range synthetic(n, func(int) bool { return true }, etag) {
				s.add(o.Key)
			}
			q := quantiles([]*sample{&s}, Quantiles)
			split := rangesAt(boundsFrom(q, ranges))
			if len(split) != ranges {
				b.Fatalf("%d ranges from the quantiles; want %d", len(split), ranges)
			}
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			h := watchHeap()
			var live liveHeap
			var total int64
			for b.Loop() {
				counts := make([][3]int, ranges)
				var g errgroup.Group
				for i, r := range split {
					rb := rangeBounds{r.After, r.Through}
					g.Go(func() error {
						src := syntheticRange(n, rb, func(int) bool { return true }, func(int) string { return same })
						dst := syntheticRange(n, rb, func(i int) bool { return i%3 != 0 }, etag)
						return Join(prefetch(ctx, src), prefetch(ctx, dst), SameByListing, func(a Action) error {
							counts[i][a.Kind]++
							if (counts[i][0]+counts[i][1]+counts[i][2])%(n/ranges/4) == 0 {
								live.sample() // at the same points of every range, whatever n
							}
							return nil
						}, nil)
					})
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
				total = 0
				for i, c := range counts {
					k := int64(c[ActCopy] + c[ActSkip] + c[ActConflict])
					total += k
					if k < int64(n/ranges*9/10) || k > int64(n/ranges*11/10) {
						b.Fatalf("range %d held %d keys; want about %d", i, k, n/ranges)
					}
				}
			}
			b.StopTimer()
			peak := h.done()
			if total != int64(n) {
				b.Fatalf("the ranges held %d keys; want %d", total, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(live.peak)/(1<<20), "live-heap-MiB")
			kib := 0
			for _, k := range s.keys {
				kib += len(k)
			}
			b.ReportMetric(float64(kib)/1024, "sample-KiB")
		})
	}
}
