// Package testenv starts real MinIO servers (separate processes) for tests.
package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIO is one MinIO server on a loopback port with its own data folder.
type MinIO struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Dir       string
	// CAFile is the PEM of the self-signed certificate a TLS server presents.
	CAFile string

	t    testing.TB
	addr string
	env  []string
	tls  *TLSFiles
	cmd  *exec.Cmd
	done chan struct{}
}

// Binary returns the MinIO server binary the Makefile built, or fails the test saying how to get it.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MINIO_BIN"); p != "" {
		return p
	}
	p := filepath.Join(RepoRoot(t), ".tools", "bin", "minio")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("MinIO server binary %s is missing: run `make tools` (or set MINIO_BIN)", p)
	}
	return p
}

// RepoRoot is the folder holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// dataDir is a fresh folder for a server's data, on tmpfs where the machine has one:
// MinIO syncs every write, and tests measure the migrator, not the disk.
func dataDir(t testing.TB) string {
	t.Helper()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "migrator-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// StartMinIO starts a fresh server and stops it when the test ends.
func StartMinIO(t testing.TB, extraEnv ...string) *MinIO {
	t.Helper()
	return StartMinIOWith(t, MinIOOptions{Env: extraEnv})
}

// MinIOOptions vary how a test server is started.
type MinIOOptions struct {
	Env     []string  // extra environment, NAME=value
	DataDir string    // where the data lives; default a fresh folder (on tmpfs if there is one)
	TLS     *TLSFiles // serve https with this certificate (see SelfSigned)
	// KMS gives the server a KMS key (KMSKeyID), for SSE-S3 and SSE-KMS (see EncryptBucket).
	KMS bool
}

// StartMinIOWith starts a fresh server as o says and stops it when the test ends.
func StartMinIOWith(t testing.TB, o MinIOOptions) *MinIO {
	t.Helper()
	m := &MinIO{
		AccessKey: "testroot" + strconv.Itoa(os.Getpid()),
		SecretKey: "testsecret-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		Dir:       o.DataDir,
		t:         t,
		tls:       o.TLS,
	}
	if m.Dir == "" {
		m.Dir = dataDir(t)
	}
	m.addr = "127.0.0.1:" + strconv.Itoa(FreePort(t))
	m.Endpoint = "http://" + m.addr
	if o.TLS != nil {
		m.Endpoint = "https://" + m.addr
		m.CAFile = o.TLS.CAFile
	}
	extraEnv := o.Env
	if o.KMS {
		extraEnv = append([]string{kmsEnv()}, extraEnv...)
	}
	m.env = append(os.Environ(),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=1",
		// MinIO loads bucket settings in the background once it answers, and that load
		// overwrites a lifecycle or policy a test sets in those first moments. Sync boot
		// holds requests until the load is done.
		"MINIO_SYNC_BOOT=on",
	)
	m.env = append(m.env, extraEnv...)
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// Start (re)starts the server on its address and data folder and waits until it is ready.
func (m *MinIO) Start() {
	m.t.Helper()
	if m.cmd != nil {
		return
	}
	console := "127.0.0.1:" + strconv.Itoa(FreePort(m.t))
	args := []string{"server", "--quiet", "--address", m.addr, "--console-address", console}
	if m.tls != nil {
		args = append(args, "--certs-dir", m.tls.Dir)
	}
	cmd := exec.Command(Binary(m.t), append(args, m.Dir)...)
	cmd.Env = m.env
	logf, err := os.Create(filepath.Join(m.t.TempDir(), "minio.log"))
	if err != nil {
		m.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start minio: %v", err)
	}
	m.cmd, m.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(m.done) }()
	hc := &http.Client{Transport: m.transport(), Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(m.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			// Ready can answer before the object layer is up; a bare client (no
			// retries) would then meet XMinioServerNotInitialized. minio-go's own
			// client retries that, so one listing waits for it.
			if resp.StatusCode == 200 {
				if _, err := m.Client().ListBuckets(context.Background()); err == nil {
					return
				}
			}
		}
		select {
		case <-m.done:
			log, _ := os.ReadFile(logf.Name())
			m.t.Fatalf("minio exited at start: %s", log)
		case <-time.After(50 * time.Millisecond):
		}
	}
	m.t.Fatalf("minio at %s not ready after 60s", m.addr)
}

// Stop ends the server; its data stays for a later Start.
func (m *MinIO) Stop() {
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-m.done
	}
	m.cmd = nil
}

// SetRootSecret changes the root secret key the server takes at its next Start (and the
// one Client uses): keys that worked before stop working, as after a key rotation.
func (m *MinIO) SetRootSecret(secret string) {
	m.SecretKey = secret
	m.env = append(m.env, "MINIO_ROOT_PASSWORD="+secret) // the last one wins
}

// Addr is host:port.
func (m *MinIO) Addr() string { return m.addr }

// Client is an independent minio-go client with the root credentials, for seeding and checking.
func (m *MinIO) Client() *minio.Client {
	m.t.Helper()
	c, err := minio.New(m.addr, &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""),
		Secure: m.tls != nil, Transport: m.transport()})
	if err != nil {
		m.t.Fatal(err)
	}
	return c
}

// MakeBuckets creates the named buckets.
func (m *MinIO) MakeBuckets(names ...string) {
	m.t.Helper()
	for _, n := range names {
		if err := m.Client().MakeBucket(context.Background(), n, minio.MakeBucketOptions{}); err != nil {
			m.t.Fatalf("make bucket %s: %v", n, err)
		}
	}
}

func (m *MinIO) String() string { return fmt.Sprintf("minio(%s)", m.addr) }
