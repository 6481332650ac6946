package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// A new connection to a TLS store resumes the session of an earlier one: as the limit
// rises over a long link, a few hundred connections open within seconds, and a resumed
// one costs neither end the certificate's signature nor its chain's checks.
func TestNewTLSConnectionsResumeTheSession(t *testing.T) {
	var mu sync.Mutex
	var resumed []bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		resumed = append(resumed, r.TLS.DidResume)
		mu.Unlock()
		w.Header().Set("Connection", "close") // every request on a connection of its own
		w.Header().Set("Content-Type", "application/xml")
		w.Write([]byte(`<ListBucketResult><Name>recordings</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`))
	}))
	defer srv.Close()
	c := trustingClient(t, srv)
	for range 3 {
		if err := c.Probe(context.Background(), "recordings"); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(resumed) != 3 || resumed[0] || !resumed[1] || !resumed[2] {
		t.Fatalf("sessions resumed per connection: %v; want [false true true]", resumed)
	}
}

// recordCounter counts the TLS records a client sends (their 5-byte headers, read off
// the raw bytes before the server decrypts them).
type recordCounter struct {
	net.Conn
	mu         *sync.Mutex
	appRecords *int
	hdr        []byte
	skip       int
}

func (c *recordCounter) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	for b := p[:n]; len(b) > 0; {
		if c.skip > 0 {
			k := min(c.skip, len(b))
			c.skip -= k
			b = b[k:]
			continue
		}
		k := min(5-len(c.hdr), len(b))
		c.hdr = append(c.hdr, b[:k]...)
		b = b[k:]
		if len(c.hdr) == 5 {
			if c.hdr[0] == 23 {
				*c.appRecords++
			}
			c.skip = int(binary.BigEndian.Uint16(c.hdr[3:5]))
			c.hdr = c.hdr[:0]
		}
	}
	return n, err
}

type countingListener struct {
	net.Listener
	mu         sync.Mutex
	appRecords int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordCounter{Conn: c, mu: &l.mu, appRecords: &l.appRecords}, nil
}

// An object PUT over TLS goes in records of full size from the connection's first byte,
// from a pooled buffer: net/http on its own sizes a new connection's first 128 KiB in
// records of a TCP segment (a write system call each, on both ends) and takes a fresh
// 32 KiB buffer for every body it sends.
func TestPutOverTLSSendsFullRecordsAndNoBufferPerObject(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
	}))
	l := &countingListener{Listener: srv.Listener}
	srv.Listener = l
	srv.StartTLS()
	defer srv.Close()
	c := trustingClient(t, srv)
	const size = 256 << 10
	body := make([]byte, size)
	sum := md5.Sum(body)
	put := func() {
		if _, err := c.Put(context.Background(), "recordings", "1/dom.mobs", onlyReader{bytes.NewReader(body)}, size, sum[:], store.Header{}); err != nil {
			t.Fatal(err)
		}
	}
	put() // the connection, and the pool's buffer
	l.mu.Lock()
	first := l.appRecords
	l.mu.Unlock()
	if want := size/(16<<10) + 3; first > want {
		t.Errorf("the first PUT of %d KiB on a new connection took %d TLS records; want at most %d (16 KiB each)", size>>10, first, want)
	}
	const n = 50
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		put()
	}
	runtime.ReadMemStats(&after)
	if perPut := (after.TotalAlloc - before.TotalAlloc) / n; perPut > 32<<10 {
		t.Errorf("each PUT of %d KiB allocated %d KiB (client and test server); want less than 32 KiB", size>>10, perPut>>10)
	}
}

// onlyReader hides any WriterTo, as the source's body does.
type onlyReader struct{ io.Reader }

// trustingClient is a client of srv that trusts its certificate through caFile.
func trustingClient(t *testing.T, srv *httptest.Server) *s3.Client {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := s3.New(s3.Options{Endpoint: srv.URL, AccessKey: "k", SecretKey: "s", Region: "us-east-1", CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
