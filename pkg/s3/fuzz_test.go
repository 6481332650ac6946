package s3

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzContentRange: the object size read from a part's Content-Range is taken only when
// it is a plain non-negative number.
func FuzzContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-5242879/12582912", "bytes 0-0/*", "bytes 0-1/", "bytes 0-1/-5", "bytes 0-1/ 5", "bytes 0-1/5x", "/", "", "bytes 0-1/+7", "bytes 0-1/99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cr string) {
		n, ok := totalFromContentRange(cr)
		if !ok {
			return
		}
		suffix := cr[strings.LastIndexByte(cr, '/')+1:]
		if n < 0 || strconv.FormatInt(n, 10) != suffix {
			t.Fatalf("%q read as %d", cr, n)
		}
	})
}
