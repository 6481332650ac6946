// Package seed fills a MinIO with OpenReplay-like data: recordings, assets and
// sourcemaps with the headers, tags and multipart layout OpenReplay's uploader produces.
package seed

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"
)

// OpenReplay's uploader sets this on every object (backend/pkg/objectstorage/s3).
const cacheControl = "max-age=2628000, immutable, private"

// PartSize is the AWS SDK upload manager's default part size, which OpenReplay uses:
// objects above it are multipart with an "md5-N" ETag.
const PartSize = 5 << 20

// Spec says how much of each kind to make.
type Spec struct {
	Sessions   int   // recordings: three files per session in the recordings bucket
	Assets     int   // objects in the assets bucket
	Sourcemaps int   // objects in the sourcemaps bucket
	LargeEvery int   // every n-th session's dom.mobs is large (multipart); 0: none
	LargeMax   int64 // largest such file
	MobsMax    int64 // largest ordinary dom.mobs; dom.mobe and devtools.mob scale with it; 0: 2 MiB
	Odd        bool  // add keys with spaces, +, %, ?, #, unicode, a trailing /, and a zero-byte object
	Seed       uint64

	fixedSize int64 // every asset this size (the tiny set)
}

// Buckets OpenReplay creates and the migration guide names.
const (
	Recordings = "mobs"
	Assets     = "sessions-assets"
	Sourcemaps = "sourcemaps"
)

// Demo is the data set `make demo` copies: about 490 MiB in 1,500 objects, 10 multipart.
func Demo() Spec {
	return Spec{Sessions: 400, Assets: 250, Sourcemaps: 40, LargeEvery: 40, LargeMax: 24 << 20, Odd: true, Seed: 1}
}

// Mixed is the benchmark's mixed set: 9,000 objects, ~780 MiB, 28 of them multipart.
func Mixed() Spec {
	return Spec{Sessions: 2800, Assets: 500, Sourcemaps: 100, LargeEvery: 100, LargeMax: 16 << 20, MobsMax: 384 << 10, Seed: 2}
}

// WAN is the benchmark's set for a copy over a slow link: about 3,000 OpenReplay-like
// objects, small enough that round trips, not bytes, set the pace.
func WAN() Spec {
	return Spec{Sessions: 900, Assets: 250, Sourcemaps: 50, MobsMax: 64 << 10, Seed: 4}
}

// Tiny is the benchmark's set of small objects: 10,000 x 2 KiB.
func Tiny() Spec { return Spec{Assets: 10000, Seed: 3, fixedSize: 2 << 10} }

// Object is one object to write.
type Object struct {
	Bucket, Key string
	Size        int64
	Opts        minio.PutObjectOptions
	seed        uint64
}

// Stats counts what was written.
type Stats struct {
	Objects, Bytes, Multipart int64
}

// Plan lists the objects Spec describes, deterministically.
func Plan(s Spec) []Object {
	r := rand.New(rand.NewPCG(s.Seed, 7))
	var out []Object
	add := func(bucket, key string, size int64, o minio.PutObjectOptions) {
		o.CacheControl = cacheControl
		if o.ContentType == "" {
			o.ContentType = "application/octet-stream"
		}
		out = append(out, Object{Bucket: bucket, Key: key, Size: size, Opts: o, seed: r.Uint64()})
	}
	recTags := func(i int) map[string]string {
		t := map[string]string{"retention": "default"}
		if i%7 == 0 {
			t["to_delete_in_days"] = "30"
		}
		return t
	}
	for i := 0; i < s.Sessions; i++ {
		// Session IDs are 16-19 digit integers.
		id := strconv.FormatUint(1_000_000_000_000_000+r.Uint64N(8_000_000_000_000_000_000), 10)
		mobsMax := s.MobsMax
		if mobsMax <= 0 {
			mobsMax = 2 << 20
		}
		mobs := logSize(r, 4<<10, mobsMax)
		if s.LargeEvery > 0 && i%s.LargeEvery == s.LargeEvery-1 {
			mobs = PartSize + 1 + r.Int64N(max(s.LargeMax-PartSize, 1))
		}
		add(Recordings, id+"/dom.mobs", mobs, minio.PutObjectOptions{UserTags: recTags(i)})
		add(Recordings, id+"/dom.mobe", logSize(r, 1<<10, mobsMax/4), minio.PutObjectOptions{UserTags: recTags(i)})
		add(Recordings, id+"/devtools.mob", logSize(r, 1<<10, mobsMax*100/1024), minio.PutObjectOptions{UserTags: recTags(i)})
	}
	kinds := []struct{ ext, ctype, enc string }{
		{".css", "text/css", "gzip"}, {".woff2", "font/woff2", ""}, {".png", "image/png", ""}, {".svg", "image/svg+xml", "br"},
	}
	for i := 0; i < s.Assets; i++ {
		k := kinds[i%len(kinds)]
		size := logSize(r, 512, 400<<10)
		if s.fixedSize > 0 {
			size = s.fixedSize
		}
		add(Assets, fmt.Sprintf("%d/%016x%s", 1+i%5, r.Uint64(), k.ext), size,
			minio.PutObjectOptions{ContentType: k.ctype, ContentEncoding: k.enc})
	}
	for i := 0; i < s.Sourcemaps; i++ {
		add(Sourcemaps, fmt.Sprintf("%d/%08x/app.%d.js.map", 1+i%3, r.Uint32(), i), logSize(r, 8<<10, 3<<20),
			minio.PutObjectOptions{ContentType: "application/json", ContentDisposition: `attachment; filename="app.js.map"`,
				UserMetadata: map[string]string{"Project-Id": strconv.Itoa(1 + i%3)}})
	}
	if s.Odd {
		for _, k := range OddKeys {
			size := logSize(r, 1, 4<<10)
			if strings.HasSuffix(k, "/") {
				size = 0 // S3 services keep "folder" keys empty; MinIO refuses content there
			}
			add(Assets, k, size, minio.PutObjectOptions{ContentType: "text/plain"})
		}
		add(Recordings, "0000000000000000/empty.mob", 0, minio.PutObjectOptions{UserTags: recTags(0)})
	}
	return out
}

// OddKeys are keys that break naive URL handling.
var OddKeys = []string{
	"odd/with space.css", "odd/plus+sign.css", "odd/percent%20literal.css", "odd/question?mark.css",
	"odd/hash#frag.css", "odd/unicode-éü漢字.css", "odd/ends-with-slash/", "odd/amp&eq=.css", "odd/tilde~star*.css",
}

// logSize draws a size between lo and hi, most of them small, as real recordings are.
func logSize(r *rand.Rand, lo, hi int64) int64 {
	f := r.Float64()
	return lo + int64(float64(hi-lo)*f*f*f)
}

// Write uploads objs with the given concurrency; objects above PartSize go multipart
// with PartSize parts, as OpenReplay's uploader does.
func Write(ctx context.Context, c *minio.Client, objs []Object, workers int) (Stats, error) {
	var st Stats
	made := map[string]bool{}
	for _, o := range objs {
		if !made[o.Bucket] {
			made[o.Bucket] = true
			ok, err := c.BucketExists(ctx, o.Bucket)
			if err != nil {
				return st, err
			}
			if !ok {
				if err := c.MakeBucket(ctx, o.Bucket, minio.MakeBucketOptions{}); err != nil {
					return st, err
				}
			}
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	var mu sync.Mutex
	for _, o := range objs {
		g.Go(func() error {
			opts := o.Opts
			opts.PartSize = PartSize
			opts.DisableContentSha256 = true
			_, err := c.PutObject(ctx, o.Bucket, o.Key, Body(o), o.Size, opts)
			if err != nil {
				return fmt.Errorf("seed %s/%s: %w", o.Bucket, o.Key, err)
			}
			atomic.AddInt64(&st.Objects, 1)
			atomic.AddInt64(&st.Bytes, o.Size)
			if o.Size > PartSize {
				mu.Lock()
				st.Multipart++
				mu.Unlock()
			}
			return nil
		})
	}
	return st, g.Wait()
}

// Body is the object's content: pseudo-random, so it does not compress, and repeatable.
func Body(o Object) io.Reader {
	var s [32]byte
	for i := range 4 {
		v := o.seed + uint64(i)*0x9e3779b97f4a7c15
		for j := range 8 {
			s[i*8+j] = byte(v >> (8 * j))
		}
	}
	return io.LimitReader(rand.NewChaCha8(s), o.Size)
}
