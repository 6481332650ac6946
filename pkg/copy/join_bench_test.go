package copy

import (
	"context"
	"fmt"
	"iter"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// synthetic yields n objects in key order without holding them: object i is yielded
// when keep(i) is true, with the ETag etag(i). Keys look like recordings' keys.
func synthetic(n int, keep func(int) bool, etag func(int) string) iter.Seq2[store.Object, error] {
	return func(yield func(store.Object, error) bool) {
		buf := make([]byte, 0, 32)
		for i := range n {
			if !keep(i) {
				continue
			}
			buf = strconv.AppendInt(buf[:0], int64(1_000_000_000_000+i), 10)
			buf = append(buf, "/dom.mobs"...)
			if !yield(store.Object{Key: string(buf), Size: int64(i % 4096), ETag: etag(i), LastModified: t0}, nil) {
				return
			}
		}
	}
}

// heapPeak samples the live heap (runtime/metrics, no stop-the-world) until stopped.
type heapPeak struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func watchHeap() *heapPeak {
	h := &heapPeak{stop: make(chan struct{})}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			h.peak = max(h.peak, s[0].Value.Uint64())
			select {
			case <-t.C:
			case <-h.stop:
				return
			}
		}
	}()
	return h
}

func (h *heapPeak) done() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak
}

// BenchmarkJoin is the diff of two listings as the engine runs it (both listings
// prefetched, merge-joined by key) at 10k, 100k and 1M keys: a third of the keys are
// missing at the destination, a third differ, a third are the same. Memory must not grow
// with the number of keys: peak-heap-MiB is the largest heap seen during the join.
func BenchmarkJoin(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			ctx := context.Background()
			src := synthetic(n, func(int) bool { return true }, func(int) string { return "9b2cf535f27731c974343645a3985328" })
			dst := synthetic(n, func(i int) bool { return i%3 != 0 }, func(i int) string {
				if i%3 == 2 {
					return "0f343b0931126a20f133d67c2b018a3b"
				}
				return "9b2cf535f27731c974343645a3985328"
			})
			runtime.GC()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			b.ReportAllocs()
			b.ResetTimer()
			h := watchHeap()
			var counts [3]int
			for b.Loop() {
				counts = [3]int{}
				err := Join(prefetch(ctx, src), prefetch(ctx, dst), SameByListing, func(a Action) error {
					counts[a.Kind]++
					return nil
				}, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			peak := h.done()
			runtime.ReadMemStats(&m1)
			if counts[ActCopy]+counts[ActSkip]+counts[ActConflict] != n || counts[ActSkip] != n/3 {
				b.Fatalf("join decided %v for %d keys", counts, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N)/float64(n), "allocs/key")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
