package main_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// A copy into SSE-KMS (asked for with destination.sse, on buckets without a default)
// that is SIGKILLed in the middle of a multipart upload resumes: the next run aborts
// what the killed one left open, copies the rest, and every object ends whole and
// encrypted with the key the config names; verify then proves it.
func TestCopyIntoSSEKMSResumesAfterSIGKILL(t *testing.T) {
	t.Parallel()
	spec := seed.Spec{Sessions: 12, Assets: 10, Sourcemaps: 2, LargeEvery: 2, LargeMax: 16 << 20, Seed: 71}
	s := newSiteOn(t, spec, 4, testenv.StartMinIOWith(t, testenv.MinIOOptions{KMS: true}))
	s.Config = s.editConfig("destination: {endpoint: "+s.Dst.Endpoint+", region: us-east-1}",
		"destination: {endpoint: "+s.Dst.Endpoint+", region: us-east-1, sse: {type: aws:kms, kmsKeyId: "+testenv.KMSKeyID+"}}")
	// A link slower than loopback, so the kill lands while parts are on their way.
	toxi := testenv.StartToxi(t, s.Dst)
	toxi.Bandwidth("wan", "upstream", 6<<10)
	slow := s.withEndpoints(s.Src.Endpoint, toxi.Endpoint)

	run := s.start("copy", "--config", slow)
	uploadOpen := func() bool {
		for u := range s.Dst.Client().ListIncompleteUploads(context.Background(), "openreplay-recordings", "", true) {
			return u.Err == nil
		}
		return false
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !uploadOpen() {
		if time.Now().After(deadline) {
			t.Fatal("no multipart upload was ever open on the destination")
		}
		select {
		case <-run.exited:
			t.Fatalf("copy ended before a multipart upload was seen open:\n%s", run.output())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !run.kill() {
		t.Fatalf("copy ended before its kill:\n%s", run.output())
	}

	if code, out := s.Run("copy", "--config", s.Config); code != 0 {
		t.Fatalf("copy after the kill exited %d:\n%s", code, out)
	}
	for src, dst := range destBuckets {
		// SSE-KMS ETags are the destination's own: everything else must be equal.
		testenv.AssertSame(t, s.Src, src, s.Dst, dst, false)
		testenv.AssertNoUploads(t, s.Dst, dst)
		for k := range s.Src.Snapshot(src) {
			info, err := s.Dst.Client().StatObject(context.Background(), dst, k, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got, key := info.Metadata.Get("X-Amz-Server-Side-Encryption"), info.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); got != "aws:kms" || !strings.HasSuffix(key, testenv.KMSKeyID) {
				t.Fatalf("%s/%s stored with encryption %q key %q; want aws:kms with %s", dst, k, got, key, testenv.KMSKeyID)
			}
		}
	}
	if code, out := s.Run("verify", "--config", s.Config); code != 0 {
		t.Fatalf("verify exited %d:\n%s", code, out)
	}
}
