package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/cutover"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
)

// cutoverVars is an installed vars.yaml of the current shape (anchors, aliases,
// comments, mixed quoting), its source endpoint and MinIO keys filled in by the test.
const cutoverVars = `fromVersion: "v1.22.0"
# Databases specific variables
postgresql: &postgres
  postgresqlPassword: "Pq7Lm2Xw9Rt4Zc1Vb8Nk"
  postgresqlHost: "postgresql.db.svc.cluster.local"
  postgresqlPort: "5432"

minio:
  # Disable this if you use an external object storage service (s3)
  enabled: true
  global:
    minio:
      # For generating passwords
      accessKey: &accessKey "%s"
      secretKey: &secretKey "%s"

# Application specific variables
global:
  postgresql: *postgres
  s3:
    region: "us-east-1"
    # if you're using iam roles for authentication, keep the value empty.
    endpoint: "%s"
    assetsBucket: "sessions-assets"
    recordingsBucket: 'mobs'
    sourcemapsBucket: sourcemaps
    # are same as minio.global.minio.accesskey and  secretKey
    accessKey: *accessKey
    secretKey: *secretKey
  domainName: "openreplay.example.org"
`

// cutoverSite is a site whose source is described by vars.yaml only: the migrator
// gets the destination key from its environment and nothing else.
type cutoverSite struct {
	*site
	vars, original string
	args, code     string
	env, returning string
	stopped        string
}

// The reinstall stand-in: it records its arguments and the MIGRATOR_ variables it
// sees, sleeps a second like a reinstall that takes a while, says it is returning,
// waits until the test's writer stopped, and exits with the next status from its code
// file (0 once that is empty).
const reinstallScript = `#!/bin/sh
echo "$*" >> '%[1]s/reinstall.args'
env | grep '^MIGRATOR_' >> '%[1]s/reinstall.env'
sleep 1
touch '%[1]s/reinstall.returning'
i=0
while [ ! -e '%[1]s/writer.stopped' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
read -r first rest < '%[1]s/reinstall.code'
echo "$rest" > '%[1]s/reinstall.code'
exit ${first:-0}
`

func newCutoverSite(t *testing.T, codes string) *cutoverSite {
	t.Helper()
	s := &cutoverSite{site: newSite(t, seed.Spec{Sessions: 20, Assets: 20, Sourcemaps: 3, LargeEvery: 10, LargeMax: 7 << 20, Seed: 5}, 8)}
	s.original = fmt.Sprintf(cutoverVars, s.Src.AccessKey, s.Src.SecretKey, s.Src.Endpoint)
	s.vars = filepath.Join(s.Dir, "vars.yaml")
	s.args = filepath.Join(s.Dir, "reinstall.args")
	s.code = filepath.Join(s.Dir, "reinstall.code")
	s.env = filepath.Join(s.Dir, "reinstall.env")
	s.returning = filepath.Join(s.Dir, "reinstall.returning")
	s.stopped = filepath.Join(s.Dir, "writer.stopped")
	for p, body := range map[string]string{s.vars: s.original, s.code: codes,
		filepath.Join(s.Dir, "reinstall.sh"): fmt.Sprintf(reinstallScript, s.Dir)} {
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.Config = s.WriteConfig(fmt.Sprintf(`destination: {endpoint: %s, region: us-east-1}
buckets:     {mobs: openreplay-recordings, sessions-assets: openreplay-assets, sourcemaps: openreplay-sourcemaps}
workers: 8
stateDir: %s
allowInsecure: true
`, s.Dst.Endpoint, filepath.Join(s.Dir, "state")))
	s.site.Env = nil
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MIGRATOR_") {
			s.site.Env = append(s.site.Env, kv)
		}
	}
	s.site.Env = append(s.site.Env,
		"MIGRATOR_DESTINATION_ACCESS_KEY="+s.Dst.AccessKey, "MIGRATOR_DESTINATION_SECRET_KEY="+s.Dst.SecretKey)
	return s
}

func (s *cutoverSite) cutover(extra ...string) (int, string) {
	s.t.Helper()
	args := append([]string{"cutover", "--config", s.Config, "--openreplay-vars", s.vars,
		"--reinstall", filepath.Join(s.Dir, "reinstall.sh") + " -R", "--log-format", "json"}, extra...)
	return s.Run(args...)
}

func (s *cutoverSite) reinstalls() []string {
	data, err := os.ReadFile(s.args)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func (s *cutoverSite) varsNow() string {
	data, err := os.ReadFile(s.vars)
	if err != nil {
		s.t.Fatal(err)
	}
	return string(data)
}

// cutoverWriter keeps adding recordings and assets to the source, as OpenReplay does, until
// the reinstall command is about to return; then it says it stopped.
type cutoverWriter struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	written int
	err     error
}

func (s *cutoverSite) startWriter(ctx context.Context) *cutoverWriter {
	w := &cutoverWriter{}
	c := s.Src.Client()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer os.WriteFile(s.stopped, nil, 0o644)
		for i := 0; ctx.Err() == nil; i++ {
			if _, err := os.Stat(s.returning); err == nil {
				return
			}
			bucket, key := seed.Recordings, fmt.Sprintf("%d/dom.mobs", 8_000_000_000_000_000+i)
			if i%3 == 2 {
				bucket, key = seed.Assets, fmt.Sprintf("live/%d/style.css", i)
			}
			body := bytes.Repeat([]byte{byte(i)}, 1000+i)
			_, err := c.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
				ContentType: "application/octet-stream", CacheControl: "max-age=2628000, immutable, private",
				UserTags: map[string]string{"retention": "default"}})
			w.mu.Lock()
			if err != nil && ctx.Err() == nil {
				w.err = err
			} else if err == nil {
				w.written++
			}
			w.mu.Unlock()
			if err != nil {
				return
			}
			time.Sleep(15 * time.Millisecond)
		}
	}()
	return w
}

func (w *cutoverWriter) wait(t *testing.T) int {
	t.Helper()
	w.wg.Wait()
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
	return w.written
}

func TestCutoverEndToEnd(t *testing.T) {
	t.Parallel()
	s := newCutoverSite(t, "0")

	// --dry-run: the plan and the diff, and nothing touched anywhere.
	code, out := s.cutover("--dry-run")
	if code != 0 || !strings.Contains(out, "final sync of every bucket pair") ||
		!strings.Contains(out, `+    endpoint: "`+s.Dst.Endpoint+`"`) || !strings.Contains(out, `+    accessKey: "[redacted]"`) {
		t.Fatalf("dry run exited %d:\n%s", code, out)
	}
	if s.varsNow() != s.original || s.reinstalls() != nil {
		t.Fatal("the dry run changed vars.yaml or ran the reinstall")
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "state")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the dry run wrote a state folder: %v", err)
	}
	for _, d := range destBuckets {
		for o := range s.Dst.Client().ListObjects(context.Background(), d, minio.ListObjectsOptions{Recursive: true}) {
			t.Fatalf("the dry run copied %s/%s", d, o.Key)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := s.startWriter(ctx)
	code, out = s.cutover()
	cancel()
	n := w.wait(t)
	t.Logf("cutover exited %d; the writer added %d objects meanwhile\n%s", code, n, out)
	if code != 0 || !strings.Contains(out, "cutover: done") {
		t.Fatalf("cutover exited %d", code)
	}
	if n == 0 {
		t.Fatal("the writer wrote nothing while the cutover ran")
	}
	// Every object, including each the writer added until the reinstall returned.
	s.AssertIdentical()

	if r := s.reinstalls(); len(r) != 1 || r[0] != "-R" {
		t.Fatalf("reinstall ran with %q", r)
	}
	if env, _ := os.ReadFile(s.env); len(env) > 0 {
		t.Fatalf("the reinstall command saw the migrator's variables:\n%s", env)
	}
	for _, secret := range []string{s.Dst.SecretKey, s.Src.SecretKey, s.Dst.AccessKey} {
		if strings.Contains(out, secret) {
			t.Fatal("the output shows a key")
		}
	}
	st, err := openreplay.ParseStorage([]byte(s.varsNow()))
	if err != nil {
		t.Fatal(err)
	}
	if st.Endpoint != s.Dst.Endpoint || st.AccessKey != s.Dst.AccessKey || st.SecretKey != s.Dst.SecretKey ||
		st.Bucket("recordingsBucket") != "openreplay-recordings" || st.Bucket("assetsBucket") != "openreplay-assets" ||
		st.Bucket("sourcemapsBucket") != "openreplay-sourcemaps" {
		t.Fatalf("global.s3 after the cutover: %+v", st)
	}
	if !strings.Contains(s.varsNow(), fmt.Sprintf(`accessKey: &accessKey "%s"`, s.Src.AccessKey)) {
		t.Fatal("MinIO's own credential changed")
	}
	if !strings.Contains(out, "ASSETS_ORIGIN") || !strings.Contains(out, s.Src.Endpoint+"/sessions-assets") ||
		!strings.Contains(out, s.Dst.Endpoint+"/openreplay-assets") {
		t.Fatal("no word of where old recordings load their assets from")
	}
	saved := filepath.Join(s.Dir, "state", config.SourceCredentialsFile)
	if fi, err := os.Stat(saved); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", saved, fi, err)
	}

	// vars.yaml names the destination now; a later sync with it still reads the
	// original source, from what cutover kept.
	if _, err := s.Src.Client().PutObject(context.Background(), seed.Recordings, "9000000000000000001/dom.mobs",
		strings.NewReader("late"), 4, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, out := s.Run("sync", "--config", s.Config, "--openreplay-vars", s.vars); code != 0 {
		t.Fatalf("sync after the cutover exited %d:\n%s", code, out)
	}
	testenv.AssertSame(t, s.Src, seed.Recordings, s.Dst, "openreplay-recordings", true)

	// Again: nothing to do, and it says so.
	code, out = s.cutover()
	if code != 0 || !strings.Contains(out, "already done") || len(s.reinstalls()) != 1 {
		t.Fatalf("second cutover exited %d (%d reinstalls):\n%s", code, len(s.reinstalls()), out)
	}
	if code, out := s.cutover("--dry-run"); code != 0 || !strings.Contains(out, "a run would do nothing") {
		t.Fatalf("dry run after the cutover exited %d:\n%s", code, out)
	}
}

func TestCutoverFailingReinstallRollsBack(t *testing.T) {
	t.Parallel()
	s := newCutoverSite(t, "1") // the switch's reinstall fails; the rollback's succeeds
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := s.startWriter(ctx)
	code, out := s.cutover()
	cancel()
	w.wait(t)
	if code != 1 || !strings.Contains(out, "rolled back") || !strings.Contains(out, "exited with status 1") {
		t.Fatalf("cutover with a failing reinstall exited %d:\n%s", code, out)
	}
	if s.varsNow() != s.original {
		t.Fatalf("vars.yaml is not byte-identical to the original:\n%s", s.varsNow())
	}
	if r := s.reinstalls(); len(r) != 2 {
		t.Fatalf("reinstall ran %d times, want 2 (the switch, the rollback):\n%s", len(r), out)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "state", config.SourceCredentialsFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the kept source settings outlive the rollback: %v", err)
	}
	st, err := cutover.LoadState(filepath.Join(s.Dir, "state"))
	if err != nil || st.Step != cutover.RolledBack {
		t.Fatalf("state after the rollback: %+v %v", st, err)
	}
}
