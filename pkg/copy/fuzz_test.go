package copy

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// FuzzETagParts: what the copier reads off an ETag (multipart part count, MD5) is only
// ever taken from a well-formed one.
func FuzzETagParts(f *testing.F) {
	for _, s := range []string{"d41d8cd98f00b204e9800998ecf8427e", "9b2cf535f27731c974343645a3985328-3", "9B2CF535F27731C974343645A3985328-10000",
		"9b2cf535f27731c974343645a3985328-10001", "9b2cf535f27731c974343645a3985328-0", "9b2cf535f27731c974343645a3985328--3",
		"xyz-3", "-", "", "9b2cf535f27731c974343645a3985328-99999999999999999999", "\"9b2cf535f27731c974343645a3985328\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, etag string) {
		if n := multipartParts(etag); n != 0 {
			i := strings.LastIndexByte(etag, '-')
			m, err := strconv.Atoi(etag[i+1:])
			if n < 1 || n > maxParts || err != nil || m != n || !isMD5(etag[:i]) {
				t.Fatalf("%q read as %d parts", etag, n)
			}
		}
		if b := md5FromETag(etag); b != nil && (len(b) != 16 || !strings.EqualFold(hex.EncodeToString(b), etag)) {
			t.Fatalf("%q read as MD5 %x", etag, b)
		}
	})
}

// FuzzShard: every key belongs to exactly one shard of N, and a shard reads back as it
// prints.
func FuzzShard(f *testing.F) {
	f.Add("1234567890123456/dom.mobs", uint8(4), "0/4")
	f.Add("", uint8(1), "1/1")
	f.Add("odd/unicode-éü漢字.css", uint8(255), "-1/3")
	f.Fuzz(func(t *testing.T, key string, n uint8, text string) {
		count := int(n%64) + 1
		owners := 0
		for i := range count {
			if (Shard{Index: i, Count: count}).Owns(key) {
				owners++
			}
		}
		if owners != 1 {
			t.Fatalf("%q has %d owners among %d shards", key, owners, count)
		}
		if s, err := ParseShard(text); err == nil {
			if s.Index < 0 || s.Index >= s.Count {
				t.Fatalf("%q parsed as %+v", text, s)
			}
			if again, err := ParseShard(fmt.Sprintf("%d/%d", s.Index, s.Count)); err != nil || again != s {
				t.Fatalf("%+v does not read back: %+v, %v", s, again, err)
			}
		}
	})
}

// FuzzJoin: for any keys (any bytes, in S3's byte order), the merge-join hands over
// every source key once, in order, matched with the destination object of the same key
// when there is one, and every key only the destination has once as an extra.
func FuzzJoin(f *testing.F) {
	f.Add([]byte("a\x00b\x00c"), []byte("b\x00d"))
	f.Add([]byte("odd/with space\x00odd/plus+sign\x00odd/é"), []byte("odd/é\x00odd/\xff"))
	f.Add([]byte(""), []byte("x"))
	f.Fuzz(func(t *testing.T, srcKeys, dstKeys []byte) {
		src, dst := keySet(srcKeys), keySet(dstKeys)
		var got, extra []string
		err := Join(listing(objects(src)...), listing(objects(dst)...), SameByListing, func(a Action) error {
			if a.HasDst != slices.Contains(dst, a.Src.Key) || (a.HasDst && a.Dst.Key != a.Src.Key) {
				t.Fatalf("%q matched with %+v (has %v)", a.Src.Key, a.Dst, a.HasDst)
			}
			if a.Kind != ActSkip && a.HasDst {
				t.Fatalf("%q: equal objects not skipped: %v", a.Src.Key, a.Kind)
			}
			got = append(got, a.Src.Key)
			return nil
		}, func(o store.Object) error {
			extra = append(extra, o.Key)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, src) {
			t.Fatalf("source keys %q handed over as %q", src, got)
		}
		var want []string
		for _, k := range dst {
			if !slices.Contains(src, k) {
				want = append(want, k)
			}
		}
		if !slices.Equal(extra, want) {
			t.Fatalf("extras %q, want %q", extra, want)
		}
	})
}

// keySet splits data at NUL bytes into distinct keys in byte order, as S3 lists them.
func keySet(data []byte) []string {
	var keys []string
	for _, k := range bytes.Split(data, []byte{0}) {
		if len(k) > 0 {
			keys = append(keys, string(k))
		}
	}
	slices.Sort(keys) // Go compares strings bytewise: S3's order
	return slices.Compact(keys)
}

// objects lists keys as equal objects on either side.
func objects(keys []string) []store.Object {
	out := make([]store.Object, len(keys))
	for i, k := range keys {
		out[i] = store.Object{Key: k, Size: int64(len(k)), ETag: "e"}
	}
	return out
}
