package openreplay

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// helmBinary is the helm `make tools` installs at a pinned version.
func helmBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HELM_BIN"); p != "" {
		return p
	}
	p := filepath.Join(testenv.RepoRoot(t), ".tools", "bin", "helm")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("helm %s is missing: run `make tools` (or set HELM_BIN)", p)
	}
	return p
}

// rendered is `helm template` of testdata/chart (OpenReplay's chart, reduced to the places
// that read global.s3's keys and minio.enabled) with vars as the values file.
type rendered map[string]map[string]any // kind/name -> object

func renderChart(t *testing.T, vars []byte) rendered {
	t.Helper()
	dir := t.TempDir()
	values := filepath.Join(dir, "vars.yaml")
	if err := os.WriteFile(values, vars, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helmBinary(t), "template", "openreplay", filepath.Join("testdata", "chart"), "-f", values)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+dir, "HELM_CONFIG_HOME="+dir, "HELM_DATA_HOME="+dir, "KUBECONFIG="+filepath.Join(dir, "kubeconfig"))
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr.String())
	}
	r := rendered{}
	dec := yaml.NewDecoder(&out)
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("helm output: %v", err)
		}
		if doc == nil {
			continue
		}
		r[doc["kind"].(string)+"/"+doc["metadata"].(map[string]any)["name"].(string)] = doc
	}
	return r
}

// env returns a container's environment by name: a literal value, or
// "secret:<name>/<key>" for a secretKeyRef; ok is false when there is no such container.
func (r rendered) env(t *testing.T, object, container string) (map[string]string, bool) {
	t.Helper()
	o, ok := r[object]
	if !ok {
		t.Fatalf("%s was not rendered", object)
	}
	spec := o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	for _, c := range spec["containers"].([]any) {
		c := c.(map[string]any)
		if c["name"] != container {
			continue
		}
		out := map[string]string{}
		for _, e := range c["env"].([]any) {
			e := e.(map[string]any)
			if v, ok := e["value"]; ok {
				out[e["name"].(string)] = v.(string)
				continue
			}
			ref := e["valueFrom"].(map[string]any)["secretKeyRef"].(map[string]any)
			out[e["name"].(string)] = "secret:" + ref["name"].(string) + "/" + ref["key"].(string)
		}
		return out, true
	}
	return nil, false
}

func (r rendered) secret(t *testing.T, name string) map[string]string {
	t.Helper()
	out := map[string]string{}
	data, _ := r["Secret/"+name]["data"].(map[string]any)
	for k, v := range data {
		b, err := base64.StdEncoding.DecodeString(v.(string))
		if err != nil {
			t.Fatalf("Secret %s key %s: %v", name, k, err)
		}
		out[k] = string(b)
	}
	return out
}

const minioAccessKey = "Xq7RmfTz1LbK9wPzA0cE" // vars-installed.yaml's MinIO anchor

// What OpenReplay's templates make of the --existing-secret edit: every service takes
// the key from the Secret, and the places that read global.s3's keys literally get
// empty values, never MinIO's own key (which they would send to the new endpoint).
func TestChartRendersExistingSecretEdit(t *testing.T) {
	in := readFixture(t, "vars-installed.yaml")
	// Before: the same chart hands MinIO's key to the literal readers, which is the
	// failure the edit prevents (and proves this chart can see it).
	before := renderChart(t, in)
	if vault, _ := before.env(t, "Job/databases-migrate", "vault-s3-upload"); vault["AWS_ACCESS_KEY_ID"] != minioAccessKey {
		t.Fatalf("the unedited file's vault job key: %q", vault["AWS_ACCESS_KEY_ID"])
	}
	out, err := EditStorage(in, secretDest)
	if err != nil {
		t.Fatal(err)
	}
	after := renderChart(t, out)
	storage, _ := after.env(t, "Deployment/storage", "storage")
	if storage["AWS_ACCESS_KEY_ID"] != "secret:openreplay-gcs-keys/access-key" || storage["AWS_SECRET_ACCESS_KEY"] != "secret:openreplay-gcs-keys/secret-key" {
		t.Errorf("the service's keys: %v", storage)
	}
	if s := after.secret(t, "or-secrets"); s["access-key"] != "" || s["secret-key"] != "" {
		t.Errorf("or-secrets still holds a key: %v", s)
	}
	if s := after.secret(t, "openreplay-secrets"); s["MINIO_ACCESS_KEY"] != "" || s["MINIO_SECRET_KEY"] != "" || s["MINIO_HOST"] != secretDest.Endpoint {
		t.Errorf("openreplay-secrets: %v", s)
	}
	if vault, _ := after.env(t, "Job/databases-migrate", "vault-s3-upload"); vault["AWS_ACCESS_KEY_ID"] != "" || vault["AWS_SECRET_ACCESS_KEY"] != "" {
		t.Errorf("the vault job's keys: %v", vault)
	}
	all, _ := yaml.Marshal(after)
	if strings.Contains(string(all), minioAccessKey) || strings.Contains(string(all), base64.StdEncoding.EncodeToString([]byte(minioAccessKey))) {
		t.Error("MinIO's own key is still rendered somewhere")
	}
	if v := lookupPath(t, out, "minio", "global", "minio", "accessKey"); v != minioAccessKey {
		t.Errorf("MinIO's anchor changed: %v", v)
	}
}

// --disable-minio: the migration job no longer runs the bucket script against global.s3.
func TestChartRendersDisableMinio(t *testing.T) {
	in := readFixture(t, "vars-installed.yaml")
	d := awsDest
	for _, disable := range []bool{false, true} {
		d.DisableMinio = disable
		out, err := EditStorage(in, d)
		if err != nil {
			t.Fatal(err)
		}
		minio, runs := renderChart(t, out).env(t, "Job/databases-migrate", "minio")
		if runs == disable {
			t.Errorf("disable-minio %v: the MinIO bucket script runs: %v", disable, runs)
		}
		if runs && minio["MINIO_HOST"] != d.Endpoint {
			t.Errorf("the bucket script runs against %q", minio["MINIO_HOST"])
		}
	}
}
