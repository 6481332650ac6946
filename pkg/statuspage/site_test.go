package statuspage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
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

// site is the end-to-end rig (testenv.Site) with a skip, a conflict and a refused key
// planted, and `migrator serve` between its servers.
type site struct {
	*testenv.Site
	t       *testing.T
	srcKeys credentials.Value // what the migrator reads with: refused under evil/
	addr    string            // --metrics-addr, where the page is
	serving *testenv.Process
}

func newSite(t *testing.T, spec seed.Spec) *site {
	t.Helper()
	ctx := context.Background()
	s := &site{t: t, Site: testenv.NewSite(t, testenv.SiteOptions{Spec: spec, Workers: 2})}
	put := func(m *testenv.MinIO, bucket, key, body string) {
		t.Helper()
		if _, err := m.Client().PutObject(ctx, bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("put %s/%s: %v", bucket, key, err)
		}
	}
	put(s.Src, seed.Assets, evilKey, "a recording's asset")
	put(s.Src, seed.Recordings, sameKey, "the same bytes on both sides")
	put(s.Dst, destRecs, sameKey, "the same bytes on both sides")
	put(s.Src, seed.Sourcemaps, conflictKey, "the source's map")
	time.Sleep(1100 * time.Millisecond) // S3 times have one-second resolution
	put(s.Dst, destMaps, conflictKey, "a newer map someone wrote at the destination")
	s.srcKeys = refusingKeys(t, s.Src)
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
	cfg := s.WriteConfig(s.ConfigText(dstEndpoint, fmt.Sprintf("schedule: %q\n", schedule)))
	env := s.Env
	s.Env = append(env[:len(env):len(env)],
		"MIGRATOR_SOURCE_ACCESS_KEY="+s.srcKeys.AccessKeyID, "MIGRATOR_SOURCE_SECRET_KEY="+s.srcKeys.SecretAccessKey,
		"MIGRATOR_SOURCE_SESSION_TOKEN="+s.srcKeys.SessionToken)
	s.serving = s.Start("serve", "--config", cfg, "--metrics-addr", s.addr, "--log-format", "json")
	s.Env = env
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
	if s.serving != nil {
		s.serving.Stop()
		s.serving = nil
	}
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
