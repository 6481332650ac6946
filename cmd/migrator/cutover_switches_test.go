package main_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
)

// preflight --retention, then cutover --disable-minio --existing-secret, with a writer
// adding objects until the reinstall returns: the lifecycle rules are on the destination,
// vars.yaml changed in global.s3 and minio.enabled only, and the report says what is
// left to do.
func TestCutoverWithOpenReplaysSwitchesAndRetention(t *testing.T) {
	t.Parallel()
	s := newCutoverSite(t, "0")

	code, out := s.Run("preflight", "--config", s.Config, "--openreplay-vars", s.vars, "--expire-after", "30")
	if code != 2 || !strings.Contains(out, "--expire-after goes with --retention") {
		t.Fatalf("--expire-after alone exited %d:\n%s", code, out)
	}
	code, out = s.Run("preflight", "--config", s.Config, "--openreplay-vars", s.vars, "--retention", "--expire-after", "30")
	t.Logf("preflight --retention exited %d:\n%s", code, out)
	if code != 0 || !strings.Contains(out, "openreplay -c ") || !strings.Contains(out, "cannot subtract the source age") {
		t.Fatalf("preflight --retention exited %d", code)
	}
	for _, d := range destBuckets {
		cfg, err := s.Dst.Client().GetBucketLifecycle(context.Background(), d)
		if err != nil {
			t.Fatalf("lifecycle of %s: %v", d, err)
		}
		var ids []string
		for _, r := range cfg.Rules {
			ids = append(ids, r.ID)
		}
		want := "openreplay-to-delete-in-7-days,openreplay-to-delete-in-30-days"
		if d == "openreplay-recordings" {
			want += ",openreplay-expire-after-30-days"
		}
		if strings.Join(ids, ",") != want {
			t.Errorf("%s has rules %v, want %s", d, ids, want)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := s.startWriter(ctx)
	code, out = s.cutover("--disable-minio", "--existing-secret", "or-destination-keys")
	cancel()
	n := w.wait(t)
	t.Logf("cutover exited %d; the writer added %d objects meanwhile\n%s", code, n, out)
	if code != 0 || n == 0 {
		t.Fatalf("cutover exited %d, the writer wrote %d objects", code, n)
	}
	s.AssertIdentical()

	// vars.yaml: the original with global.s3 switched and minio.enabled false, nothing else.
	st, err := openreplay.ParseStorage([]byte(s.varsNow()))
	if err != nil {
		t.Fatal(err)
	}
	if st.Minio.Enabled || st.ExistingSecret != "or-destination-keys" || st.AccessKey != "" || st.SecretKey != "" || st.Endpoint != s.Dst.Endpoint {
		t.Fatalf("vars.yaml after the cutover: %+v", st)
	}
	wantVars := strings.NewReplacer(
		"  enabled: true\n", "  enabled: false\n",
		`endpoint: "`+s.Src.Endpoint+`"`, `endpoint: "`+s.Dst.Endpoint+`"`,
		`assetsBucket: "sessions-assets"`, `assetsBucket: "openreplay-assets"`,
		`recordingsBucket: 'mobs'`, `recordingsBucket: 'openreplay-recordings'`,
		`sourcemapsBucket: sourcemaps`, `sourcemapsBucket: openreplay-sourcemaps`,
		"accessKey: *accessKey\n    secretKey: *secretKey\n", "accessKey: \"\"\n    secretKey: \"\"\n    existingSecret: \"or-destination-keys\"\n",
	).Replace(s.original)
	if got := s.varsNow(); got != wantVars {
		t.Fatalf("vars.yaml after the cutover:\n%s\nwant:\n%s", got, wantVars)
	}
	if !strings.Contains(s.varsNow(), fmt.Sprintf(`accessKey: &accessKey "%s"`, s.Src.AccessKey)) {
		t.Fatal("MinIO's own credential changed")
	}
	for _, says := range []string{"changed in global.s3 and minio.enabled", "-  enabled: true\n+  enabled: false\n", "minio.enabled is false", "databases release", "age at the destination starts at its copy"} {
		if !strings.Contains(out, says) {
			t.Errorf("the report does not say %q", says)
		}
	}
}

// A destination OpenReplay would take for its own MinIO is refused before anything runs.
func TestCutoverRefusesAMinioNamedDestination(t *testing.T) {
	t.Parallel()
	s := newCutoverSite(t, "0")
	s.Config = s.WriteConfig(fmt.Sprintf("destination: {endpoint: http://minio.invalid:9000, region: us-east-1}\n"+
		"buckets: {mobs: openreplay-recordings, sessions-assets: openreplay-assets, sourcemaps: openreplay-sourcemaps}\nstateDir: %s\nallowInsecure: true\n",
		filepath.Join(s.Dir, "state")))
	code, out := s.cutover("--dry-run")
	if code != 2 || !strings.Contains(out, "contains \"minio\"") || !strings.Contains(out, "global.assetsOrigin does not help") {
		t.Fatalf("cutover exited %d:\n%s", code, out)
	}
	if s.varsNow() != s.original || s.reinstalls() != nil {
		t.Fatal("vars.yaml changed or the reinstall ran")
	}
}
