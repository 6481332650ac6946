package testenv

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// NotifyingProxy stands in for a MinIO whose bucket notifications stream as MinIO
// documents them (ListenBucketNotification: GET /bucket?events=...&ping=N, one JSON
// {"Records":[...]} a line, an empty record every N seconds, keys as they are). The
// MinIO built here does not flush that stream: its trackingResponseWriter (commit
// 52eee5a2f, #21651) lacks http.Flusher, so headers and events stay in its buffers
// until kilobytes of them pile up (fixed in forks, e.g. chainguard-forks/minio#37).
// Every request passes through to the real MinIO behind (signatures included: the Host
// header is kept); the writes that succeed (PutObject, CopyObject,
// CompleteMultipartUpload, DeleteObject) are announced to the streams open at that
// moment, as MinIO announces them, and lost when none is, as with MinIO.
type NotifyingProxy struct {
	*process
	backend *MinIO

	mu   sync.Mutex
	subs map[*listener]struct{}
	down bool // Cut: streams closed, new ones refused
}

type listener struct {
	bucket string
	events chan []byte
	closed chan struct{}
}

var _ Server = (*NotifyingProxy)(nil)

// StartNotifyingProxy starts a proxy in front of m, closed when the test ends.
func StartNotifyingProxy(t testing.TB, m *MinIO) *NotifyingProxy {
	t.Helper()
	f := newFront(t, m)
	p := &NotifyingProxy{backend: m, subs: map[*listener]struct{}{}}
	p.process = f.serve("minio-notifying-proxy", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Has("events") {
			p.listen(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		f.proxy.ServeHTTP(sw, r)
		if sw.status/100 == 2 {
			p.announce(r, sw)
		}
	}, p.Cut)
	return p
}

// Cut closes every open stream and refuses new ones (503) until Restore: a dropped
// connection, or a MinIO restarting. Writes meanwhile are announced to nobody.
func (p *NotifyingProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for l := range p.subs {
		close(l.closed)
		delete(p.subs, l)
	}
}

// Restore accepts streams again.
func (p *NotifyingProxy) Restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// Streams is how many notification streams are open.
func (p *NotifyingProxy) Streams() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs)
}

// Backend is the MinIO behind the proxy.
func (p *NotifyingProxy) Backend() *MinIO { return p.backend }

// Client talks to the proxy, as OpenReplay's services would write to MinIO.
func (p *NotifyingProxy) Client() *minio.Client { return p.process.Client() }

// Kind is "minio": everything but the stream is the real MinIO's answer.
func (p *NotifyingProxy) Kind() string { return "minio" }

func (p *NotifyingProxy) listen(w http.ResponseWriter, r *http.Request) {
	bucket, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	w.Header().Set("Server", "MinIO")
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>restarting</Message></Error>`))
		return
	}
	l := &listener{bucket: bucket, events: make(chan []byte, 10000), closed: make(chan struct{})}
	p.subs[l] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.subs, l)
		p.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	flush()
	ping := time.Hour
	if s, err := strconv.Atoi(r.URL.Query().Get("ping")); err == nil && s > 0 {
		ping = time.Duration(s) * time.Second
	}
	tick := time.NewTicker(ping)
	defer tick.Stop()
	for {
		select {
		case ev := <-l.events:
			w.Write(ev)
			flush()
		case <-tick.C:
			w.Write([]byte("{\"Records\":null}\n"))
			flush()
		case <-l.closed:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// announce sends the event MinIO would send for a write that succeeded.
func (p *NotifyingProxy) announce(r *http.Request, sw *statusWriter) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	if key == "" || q.Has("tagging") || q.Has("acl") || q.Has("retention") || q.Has("legal-hold") {
		return
	}
	var name string
	switch {
	case r.Method == http.MethodPut && q.Has("uploadId"):
		return // a part: the object appears at completion
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		name = "s3:ObjectCreated:Copy"
	case r.Method == http.MethodPut:
		name = "s3:ObjectCreated:Put"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		name = "s3:ObjectCreated:CompleteMultipartUpload"
	case r.Method == http.MethodDelete && !q.Has("uploadId"):
		name = "s3:ObjectRemoved:Delete"
	default:
		return
	}
	rec := map[string]any{
		"eventVersion": "2.0", "eventSource": "minio:s3", "awsRegion": "", "eventName": name,
		"eventTime": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"s3": map[string]any{
			"s3SchemaVersion": "1.0",
			"bucket":          map[string]any{"name": bucket},
			"object": map[string]any{"key": key, "size": r.ContentLength,
				"eTag": strings.Trim(sw.Header().Get("ETag"), `"`)},
		},
	}
	line, _ := json.Marshal(map[string]any{"Records": []any{rec}})
	line = append(line, '\n')
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.subs {
		if l.bucket == bucket {
			select {
			case l.events <- line:
			default: // a subscriber that does not read loses events, as with MinIO
			}
		}
	}
}

// statusWriter notes the status the backend answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
