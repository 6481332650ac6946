package copy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
)

// sessionKeys are OpenReplay recording keys: 16-19 digit session IDs, three files each.
func sessionKeys(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	keys := make([]string, 0, 3*n)
	for range n {
		id := strconv.FormatUint(1_000_000_000_000_000+r.Uint64N(8_000_000_000_000_000_000), 10)
		keys = append(keys, id+"/devtools.mob", id+"/dom.mobe", id+"/dom.mobs")
	}
	slices.Sort(keys)
	return keys
}

// inRange counts the keys each range holds; every key must be in exactly one.
func inRange(t *testing.T, ranges []checkpoint.Range, keys []string) []int {
	t.Helper()
	counts := make([]int, len(ranges))
	for _, k := range keys {
		n := 0
		for i, r := range ranges {
			if k > r.After && (r.Through == "" || k <= r.Through) {
				counts[i]++
				n++
			}
		}
		if n != 1 {
			t.Fatalf("key %q is in %d ranges of %v; want exactly one", k, n, ranges)
		}
	}
	return counts
}

// A first pass splits by interpolating between the bucket's ends: even shares where keys
// are spread evenly over their span, as 19-digit session IDs are.
func TestFirstPassSplitsEvenlySpreadKeysEvenly(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var keys []string
	for range 30_000 {
		keys = append(keys, strconv.FormatUint(1_000_000_000_000_000_000+r.Uint64N(8_000_000_000_000_000_000), 10)+"/dom.mobs")
	}
	slices.Sort(keys)
	for _, n := range []int{4, 16} {
		ranges := splitRanges(keys[0], keys[len(keys)-1], n)
		if len(ranges) != n {
			t.Fatalf("%d ranges asked, %d made: %v", n, len(ranges), ranges)
		}
		for i, c := range inRange(t, ranges, keys) {
			if want := len(keys) / n; c < want*3/4 || c > want*5/4 {
				t.Errorf("%d ranges: range %d (%q, %q] holds %d keys; want about %d", n, i, ranges[i].After, ranges[i].Through, c, want)
			}
		}
	}
}

// Later passes split where the previous pass found the keys, whatever their spread:
// session IDs of 16 to 19 digits sort unevenly over their span.
func TestLaterPassesSplitWhereTheKeysAre(t *testing.T) {
	keys := sessionKeys(100_000, 7)
	// The previous pass listed them in four ranges of its own.
	prev := splitRanges(keys[0], keys[len(keys)-1], 4)
	samples := make([]*sample, len(prev))
	for i := range samples {
		samples[i] = &sample{}
	}
	for _, k := range keys {
		for i, r := range prev {
			if k > r.After && (r.Through == "" || k <= r.Through) {
				samples[i].add(k)
			}
		}
	}
	q := quantiles(samples, Quantiles)
	for _, n := range []int{2, 3, 8, 16, 64} {
		ranges := rangesAt(boundsFrom(q, n))
		if len(ranges) != n {
			t.Fatalf("%d ranges asked, %d made", n, len(ranges))
		}
		for i, c := range inRange(t, ranges, keys) {
			if want := len(keys) / n; c < want*9/10 || c > want*11/10 {
				t.Errorf("%d ranges: range %d (%q, %q] holds %d keys; want about %d", n, i, ranges[i].After, ranges[i].Through, c, want)
			}
		}
	}
}

func TestRangesCoverEveryKeyOnceWhateverTheKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	var keys []string
	for i := range 5000 {
		keys = append(keys, fmt.Sprintf("%d/%016x.css", 1+i%5, r.Uint64()), fmt.Sprintf("odd/ünï %d", i), "a", "a/", "\x7f~")
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	for _, n := range []int{1, 3, 8, 100} {
		ranges := splitRanges(keys[0], keys[len(keys)-1], n)
		inRange(t, ranges, keys)
		if ranges[0].After != "" || ranges[len(ranges)-1].Through != "" {
			t.Fatalf("ranges %v do not reach both ends of the key space", ranges)
		}
	}
}
