package s3_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
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
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := s3.New(s3.Options{Endpoint: srv.URL, AccessKey: "k", SecretKey: "s", Region: "us-east-1", CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
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
