package testenv

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Kube is a Kubernetes control plane on loopback: etcd, kube-apiserver and
// kube-controller-manager (the Job, Deployment, ReplicaSet, garbage-collector and PVC
// protection controllers), built by `make test-k8s`. There is no scheduler and no kubelet:
// objects are stored, validated, defaulted and reconciled by the real controllers, and
// pods stay Pending.
type Kube struct {
	URL        string // https://127.0.0.1:PORT
	Token      string // a bearer token of a member of system:masters
	CAFile     string // the PEM the API server's serving certificate chains to
	Kubeconfig string // a kubeconfig for helm and kube-controller-manager

	t      testing.TB
	client *http.Client
}

// kubeBinaries are the programs StartKube runs, in .tools/bin (or $KUBE_BIN_DIR).
var kubeBinaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// KubeBinaryDir returns the folder holding the control plane's binaries. A test that needs
// them fails under CI=true when they are missing, and is skipped elsewhere.
func KubeBinaryDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("KUBE_BIN_DIR")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), ".tools", "bin")
	}
	for _, b := range kubeBinaries {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			msg := fmt.Sprintf("%s is missing: run `make test-k8s` (it builds etcd, kube-apiserver and kube-controller-manager once), or set KUBE_BIN_DIR", filepath.Join(dir, b))
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return dir
}

// StartKube starts a fresh control plane and stops it when the test ends.
func StartKube(t testing.TB) *Kube {
	t.Helper()
	bin := KubeBinaryDir(t)
	dir := t.TempDir()
	k := &Kube{t: t, Token: "test-admin-" + strconv.FormatInt(time.Now().UnixNano(), 36)}

	etcdURL := startEtcd(t, bin, dir)

	// The service-account key pair signs and checks the tokens the API server issues.
	saKey, saPub := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	writeRSAKeyPair(t, saKey, saPub)
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(k.Token+`,test-admin,test-admin,"system:masters"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	certDir := filepath.Join(dir, "certs")
	port := FreePort(t)
	k.URL = "https://127.0.0.1:" + strconv.Itoa(port)
	// With no certificate given, the API server writes a self-signed one (and the CA it
	// chains to) into the cert dir: that file is the CA bundle clients trust.
	k.CAFile = filepath.Join(certDir, "apiserver.crt")
	apiserver := startKubeProcess(t, dir, filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--cert-dir="+certDir,
		"--token-auth-file="+tokens,
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+saPub,
		"--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.96.0.0/24",
		// One loaded machine: fewer watch caches and no API priority bookkeeping.
		"--enable-priority-and-fairness=false",
		"--profiling=false",
	)
	k.waitReady(apiserver)
	k.Kubeconfig = k.writeKubeconfig(filepath.Join(dir, "kubeconfig"))

	kcm := startKubeProcess(t, dir, filepath.Join(bin, "kube-controller-manager"),
		"--kubeconfig="+k.Kubeconfig,
		// Owned objects and finalizers behave as in a cluster: a Job makes pods, a
		// Deployment ReplicaSets, a deleted owner takes its dependants, a deleted claim goes.
		"--controllers=job-controller,deployment-controller,replicaset-controller,garbage-collector-controller,persistentvolumeclaim-protection-controller",
		"--bind-address=127.0.0.1", "--secure-port=0",
		"--leader-elect=true", "--leader-elect-resource-namespace=kube-system",
		"--use-service-account-credentials=false",
		"--profiling=false",
	)
	// A controller manager that holds its lease has started its controllers.
	k.waitFor(kcm, 2*time.Minute, "kube-controller-manager to take its lease", func() bool {
		code, _, err := k.Do("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager", nil)
		return err == nil && code == http.StatusOK
	})
	return k
}

// kubeProcess is one control-plane program and its log.
type kubeProcess struct {
	name, log string
	done      chan struct{}
}

func (p *kubeProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *kubeProcess) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// startKubeProcess runs bin with args, its output in a log under dir, and stops it (SIGTERM,
// then SIGKILL) when the test ends.
func startKubeProcess(t testing.TB, dir, bin string, args ...string) *kubeProcess {
	t.Helper()
	name := filepath.Base(bin)
	p := &kubeProcess{name: name, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// startEtcd starts a one-member etcd on free loopback ports and returns its client URL.
func startEtcd(t testing.TB, bin, dir string) string {
	t.Helper()
	client := "http://127.0.0.1:" + strconv.Itoa(FreePort(t))
	peer := "http://127.0.0.1:" + strconv.Itoa(FreePort(t))
	p := startKubeProcess(t, dir, filepath.Join(bin, "etcd"),
		"--name=test", "--data-dir="+dataDir(t),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=test="+peer,
		"--log-level=warn",
		// A test's cluster lives minutes on tmpfs: fsync buys nothing.
		"--unsafe-no-fsync",
	)
	hc := &http.Client{Timeout: 5 * time.Second}
	waitKubeProcess(t, p, time.Minute, "etcd to be healthy", func() bool {
		resp, err := hc.Get(client + "/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var h struct{ Health string }
		return json.NewDecoder(resp.Body).Decode(&h) == nil && h.Health == "true"
	})
	return client
}

// waitReady waits until the API server answers /readyz and has made kube-system (which
// Helm charts look up to tell a cluster from `helm template`).
func (k *Kube) waitReady(p *kubeProcess) {
	k.t.Helper()
	k.waitFor(p, 3*time.Minute, "kube-apiserver /readyz", func() bool {
		if _, err := os.Stat(k.CAFile); err != nil {
			return false
		}
		if k.client == nil {
			pem, err := os.ReadFile(k.CAFile)
			if err != nil {
				return false
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return false
			}
			k.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		}
		code, _, err := k.Do("GET", "/readyz", nil)
		if err != nil || code != http.StatusOK {
			return false
		}
		code, _, err = k.Do("GET", "/api/v1/namespaces/kube-system", nil)
		return err == nil && code == http.StatusOK
	})
}

func (k *Kube) waitFor(p *kubeProcess, timeout time.Duration, what string, cond func() bool) {
	k.t.Helper()
	waitKubeProcess(k.t, p, timeout, what, cond)
}

// waitKubeProcess polls cond until it holds, failing with the kubeProcess's log if it exits or
// the time runs out.
func waitKubeProcess(t testing.TB, p *kubeProcess, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if p.exited() {
			t.Fatalf("%s exited while waiting for %s:\n%s", p.name, what, p.tail())
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; %s's log ends:\n%s", timeout, what, p.name, p.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (k *Kube) writeKubeconfig(path string) string {
	k.t.Helper()
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, certificate-authority: %q}
users:
- name: test-admin
  user: {token: %q}
contexts:
- name: test
  context: {cluster: test, user: test-admin}
current-context: test
`, k.URL, k.CAFile, k.Token)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		k.t.Fatal(err)
	}
	return path
}

// Do sends one request to the API server (body: nil, []byte, or a value to encode as
// JSON) and returns the status code and the response body.
func (k *Kube) Do(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, k.URL+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+k.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		ct := "application/json"
		if method == http.MethodPatch {
			ct = "application/merge-patch+json"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// Must sends a request and fails t unless the answer is a 2xx; with into, it
// decodes the answer there.
func (k *Kube) Must(t testing.TB, method, path string, body, into any) {
	t.Helper()
	code, data, err := k.Do(method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	if code/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, code, strings.TrimSpace(string(data)))
	}
	if into != nil {
		if err := json.Unmarshal(data, into); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
}

func writeRSAKeyPair(t testing.TB, keyPath, pubPath string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for path, block := range map[string]*pem.Block{
		keyPath: {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)},
		pubPath: {Type: "PUBLIC KEY", Bytes: pub},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
