package copy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/verify"
)

// encryptedSpec has a multipart dom.mobs (2 to 4 parts) in every session, as
// OpenReplay's uploader makes of recordings over 5 MiB, beside single-part files.
var encryptedSpec = seed.Spec{Sessions: 4, Assets: 6, LargeEvery: 1, LargeMax: 18 << 20, Seed: 61}

// Into every kind of encrypted destination - a bucket's default SSE-S3 or SSE-KMS, or
// encryption the migrator asks for on each write (destination.sse) - every object
// arrives whole with its headers and tags, encrypted as asked, with no upload left
// behind; a second run recognises the copies from the listings alone, and verify
// proves them. SSE-KMS part ETags are 32 hex digits that are no MD5s: that used to
// fail every multipart recording.
func TestCopyIntoEncryptedDestinations(t *testing.T) {
	t.Parallel()
	src := testenv.StartMinIO(t)
	src.MakeBuckets(seed.Recordings, seed.Assets)
	if _, err := seed.Write(context.Background(), src.Client(), seed.Plan(encryptedSpec), 8); err != nil {
		t.Fatal(err)
	}
	dst := testenv.StartMinIOWith(t, testenv.MinIOOptions{KMS: true})
	cases := []struct {
		name    string
		bucket  testenv.Encryption // the destination buckets' default encryption; 0: none
		sse     *s3.SSE            // destination.sse
		stored  string             // x-amz-server-side-encryption the objects must show
		sameTag bool               // destination ETags equal the source's
	}{
		{name: "bucket-sse-s3", bucket: testenv.SSES3, stored: "AES256", sameTag: true},
		{name: "bucket-sse-kms", bucket: testenv.SSEKMS, stored: "aws:kms"},
		{name: "asked-aws-kms", sse: &s3.SSE{Type: s3.SSEKMS, KMSKeyID: testenv.KMSKeyID}, stored: "aws:kms"},
		{name: "asked-aes256", sse: &s3.SSE{Type: s3.SSES3}, stored: "AES256", sameTag: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := []copy.Pair{{Source: seed.Recordings, Dest: tc.name + "-rec"}, {Source: seed.Assets, Dest: tc.name + "-assets"}}
			for _, p := range ps {
				dst.MakeBuckets(p.Dest)
				if tc.bucket != 0 {
					dst.EncryptBucket(p.Dest, tc.bucket)
				}
			}
			srcReq, dstReq := testenv.NewRequests(), testenv.NewRequests()
			srcS := client(t, src, srcReq)
			dstS, err := s3.New(s3.Options{Endpoint: dst.Endpoint, AccessKey: dst.AccessKey, SecretKey: dst.SecretKey,
				Region: "us-east-1", WrapTransport: dstReq.Wrap, SSE: tc.sse})
			if err != nil {
				t.Fatal(err)
			}
			state := checkpoint.Dir(t.TempDir())
			r := &rig{src: src, dst: dst, srcS: srcS, dstS: dstS, srcReq: srcReq, dstReq: dstReq, state: state}
			res, err := r.engine(copy.Options{}).Run(context.Background(), ps)
			if err != nil {
				t.Fatal(err)
			}
			multipart := 0
			for i, p := range ps {
				if !res[i].OK() {
					t.Fatalf("%s: failed %v", p.Source, res[i].Failed)
				}
				testenv.AssertSame(t, src, p.Source, dst, p.Dest, tc.sameTag)
				testenv.AssertNoUploads(t, dst, p.Dest)
				for k, o := range src.Snapshot(p.Source) {
					if strings.Contains(o.ETag, "-") {
						multipart++
					}
					info, err := dst.Client().StatObject(context.Background(), p.Dest, k, minio.StatObjectOptions{})
					if err != nil {
						t.Fatal(err)
					}
					if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); got != tc.stored {
						t.Fatalf("%s/%s stored with encryption %q; want %q", p.Dest, k, got, tc.stored)
					}
				}
			}
			if multipart < 4 {
				t.Fatalf("only %d multipart objects were copied; the test needs some", multipart)
			}

			srcReq.Reset()
			dstReq.Reset()
			res, err = r.engine(copy.Options{}).Run(context.Background(), ps)
			if err != nil {
				t.Fatal(err)
			}
			if copied, _ := total(res); copied != 0 {
				t.Fatalf("second run copied %d objects; want 0", copied)
			}
			for _, req := range []*testenv.Requests{srcReq, dstReq} {
				for _, kind := range []string{"GET", "PUT", "HEAD", "POST"} {
					if n := req.Count(kind); n != 0 {
						t.Errorf("second run sent %d %s requests; want 0", n, kind)
					}
				}
			}

			v := &verify.Verifier{Src: srcS, Dst: dstS, Checkpoints: state}
			for _, p := range ps {
				rep, err := v.Pair(context.Background(), p, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Differences) != 0 || rep.Objects == 0 {
					t.Fatalf("verify %s: %d objects, differences %v", p.Source, rep.Objects, rep.Differences)
				}
				// Equal ETags prove an object from the listings; an ETag the destination
				// made its own way is proven by reading both bodies.
				if want := map[bool]int64{true: 0, false: rep.Objects}[tc.sameTag]; rep.ReadChecked != want {
					t.Fatalf("verify %s: %d of %d objects read to prove them; want %d", p.Source, rep.ReadChecked, rep.Objects, want)
				}
			}
		})
	}
}
