package copy

import (
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

func listing(objs ...store.Object) iter.Seq2[store.Object, error] {
	return func(yield func(store.Object, error) bool) {
		for _, o := range objs {
			if !yield(o, nil) {
				return
			}
		}
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func obj(key string, size int64, etag string, age time.Duration) store.Object {
	return store.Object{Key: key, Size: size, ETag: etag, LastModified: t0.Add(age)}
}

func TestJoinDecides(t *testing.T) {
	src := listing(
		obj("a", 1, "e1", 0),         // missing at the destination
		obj("b", 1, "e1", 0),         // same
		obj("c", 1, "e1", time.Hour), // destination older and different: copy over it
		obj("d", 1, "e1", 0),         // destination newer and different: conflict
		obj("e", 2, "e1", 0),         // same ETag, other size: not the same
		obj("g", 1, "e1", 0),         // after an extra key
	)
	dst := listing(
		obj("b", 1, "e1", time.Minute),
		obj("c", 1, "e2", 0),
		obj("d", 1, "e2", time.Hour),
		obj("e", 1, "e1", -time.Hour),
		obj("f", 1, "e1", 0),
		obj("h", 1, "e1", 0),
	)
	var got []string
	var extra []string
	err := Join(src, dst, SameByListing, func(a Action) error {
		got = append(got, a.Src.Key+":"+a.Kind.String())
		return nil
	}, func(o store.Object) error {
		extra = append(extra, o.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a:copy", "b:skip", "c:copy", "d:conflict", "e:copy", "g:copy"}
	if len(got) != len(want) {
		t.Fatalf("got %v want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
	if len(extra) != 2 || extra[0] != "f" || extra[1] != "h" {
		t.Fatalf("extra %v; want [f h]", extra)
	}
}

func TestJoinStopsOnListingError(t *testing.T) {
	boom := errors.New("boom")
	bad := func(yield func(store.Object, error) bool) {
		if yield(obj("a", 1, "e", 0), nil) {
			yield(store.Object{}, boom)
		}
	}
	err := Join(listing(obj("a", 1, "e", 0), obj("b", 1, "e", 0)), bad, SameByListing, func(Action) error { return nil }, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("destination listing error lost: %v", err)
	}
	err = Join(bad, listing(), SameByListing, func(Action) error { return nil }, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("source listing error lost: %v", err)
	}
}

func TestWatermarkNeverPassesAnUnfinishedKey(t *testing.T) {
	w := newWatermark("", 100)
	w.skip("a")
	b := w.begin("b")
	w.skip("c")
	d := w.begin("d")
	w.skip("e")
	if m := w.get(); m != "a" {
		t.Fatalf("mark %q; want a (b is in flight)", m)
	}
	w.finish(d)
	if m := w.get(); m != "a" {
		t.Fatalf("mark %q after d finished; want a (b still in flight)", m)
	}
	w.finish(b)
	if m := w.get(); m != "e" {
		t.Fatalf("mark %q after all finished; want e", m)
	}
}

func TestShardsSplitKeysDisjointlyAndCompletely(t *testing.T) {
	const n = 4
	counts := make([]int, n)
	for i := range 10000 {
		key := "k" + string(rune('a'+i%26)) + string(rune(i))
		owners := 0
		for s := range n {
			if (Shard{Index: s, Count: n}).Owns(key) {
				owners++
				counts[s]++
			}
		}
		if owners != 1 {
			t.Fatalf("key %q has %d owners", key, owners)
		}
	}
	for s, c := range counts {
		if c < 2000 || c > 3000 {
			t.Errorf("shard %d owns %d of 10000 keys; want about 2500", s, c)
		}
	}
	for _, bad := range []string{"", "1", "4/4", "-1/4", "a/b", "0/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}
