package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

func startClient(t *testing.T, buckets ...string) (*testenv.MinIO, *s3.Client) {
	t.Helper()
	srv := testenv.StartMinIO(t)
	srv.MakeBuckets(buckets...)
	cl, err := s3.New(s3.Options{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return srv, cl
}

// One MinIO serves every case; each has its own registry and bucket.
func TestWrapStore(t *testing.T) {
	srv, cl := startClient(t, "recordings", "assets", "bkt")
	t.Run("CountsBySideOpAndCode", func(t *testing.T) { testCountsBySideOpAndCode(t, cl) })
	t.Run("CountsListPages", func(t *testing.T) { testCountsListPages(t, srv, cl) })
	t.Run("CountsCanceledRequests", func(t *testing.T) { testCountsCanceledRequests(t, cl) })
}

func testCountsBySideOpAndCode(t *testing.T, cl *s3.Client) {
	m, reg := newTestMetrics(nil)
	src, dst := m.WrapStore("source", cl), m.WrapStore("destination", cl)
	ctx := t.Context()

	for _, k := range []string{"1/a", "1/b", "2/c"} {
		if _, err := dst.Put(ctx, "recordings", k, strings.NewReader("hello"), 5, nil, store.Header{}); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	body, _, err := src.Get(ctx, "recordings", "1/a", 0)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, body)
	body.Close()
	if _, _, err := src.Get(ctx, "recordings", "missing", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get of a missing key: %v, want ErrNotFound", err)
	}
	if _, err := src.Stat(ctx, "recordings", "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stat of a missing key: %v, want ErrNotFound", err)
	}
	if _, err := src.Tags(ctx, "recordings", "1/b"); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range src.List(ctx, "recordings", "") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("listed %d objects, want 3", n)
	}
	for _, err := range src.List(ctx, "no-such-bucket", "") {
		if err == nil {
			t.Fatal("listing a missing bucket yielded an object")
		}
	}
	if ok, err := dst.BucketExists(ctx, "recordings"); !ok || err != nil {
		t.Fatalf("BucketExists = %v, %v", ok, err)
	}
	if _, err := dst.ListUploads(ctx, "recordings", ""); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		side, op, code string
		want           float64
	}{
		{"destination", "put", "ok", 3},
		{"source", "get", "ok", 1},
		{"source", "get", "NoSuchKey", 1},
		{"source", "head", "NoSuchKey", 1},
		{"source", "tag", "ok", 1},
		{"source", "list", "ok", 1},
		{"source", "list", "NoSuchBucket", 1},
		{"destination", "bucket", "ok", 1},
		{"destination", "multipart", "ok", 1},
	}
	for _, c := range cases {
		got := mustScrape(t, reg, "openreplay_migrator_requests_total", map[string]string{"side": c.side, "op": c.op, "code": c.code})
		if got != c.want {
			t.Errorf("requests_total{side=%s,op=%s,code=%s} = %v, want %v", c.side, c.op, c.code, got, c.want)
		}
	}
	if _, ok := scrape(t, reg, "openreplay_migrator_requests_total", map[string]string{"side": "destination", "op": "get", "code": "ok"}); ok {
		t.Error("a destination get was counted; none was made")
	}
	for _, c := range []struct {
		side, op string
		want     float64
	}{{"source", "get", 2}, {"destination", "put", 3}, {"source", "list", 2}} {
		got := mustScrape(t, reg, "openreplay_migrator_request_duration_seconds", map[string]string{"side": c.side, "op": c.op})
		if got != c.want {
			t.Errorf("request_duration_seconds{side=%s,op=%s} count = %v, want %v", c.side, c.op, got, c.want)
		}
	}
}

// The store hides ListObjectsV2's pages; the wrapper counts one request per 1000 objects,
// which must match the pages pkg/s3 really asks for.
func testCountsListPages(t *testing.T, srv *testenv.MinIO, cl *s3.Client) {
	seed(t, srv.Client(), "assets", 2001)
	m, reg := newTestMetrics(nil)
	s := m.WrapStore("source", cl)
	ctx := t.Context()
	listOK := func() float64 {
		v, _ := scrape(t, reg, "openreplay_migrator_requests_total", map[string]string{"side": "source", "op": "list", "code": "ok"})
		return v
	}

	n := 0
	for _, err := range s.List(ctx, "assets", "") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2001 || listOK() != 3 {
		t.Fatalf("listed %d objects in %v requests, want 2001 in 3 pages (1000+1000+1)", n, listOK())
	}

	n = 0
	for range s.List(ctx, "assets", "") {
		if n++; n == 5 {
			break
		}
	}
	if listOK() != 4 {
		t.Fatalf("a listing stopped after 5 objects counted %v requests in all, want 4", listOK()-3)
	}

	for range s.List(ctx, "assets", "~") { // after every key: an empty page
		t.Fatal("listing after the last key yielded an object")
	}
	if listOK() != 5 {
		t.Fatalf("an empty listing counted %v requests, want 1", listOK()-4)
	}
}

func testCountsCanceledRequests(t *testing.T, cl *s3.Client) {
	m, reg := newTestMetrics(nil)
	s := m.WrapStore("destination", cl)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Stat(ctx, "bkt", "k"); err == nil {
		t.Fatal("stat with a cancelled context succeeded")
	}
	if got := mustScrape(t, reg, "openreplay_migrator_requests_total", map[string]string{"side": "destination", "op": "head", "code": "canceled"}); got != 1 {
		t.Fatalf("canceled head requests = %v, want 1", got)
	}
}

func TestCodeStaysBounded(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{&store.Error{Op: "get", Status: 503, Code: "SlowDown", Err: errors.New("x")}, "SlowDown"},
		{&store.Error{Op: "get", Status: 418, Code: "SomethingVendorMadeUp-1234", Err: errors.New("x")}, "418"},
		{&store.Error{Op: "get", Status: 0, Err: io.ErrUnexpectedEOF}, "error"},
		{&store.Error{Op: "get", Status: 9999, Err: errors.New("x")}, "error"},
		{fmt.Errorf("wrapped: %w", &store.Error{Op: "put", Status: 400, Code: "BadDigest", Err: errors.New("x")}), "BadDigest"},
		{&store.Error{Op: "get", Err: context.Canceled}, "canceled"},
		{store.ErrNotFound, "NoSuchKey"},
		{errors.New("dial tcp: connection refused"), "error"},
	}
	for _, c := range cases {
		if got := code(c.err); got != c.want {
			t.Errorf("code(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// seed writes n small objects with the minio-go client itself, so they are not counted:
// as one snowball (a tar MinIO unpacks), which is many times faster than n PUTs.
func seed(t *testing.T, c *minio.Client, bucket string, n int) {
	t.Helper()
	objs := make(chan minio.SnowballObject, n)
	for i := range n {
		body := []byte(fmt.Sprintf("object %d", i))
		objs <- minio.SnowballObject{Key: fmt.Sprintf("k/%05d", i), Size: int64(len(body)), Content: bytes.NewReader(body)}
	}
	close(objs)
	if err := c.PutObjectsSnowball(t.Context(), bucket, minio.SnowballOptions{InMemory: true}, objs); err != nil {
		t.Fatalf("seed %s: %v", bucket, err)
	}
}
