package testenv

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
)

// front is the start of a test proxy that stands in front of a MinIO as another
// service would (tagless-proxy, minio-notifying-proxy): a reverse proxy to m and the
// loopback listener the proxy will serve on.
type front struct {
	t     testing.TB
	m     *MinIO
	proxy *httputil.ReverseProxy
	l     net.Listener
}

func newFront(t testing.TB, m *MinIO) *front {
	t.Helper()
	target, err := url.Parse(m.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	// Bytes pass as they are: the default transport would ask for gzip and unpack
	// answers marked Content-Encoding: gzip, which many stored objects are.
	rp.Transport = &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}
	return &front{t: t, m: m, proxy: rp, l: l}
}

// serve answers with h until the test ends (stop runs first) and returns the proxy as a
// server of its own kind: m's keys at the proxy's address.
func (f *front) serve(kind string, h http.HandlerFunc, stop func()) *process {
	srv := &http.Server{Handler: h}
	go srv.Serve(f.l)
	f.t.Cleanup(func() {
		if stop != nil {
			stop()
		}
		srv.Close()
	})
	conn := f.m.Conn()
	conn.Endpoint = "http://" + f.l.Addr().String()
	return &process{conn: conn, kind: kind, t: f.t}
}
