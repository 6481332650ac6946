package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

func TestEndpointIsChecked(t *testing.T) {
	for _, e := range []string{"", "minio:9000", "ftp://host", "http://host/bucket"} {
		if _, err := s3.New(s3.Options{Endpoint: e}); err == nil {
			t.Errorf("endpoint %q accepted", e)
		}
	}
}

// clientThrough is a client of m whose requests go through the transport wrap makes.
func clientThrough(t *testing.T, m *testenv.MinIO, wrap func(http.RoundTripper) http.RoundTripper) *s3.Client {
	t.Helper()
	c, err := s3.New(s3.Options{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Region: "us-east-1", WrapTransport: wrap})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tagRequests counts GetObjectTagging requests.
type tagRequests struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *tagRequests) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && r.URL.Query().Has("tagging") {
		c.n.Add(1)
	}
	return c.base.RoundTrip(r)
}

// Every OpenReplay recording is tagged: once the client knows it talks to MinIO, a GET
// brings the tags along and the copier needs no GetObjectTagging request per object. The
// bucket check before a copy tells it, so even the first GETs (one per worker) bring them.
func TestGetBringsTagsFromMinIO(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBuckets("tags")
	var tr tagRequests
	newClient := func() *s3.Client {
		return clientThrough(t, m, func(rt http.RoundTripper) http.RoundTripper { tr.base = rt; return &tr })
	}
	c := newClient()
	ctx := context.Background()
	want := map[string]string{"retention": "default", "to_delete_in_days": "30"}
	body := []byte("session")
	sum := md5.Sum(body)
	for _, k := range []string{"1/dom.mobs", "2/dom.mobs"} {
		if _, err := c.Put(ctx, "tags", k, bytes.NewReader(body), int64(len(body)), sum[:], store.Header{Tags: want}); err != nil {
			t.Fatal(err)
		}
	}
	c = newClient()
	if err := c.Probe(ctx, "tags"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"1/dom.mobs", "2/dom.mobs"} {
		rc, meta, err := c.Get(ctx, "tags", k, 0)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		if meta.TagCount != 2 {
			t.Fatalf("%s: tag count %d; want 2", k, meta.TagCount)
		}
		if fmt.Sprint(meta.Tags) != fmt.Sprint(want) {
			t.Fatalf("%s: Get brought tags %v; want %v", k, meta.Tags, want)
		}
	}
	if n := tr.n.Load(); n != 0 {
		t.Fatalf("%d GetObjectTagging requests; want none", n)
	}
}

// listRequests records the max-keys of every listing request.
type listRequests struct {
	base http.RoundTripper
	mu   sync.Mutex
	max  []string
}

func (c *listRequests) RoundTrip(r *http.Request) (*http.Response, error) {
	if q := r.URL.Query(); r.Method == http.MethodGet && q.Has("list-type") {
		c.mu.Lock()
		c.max = append(c.max, q.Get("max-keys"))
		c.mu.Unlock()
	}
	return c.base.RoundTrip(r)
}

// A probe, run for every bucket before each copy and by /readyz, asks for one key: a
// page of a thousand would cost the service a thousand keys' work for a yes or no.
func TestProbeAsksForOneKey(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBuckets("full", "empty")
	var lr listRequests
	c := clientThrough(t, m, func(rt http.RoundTripper) http.RoundTripper { lr.base = rt; return &lr })
	ctx := context.Background()
	for i := range 3 {
		if _, err := c.Put(ctx, "full", fmt.Sprintf("k%d", i), bytes.NewReader(nil), 0, nil, store.Header{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{"full", "empty"} {
		if err := c.Probe(ctx, b); err != nil {
			t.Fatalf("probe %s: %v", b, err)
		}
	}
	if fmt.Sprint(lr.max) != "[1 1]" {
		t.Fatalf("listing requests' max-keys %v; want one request of one key per probe", lr.max)
	}
}
