package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

const (
	chartDir  = "helm/openreplay-migrator"
	release   = "om"
	namespace = "migration"
	fullname  = release + "-openreplay-migrator"
)

// helmBinary is the helm the Makefile installs at a pinned version.
func helmBinary(t testing.TB) string {
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

// runHelm runs helm and returns its standard output, or its error with standard error.
func runHelm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return runHelmOn(t, "", args...)
}

// runHelmOn runs helm against the cluster kubeconfig names ("": none).
func runHelmOn(t testing.TB, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	// A home of its own: no repositories, plugins or kubeconfig of the machine's user.
	home := t.TempDir()
	if kubeconfig == "" {
		kubeconfig = filepath.Join(home, "kubeconfig")
	}
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home,
		"KUBECONFIG="+kubeconfig)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v\n%s%s", strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.String(), nil
}

// valuesFile writes a values file for one case. Not under t.TempDir: helm splits -f at
// commas, and test names may hold one.
func valuesFile(t testing.TB, values string) string {
	t.Helper()
	f, err := os.CreateTemp("", "chart-values-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	if _, err := f.WriteString(values); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// render runs `helm template` with values and decodes every manifest strictly.
func render(t testing.TB, values string) *manifest {
	t.Helper()
	out, err := runHelm(t, "template", release, chartDir, "--namespace", namespace, "-f", valuesFile(t, values))
	if err != nil {
		t.Fatal(err)
	}
	return decodeManifests(t, out)
}

// object is one rendered manifest, decoded into its Kubernetes API type.
type object struct {
	Kind, Name string
	YAML       string
	Obj        any
}

type manifest struct {
	Raw  string
	Objs []object
}

// apiTypes are the kinds the chart may render; anything else fails the test.
var apiTypes = map[string]func() any{
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                               func() any { return &corev1.Secret{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"v1/PersistentVolumeClaim":                func() any { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":                            func() any { return &batchv1.Job{} },
	"batch/v1/CronJob":                        func() any { return &batchv1.CronJob{} },
	"networking.k8s.io/v1/Ingress":            func() any { return &networkingv1.Ingress{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &monitoringv1.PrometheusRule{} },
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

func decodeManifests(t testing.TB, out string) *manifest {
	t.Helper()
	m := &manifest{Raw: out}
	for _, doc := range docSeparator.Split(out, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := strictYAML([]byte(doc), &head, false); err != nil {
			t.Fatalf("manifest is not YAML: %v\n%s", err, doc)
		}
		newObj, ok := apiTypes[head.APIVersion+"/"+head.Kind]
		if !ok {
			t.Fatalf("unexpected kind %s/%s (%s)", head.APIVersion, head.Kind, head.Metadata.Name)
		}
		obj := newObj()
		if err := strictYAML([]byte(doc), obj, true); err != nil {
			t.Fatalf("%s %s does not decode strictly into the Kubernetes API type: %v\n%s", head.Kind, head.Metadata.Name, err, doc)
		}
		m.Objs = append(m.Objs, object{Kind: head.Kind, Name: head.Metadata.Name, YAML: doc, Obj: obj})
	}
	return m
}

// strictYAML decodes YAML through JSON, as the API server does; with strict, duplicate
// and unknown fields are errors.
func strictYAML(doc []byte, v any, strict bool) error {
	j, err := sigsyaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	if strict {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(v)
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func (m *manifest) all(kind string) []object {
	var out []object
	for _, o := range m.Objs {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func (m *manifest) find(kind, name string) (object, bool) {
	for _, o := range m.Objs {
		if o.Kind == kind && o.Name == name {
			return o, true
		}
	}
	return object{}, false
}

func (m *manifest) one(t testing.TB, kind string) object {
	t.Helper()
	all := m.all(kind)
	if len(all) != 1 {
		t.Fatalf("want one %s, rendered %d", kind, len(all))
	}
	return all[0]
}
