package main_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// A conflict comes with the commands that settle it, and each does what it says, with
// the checkpoints in a folder or in a bucket: keeping the destination's object makes
// later syncs leave it and exit 0; a new write on either side is a new question (the
// source's newer object is copied, the destination's newer one is a conflict again);
// keeping the source's copies it over.
func TestConflictsAreResolvedWithThePrintedCommands(t *testing.T) {
	t.Parallel()
	for _, where := range []string{"stateDir", "stateS3"} {
		t.Run(where, func(t *testing.T) {
			t.Parallel()
			resolveConflicts(t, where == "stateS3")
		})
	}
}

func resolveConflicts(t *testing.T, inBucket bool) {
	spec := seed.Spec{Sessions: 4, Assets: 3, Sourcemaps: 1, Seed: 91}
	s := newSite(t, spec, 4)
	config := s.Config
	if inBucket {
		s.Dst.MakeBuckets("migrator-state")
		config = s.WriteConfig(readFile(t, s.Config) + "stateS3: s3://migrator-state/or\n")
	}
	var keys []string
	for _, o := range seed.Plan(spec) {
		if o.Bucket == seed.Recordings {
			keys = append(keys, o.Key)
		}
	}
	a, b := keys[0], keys[1]
	if code, out := s.Run("copy", "--config", config); code != 0 {
		t.Fatalf("copy exited %d:\n%s", code, out)
	}
	// Someone else writes both keys at the destination after the copy.
	put(t, s.Dst, "openreplay-recordings", a, "written at the destination")
	put(t, s.Dst, "openreplay-recordings", b, "also written at the destination")

	code, out := s.Run("sync", "--config", config)
	if code != 1 || !strings.Contains(out, fmt.Sprintf("conflict %q", a)) || !strings.Contains(out, fmt.Sprintf("conflict %q", b)) {
		t.Fatalf("sync over two conflicts exited %d; want 1, naming both:\n%s", code, out)
	}
	keepDst, _ := resolveCommands(t, out)
	s.runPrinted(keepDst)
	code, out = s.Run("sync", "--config", config, "--progress", "on")
	if code != 0 || strings.Contains(out, "conflict \"") {
		t.Fatalf("sync after --keep destination exited %d; want 0 and no conflict:\n%s", code, out)
	}
	// Nothing was copied: neither the bars nor the summary may show a rate.
	if regexp.MustCompile(`\d /s|B/s`).MatchString(out) || !strings.Contains(out, "total: 0 objects copied") {
		t.Errorf("a sync that copied nothing shows a rate:\n%s", out)
	}
	// verify (and so cutover's) takes the kept objects for the source's, deep or not.
	for _, deep := range []string{"--deep=false", "--deep"} {
		if code, out := s.Run("verify", "--config", config, deep); code != 0 {
			t.Fatalf("verify %s after --keep destination exited %d; want 0:\n%s", deep, code, out)
		}
	}
	for key, want := range map[string]string{a: "written at the destination", b: "also written at the destination"} {
		if got := objectBody(t, s.Dst, "openreplay-recordings", key); got != want {
			t.Fatalf("after --keep destination %s holds %q, want the destination's %q", key, got, want)
		}
	}
	if inBucket {
		if local, _ := filepath.Glob(filepath.Join(s.Dir, "state", "resolved", "*")); len(local) > 0 {
			t.Errorf("with stateS3 the resolutions went to the state folder: %v", local)
		}
		if _, err := s.Dst.Client().StatObject(context.Background(), "migrator-state", "or/resolved/mobs--openreplay-recordings.json", minio.StatObjectOptions{}); err != nil {
			t.Errorf("with stateS3 the resolutions are not in the state bucket: %v", err)
		}
	}

	// The source writes a again (newer than the destination's): copied, as any newer
	// source object is. The destination writes b again: a new conflict.
	put(t, s.Src, seed.Recordings, a, "written again at the source")
	put(t, s.Dst, "openreplay-recordings", b, "written again at the destination")
	code, out = s.Run("sync", "--config", config)
	if code != 1 || strings.Contains(out, fmt.Sprintf("conflict %q", a)) || !strings.Contains(out, fmt.Sprintf("conflict %q", b)) {
		t.Fatalf("sync after new writes exited %d; want 1 with only %s in conflict:\n%s", code, b, out)
	}
	if got := objectBody(t, s.Dst, "openreplay-recordings", a); got != "written again at the source" {
		t.Fatalf("the source's newer %s was not copied over the kept one: destination holds %q", a, got)
	}
	_, keepSrc := resolveCommands(t, out)
	s.runPrinted(keepSrc)
	if code, out := s.Run("sync", "--config", config); code != 0 {
		t.Fatalf("sync after --keep source exited %d:\n%s", code, out)
	}
	s.AssertIdentical()
}

// resolveCommands are the two commands a summary offers for its conflicts.
func resolveCommands(t *testing.T, out string) (keepDestination, keepSource string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines[:len(lines)-1] {
		next := strings.TrimSpace(lines[i+1])
		switch {
		case strings.Contains(l, "to keep the destination's"):
			keepDestination = next
		case strings.Contains(l, "to copy the source's"):
			keepSource = next
		}
	}
	if !strings.HasPrefix(keepDestination, "migrator resolve ") || !strings.Contains(keepDestination, "--keep destination") ||
		!strings.HasPrefix(keepSource, "migrator resolve ") || !strings.Contains(keepSource, "--keep source") {
		t.Fatalf("the summary does not print both resolve commands:\n%s", out)
	}
	return keepDestination, keepSource
}

// runPrinted runs a command line as the operator would paste it into a shell.
func (s *site) runPrinted(line string) {
	s.t.Helper()
	cmd := exec.Command("sh", "-c", "exec "+binary+strings.TrimPrefix(line, "migrator"))
	cmd.Env = s.Env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "resolved") {
		s.t.Fatalf("%s: %v\n%s", line, err, out)
	}
}

func put(t *testing.T, m *testenv.MinIO, bucket, key, body string) {
	t.Helper()
	if _, err := m.Client().PutObject(context.Background(), bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

func objectBody(t *testing.T, m *testenv.MinIO, bucket, key string) string {
	t.Helper()
	o, err := m.Client().GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// resolve refuses what it cannot act on, naming what to fix, before any work.
func TestResolveNamesWhatToFix(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 1, Seed: 92}, 2)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--bucket", "mobs", "1/dom.mobs"}, 2, "want --keep source or --keep destination"},
		{[]string{"--bucket", "mobs", "--keep", "both", "1/dom.mobs"}, 2, `--keep "both"`},
		{[]string{"--bucket", "mobs", "--keep", "source"}, 2, "no key given"},
		{[]string{"--keep", "source", "1/dom.mobs"}, 2, "--bucket is missing"},
		{[]string{"--bucket", "recordings", "--keep", "source", "1/dom.mobs"}, 2, `--bucket "recordings" is not a configured bucket`},
		{[]string{"--bucket", "mobs", "--keep", "destination", "no/such.key"}, 1, "mobs/no/such.key is not in the source"},
	} {
		code, out := s.Run(append([]string{"resolve", "--config", s.Config}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("resolve %v exited %d; want %d and %q:\n%s", c.args, code, c.code, c.want, out)
		}
	}
}
