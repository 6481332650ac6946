package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// directives counts GETs that asked for MinIO's tags-with-the-body extension.
type directives struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (d *directives) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("X-Amz-Tagging-Directive") != "" {
		d.n.Add(1)
	}
	return d.base.RoundTrip(r)
}

// lookAlike is a proxy in front of m that says "Server: MinIO" but drops the tags a
// GET brings: a server that calls itself MinIO without MinIO's extension.
func lookAlike(t *testing.T, m *testenv.MinIO) string {
	t.Helper()
	u, _ := url.Parse(m.Endpoint)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{DisableCompression: true}
	rp.ModifyResponse = func(r *http.Response) error {
		r.Header.Del("X-Amz-Tagging")
		r.Header.Set("Server", "MinIO")
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rp}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// MinIO's extension is used only on positive evidence: never where the server does not
// say it is MinIO, and no longer once a server that says so has not honoured it. The
// tags arrive either way, through plain GetObjectTagging.
func TestMinIOExtensionOnlyWhereItWorks(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBuckets("tags")
	cases := []struct {
		name     string
		endpoint func(t *testing.T) (testenv.Conn, string)
		maxAsked int64
	}{
		{"minio", func(t *testing.T) (testenv.Conn, string) { return m.Conn(), "tags" }, 3},
		{"not-minio", func(t *testing.T) (testenv.Conn, string) {
			v := testenv.StartVersitygw(t)
			v.MakeBuckets("tags")
			return v.Conn(), "tags"
		}, 0},
		{"not-minio-seaweedfs", func(t *testing.T) (testenv.Conn, string) {
			w := testenv.StartSeaweedFS(t)
			w.MakeBuckets("tags")
			return w.Conn(), "tags"
		}, 0},
		{"minio-look-alike", func(t *testing.T) (testenv.Conn, string) {
			c := m.Conn()
			c.Endpoint = lookAlike(t, m)
			return c, "tags"
		}, 1},
	}
	want := map[string]string{"retention": "default"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, bucket := tc.endpoint(t)
			var d directives
			c, err := s3.New(s3.Options{Endpoint: conn.Endpoint, AccessKey: conn.AccessKey, SecretKey: conn.SecretKey, Region: "us-east-1",
				WrapTransport: func(rt http.RoundTripper) http.RoundTripper { d.base = rt; return &d }})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := c.Probe(ctx, bucket); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				key := fmt.Sprintf("%s/%d/dom.mobs", tc.name, i)
				body := []byte(key)
				sum := md5.Sum(body)
				if _, err := c.Put(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), sum[:], store.Header{Tags: want}); err != nil {
					t.Fatal(err)
				}
				rc, meta, err := c.Get(ctx, bucket, key, 0)
				if err != nil {
					t.Fatal(err)
				}
				rc.Close()
				tags := meta.Tags
				if tags == nil {
					if tags, err = c.Tags(ctx, bucket, key); err != nil {
						t.Fatal(err)
					}
				}
				if meta.TagCount != 1 || fmt.Sprint(tags) != fmt.Sprint(want) {
					t.Fatalf("%s: tag count %d, tags %v; want %v", key, meta.TagCount, tags, want)
				}
			}
			if n := d.n.Load(); n != tc.maxAsked {
				t.Fatalf("%d GETs asked for MinIO's extension; want %d", n, tc.maxAsked)
			}
		})
	}
}
