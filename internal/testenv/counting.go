package testenv

import (
	"net/http"
	"strings"
	"sync"
)

// Requests counts the HTTP requests a client sends, by kind: what a user would read off
// the service's access log.
type Requests struct {
	mu     sync.Mutex
	counts map[string]int
	paths  map[string]int // "KIND /bucket/key" -> requests
	base   http.RoundTripper
}

// NewRequests returns a counter; pass its Wrap as s3.Options.WrapTransport.
func NewRequests() *Requests { return &Requests{counts: map[string]int{}, paths: map[string]int{}} }

// Wrap counts the requests sent through base.
func (r *Requests) Wrap(base http.RoundTripper) http.RoundTripper {
	r.base = base
	return r
}

// RoundTrip counts the request as LIST, GET, PUT, HEAD, POST or DELETE.
func (r *Requests) RoundTrip(req *http.Request) (*http.Response, error) {
	kind := req.Method
	q := req.URL.Query()
	if req.Method == http.MethodGet && (q.Has("list-type") || q.Has("uploads") || q.Has("location")) {
		kind = "LIST"
	}
	r.mu.Lock()
	r.counts[kind]++
	r.paths[kind+" "+req.URL.Path]++
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// Count returns how many requests of kind were sent.
func (r *Requests) Count(kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[kind]
}

// PerPath returns how many requests of kind went to each path ("/bucket/key"): a
// key PUT twice shows 2.
func (r *Requests) PerPath(kind string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, n := range r.paths {
		if path, ok := strings.CutPrefix(k, kind+" "); ok {
			out[path] += n
		}
	}
	return out
}

// Reset forgets the counts.
func (r *Requests) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts = map[string]int{}
	r.paths = map[string]int{}
}
