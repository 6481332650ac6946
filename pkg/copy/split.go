package copy

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Splitting a bucket's key space into ranges that are listed at once. S3 lists one page
// of about 1,000 keys per round trip and cannot be asked for a page in the middle, except
// by start-after: so ranges are (after, through] intervals, and their bounds are placed
// between the bucket's first and last keys by interpolation. OpenReplay's recording keys
// begin with 16-19 digit session IDs, which are spread evenly over their span, so a
// decimal interpolation of their leading digits splits them into even shares; other keys
// are interpolated over printable ASCII.

// splitRanges returns n ranges that together cover every key, once each, split by
// interpolation between first and last.
func splitRanges(first, last string, n int) []checkpoint.Range {
	if n <= 1 || first >= last {
		return []checkpoint.Range{{}}
	}
	return rangesAt(splitBounds(first, last, n))
}

// boundsAmong cuts a bucket's every key (sorted) into n shares.
func boundsAmong(keys []string, n int) []string {
	var out []string
	for j := 1; j < n && len(keys) > 0; j++ {
		k := keys[max(j*len(keys)/n-1, 0)]
		if len(out) == 0 || out[len(out)-1] < k {
			out = append(out, k)
		}
	}
	return out
}

// rangesAt returns the ranges that increasing bounds cut the key space into.
func rangesAt(bounds []string) []checkpoint.Range {
	ranges := make([]checkpoint.Range, 0, len(bounds)+1)
	after := ""
	for _, b := range bounds {
		ranges = append(ranges, checkpoint.Range{After: after, Through: b})
		after = b
	}
	return append(ranges, checkpoint.Range{After: after})
}

// digitWidth and asciiWidth are how many characters past the keys' common prefix the
// interpolation looks at: 10^5 and 95^3 points, enough for even shares of up to
// hundreds of ranges.
const (
	digitWidth = 5
	asciiWidth = 3
)

// splitBounds returns up to n-1 increasing bounds with first <= b < last.
func splitBounds(first, last string, n int) []string {
	p := commonPrefix(first, last)
	a, b := first[len(p):], last[len(p):]
	lo, base, width := byte(' '), 95, asciiWidth
	if a != "" && isDigit(a[0]) && isDigit(b[0]) {
		lo, base, width = '0', 10, digitWidth
	}
	x, y := digits(a, lo, base, width), digits(b, lo, base, width)
	span := new(big.Int).Sub(y, x)
	var bounds []string
	for j := 1; j < n; j++ {
		v := new(big.Int).Mul(span, big.NewInt(int64(j)))
		v.Div(v, big.NewInt(int64(n)))
		v.Add(v, x)
		s := p + strings.TrimRight(encode(v, lo, base, width), string(lo))
		if s < first || s >= last || (len(bounds) > 0 && s <= bounds[len(bounds)-1]) {
			continue
		}
		bounds = append(bounds, s)
	}
	return bounds
}

// digits reads the first width characters of s as a number in base, characters outside
// the alphabet clamped to its ends, missing ones as its lowest.
func digits(s string, lo byte, base, width int) *big.Int {
	v := new(big.Int)
	b := big.NewInt(int64(base))
	for i := range width {
		d := 0
		if i < len(s) {
			d = min(max(int(s[i])-int(lo), 0), base-1)
		}
		v.Mul(v, b).Add(v, big.NewInt(int64(d)))
	}
	return v
}

func encode(v *big.Int, lo byte, base, width int) string {
	out := make([]byte, width)
	b := big.NewInt(int64(base))
	v = new(big.Int).Set(v)
	m := new(big.Int)
	for i := width - 1; i >= 0; i-- {
		v.DivMod(v, b, m)
		out[i] = lo + byte(m.Int64())
	}
	return string(out)
}

func commonPrefix(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[:i]
}

// listPage is how many keys S3 (and pkg/s3) list per request.
const listPage = 1000

// keysPerRange is the fewest keys a range should have: each range costs up to one
// listing request more than one stream would, a tenth of ten pages. (A variable only so
// that tests can split buckets of thousands of keys.)
var keysPerRange int64 = 10 * listPage

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// bucketEnds finds a bucket's first and last keys with start-after probes, each one
// listing request: the first key is the listing's first entry; the last is found a
// character at a time by bisection ("is there a key at or above this string?"), as far
// as the interpolation looks. About 25 requests, made once per pass that shards share
// and have no split for yet.
// A bucket whose first listing page is not full is not probed (ok false): page is then
// every key it holds.
func bucketEnds(ctx context.Context, s store.Store, bucket string) (first, last string, page []string, ok bool, err error) {
	for o, err := range s.List(ctx, bucket, "") {
		if err != nil {
			return "", "", nil, false, fmt.Errorf("split %s into ranges: %w", bucket, err)
		}
		if page = append(page, o.Key); len(page) == listPage {
			break // the page is full; asking for more would cost a second request
		}
	}
	if len(page) < listPage {
		return "", "", page, false, nil
	}
	first, page = page[0], nil
	// Bisect the length of the prefix the last key shares with the first.
	shared, over := 0, len(first)+1
	for over-shared > 1 {
		mid := (shared + over) / 2
		_, beyond, err := nextKey(ctx, s, bucket, first[:mid]+"\x7f")
		if err != nil {
			return "", "", nil, false, err
		}
		if beyond {
			over = mid
		} else {
			shared = mid
		}
	}
	last = first[:shared]
	width := asciiWidth
	for range digitWidth {
		// The largest character c such that some key is at or above last+c.
		lo, hi := byte(' '), byte('~')
		for lo < hi {
			c := lo + (hi-lo+1)/2
			_, ok, err := nextKey(ctx, s, bucket, last+string(c-1)+"\x7f")
			if err != nil {
				return "", "", nil, false, err
			}
			if ok {
				lo = c
			} else {
				hi = c - 1
			}
		}
		if len(last) == shared && isDigit(lo) && shared < len(first) && isDigit(first[shared]) {
			width = digitWidth
		}
		last += string(lo)
		if len(last)-shared >= width {
			break
		}
	}
	return first, max(last, first), nil, true, nil
}

// nextKey is the first key after startAfter, from one listing request.
func nextKey(ctx context.Context, s store.Store, bucket, startAfter string) (string, bool, error) {
	for o, err := range s.List(ctx, bucket, startAfter) {
		if err != nil {
			return "", false, fmt.Errorf("split %s into ranges: %w", bucket, err)
		}
		return o.Key, true, nil
	}
	return "", false, nil
}
