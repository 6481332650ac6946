package copy

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// listed is a bucket in memory that lists in pages, as a service does, and records
// where each listing started.
type listed struct {
	store.Store
	keys   []string
	failAt int // the first listing fails before this index (0: never)
	mu     sync.Mutex
	starts []string
}

func (l *listed) List(ctx context.Context, bucket, after string) iter.Seq2[store.Object, error] {
	l.mu.Lock()
	first := len(l.starts) == 0
	l.starts = append(l.starts, after)
	l.mu.Unlock()
	return func(yield func(store.Object, error) bool) {
		for i, k := range l.keys {
			if k <= after {
				continue
			}
			if first && l.failAt > 0 && i == l.failAt {
				yield(store.Object{}, errors.New("injected: connection reset"))
				return
			}
			if !yield(store.Object{Key: k, Size: int64(len(k))}, nil) {
				return
			}
		}
	}
}

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%06d/dom.mobs", i)
	}
	return out
}

// collect reads a listing as the engine does and fails on a repeated or missing key.
func collect(t *testing.T, seq iter.Seq2[store.Object, error], want []string) {
	t.Helper()
	var got []string
	for o, err := range seq {
		if err != nil {
			t.Fatalf("listing failed after %d keys: %v", len(got), err)
		}
		got = append(got, o.Key)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("the copy listed %d keys (first %q); want the %d after the start, each once, in order", len(got), got[:min(len(got), 3)], len(want))
	}
}

// The copy's listing gets every key after its start once and in order, whether the
// count's window holds the whole bucket, fills up before the copy reads it, or ends
// in a failed page; the count reports the bucket's total only when it listed it all.
func TestCopyReadsTheCountsListing(t *testing.T) {
	all := keys(2600)
	for _, c := range []struct {
		name       string
		window     int
		after      string
		failAt     int
		readFirst  bool     // the copy reads while the count runs (else after it ended)
		wantStarts []string // where the bucket was listed
		wantCount  bool
	}{
		{name: "fits the window", window: 5000, readFirst: true, wantStarts: []string{""}, wantCount: true},
		{name: "fits, read after the count ended", window: 5000, wantStarts: []string{""}, wantCount: true},
		{name: "resumed pass", window: 5000, after: all[99], wantStarts: []string{all[99]}, wantCount: true},
		{name: "window full", window: 1000, wantStarts: []string{"", all[999]}, wantCount: true},
		{name: "count fails", window: 5000, failAt: 1700, wantStarts: []string{"", all[1499]}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := &listed{keys: all, failAt: c.failAt}
			l := newSharedList("mobs", c.after, c.window)
			shared := &sharedSource{Store: src, lists: map[listFrom]*sharedList{{"mobs", c.after}: l}}
			var n int64
			var ok bool
			done := make(chan struct{})
			go func() {
				defer close(done)
				n, _, ok = l.count(context.Background(), src, func(string) bool { return true })
			}()
			if !c.readFirst {
				<-done
			}
			want := all
			if c.after != "" {
				want = all[100:]
			}
			collect(t, shared.List(context.Background(), "mobs", c.after), want)
			<-done
			if ok != c.wantCount || (ok && n != int64(len(want))) {
				t.Fatalf("count: %d, complete %v; want %d, complete %v", n, ok, len(want), c.wantCount)
			}
			if fmt.Sprint(src.starts) != fmt.Sprint(c.wantStarts) {
				t.Fatalf("the bucket was listed from %q; want %q", src.starts, c.wantStarts)
			}
		})
	}
}

// A listing from another key than the count's is the store's own.
func TestOtherListingsAreNotShared(t *testing.T) {
	all := keys(10)
	src := &listed{keys: all}
	l := newSharedList("mobs", "", 100)
	shared := &sharedSource{Store: src, lists: map[listFrom]*sharedList{{"mobs", ""}: l}}
	collect(t, shared.List(context.Background(), "mobs", all[4]), all[5:])
	collect(t, shared.List(context.Background(), "sourcemaps", ""), all)
	if fmt.Sprint(src.starts) != fmt.Sprint([]string{all[4], ""}) {
		t.Fatalf("listed from %q", src.starts)
	}
}
