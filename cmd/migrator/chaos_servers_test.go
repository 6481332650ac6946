package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// A server stopped in the middle of the copy and started again (same address, same
// data): requests are retried until it is back; the copy finishes and is identical.
func TestChaosServerRestart(t *testing.T) {
	t.Parallel()
	for i, side := range []string{"destination", "source"} {
		t.Run(side, func(t *testing.T) {
			if testing.Short() && i > 0 {
				t.Skip("-short: the destination's restart stands for both")
			}
			s := newSite(t, chaosSpec(51), 4)
			m := s.Dst
			if side == "source" {
				m = s.Src
			}
			down := pick(2*time.Second, 5*time.Second)
			run := s.start("copy", "--config", s.Config)
			if !run.waitCopied(10) {
				t.Fatalf("the copy ended before 10 objects were copied:\n%s", run.output())
			}
			start := time.Now()
			m.Stop()
			time.Sleep(down)
			m.Start()
			outage := time.Since(start)
			code := run.wait()
			result := fmt.Sprintf("exit %d", code)
			if code != 0 {
				// An object whose every try fell into the outage is failed, listed, and
				// retried by the next run: that run must finish the copy.
				if !strings.Contains(run.output(), "failed") {
					t.Fatalf("copy exited %d without naming what failed:\n%s", code, tail(run.output(), 30))
				}
				if code2, out := s.Run("copy", "--config", s.Config); code2 != 0 {
					t.Fatalf("the copy after the %s restart exited %d:\n%s", side, code2, tail(out, 30))
				}
				result += " (objects whose every try fell in the outage listed as failed); the next run copied them"
			}
			s.verifyClean()
			report(t, faultRow{order: map[string]int{"destination": 30, "source": 31}[side], Scenario: side + " MinIO stopped and restarted mid-copy",
				Objects: s.objects(), Faults: fmt.Sprintf("1 outage of %.1f s (connections refused)", outage.Seconds()),
				Retries: fmt.Sprint(run.Retries()), Result: result + "; identical, no upload left"})
		})
	}
}

// A destination key that may only read: the copy stops at the first refused write,
// says which permission the key lacks, and writes nothing; a writable key then finishes.
func TestChaosReadOnlyDestination(t *testing.T) {
	t.Parallel()
	s := newSite(t, chaosSpec(53), 4)
	var buckets []string
	for _, b := range destBuckets {
		buckets = append(buckets, b)
	}
	k := s.Dst.TempKeys(testenv.Policy(testenv.ReadOnly, buckets...))
	rootEnv := s.Env
	s.Env = append(s.Env[:len(s.Env):len(s.Env)], "MIGRATOR_DESTINATION_ACCESS_KEY="+k.AccessKey,
		"MIGRATOR_DESTINATION_SECRET_KEY="+k.SecretKey, "MIGRATOR_DESTINATION_SESSION_TOKEN="+k.SessionToken)
	code, out, retries := s.runFull("copy", "--config", s.Config)
	if code == 0 {
		t.Fatalf("copy with a read-only destination key exited 0:\n%s", out)
	}
	want := "may not write to bucket"
	if !strings.Contains(out, want) || !strings.Contains(out, "s3:PutObject") {
		t.Fatalf("copy with a read-only destination key does not say %q and name s3:PutObject:\n%s", want, tail(out, 30))
	}
	failed := strings.Count(out, "  failed ")
	if failed > 4 {
		t.Errorf("%d objects were tried and failed; the copy should stop at the first refused write (4 workers):\n%s", failed, tail(out, 30))
	}
	for _, b := range destBuckets {
		if n := len(s.Dst.Snapshot(b)); n != 0 {
			t.Errorf("%d objects in %s after a read-only copy", n, b)
		}
		testenv.AssertNoUploads(t, s.Dst, b)
	}
	message := firstLine(out, want)
	s.Env = rootEnv
	if code, out := s.Run("copy", "--config", s.Config); code != 0 {
		t.Fatalf("copy with a writable key exited %d:\n%s", code, tail(out, 30))
	}
	s.verifyClean()
	report(t, faultRow{order: 40, Scenario: "destination key read-only (STS policy without s3:PutObject)", Objects: s.objects(),
		Faults: "every write refused (AccessDenied)", Retries: fmt.Sprint(retries),
		Result: fmt.Sprintf("exit %d after %d refused objects, nothing written: “%s”; with a writable key: identical, no upload left", code, failed, clip(message, 300))})
}

// A destination that runs out of space (MinIO on a small tmpfs): the copy stops saying
// so, no partial object or upload is left, and once there is room the next run finishes.
func TestChaosFullDestination(t *testing.T) {
	t.Parallel()
	disk := testenv.SmallDisk(t, "32m")
	s := newSite(t, chaosSpec(55), 4)
	s.replaceDestination(testenv.StartMinIOWith(t, testenv.MinIOOptions{DataDir: disk}))
	s.Dst.MakeBuckets("room-probe") // for the check that there is room again; a full disk takes no new bucket
	code, out, retries := s.runFull("copy", "--config", s.Config)
	if code == 0 {
		t.Fatalf("copy of %d objects into 32 MiB exited 0:\n%s", s.objects(), tail(out, 20))
	}
	want := "out of space"
	if !strings.Contains(out, want) {
		t.Fatalf("copy into a full destination does not say %q:\n%s", want, tail(out, 30))
	}
	message := firstLine(out, want)
	copied := 0
	for src, dst := range destBuckets {
		copied += s.assertPartial(src, dst)
		testenv.AssertNoUploads(t, s.Dst, dst)
	}
	if out, err := exec.Command("mount", "-o", "remount,size=512m", disk).CombinedOutput(); err != nil {
		t.Fatalf("grow the tmpfs: %v: %s", err, out)
	}
	// MinIO looks at the drive's free space now and then: wait until it takes a write.
	testenv.Eventually(t, 30*time.Second, "MinIO to see the grown disk", func() bool {
		c := s.Dst.Client()
		_, err := c.PutObject(context.Background(), "room-probe", "p", bytes.NewReader(make([]byte, 8<<20)), 8<<20, minio.PutObjectOptions{})
		return err == nil && c.RemoveObject(context.Background(), "room-probe", "p", minio.RemoveObjectOptions{}) == nil
	})
	if code, out := s.Run("copy", "--config", s.Config); code != 0 {
		t.Fatalf("copy once there is room exited %d:\n%s", code, tail(out, 30))
	}
	s.verifyClean()
	report(t, faultRow{order: 41, Scenario: "destination full (MinIO on a 32 MiB tmpfs)", Objects: s.objects(),
		Faults: "disk full after " + fmt.Sprint(copied) + " objects", Retries: fmt.Sprint(retries),
		Result: fmt.Sprintf("exit %d: “%s”; every object written whole, no upload left; after the disk grew: identical", code, clip(message, 300))})
}

// The destination's key is changed while the copy runs (the server restarted with a
// new secret): the copy stops naming the key to check; with the new key it finishes,
// aborting what the old one left open.
func TestChaosKeyRotatedMidRun(t *testing.T) {
	t.Parallel()
	s := newSite(t, multipartSpec(57), 4)
	run := s.start("copy", "--config", s.Config)
	if !run.waitCopied(5) {
		t.Fatalf("the copy ended before 5 objects were copied:\n%s", run.output())
	}
	s.Dst.Stop()
	s.Dst.SetRootSecret("rotated-" + fmt.Sprint(time.Now().UnixNano()))
	s.Dst.Start()
	code := run.wait()
	out := run.output()
	want := "rejected the key"
	if code == 0 || !strings.Contains(out, want) || !strings.Contains(out, "destination.secretKey") {
		t.Fatalf("copy after the key changed exited %d without saying %q and naming destination.secretKey:\n%s", code, want, tail(out, 30))
	}
	message := firstLine(out, want)
	left := 0
	for _, ups := range s.openUploads() {
		left += len(ups)
	}
	s.Env = append(s.Env, "MIGRATOR_DESTINATION_SECRET_KEY="+s.Dst.SecretKey)
	code2, out2 := s.Run("copy", "--config", s.Config)
	if code2 != 0 {
		t.Fatalf("copy with the new key exited %d:\n%s", code2, tail(out2, 30))
	}
	s.verifyClean()
	leftover := "no multipart upload was left open"
	if left > 0 {
		leftover = fmt.Sprintf("the %d multipart uploads the old key could not abort were aborted", left)
	}
	report(t, faultRow{order: 42, Scenario: "destination key changed mid-run (server restarted with a new secret)", Objects: s.objects(),
		Faults: "every request refused from the restart on", Retries: fmt.Sprint(run.Retries()),
		Result: fmt.Sprintf("exit %d: “%s”; with the new key: exit 0, %s; identical, no upload left", code, clip(message, 300), leftover)})
}

// A checkpoint cut short or overwritten with garbage: the run says which file it could
// not read and that it starts that bucket over; nothing is lost, and uploads the lost
// journal named are still found and aborted.
func TestChaosCorruptCheckpoint(t *testing.T) {
	t.Parallel()
	for i, kind := range []string{"truncated", "garbage"} {
		t.Run(kind, func(t *testing.T) {
			if testing.Short() && i > 0 {
				t.Skip("-short: the truncated checkpoint stands for both")
			}
			s := newSite(t, multipartSpec(59+uint64(i)), 4)
			src, dst, config := s.proxied()
			src.Bandwidth("wan", "downstream", 3<<10)
			dst.Bandwidth("wan", "upstream", 3<<10)
			run := s.start("copy", "--config", config)
			// The journal names a key before its upload exists; wait for one that the
			// destination really holds, so there is something the restart must abort.
			testenv.Eventually(t, 60*time.Second, "a multipart upload open on the destination", func() bool {
				return len(s.openUploads()["openreplay-recordings"]) > 0
			})
			if !run.kill() {
				t.Fatalf("the copy ended before the kill:\n%s", tail(run.output(), 20))
			}
			path := filepath.Join(s.Dir, "state", "mobs--openreplay-recordings.json")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if kind == "truncated" {
				data = data[:len(data)/2]
			} else {
				data = []byte("\x00\x17garbage{{{\n\xff")
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			// Garbage in the ETag map beside it is skipped line by line.
			if err := os.WriteFile(strings.TrimSuffix(path, ".json")+".etags", []byte("{not json\n\x00\x01\n{\"k\":1}\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			// The restart goes to the servers directly: removing a bandwidth toxic while
			// the killed run's connections still sit in it can hang in toxiproxy v2.5.0
			// (ToxicCollection.chainRemoveToxic waits on links that never finish).
			code, out, retries := s.runFull("copy", "--config", s.withEndpoints(s.Src.Endpoint, s.Dst.Endpoint))
			if code != 0 {
				t.Fatalf("copy after a %s checkpoint exited %d:\n%s", kind, code, tail(out, 30))
			}
			want := "starting this bucket over"
			if !strings.Contains(out, want) || !strings.Contains(out, path) || !strings.Contains(out, "nothing is lost") {
				t.Errorf("no clear word of the unreadable checkpoint (want %q, the file's path and that nothing is lost):\n%s", want, tail(out, 30))
			}
			if !strings.Contains(out, "aborted an upload left by an earlier run") {
				t.Errorf("the upload the lost checkpoint held was not aborted:\n%s", tail(out, 30))
			}
			s.verifyClean()
			report(t, faultRow{order: 50 + i, Scenario: "checkpoint " + kind, Objects: s.objects(),
				Faults:  "1 kill with an upload open, then the checkpoint " + map[string]string{"truncated": "cut to half its length", "garbage": "overwritten with garbage"}[kind] + " and garbage in the ETag map",
				Retries: fmt.Sprint(retries), Result: "exit 0, warning: “" + strings.ReplaceAll(firstLine(out, want), filepath.Join(s.Dir, "state"), "$stateDir") +
					"”; the upload it held found and aborted; identical, no upload left"})
		})
	}
}

// replaceDestination points the site at another destination server, with the same
// buckets made there.
func (s *site) replaceDestination(m *testenv.MinIO) {
	s.t.Helper()
	for _, b := range destBuckets {
		m.MakeBuckets(b)
	}
	s.Config = s.withEndpoints(s.Src.Endpoint, m.Endpoint)
	s.Env = append(s.Env, "MIGRATOR_DESTINATION_ACCESS_KEY="+m.AccessKey, "MIGRATOR_DESTINATION_SECRET_KEY="+m.SecretKey)
	s.Dst.Stop()
	s.Dst = m
}

// assertPartial checks that every object the destination holds equals its source
// object, and returns how many there are.
func (s *site) assertPartial(srcBucket, dstBucket string) int {
	s.t.Helper()
	a, b := s.Src.Snapshot(srcBucket), s.Dst.Snapshot(dstBucket)
	for k, sb := range b {
		if sa, ok := a[k]; !ok {
			s.t.Errorf("%s/%s on the destination has no source object", dstBucket, k)
		} else if p := testenv.CopyProblem(sa, sb); p != "" {
			s.t.Errorf("%s/%s on the destination is not the source's object: %s", dstBucket, k, p)
		}
	}
	return len(b)
}

// firstLine is the first line of out containing s; of a JSON log line, its message and
// error.
func firstLine(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if !strings.Contains(l, s) {
			continue
		}
		var entry struct{ Msg, Error string }
		if json.Unmarshal([]byte(l), &entry) == nil && entry.Msg != "" {
			if entry.Error != "" {
				return entry.Msg + ": " + entry.Error
			}
			return entry.Msg
		}
		return strings.TrimSpace(l)
	}
	return ""
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
