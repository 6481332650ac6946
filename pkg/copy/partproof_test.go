package copy_test

import (
	"context"
	cryptomd5 "crypto/md5"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// partTamper stands between the copier and a real destination: it damages the bytes of
// chosen parts on their way (the destination stores and hashes the damaged bytes), and
// can hand out part ETags that are not MD5s, as some services do. It fails the test if
// an upload that received a damaged part is ever completed.
type partTamper struct {
	store.Store
	t *testing.T
	// damage tells whether the n-th UploadPart of part number part of key is damaged.
	damage func(key string, part, n int) bool
	opaque bool // part ETags are not MD5s

	mu       sync.Mutex
	calls    map[string]int
	damaged  map[string]bool   // upload IDs that received a damaged part
	real     map[string]string // opaque ETag -> the destination's own
	Damaged  int
	Complete int
}

func (p *partTamper) UploadPart(ctx context.Context, bucket, key, id string, n int, body io.Reader, size int64, md5 []byte, sum store.Checksum) (store.Part, error) {
	p.mu.Lock()
	k := fmt.Sprintf("%s#%d", key, n)
	p.calls[k]++
	bad := p.damage != nil && p.damage(key, n, p.calls[k])
	if bad {
		p.damaged[id] = true
		p.Damaged++
	}
	p.mu.Unlock()
	if bad {
		body = &flipByte{r: body, at: size / 2}
	}
	part, err := p.Store.UploadPart(ctx, bucket, key, id, n, body, size, md5, sum)
	if err != nil || !p.opaque {
		return part, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// 32 hex digits that are not the part's MD5, as SSE-KMS and SSE-C answer.
	o := fmt.Sprintf("%x", cryptomd5.Sum([]byte(fmt.Sprintf("opaque-%s-%d", id, n))))
	p.real[o] = part.ETag
	part.ETag = o
	return part, nil
}

func (p *partTamper) CompleteMultipart(ctx context.Context, bucket, key, id string, parts []store.Part) (string, error) {
	p.mu.Lock()
	if p.damaged[id] {
		p.t.Errorf("upload %s of %s was completed although a part of it was damaged", id, key)
	}
	p.Complete++
	if p.opaque {
		parts = append([]store.Part(nil), parts...)
		for i := range parts {
			parts[i].ETag = p.real[parts[i].ETag]
		}
	}
	p.mu.Unlock()
	return p.Store.CompleteMultipart(ctx, bucket, key, id, parts)
}

// flipByte changes one byte of a stream: what a bad link, proxy or memory would do.
type flipByte struct {
	r   io.Reader
	at  int64
	off int64
}

func (f *flipByte) Read(b []byte) (int, error) {
	n, err := f.r.Read(b)
	if f.at >= f.off && f.at < f.off+int64(n) {
		b[f.at-f.off] ^= 0x5a
	}
	f.off += int64(n)
	return n, err
}

func newPartRig(t *testing.T, dest string) (*rig, copy.Pair) {
	t.Helper()
	r := &rig{src: testenv.StartMinIO(t), dst: testenv.StartMinIO(t), srcReq: testenv.NewRequests(), dstReq: testenv.NewRequests()}
	r.src.MakeBuckets(seed.Recordings)
	// 18 objects: every session's dom.mobs multipart (2 to 4 parts), its other two files not.
	if _, err := seed.Write(context.Background(), r.src.Client(), seed.Plan(seed.Spec{Sessions: 6, LargeEvery: 1, LargeMax: 18 << 20, Seed: 81}), 8); err != nil {
		t.Fatal(err)
	}
	r.dst.MakeBuckets(dest)
	r.srcS = client(t, r.src, r.srcReq)
	r.dstS = client(t, r.dst, r.dstReq)
	r.state = checkpoint.Dir(t.TempDir())
	return r, copy.Pair{Source: seed.Recordings, Dest: dest}
}

func runPair(t *testing.T, e *copy.Engine, p copy.Pair) copy.Result {
	t.Helper()
	res, err := e.Run(context.Background(), []copy.Pair{p})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].OK() {
		t.Fatalf("%s: failed %v, conflicts %v", p.Source, res[0].Failed, res[0].Conflicts)
	}
	return res[0]
}

// startOver empties the destination bucket and the checkpoints, so the next run copies
// everything again with what the copier learned of the bucket.
func startOver(t *testing.T, r *rig, p copy.Pair) {
	t.Helper()
	for k := range r.dst.Snapshot(p.Dest) {
		if err := r.dst.Client().RemoveObject(context.Background(), p.Dest, k, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r.state = checkpoint.Dir(t.TempDir())
}

// A part damaged on its way to the destination never becomes part of a visible object:
// neither while the copier still hashes parts itself (the first objects into a bucket)
// nor once it proves them by the part ETags the destination returns (every object after
// those showed the destination's part ETags are MD5s). The damaged upload is aborted,
// the object copied again, and the destination ends identical to the source.
func TestDamagedPartIsNeverCompleted(t *testing.T) {
	t.Parallel()
	r, p := newPartRig(t, "proof-damaged")
	copyTwice(t, r, p, func(tamper *partTamper) {
		tamper.damage = func(key string, part, n int) bool { return part == 2 && n == 1 }
	}, func(round int, res copy.Result, tamper *partTamper) {
		if res.Copied != 18 || tamper.Damaged != 6 {
			t.Fatalf("round %d: copied %d objects, damaged %d parts; want 18 (6 multipart) and 6", round, res.Copied, tamper.Damaged)
		}
	})
}

// copyTwice copies the pair twice with one engine, through a partTamper set up by
// prepare: first into a bucket the copier knows nothing of (it hashes the parts), then,
// emptied, into one whose part ETags it has learned. check sees each round's result;
// the destination must end identical, with no upload left, both times.
func copyTwice(t *testing.T, r *rig, p copy.Pair, prepare func(*partTamper), check func(round int, res copy.Result, tamper *partTamper)) {
	t.Helper()
	e := r.engine(copy.Options{})
	for round := 1; round <= 2; round++ {
		if round == 2 {
			startOver(t, r, p)
			e.Checkpoints = r.state
		}
		tamper := &partTamper{Store: r.dstS, t: t, calls: map[string]int{}, damaged: map[string]bool{}, real: map[string]string{}}
		prepare(tamper)
		e.Dst = tamper
		check(round, runPair(t, e, p), tamper)
		testenv.AssertSame(t, r.src, p.Source, r.dst, p.Dest, true)
		testenv.AssertNoUploads(t, r.dst, p.Dest)
	}
}

// A destination whose part ETags are 32 hex digits but not MD5s (SSE-KMS, SSE-C)
// cannot vouch for the parts by them: each part goes with a CRC32C the destination
// verifies and answers, and the MD5s hashed on the way add up to the source's ETag. No
// object fails or starts over for it, the first into the bucket included.
func TestPartETagsThatAreNoMD5sAreProvenByHashing(t *testing.T) {
	t.Parallel()
	r, p := newPartRig(t, "proof-opaque")
	copyTwice(t, r, p, func(tamper *partTamper) { tamper.opaque = true }, func(round int, res copy.Result, tamper *partTamper) {
		if res.Copied != 18 || tamper.Complete != 6 {
			t.Fatalf("round %d: copied %d objects with %d completed uploads; want 18 and 6 (no upload started over)", round, res.Copied, tamper.Complete)
		}
	})
}

// wireTamper is a proxy on the wire between the migrator and the destination: it flips
// one byte in the body of the first request that uploads part 2 of each object (after
// any signing and checksumming the client did), as a bad link or middlebox would.
type wireTamper struct {
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	seen  map[string]bool // object key -> its part 2 was damaged once
	// Refused counts the damaged requests the destination refused.
	Refused, Damaged int
}

func startWireTamper(t *testing.T, dst *testenv.MinIO) (endpoint string, w *wireTamper) {
	t.Helper()
	target, err := url.Parse(dst.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	w = &wireTamper{seen: map[string]bool{}}
	w.proxy = httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	return srv.URL, w
}

func (w *wireTamper) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	damage := false
	if r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "2" {
		w.mu.Lock()
		damage = !w.seen[r.URL.Path]
		w.seen[r.URL.Path] = true
		if damage {
			w.Damaged++
		}
		w.mu.Unlock()
	}
	if !damage {
		w.proxy.ServeHTTP(rw, r)
		return
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{&flipByte{r: r.Body, at: r.ContentLength / 2}, r.Body}
	rec := &statusRecorder{ResponseWriter: rw}
	w.proxy.ServeHTTP(rec, r)
	if rec.status >= 400 {
		w.mu.Lock()
		w.Refused++
		w.mu.Unlock()
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// A part damaged on the wire, past every check the migrator makes itself, is refused
// by the destination, which verifies the CRC32C sent with the part; the upload is
// aborted, the object copied again, and the destination ends identical to the source.
// Into SSE-KMS, whose part ETags prove nothing, that refusal is the only proof there is.
func TestPartDamagedOnTheWireIsRefusedByTheDestination(t *testing.T) {
	t.Parallel()
	for _, enc := range []testenv.Encryption{0, testenv.SSEKMS} {
		t.Run("encryption-"+enc.String(), func(t *testing.T) {
			r := &rig{src: testenv.StartMinIO(t), dst: testenv.StartMinIOWith(t, testenv.MinIOOptions{KMS: true}), srcReq: testenv.NewRequests()}
			r.src.MakeBuckets(seed.Recordings)
			if _, err := seed.Write(context.Background(), r.src.Client(), seed.Plan(seed.Spec{Sessions: 3, LargeEvery: 1, LargeMax: 18 << 20, Seed: 83}), 8); err != nil {
				t.Fatal(err)
			}
			p := copy.Pair{Source: seed.Recordings, Dest: "wire-damaged"}
			r.dst.MakeBuckets(p.Dest)
			if enc != 0 {
				r.dst.EncryptBucket(p.Dest, enc)
			}
			endpoint, tamper := startWireTamper(t, r.dst)
			var err error
			r.srcS = client(t, r.src, r.srcReq)
			if r.dstS, err = s3.New(s3.Options{Endpoint: endpoint, AccessKey: r.dst.AccessKey, SecretKey: r.dst.SecretKey, Region: "us-east-1"}); err != nil {
				t.Fatal(err)
			}
			r.state = checkpoint.Dir(t.TempDir())
			// One worker: the first multipart object is the one sent with checksums
			// before anything is known of the bucket.
			res := runPair(t, r.engine(copy.Options{Workers: 1}), p)
			if res.Copied != 9 || tamper.Damaged != 3 {
				t.Fatalf("copied %d objects, damaged %d parts; want 9 (3 multipart) and 3", res.Copied, tamper.Damaged)
			}
			// Into SSE-KMS every damaged part is refused; into a plain bucket the first
			// is, and the later ones, once part ETags are known to be MD5s, are caught
			// by the ETag sum before the upload is completed.
			if want := map[bool]int{true: 3, false: 1}[enc == testenv.SSEKMS]; tamper.Refused < want {
				t.Fatalf("the destination refused %d damaged parts; want at least %d", tamper.Refused, want)
			}
			testenv.AssertSame(t, r.src, p.Source, r.dst, p.Dest, enc == 0)
			testenv.AssertNoUploads(t, r.dst, p.Dest)
		})
	}
}
