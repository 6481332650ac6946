package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/internal/cli"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
)

// varsAt is a vars.yaml naming endpoint and the assets bucket, as before or after a cutover.
func varsAt(t *testing.T, dir, endpoint, assets, extra string) string {
	t.Helper()
	p := filepath.Join(dir, "vars.yaml")
	body := "global:\n  s3:\n    region: us-east-1\n    endpoint: \"" + endpoint + "\"\n    assetsBucket: \"" + assets + "\"\n    recordingsBucket: mobs\n" +
		"    accessKey: AK\n    secretKey: SK\n  domainName: openreplay.example.org\n" + extra
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func assetsRoute(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := cli.Main(append([]string{"assets-route"}, args...), env)
	return code, stdout.String(), stderr.String()
}

func TestAssetsRouteReadsTheOldPathAndTheNewOrigin(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	cfg := filepath.Join(dir, "migrator.yaml")
	os.WriteFile(cfg, []byte("destination: {endpoint: 'https://s3.eu-west-1.amazonaws.com/'}\nbuckets: {sessions-assets: or-assets, mobs: or-mobs}\nstateDir: "+state+"\n"), 0o600)

	// Before the cutover: vars.yaml names the source.
	vars := varsAt(t, dir, "http://minio.db.svc.cluster.local:9000", "sessions-assets", "")
	code, out, errOut := assetsRoute(t, "--config", cfg, "--openreplay-vars", vars)
	if code != 0 || !strings.HasPrefix(out, "location /sessions-assets/ {") ||
		!strings.Contains(out, "return 302 https://s3.eu-west-1.amazonaws.com/or-assets$1$2;") {
		t.Fatalf("before the cutover: exit %d\n%s%s", code, out, errOut)
	}
	// After it vars.yaml names the destination; the old bucket comes from what cutover kept.
	varsAt(t, dir, "https://s3.eu-west-1.amazonaws.com", "or-assets", "")
	if code, _, errOut := assetsRoute(t, "--config", cfg, "--openreplay-vars", vars); code != 2 || !strings.Contains(errOut, "--path") {
		t.Fatalf("after the cutover without the kept source: exit %d, %s", code, errOut)
	}
	if err := config.SaveSource(state, &config.SavedSource{Endpoint: "http://minio.db.svc.cluster.local:9000",
		Buckets: []config.SavedBucket{{Key: "assetsBucket", Name: "sessions-assets"}, {Key: "recordingsBucket", Name: "mobs"}}}); err != nil {
		t.Fatal(err)
	}
	code, after, errOut := assetsRoute(t, "--config", cfg, "--openreplay-vars", vars)
	if code != 0 || after != out {
		t.Fatalf("after the cutover: exit %d\n%s%s\nwant the same block as before:\n%s", code, after, errOut, out)
	}
	// The Ingress takes its host from domainName.
	code, ing, errOut := assetsRoute(t, "--format", "ingress", "--config", cfg, "--openreplay-vars", vars)
	if code != 0 || !strings.Contains(ing, "- host: openreplay.example.org") || !strings.Contains(ing, "path: /sessions-assets") {
		t.Fatalf("ingress: exit %d\n%s%s", code, ing, errOut)
	}
}

func TestAssetsRouteRefusals(t *testing.T) {
	dir := t.TempDir()
	withOrigin := varsAt(t, t.TempDir(), "http://minio.db.svc.cluster.local:9000", "sessions-assets", "  assetsOrigin: https://cdn.example.org/assets\n")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no origin", nil, "--origin URL"},
		{"unknown format", []string{"--format", "yaml", "--origin", "https://s3.example.com/a"}, "--format"},
		{"assetsOrigin set", []string{"--openreplay-vars", withOrigin, "--origin", "https://s3.example.com/a"}, "global.assetsOrigin"},
		{"ingress without a host", []string{"--format", "ingress", "--origin", "https://s3.example.com/a"}, "--host"},
		{"an origin with a key", []string{"--origin", "https://AKIA:hunter2@s3.example.com/a"}, "user name or key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(dir)
			code, out, errOut := assetsRoute(t, c.args...)
			if code != 2 || out != "" || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "hunter2") {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and an error naming %q", code, out, errOut, c.want)
			}
		})
	}
}
