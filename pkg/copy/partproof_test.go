package copy_test

import (
	"context"
	cryptomd5 "crypto/md5"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
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

// A destination whose part ETags are not MD5s cannot vouch for the parts: the copier
// hashes them on the way and proves them against the source's ETag itself.
func TestPartETagsThatAreNoMD5sAreProvenByHashing(t *testing.T) {
	t.Parallel()
	r, p := newPartRig(t, "proof-opaque")
	copyTwice(t, r, p, func(tamper *partTamper) { tamper.opaque = true }, func(round int, res copy.Result, tamper *partTamper) {
		if res.Copied != 18 || tamper.Complete != 6 {
			t.Fatalf("round %d: copied %d objects with %d completed uploads; want 18 and 6 (no upload started over)", round, res.Copied, tamper.Complete)
		}
	})
}
