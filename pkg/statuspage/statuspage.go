// Package statuspage serves a self-contained HTML page and a JSON endpoint that show a migration's progress to operators without Grafana.
package statuspage

import (
	"embed"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/metrics"
)

//go:embed index.html status.js status.css
var assets embed.FS

// csp allows nothing but this server's own page, script, stylesheet and JSON. Trusted
// Types with no policy make the browser refuse every HTML-parsing sink (innerHTML and
// the like), so a key such as `<img src=x onerror=...>` can only ever become text.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

// Status is the body of GET /api/status: the Snapshot, and the server's clock so the page
// can say "12 s ago" whatever the viewer's clock says.
type Status struct {
	metrics.Snapshot
	Now time.Time `json:"now"`
}

// Handler serves the page at /, its script and stylesheet, and the JSON at /api/status,
// built from snap at each request. Any other path is 404, so it can be mounted at "/"
// beside /metrics and the health checks.
func Handler(snap func() metrics.Snapshot) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", asset("index.html", "text/html; charset=utf-8"))
	mux.Handle("GET /status.js", asset("status.js", "text/javascript; charset=utf-8"))
	mux.Handle("GET /status.css", asset("status.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, _ *http.Request) {
		body, err := json.Marshal(Status{Snapshot: redacted(snap()), Now: time.Now().UTC()})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(body)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		mux.ServeHTTP(w, r)
	})
}

func asset(name, contentType string) http.Handler {
	body, err := assets.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		// The files change only with the binary; revalidating costs little on a LAN.
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(body)
	})
}

// redacted returns s with the failed keys' errors scrubbed of credentials. It copies
// what it changes: snap may hand out state it shares.
func redacted(s metrics.Snapshot) metrics.Snapshot {
	s.Buckets = slices.Clone(s.Buckets)
	for i := range s.Buckets {
		b := &s.Buckets[i]
		b.FailedKeys = slices.Clone(b.FailedKeys)
		for j := range b.FailedKeys {
			b.FailedKeys[j].Error = scrub(b.FailedKeys[j].Error)
		}
	}
	return s
}
