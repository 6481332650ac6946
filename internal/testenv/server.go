package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Server is one S3 server a test started: MinIO, versitygw, SeaweedFS, or the
// tag-refusing proxy.
// Tests that must hold on every store loop over them.
type Server interface {
	// Kind names the implementation: "minio", "versitygw", "seaweedfs", "tagless-proxy".
	Kind() string
	Conn() Conn
	// Client is an independent minio-go client with the root key, for seeding and checking.
	Client() *minio.Client
	MakeBuckets(names ...string)
	String() string
}

// Conn is how to reach a server with its root key.
type Conn struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
}

// Kind is "minio".
func (m *MinIO) Kind() string { return "minio" }

// Conn is the server's endpoint and root key.
func (m *MinIO) Conn() Conn {
	return Conn{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey}
}

// Tool returns the path of a test server the Makefile builds into .tools/bin (or names
// in env). Missing, it fails the test under CI=true, where every store must be tested,
// and skips it elsewhere, naming the make target that builds it.
func Tool(t testing.TB, name, env string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	p := filepath.Join(RepoRoot(t), ".tools", "bin", name)
	if _, err := os.Stat(p); err != nil {
		msg := fmt.Sprintf("%s is missing: run `make .tools/bin/%s` (or `make tools`, or set %s)", p, name, env)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// process is a server binary running until the test ends, whose S3 endpoint is
// waited for before the test goes on.
type process struct {
	conn Conn
	kind string
	t    testing.TB
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// startProcess runs bin with args and env (secrets go in env, never in args) and waits
// until the endpoint answers S3 with the root key.
func startProcess(t testing.TB, kind string, conn Conn, bin string, args, env []string) *process {
	t.Helper()
	p := &process{conn: conn, kind: kind, t: t, log: filepath.Join(t.TempDir(), kind+".log")}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", kind, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(p.stop)
	p.waitReady(90 * time.Second)
	return p
}

// waitReady waits for a bucket listing with the root key to succeed: the S3 layer is up
// and the key is known.
func (p *process) waitReady(limit time.Duration) {
	p.t.Helper()
	c := p.Client()
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, last = c.ListBuckets(ctx)
		cancel()
		if last == nil {
			return
		}
		select {
		case <-p.done:
			log, _ := os.ReadFile(p.log)
			p.t.Fatalf("%s exited at start: %s", p.kind, log)
		case <-time.After(100 * time.Millisecond):
		}
	}
	log, _ := os.ReadFile(p.log)
	p.t.Fatalf("%s at %s not ready after %s (last answer: %v); its log:\n%s", p.kind, p.conn.Endpoint, limit, last, log)
}

func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *process) Kind() string { return p.kind }
func (p *process) Conn() Conn   { return p.conn }

func (p *process) Client() *minio.Client {
	p.t.Helper()
	c, err := minio.New(p.conn.Endpoint[len("http://"):], &minio.Options{
		Creds: credentials.NewStaticV4(p.conn.AccessKey, p.conn.SecretKey, ""), Region: "us-east-1",
		Transport: &http.Transport{DisableCompression: true},
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

func (p *process) MakeBuckets(names ...string) {
	p.t.Helper()
	for _, n := range names {
		if err := p.Client().MakeBucket(context.Background(), n, minio.MakeBucketOptions{}); err != nil {
			p.t.Fatalf("make bucket %s on %s: %v", n, p.kind, err)
		}
	}
}

func (p *process) String() string { return p.kind + "(" + p.conn.Endpoint[len("http://"):] + ")" }
