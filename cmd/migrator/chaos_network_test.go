package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// networkFault is one toxiproxy scenario: inject puts the faults on the two proxies
// (it may keep acting while the copy runs, until ctx ends) and returns a description of
// what it injected, read once the copy has ended.
type networkFault struct {
	name   string
	order  int
	inject func(ctx context.Context, src, dst *testenv.Toxi) (injected func() string)
}

func networkFaults() []networkFault {
	const kib, mib = 1 << 10, 1 << 20
	return []networkFault{
		{"latency", 20, func(_ context.Context, src, dst *testenv.Toxi) func() string {
			ms := pick(40, 120)
			for _, x := range []*testenv.Toxi{src, dst} {
				x.Latency("latency-up", "upstream", ms, ms/4)
				x.Latency("latency-down", "downstream", ms, ms/4)
			}
			return func() string {
				return fmt.Sprintf("+%d±%d ms each way on all %d connections", ms, ms/4, src.Conns()+dst.Conns())
			}
		}},
		{"bandwidth limit", 21, func(_ context.Context, src, dst *testenv.Toxi) func() string {
			rate := pick(3*kib, 2*kib) // KiB/s per connection
			src.Bandwidth("slow-get", "downstream", rate)
			dst.Bandwidth("slow-put", "upstream", rate)
			return func() string {
				return fmt.Sprintf("%d MiB/s per connection, GET and PUT, on all %d connections", rate/kib, src.Conns()+dst.Conns())
			}
		}},
		{"connection reset mid-body (GET)", 22, func(_ context.Context, src, _ *testenv.Toxi) func() string {
			n := src.Fault("reset-get", testenv.ToxicCut, "downstream", pick[int64](3, 2), 64*kib, pick[int64](6, 3)*mib)
			return func() string { return fmt.Sprintf("%d source connections reset inside a response body", n.Load()) }
		}},
		{"connection reset mid-body (PUT)", 23, func(_ context.Context, _, dst *testenv.Toxi) func() string {
			n := dst.Fault("reset-put", testenv.ToxicCut, "upstream", pick[int64](3, 2), 64*kib, pick[int64](6, 3)*mib)
			return func() string { return fmt.Sprintf("%d destination connections reset inside a request body", n.Load()) }
		}},
		{"stalled peer (timeout)", 24, func(_ context.Context, src, dst *testenv.Toxi) func() string {
			g := src.Fault("stall-get", testenv.ToxicStall, "downstream", 4, 1*kib, 0)
			p := dst.Fault("stall-put", testenv.ToxicStall, "upstream", 3, 256*kib, 2*mib)
			return func() string {
				return fmt.Sprintf("%d GET and %d PUT connections went silent mid-body (stallTimeout 2s)", g.Load(), p.Load())
			}
		}},
		{"proxy cut and restored", 25, func(ctx context.Context, src, dst *testenv.Toxi) func() string {
			var cuts atomic.Int64
			go func() {
				for i := 0; i < pick(1, 3); i++ {
					waitFor(ctx, 700*time.Millisecond)
					if ctx.Err() != nil {
						return
					}
					src.Cut()
					dst.Cut()
					cuts.Add(1)
					time.Sleep(1500 * time.Millisecond)
					src.Restore()
					dst.Restore()
				}
			}()
			return func() string {
				return fmt.Sprintf("network to both servers cut %d× for 1.5 s (open connections reset, new ones refused)", cuts.Load())
			}
		}},
	}
}

// Each network fault runs over one copy through toxiproxy, then the destination is
// compared with the source object by object, and emptied for the next scenario.
func TestChaosNetwork(t *testing.T) {
	t.Parallel()
	s := newSite(t, chaosSpec(31), 4)
	// A short stall timeout, so a silent peer costs seconds here, not minutes.
	s.Config = s.shortStallTimeout()
	objects := s.objects()
	for _, f := range networkFaults() {
		t.Run(f.name, func(t *testing.T) {
			s.t = t
			src, dst, config := s.proxied()
			ctx, cancel := context.WithCancel(context.Background())
			injected := f.inject(ctx, src, dst)
			start := time.Now()
			code, out, retries := s.runFull("copy", "--config", config)
			cancel()
			result := fmt.Sprintf("exit %d in %.1fs", code, time.Since(start).Seconds())
			if code != 0 {
				t.Errorf("copy under %q exited %d:\n%s", f.name, code, tail(out, 40))
				// The faults are gone now: a second run must finish the copy.
				if code, out := s.Run("copy", "--config", s.Config); code != 0 {
					t.Fatalf("copy without faults exited %d:\n%s", code, tail(out, 40))
				}
				result += ", completed by a rerun"
			}
			s.verifyClean()
			report(t, faultRow{order: f.order, Scenario: "network: " + f.name, Objects: objects, Faults: injected(),
				Retries: fmt.Sprint(retries), Result: result + "; identical, no upload left"})
			s.resetDestination()
		})
	}
}

// resetDestination empties the destination buckets and the state folder, so the next
// scenario copies everything again.
func (s *site) resetDestination() {
	s.t.Helper()
	ctx := context.Background()
	c := s.Dst.Client()
	for _, b := range destBuckets {
		objs := make(chan minio.ObjectInfo)
		go func() {
			defer close(objs)
			for o := range c.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true}) {
				objs <- o
			}
		}()
		for e := range c.RemoveObjects(ctx, b, objs, minio.RemoveObjectsOptions{}) {
			s.t.Fatalf("empty %s: %v", b, e.Err)
		}
	}
	if err := os.RemoveAll(filepath.Join(s.Dir, "state")); err != nil {
		s.t.Fatal(err)
	}
}

// tail is the last n lines of out.
func tail(out string, n int) string {
	lines := 0
	for i := len(out) - 1; i >= 0; i-- {
		if out[i] == '\n' {
			lines++
			if lines > n {
				return "..." + out[i:]
			}
		}
	}
	return out
}
