package deploy

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The source keys are a copy of OpenReplay's or-secrets made with Helm's lookup, which
// needs a cluster. These tests give helm one: a fake API server on loopback that answers
// the reads lookup makes (`helm template --dry-run=server` renders as an install does),
// and fails on anything else.

// fakeCluster serves namespaces and Secrets read-only.
type fakeCluster struct {
	t       *testing.T
	mu      sync.Mutex
	objects map[string]any // API path -> object
}

func newFakeCluster(t *testing.T) (*fakeCluster, string) {
	c := &fakeCluster{t: t, objects: map[string]any{}}
	c.namespace("kube-system")
	c.namespace(namespace)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func (c *fakeCluster) namespace(name string) {
	c.objects["/api/v1/namespaces/"+name] = &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
	}
}

func (c *fakeCluster) secret(ns, name string, data map[string]string, annotations map[string]string) {
	s := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: annotations},
		Data:       map[string][]byte{},
	}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	c.namespace(ns)
	c.objects["/api/v1/namespaces/"+ns+"/secrets/"+name] = s
}

func (c *fakeCluster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodGet {
		c.t.Errorf("templating the chart sent %s %s: it must only read", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/api/v1" { // discovery: which resources exist, and which are namespaced
		json.NewEncoder(w).Encode(&metav1.APIResourceList{
			TypeMeta:     metav1.TypeMeta{APIVersion: "v1", Kind: "APIResourceList"},
			GroupVersion: "v1",
			APIResources: []metav1.APIResource{
				{Name: "namespaces", Namespaced: false, Kind: "Namespace", Verbs: []string{"get"}},
				{Name: "secrets", Namespaced: true, Kind: "Secret", Verbs: []string{"get"}},
			},
		})
		return
	}
	if obj, ok := c.objects[r.URL.Path]; ok {
		json.NewEncoder(w).Encode(obj)
		return
	}
	w.WriteHeader(http.StatusNotFound)
	json.NewEncoder(w).Encode(&metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound,
		Message: r.URL.Path + " not found",
	})
}

// renderOnline renders as `helm install` would against the fake cluster.
func renderOnline(t *testing.T, apiURL, values string) (*manifest, error) {
	t.Helper()
	out, err := runHelm(t, "template", release, chartDir, "--namespace", namespace, "-f", valuesFile(t, values),
		"--dry-run=server", "--kube-apiserver", apiURL)
	if err != nil {
		return nil, err
	}
	return decodeManifests(t, out), nil
}

const (
	minioAccess = "minio-access-0a1b"
	minioSecret = "minio-secret-2c3d4e"
)

func TestSourceKeysCopiedFromOpenReplay(t *testing.T) {
	for _, c := range []struct {
		name   string
		values string
		setup  func(c *fakeCluster)
		// the chart's source Secret, or the refusal
		wantAccess, wantSecret, wantFrom string
		wantErr                          string
	}{
		{
			name: "first install copies or-secrets",
			setup: func(c *fakeCluster) {
				c.secret("app", "or-secrets", map[string]string{"access-key": minioAccess, "secret-key": minioSecret}, nil)
				c.secret(namespace, "openreplay-migrator-destination", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
			},
			wantAccess: minioAccess, wantSecret: minioSecret, wantFrom: "app/or-secrets",
		},
		{
			name:   "OpenReplay in another namespace",
			values: "openreplay: {namespace: openreplay}\n",
			setup: func(c *fakeCluster) {
				c.secret("openreplay", "or-secrets", map[string]string{"access-key": minioAccess, "secret-key": minioSecret}, nil)
				c.secret(namespace, "openreplay-migrator-destination", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
			},
			wantAccess: minioAccess, wantSecret: minioSecret, wantFrom: "openreplay/or-secrets",
		},
		{
			// After the cutover or-secrets holds the destination's key; an upgrade keeps
			// the copy made at the first install.
			name: "upgrade keeps the first copy",
			setup: func(c *fakeCluster) {
				c.secret("app", "or-secrets", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
				c.secret(namespace, fullname+"-source", map[string]string{"access-key": minioAccess, "secret-key": minioSecret},
					map[string]string{"openreplay-migrator/keys-from": "app/or-secrets"})
				c.secret(namespace, "openreplay-migrator-destination", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
			},
			wantAccess: minioAccess, wantSecret: minioSecret, wantFrom: "app/or-secrets",
		},
		{
			// An install after the cutover: the store's own root key, which a storage
			// switch never changes (db/minio), is the source's.
			name: "or-secrets already switched, store's own Secret",
			setup: func(c *fakeCluster) {
				c.secret("app", "or-secrets", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
				c.secret("db", "minio", map[string]string{"access-key": minioAccess, "secret-key": minioSecret}, nil)
				c.secret(namespace, "openreplay-migrator-destination", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
			},
			wantAccess: minioAccess, wantSecret: minioSecret, wantFrom: "db/minio",
		},
		{
			name: "or-secrets already switched, no store Secret",
			setup: func(c *fakeCluster) {
				c.secret("app", "or-secrets", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
				c.secret(namespace, "openreplay-migrator-destination", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
			},
			wantErr: "already holds the destination's key (the cutover has run), and Secret minio in namespace db (the store's own key) was not found",
		},
		{
			name: "or-secrets already switched, store Secret holds the destination's key",
			setup: func(c *fakeCluster) {
				c.secret("app", "or-secrets", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
				c.secret("db", "minio", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
				c.secret(namespace, "openreplay-migrator-destination", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
			},
			wantErr: "holds the destination's key too",
		},
		{
			name: "no or-secrets",
			setup: func(c *fakeCluster) {
				c.secret(namespace, "openreplay-migrator-destination", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
			},
			wantErr: "Secret or-secrets was not found in namespace app",
		},
		{
			name: "or-secrets without a secret key",
			setup: func(c *fakeCluster) {
				c.secret("app", "or-secrets", map[string]string{"access-key": minioAccess}, nil)
				c.secret(namespace, "openreplay-migrator-destination", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
			},
			wantErr: `has no key "secret-key"`,
		},
		{
			name: "no destination Secret",
			setup: func(c *fakeCluster) {
				c.secret("app", "or-secrets", map[string]string{"access-key": minioAccess, "secret-key": minioSecret}, nil)
			},
			wantErr: "kubectl -n " + namespace + " create secret generic openreplay-migrator-destination",
		},
		{
			// Keys in values need no cluster lookup and win over or-secrets.
			name:   "keys in values",
			values: "source: {accessKey: " + srcAccess + ", secretKey: " + srcSecret + "}\n",
			setup: func(c *fakeCluster) {
				c.secret("app", "or-secrets", map[string]string{"access-key": minioAccess, "secret-key": minioSecret}, nil)
				c.secret(namespace, "openreplay-migrator-destination", map[string]string{"access-key": dstAccess, "secret-key": dstSecret}, nil)
			},
			wantAccess: srcAccess, wantSecret: srcSecret, wantFrom: "values",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cluster, url := newFakeCluster(t)
			c.setup(cluster)
			m, err := renderOnline(t, url, c.values)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("want a refusal saying %q, got %v", c.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o, ok := m.find("Secret", fullname+"-source")
			if !ok {
				t.Fatalf("no source Secret rendered")
			}
			s := o.Obj.(*corev1.Secret)
			if string(s.Data["access-key"]) != c.wantAccess || string(s.Data["secret-key"]) != c.wantSecret {
				t.Errorf("source Secret holds %q/%q, want %q/%q", s.Data["access-key"], s.Data["secret-key"], c.wantAccess, c.wantSecret)
			}
			if from := s.Annotations["openreplay-migrator/keys-from"]; from != c.wantFrom {
				t.Errorf("keys-from %q, want %q", from, c.wantFrom)
			}
			// The pods read that Secret, and the rest of the rendering holds no key.
			pods := workloads(t, m)
			for _, e := range pods[0].pod.Spec.Containers[0].Env {
				if strings.HasPrefix(e.Name, "MIGRATOR_SOURCE_") && e.ValueFrom.SecretKeyRef.Name != fullname+"-source" {
					t.Errorf("%s reads Secret %s", e.Name, e.ValueFrom.SecretKeyRef.Name)
				}
			}
			checkKeysOnlyInSecrets(t, m, chartCase{keys: []string{c.wantAccess, c.wantSecret}})
		})
	}
}
