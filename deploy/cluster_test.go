package deploy

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// What the chart tests need from a real API server (testenv.StartKube): helm pointed at
// it, the Prometheus operator's CRDs, OpenReplay's side, and the objects read back.

// cluster is a test API server and the helm that talks to it.
type cluster struct {
	*testenv.Kube
	t *testing.T
}

// on is the same cluster for a subtest: failures go to that subtest.
func (c *cluster) on(t *testing.T) *cluster { return &cluster{Kube: c.Kube, t: t} }

func (c *cluster) helm(args ...string) (string, error) {
	c.t.Helper()
	return runHelmOn(c.t, c.Kubeconfig, args...)
}

func (c *cluster) mustHelm(args ...string) string {
	c.t.Helper()
	out, err := c.helm(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

func (c *cluster) namespace(name string) {
	c.t.Helper()
	c.Must(c.t, "POST", "/api/v1/namespaces", &corev1.Namespace{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: name},
	}, nil)
}

// putSecret creates or replaces an Opaque Secret, as `kubectl create secret generic` does.
func (c *cluster) putSecret(ns, name string, data map[string]string) {
	c.t.Helper()
	s := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Type:       corev1.SecretTypeOpaque, StringData: data,
	}
	path := "/api/v1/namespaces/" + ns + "/secrets"
	code, _, err := c.Do("GET", path+"/"+name, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if code == http.StatusNotFound {
		c.Must(c.t, "POST", path, s, nil)
		return
	}
	c.Must(c.t, "PUT", path+"/"+name, s, nil)
}

func (c *cluster) secret(ns, name string) *corev1.Secret {
	c.t.Helper()
	var s corev1.Secret
	c.Must(c.t, "GET", "/api/v1/namespaces/"+ns+"/secrets/"+name, nil, &s)
	return &s
}

// prometheusOperatorCRDs is the newest prometheus-operator module version the Go proxy
// serves: its example/prometheus-operator-crd holds the CRDs its Go types are made into.
const prometheusOperatorCRDs = "v0.85.0"

// installMonitoringCRDs creates the ServiceMonitor and PrometheusRule CRDs, read from the
// Go module cache (the module is downloaded there if need be), and waits until they serve.
func (c *cluster) installMonitoringCRDs() {
	c.t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/prometheus-operator/prometheus-operator@"+prometheusOperatorCRDs)
	cmd.Dir = c.t.TempDir() // outside this module: its go.mod does not need the module
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("download the prometheus-operator module for its CRDs: %v\n%s", err, out)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		c.t.Fatalf("go mod download: %v %s", err, mod.Error)
	}
	for _, kind := range []string{"servicemonitors", "prometheusrules"} {
		raw, err := os.ReadFile(filepath.Join(mod.Dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_"+kind+".yaml"))
		if err != nil {
			c.t.Fatal(err)
		}
		j, err := sigsyaml.YAMLToJSON(raw)
		if err != nil {
			c.t.Fatal(err)
		}
		c.Must(c.t, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", j, nil)
		testenv.Eventually(c.t, 2*time.Minute, "CRD "+kind+" established", func() bool {
			var crd struct { // apiextensions/v1, the part read here
				Status struct {
					Conditions []struct{ Type, Status string }
				}
			}
			code, data, err := c.Do("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"+kind+".monitoring.coreos.com", nil)
			if err != nil || code != http.StatusOK || json.Unmarshal(data, &crd) != nil {
				return false
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == "Established" && cond.Status == "True" {
					return true
				}
			}
			return false
		})
	}
}

// resource is a namespaced kind the chart may make, and the path of its collection.
type resource struct{ kind, apiVersion, path string }

// chartResources are the kinds the chart renders (apiTypes), plus the ReplicaSets and
// Pods the controllers make from them.
var chartResources = []resource{
	{"ConfigMap", "v1", "/api/v1/namespaces/%s/configmaps"},
	{"Secret", "v1", "/api/v1/namespaces/%s/secrets"},
	{"Service", "v1", "/api/v1/namespaces/%s/services"},
	{"ServiceAccount", "v1", "/api/v1/namespaces/%s/serviceaccounts"},
	{"PersistentVolumeClaim", "v1", "/api/v1/namespaces/%s/persistentvolumeclaims"},
	{"Deployment", "apps/v1", "/apis/apps/v1/namespaces/%s/deployments"},
	{"Job", "batch/v1", "/apis/batch/v1/namespaces/%s/jobs"},
	{"CronJob", "batch/v1", "/apis/batch/v1/namespaces/%s/cronjobs"},
	{"ServiceMonitor", "monitoring.coreos.com/v1", "/apis/monitoring.coreos.com/v1/namespaces/%s/servicemonitors"},
	{"PrometheusRule", "monitoring.coreos.com/v1", "/apis/monitoring.coreos.com/v1/namespaces/%s/prometheusrules"},
	{"Ingress", "networking.k8s.io/v1", "/apis/networking.k8s.io/v1/namespaces/%s/ingresses"},
	{"ReplicaSet", "apps/v1", "/apis/apps/v1/namespaces/%s/replicasets"},
	{"Pod", "v1", "/api/v1/namespaces/%s/pods"},
}

// item is one stored object: its kind, metadata and JSON.
type item struct {
	Kind string
	Meta metav1.ObjectMeta
	JSON json.RawMessage
}

// list returns the objects of every chartResources kind in ns that selector (a label
// selector, "" for all) matches.
func (c *cluster) list(ns, selector string) []item {
	c.t.Helper()
	var out []item
	for _, r := range chartResources {
		path := strings.Replace(r.path, "%s", ns, 1)
		if selector != "" {
			path += "?labelSelector=" + url.QueryEscape(selector)
		}
		var l struct{ Items []json.RawMessage }
		c.Must(c.t, "GET", path, nil, &l)
		for _, raw := range l.Items {
			var o struct{ Metadata metav1.ObjectMeta }
			if err := json.Unmarshal(raw, &o); err != nil {
				c.t.Fatal(err)
			}
			out = append(out, item{Kind: r.kind, Meta: o.Metadata, JSON: raw})
		}
	}
	return out
}

// stored reads back the release's objects in the given namespaces as the chart tests'
// manifest: the same checks then run on what the API server keeps (validated, defaulted)
// instead of on helm's text.
func (c *cluster) stored(release string, namespaces ...string) *manifest {
	c.t.Helper()
	m := &manifest{}
	for _, ns := range namespaces {
		for _, it := range c.list(ns, "app.kubernetes.io/instance="+release) {
			r := resourceOf(it.Kind)
			newObj, ok := apiTypes[r.apiVersion+"/"+it.Kind]
			if !ok {
				continue // ReplicaSets and Pods: made by controllers, not by the chart
			}
			obj := newObj()
			if err := json.Unmarshal(it.JSON, obj); err != nil {
				c.t.Fatalf("%s %s: %v", it.Kind, it.Meta.Name, err)
			}
			m.Objs = append(m.Objs, object{Kind: it.Kind, Name: it.Meta.Name, YAML: string(it.JSON), Obj: obj})
		}
	}
	return m
}

func resourceOf(kind string) resource {
	i := slices.IndexFunc(chartResources, func(r resource) bool { return r.kind == kind })
	return chartResources[i]
}

// names lists objects as Kind/name, sorted, for messages and comparisons.
func names(items []item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Kind+"/"+it.Meta.Name)
	}
	slices.Sort(out)
	return out
}

// dryRunCreate sends one object as `kubectl create --dry-run=server --validate=strict`
// would: the server validates, defaults and admits it, stores nothing, and refuses
// unknown or duplicate fields. It returns the object as the server would store it.
func (c *cluster) dryRunCreate(ns string, o object) (json.RawMessage, error) {
	c.t.Helper()
	var head struct {
		Kind     string
		Metadata struct{ Namespace string }
	}
	j, err := sigsyaml.YAMLToJSON([]byte(o.YAML))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(j, &head); err != nil {
		return nil, err
	}
	if head.Metadata.Namespace != "" { // the dashboard may go to Grafana's namespace
		ns = head.Metadata.Namespace
	}
	path := strings.Replace(resourceOf(head.Kind).path, "%s", ns, 1)
	code, data, err := c.Do("POST", path+"?dryRun=All&fieldValidation=Strict", j)
	if err != nil {
		return nil, err
	}
	if code/100 != 2 {
		return nil, &apiError{o.Kind + "/" + o.Name, code, strings.TrimSpace(string(data))}
	}
	return data, nil
}

type apiError struct {
	what string
	code int
	body string
}

func (e *apiError) Error() string {
	return e.what + ": the API server answered " + http.StatusText(e.code) + ": " + e.body
}
