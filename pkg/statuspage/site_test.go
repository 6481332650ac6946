package statuspage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/statuspage"
)

// The planted cases, one per bucket, so each bucket's numbers differ.
const (
	// evilKey is the one object the migrator may not read (see refusingKeys). It is
	// also markup, which the page must show as text.
	evilKey      = "evil/<img src=x onerror=alert(1)>"
	sameKey      = "0000000000000000/already-there.mob" // identical on both sides: skipped
	conflictKey  = "0/conflict/app.js.map"              // newer and different at the destination
	destAssets   = "openreplay-assets"
	destRecs     = "openreplay-recordings"
	destMaps     = "openreplay-sourcemaps"
	secretMarker = "testsecret-" // every MinIO secret key of testenv starts so
)

// site is two real MinIO servers, the source seeded like an OpenReplay install with a
// skip, a conflict and a refused key planted, and `migrator serve` between them.
type site struct {
	t        *testing.T
	src, dst *testenv.MinIO
	dir      string
	srcKeys  credentials.Value // what the migrator reads with: refused under evil/
	addr     string            // --metrics-addr, where the page is
	log      string
	cmd      *exec.Cmd
}

func newSite(t *testing.T, spec seed.Spec) *site {
	t.Helper()
	ctx := context.Background()
	s := &site{t: t, src: testenv.StartMinIO(t), dst: testenv.StartMinIO(t), dir: t.TempDir()}
	s.src.MakeBuckets(seed.Recordings, seed.Assets, seed.Sourcemaps)
	if _, err := seed.Write(ctx, s.src.Client(), seed.Plan(spec), 8); err != nil {
		t.Fatal(err)
	}
	s.dst.MakeBuckets(destRecs, destAssets, destMaps)
	put := func(m *testenv.MinIO, bucket, key, body string) {
		t.Helper()
		if _, err := m.Client().PutObject(ctx, bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("put %s/%s: %v", bucket, key, err)
		}
	}
	put(s.src, seed.Assets, evilKey, "a recording's asset")
	put(s.src, seed.Recordings, sameKey, "the same bytes on both sides")
	put(s.dst, destRecs, sameKey, "the same bytes on both sides")
	put(s.src, seed.Sourcemaps, conflictKey, "the source's map")
	time.Sleep(1100 * time.Millisecond) // S3 times have one-second resolution
	put(s.dst, destMaps, conflictKey, "a newer map someone wrote at the destination")
	s.srcKeys = refusingKeys(t, s.src)
	return s
}

// refusingKeys are temporary source keys whose session policy denies reading the
// objects under evil/ in the assets bucket: the source answers AccessDenied for that one
// object, as an object ACL or a bucket policy might, and allows everything else. (A
// refused write would stop the whole copy: every other object would meet it too.)
func refusingKeys(t *testing.T, m *testenv.MinIO) credentials.Value {
	t.Helper()
	policy := `{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]},
  {"Effect": "Deny", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::` + seed.Assets + `/evil/*"]}]}`
	var last error
	// MinIO answers "not initialized" for a moment after it is ready.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		c, err := credentials.NewSTSAssumeRole(m.Endpoint, credentials.STSAssumeRoleOptions{
			AccessKey: m.AccessKey, SecretKey: m.SecretKey, Policy: policy, DurationSeconds: 3600})
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.Get()
		if err == nil {
			return v
		}
		last = err
	}
	t.Fatalf("STS AssumeRole at %s: %v", m.Endpoint, last)
	return credentials.Value{}
}

// serve starts `migrator serve` on a fresh metrics address, towards dstEndpoint (the
// destination itself, or a proxy in front of it), and waits until the page answers.
func (s *site) serve(schedule, dstEndpoint string) {
	t := s.t
	t.Helper()
	if s.addr == "" {
		s.addr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	}
	cfg := filepath.Join(s.dir, "migrator.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`source:      {endpoint: %s}
destination: {endpoint: %s}
buckets:     {mobs: %s, sessions-assets: %s, sourcemaps: %s}
workers: 2
stateDir: %s
allowInsecure: true
schedule: %q
`, s.src.Endpoint, dstEndpoint, destRecs, destAssets, destMaps, filepath.Join(s.dir, "state"), schedule)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.Migrator(t), "serve", "--config", cfg, "--metrics-addr", s.addr, "--log-format", "json")
	cmd.Env = append(os.Environ(),
		"MIGRATOR_SOURCE_ACCESS_KEY="+s.srcKeys.AccessKeyID, "MIGRATOR_SOURCE_SECRET_KEY="+s.srcKeys.SecretAccessKey,
		"MIGRATOR_SOURCE_SESSION_TOKEN="+s.srcKeys.SessionToken,
		"MIGRATOR_DESTINATION_ACCESS_KEY="+s.dst.AccessKey, "MIGRATOR_DESTINATION_SECRET_KEY="+s.dst.SecretKey)
	s.log = filepath.Join(s.dir, fmt.Sprintf("migrator-%d.log", time.Now().UnixNano()))
	out, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	log := s.log
	t.Cleanup(func() {
		s.stop()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log)
			t.Logf("migrator log %s (tail):\n%s", log, tail(string(b), 4000))
		}
	})
	testenv.Eventually(t, 60*time.Second, "the status page", func() bool {
		resp, err := http.Get(s.url("/"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// stop ends serve as Kubernetes would, and waits for it.
func (s *site) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

func (s *site) url(path string) string { return "http://" + s.addr + path }

// status reads /api/status, returning its body too.
func (s *site) status() (statuspage.Status, []byte) {
	s.t.Helper()
	resp, err := http.Get(s.url("/api/status"))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	var st statuspage.Status
	if err := json.Unmarshal(body, &st); err != nil {
		s.t.Fatalf("/api/status: %v\n%s", err, body)
	}
	return st, body
}

// copyFinished tells whether the bulk copy has ended, successfully or not.
func copyFinished(st statuspage.Status) bool {
	for _, r := range st.Runs {
		if r.Kind == "copy" && !r.LastFinished.IsZero() {
			return st.Phase == "idle"
		}
	}
	return false
}

// throttle forwards connections to target, pacing what clients send to bytesPerSec in
// all: between two MinIO servers on tmpfs a copy is over before anyone could watch it.
// Once holdAfter bytes have gone through (0: never), it holds what clients send until
// release is called, or for at most maxHold: a copy stopped part-way shows bars between
// 0 and 100% however long a busy machine takes to look.
func throttle(t *testing.T, target string, bytesPerSec, holdAfter int64) (endpoint string, release func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		paceMu   sync.Mutex
		next     time.Time
		sent     int64
		connMu   sync.Mutex
		conns    []net.Conn
		wg       sync.WaitGroup
		released = make(chan struct{})
		once     sync.Once
	)
	release = func() { once.Do(func() { close(released) }) }
	// Below the migrator's 2-minute stall timeout, so a held request is not cut.
	const maxHold = time.Minute
	hold := time.AfterFunc(maxHold, release)
	pace := func(n int) {
		paceMu.Lock()
		now := time.Now()
		if next.Before(now) {
			next = now
		}
		next = next.Add(time.Duration(n) * time.Second / time.Duration(bytesPerSec))
		until := next
		sent += int64(n)
		held := holdAfter > 0 && sent >= holdAfter
		paceMu.Unlock()
		time.Sleep(time.Until(until))
		if held {
			<-released
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			connMu.Lock()
			conns = append(conns, c, u)
			connMu.Unlock()
			wg.Add(2)
			go func() {
				defer wg.Done()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := u.Write(buf[:n]); werr != nil {
							break
						}
						pace(n)
					}
					if err != nil {
						break
					}
				}
				c.Close()
				u.Close()
			}()
			go func() {
				defer wg.Done()
				io.Copy(c, u)
				c.Close()
				u.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		hold.Stop()
		release()
		l.Close()
		connMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connMu.Unlock()
		wg.Wait()
	})
	return "http://" + l.Addr().String(), release
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
