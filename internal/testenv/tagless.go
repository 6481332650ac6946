package testenv

import (
	"encoding/xml"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TaglessProxy stands in for Cloudflare R2, which cannot run here: an S3-speaking
// reverse proxy in front of a real MinIO that refuses object tagging the way R2's
// documentation ("S3 API compatibility": x-amz-tagging and the ?tagging operations not
// implemented) and OpenReplay issue 2018 show: 501 NotImplemented, "Header
// 'x-amz-tagging' with value 'retention=default' not implemented". Everything else
// passes through untouched (signatures included: the Host header is kept). It says
// "Server: cloudflare", as R2 does, so nothing takes it for MinIO.
type TaglessProxy struct {
	*process
	backend *MinIO
	// Refused counts the requests answered NotImplemented.
	Refused atomic.Int64
}

var _ Server = (*TaglessProxy)(nil)

// StartTaglessProxy starts a proxy in front of m, closed when the test ends.
func StartTaglessProxy(t testing.TB, m *MinIO) *TaglessProxy {
	t.Helper()
	f := newFront(t, m)
	p := &TaglessProxy{backend: m}
	f.proxy.ModifyResponse = func(r *http.Response) error {
		r.Header.Set("Server", "cloudflare")
		return nil
	}
	p.process = f.serve("tagless-proxy", func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("X-Amz-Tagging"); v != "" {
			p.refuse(w, "Header 'x-amz-tagging' with value '"+v+"' not implemented")
			return
		}
		if r.URL.Query().Has("tagging") {
			op := map[string]string{http.MethodGet: "GetObjectTagging", http.MethodPut: "PutObjectTagging", http.MethodDelete: "DeleteObjectTagging"}[r.Method]
			p.refuse(w, op+" not implemented")
			return
		}
		f.proxy.ServeHTTP(w, r)
	}, nil)
	return p
}

func (p *TaglessProxy) refuse(w http.ResponseWriter, msg string) {
	p.Refused.Add(1)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Server", "cloudflare")
	w.WriteHeader(http.StatusNotImplemented)
	body, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string
		Message string
	}{Code: "NotImplemented", Message: msg})
	w.Write(append([]byte(xml.Header), body...))
}

// Backend is the MinIO behind the proxy, to check what was stored.
func (p *TaglessProxy) Backend() *MinIO { return p.backend }

// Client talks to the proxy, as the migrator would.
func (p *TaglessProxy) Client() *minio.Client { return p.process.Client() }

// String names the proxy and its backend.
func (p *TaglessProxy) String() string {
	return "tagless-proxy(" + strings.TrimPrefix(p.conn.Endpoint, "http://") + " -> " + p.backend.Addr() + ")"
}
