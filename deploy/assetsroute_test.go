package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/openreplay-migrator/openreplay-migrator/internal/cli"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/assetsroute"
)

// openReplayIngress is what OpenReplay's own route to MinIO looks like, from
// charts/http/templates/ingress.yaml (the `minio` Ingress) with vars.yaml's values: an
// NGINX Inc minion, merged into the frontend chart's master for global.domainName, on
// the IngressClass global.ingress.controller.ingressClassResource.name, paths of type
// Prefix. The assets route must have the same shape to take its place.
type openReplayIngress struct {
	host, className string
}

// openReplayShape reads host and IngressClass from OpenReplay's vars.yaml, in place.
func openReplayShape(t *testing.T) openReplayIngress {
	t.Helper()
	vars := filepath.Join(testenv.RepoRoot(t), "..", "shared", "openreplay", "vars.yaml")
	data, err := os.ReadFile(vars)
	if os.IsNotExist(err) {
		t.Skipf("OpenReplay's vars.yaml is not at %s (the ../shared checkout beside the repository is missing)", vars)
	}
	if err != nil {
		t.Fatal(err)
	}
	data = regexp.MustCompile(`\{\{[^}]*\}\}`).ReplaceAll(data, []byte("installedkey"))
	var doc struct {
		Global struct {
			DomainName string `yaml:"domainName"`
			Ingress    struct {
				Controller struct {
					IngressClassResource struct {
						Name string `yaml:"name"`
					} `yaml:"ingressClassResource"`
				} `yaml:"controller"`
			} `yaml:"ingress"`
		} `yaml:"global"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	shape := openReplayIngress{host: doc.Global.DomainName, className: doc.Global.Ingress.Controller.IngressClassResource.Name}
	if shape.className == "" {
		t.Fatalf("%s names no IngressClass under global.ingress.controller.ingressClassResource.name", vars)
	}
	if shape.host == "" {
		shape.host = "openreplay.example.com" // the shipped file leaves domainName for the installer
	}
	return shape
}

func assetsIngress(t *testing.T, m *manifest) *networkingv1.Ingress {
	t.Helper()
	return m.one(t, "Ingress").Obj.(*networkingv1.Ingress)
}

// checkOpenReplayShape fails unless ing would be merged by OpenReplay's controller as
// its own `minio` Ingress was, for path.
func checkOpenReplayShape(t *testing.T, ing *networkingv1.Ingress, want openReplayIngress, namespace, path string) {
	t.Helper()
	if got := ing.Annotations["nginx.org/mergeable-ingress-type"]; got != "minion" {
		t.Errorf("nginx.org/mergeable-ingress-type = %q, want minion (the master is the frontend chart's)", got)
	}
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != want.className {
		t.Errorf("ingressClassName = %v, want %q", ing.Spec.IngressClassName, want.className)
	}
	if ing.Namespace != namespace {
		t.Errorf("namespace %q, want OpenReplay's %q", ing.Namespace, namespace)
	}
	if len(ing.Spec.TLS) != 0 {
		t.Error("a minion carries no TLS: the master does")
	}
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != want.host || ing.Spec.Rules[0].HTTP == nil {
		t.Fatalf("rules %+v, want one for host %q", ing.Spec.Rules, want.host)
	}
	paths := ing.Spec.Rules[0].HTTP.Paths
	if len(paths) != 1 || paths[0].Path != path || paths[0].PathType == nil || *paths[0].PathType != networkingv1.PathTypePrefix ||
		paths[0].Backend.Service == nil || paths[0].Backend.Service.Name == "" || paths[0].Backend.Service.Port.Number == 0 {
		t.Fatalf("paths %+v, want one %s of type Prefix with a Service backend", paths, path)
	}
}

func TestChartAssetsRoute(t *testing.T) {
	shape := openReplayShape(t)
	const s3Assets = "https://s3.us-east-1.amazonaws.com/openreplay-assets"
	for _, c := range []struct {
		name, values   string
		namespace      string
		path, origin   string
		annotations    map[string]string
		renderedRoutes int
	}{
		{name: "no domain, no route", values: "", renderedRoutes: 0},
		{name: "told the domain: on", values: "openreplay: {domain: " + shape.host + "}\nassetsRoute: {ingressClassName: " + shape.className + "}\n",
			namespace: "app", path: "/sessions-assets", origin: s3Assets, renderedRoutes: 1},
		{name: "switched off", values: "openreplay: {domain: " + shape.host + "}\nassetsRoute: {enabled: false}\n", renderedRoutes: 0},
		{name: "own host, namespace, bucket names and annotations", values: `openreplay: {namespace: openreplay}
destination: {endpoint: "https://storage.example.net/"}
buckets: {old-assets: new-assets}
assetsRoute:
  enabled: true
  host: ` + shape.host + `
  path: /old-assets/
  ingressClassName: ` + shape.className + `
  annotations: {nginx.org/lb-method: round_robin}
`, namespace: "openreplay", path: "/old-assets", origin: "https://storage.example.net/new-assets",
			annotations: map[string]string{"nginx.org/lb-method": "round_robin"}, renderedRoutes: 1},
		{name: "explicit origin", values: "openreplay: {domain: " + shape.host + "}\nassetsRoute: {origin: 'https://cdn.example.com/assets/', ingressClassName: " + shape.className + "}\n",
			namespace: "app", path: "/sessions-assets", origin: "https://cdn.example.com/assets", renderedRoutes: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := render(t, c.values)
			if got := len(m.all("Ingress")); got != c.renderedRoutes {
				t.Fatalf("rendered %d Ingresses, want %d", got, c.renderedRoutes)
			}
			if c.renderedRoutes == 0 {
				return
			}
			ing := assetsIngress(t, m)
			checkOpenReplayShape(t, ing, shape, c.namespace, c.path)
			route, err := assetsroute.New(c.path, c.origin)
			if err != nil {
				t.Fatal(err)
			}
			if got := ing.Annotations["nginx.org/location-snippets"]; got != route.Directives() {
				t.Errorf("location snippet:\n%s\nwant the redirect `migrator assets-route` prints:\n%s", got, route.Directives())
			}
			for k, v := range c.annotations {
				if ing.Annotations[k] != v {
					t.Errorf("annotation %s = %q, want %q", k, ing.Annotations[k], v)
				}
			}
		})
	}
}

// The chart's Ingress and `migrator assets-route --format ingress` are one route.
func TestChartAssetsRouteIsTheCommandsIngress(t *testing.T) {
	m := render(t, "openreplay: {domain: openreplay.example.com}\n")
	chart := assetsIngress(t, m)

	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte("destination: {endpoint: https://s3.us-east-1.amazonaws.com}\nbuckets: {sessions-assets: openreplay-assets}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	if code := cli.Main([]string{"assets-route", "--format", "ingress", "--config", config, "--host", "openreplay.example.com"}, env); code != 0 {
		t.Fatalf("assets-route exited %d: %s", code, stderr.String())
	}
	printed := decodeManifests(t, stdout.String()).one(t, "Ingress").Obj.(*networkingv1.Ingress)
	if printed.Namespace != chart.Namespace || !equality.Semantic.DeepEqual(printed.Spec, chart.Spec) ||
		!equality.Semantic.DeepEqual(printed.Annotations, chart.Annotations) {
		t.Errorf("the chart renders\n%s\nthe command prints\n%s", m.one(t, "Ingress").YAML, stdout.String())
	}
	if !strings.Contains(stdout.String(), "return 302 https://s3.us-east-1.amazonaws.com/openreplay-assets$1$2;") {
		t.Errorf("the printed Ingress does not redirect to the new assets bucket:\n%s", stdout.String())
	}
}

func TestChartRefusesBadAssetsRoutes(t *testing.T) {
	for _, c := range []struct{ name, values, want string }{
		{"on without a domain", "assetsRoute: {enabled: true}\n", "openreplay.domain"},
		{"a domain with a scheme", "openreplay: {domain: 'https://openreplay.example.com'}\n", "/openreplay/domain"},
		{"an origin nginx would misread", "openreplay: {domain: o.example.com}\nassetsRoute: {origin: 'https://s3.example.com/$1'}\n", "/assetsRoute/origin"},
		{"a path with a space", "openreplay: {domain: o.example.com}\nassetsRoute: {path: '/old assets'}\n", "/assetsRoute/path"},
		{"an unmapped assets bucket", "openreplay: {domain: o.example.com}\nassetsRoute: {path: /old-assets}\n", `buckets maps no destination bucket for "old-assets"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := runHelm(t, "template", release, chartDir, "-f", valuesFile(t, c.values))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want a refusal naming %q, got %v", c.want, err)
			}
		})
	}
}
