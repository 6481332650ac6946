package main_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	migcopy "github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
)

// journal is the multipart uploads every pair's checkpoint holds, by destination bucket
// and key (none for a pair whose checkpoint is not written yet).
func (s *site) journal() map[string]map[string]string {
	out := map[string]map[string]string{}
	dir := checkpoint.Dir(filepath.Join(s.Dir, "state"))
	for src, dst := range destBuckets {
		if st, err := dir.Load(context.Background(), migcopy.CheckpointName(migcopy.Pair{Source: src, Dest: dst}, migcopy.Shard{})); err == nil {
			out[dst] = st.Uploads
		} else {
			s.t.Errorf("checkpoint of %s: %v", src, err)
		}
	}
	return out
}

// openUploads lists the destination's unfinished multipart uploads, by bucket and key.
func (s *site) openUploads() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, b := range destBuckets {
		for u := range s.Dst.Client().ListIncompleteUploads(context.Background(), b, "", true) {
			if u.Err != nil {
				s.t.Fatalf("list uploads in %s: %v", b, u.Err)
			}
			if out[b] == nil {
				out[b] = map[string]string{}
			}
			out[b][u.Key] = u.UploadID
		}
	}
	return out
}

// SIGKILL at random instants, many times over one copy: after every kill, each
// multipart upload open on the destination is in the checkpoint's journal (key, and its
// ID once created); each restart aborts them; the end state is identical.
func TestChaosSIGKILL(t *testing.T) {
	t.Parallel()
	kills := pick(3, 20)
	s := newSite(t, multipartSpec(41), 4)
	objects := s.objects()
	// A network slower than loopback (as any real migration's is), so the kills land in
	// the middle of transfers, multipart uploads included.
	src, dst, config := s.proxied()
	rate := pick(3<<10, 2<<10)
	src.Bandwidth("wan", "downstream", rate)
	dst.Bandwidth("wan", "upstream", rate)

	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	landed, aborted := 0, 0
	open, withID := map[string]bool{}, map[string]bool{} // upload IDs seen open at a kill
	for i := 0; i < kills; i++ {
		run := s.start("copy", "--config", config)
		time.Sleep(time.Duration(150+r.IntN(1100)) * time.Millisecond)
		ok := run.kill()
		aborted += strings.Count(run.output(), "aborted an upload left by an earlier run")
		if !ok {
			t.Logf("run %d ended before its kill:\n%s", i, tail(run.output(), 5))
			continue
		}
		landed++
		journal := s.journal()
		for bucket, ups := range s.openUploads() {
			for key, id := range ups {
				open[id] = true
				got, ok := journal[bucket][key]
				if !ok {
					t.Errorf("kill %d: upload %s of %s/%s is open on the destination but not in the checkpoint", i, id, bucket, key)
				}
				if got == id {
					withID[id] = true
				}
			}
		}
	}
	if landed < (kills+1)/2 {
		t.Fatalf("only %d of %d kills landed before the copy ended: the data set is too small", landed, kills)
	}
	final := s.start("copy", "--config", config)
	code := final.wait()
	aborted += strings.Count(final.output(), "aborted an upload left by an earlier run")
	if code != 0 {
		t.Fatalf("the copy after %d kills exited %d:\n%s", landed, code, tail(final.output(), 30))
	}
	s.verifyClean()
	report(t, faultRow{order: 10, Scenario: fmt.Sprintf("SIGKILL ×%d, restarting each time", kills), Objects: objects,
		Faults: fmt.Sprintf("%d kills landed mid-copy (at %d MiB/s per connection), leaving %d multipart uploads open, every one journaled (%d with its ID)",
			landed, rate>>10, len(open), len(withID)),
		Retries: fmt.Sprint(final.Retries()),
		Result:  fmt.Sprintf("restarts logged %d aborted uploads; final run exit 0; identical, no upload left", aborted)})
}

// With only the seven permissions of OpenReplay's migration guide, the destination key
// may not list or abort multipart uploads: a restart after a kill says so once, points
// to a lifecycle rule, and finishes the copy.
func TestChaosAbortDenied(t *testing.T) {
	t.Parallel()
	s := newSite(t, multipartSpec(43), 4)
	var buckets []string
	for _, b := range destBuckets {
		buckets = append(buckets, b)
	}
	k := s.Dst.TempKeys(testenv.Policy(testenv.GuideWriter, buckets...))
	s.Env = append(s.Env, "MIGRATOR_DESTINATION_ACCESS_KEY="+k.AccessKey, "MIGRATOR_DESTINATION_SECRET_KEY="+k.SecretKey,
		"MIGRATOR_DESTINATION_SESSION_TOKEN="+k.SessionToken)
	src, dst, config := s.proxied()
	src.Bandwidth("wan", "downstream", 2<<10)
	dst.Bandwidth("wan", "upstream", 2<<10)

	run := s.start("copy", "--config", config)
	testenv.Eventually(t, 60*time.Second, "a multipart upload journaled with its ID", func() bool {
		for _, ups := range s.journal() {
			for _, id := range ups {
				if id != "" {
					return true
				}
			}
		}
		return false
	})
	if !run.kill() {
		t.Fatalf("the copy ended before the kill:\n%s", tail(run.output(), 20))
	}
	left := s.openUploads()
	// The restart goes to the servers directly: removing a bandwidth toxic while the
	// killed run's connections still sit in it can hang in toxiproxy v2.5.0
	// (ToxicCollection.chainRemoveToxic waits on links that never finish).
	code, out, retries := s.runFull("copy", "--config", s.withEndpoints(s.Src.Endpoint, s.Dst.Endpoint))
	if code != 0 {
		t.Fatalf("copy after the kill exited %d:\n%s", code, tail(out, 30))
	}
	if n := strings.Count(out, "AbortIncompleteMultipartUpload"); n != 1 {
		t.Errorf("the missing s3:AbortMultipartUpload is explained %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "s3:AbortMultipartUpload") {
		t.Errorf("no word of s3:AbortMultipartUpload:\n%s", out)
	}
	n := 0
	for bucket, ups := range left {
		for key, id := range ups {
			n++
			if !strings.Contains(out, key+" (upload "+id+")") {
				t.Errorf("upload %s of %s/%s is left but not named:\n%s", id, bucket, key, out)
			}
		}
	}
	if n == 0 {
		t.Fatal("the kill left no upload open: nothing was tested")
	}
	for src, dst := range destBuckets {
		testenv.AssertSame(t, s.Src, src, s.Dst, dst, true)
	}
	// Clean up with the root key as the lifecycle rule would, then the usual check.
	for bucket, ups := range s.openUploads() {
		for key := range ups {
			if err := s.Dst.Client().RemoveIncompleteUpload(context.Background(), bucket, key); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.verifyClean()
	report(t, faultRow{order: 11, Scenario: "SIGKILL, destination key with only the guide's permissions (no s3:AbortMultipartUpload)", Objects: s.objects(),
		Faults: fmt.Sprintf("1 kill leaving %d multipart upload(s) open", n), Retries: fmt.Sprint(retries),
		Result: "exit 0; identical; the uploads it may not abort named in one warning pointing to an AbortIncompleteMultipartUpload lifecycle rule"})
}
