package statuspage_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/metrics"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/statuspage"
)

const markupKey = `<img src=x onerror=alert(1)>`

func snapshot() metrics.Snapshot {
	eta := 42.0
	return metrics.Snapshot{
		Phase: "copy",
		Buckets: []metrics.BucketStatus{{
			Bucket: "mobs", Running: true, ObjectsKnown: 10, BytesKnown: 1000, ObjectsDone: 4, BytesDone: 400,
			Copied: 3, BytesCopied: 300, Skipped: 1, Failed: 2, Progress: 0.4, ETASeconds: &eta, BytesPerSecond: 14,
			LastCheckpoint: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
			FailedKeys: []metrics.FailedKey{
				{Key: markupKey, Error: "put openreplay-recordings/" + markupKey + ": AccessDenied: Access Denied."},
				{Key: "1/dom.mobs", Error: `Put "http://AKIAEXAMPLE:wJalrXUtnFEMI@minio:9000/b/1/dom.mobs?X-Amz-Credential=AKIAEXAMPLE%2F20261101&X-Amz-Signature=abc123": EOF`},
			},
		}},
		Runs: []metrics.RunStatus{{Kind: "sync", LastFinished: time.Date(2026, 11, 1, 11, 0, 0, 0, time.UTC), LastOK: true,
			LastSuccess: time.Date(2026, 11, 1, 11, 0, 0, 0, time.UTC)}},
	}
}

func get(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestRoutes(t *testing.T) {
	h := statuspage.Handler(snapshot)
	for _, c := range []struct {
		method, path string
		code         int
		contentType  string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8"},
		{"HEAD", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/status.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/status.css", 200, "text/css; charset=utf-8"},
		{"GET", "/api/status", 200, "application/json"},
		{"GET", "/index.html", 404, ""},
		{"GET", "/metrics", 404, ""}, // the caller's mux serves it, not this handler
		{"GET", "/api/status/extra", 404, ""},
		{"POST", "/", 405, ""},
		{"POST", "/api/status", 405, ""},
	} {
		resp, _ := get(t, h, c.method, c.path)
		if resp.StatusCode != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.code)
		}
		if c.contentType != "" && resp.Header.Get("Content-Type") != c.contentType {
			t.Errorf("%s %s: Content-Type %q, want %q", c.method, c.path, resp.Header.Get("Content-Type"), c.contentType)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: no X-Content-Type-Options: nosniff", c.method, c.path)
		}
	}
}

// The page loads nothing from anywhere else and runs no inline code, and the policy
// sent with it would refuse both if a later edit tried.
func TestPageIsSelfContained(t *testing.T) {
	h := statuspage.Handler(snapshot)
	resp, page := get(t, h, "GET", "/")
	policy := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
		"frame-ancestors 'none'", "require-trusted-types-for 'script'"} {
		if !strings.Contains(policy, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", policy, want)
		}
	}
	if strings.Contains(policy, "unsafe") {
		t.Errorf("Content-Security-Policy allows unsafe sources: %q", policy)
	}
	_, js := get(t, h, "GET", "/status.js")
	_, css := get(t, h, "GET", "/status.css")

	for _, m := range regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*"([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "//") {
			t.Errorf("the page refers to %q, not a path of this server", m[1])
		}
	}
	for name, body := range map[string]string{"page": page, "status.js": js, "status.css": css} {
		for _, bad := range []string{"http://", "https://", "@import", "url(", "@font-face"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q: it must load nothing from elsewhere", name, bad)
			}
		}
	}
	if regexp.MustCompile(`(?i)<script[^>]*>\s*[^<\s]`).MatchString(page) {
		t.Error("the page has an inline script")
	}
	if m := regexp.MustCompile(`(?i)\s(on[a-z]+|style)\s*=`).FindString(page); m != "" {
		t.Errorf("the page has an inline handler or style attribute: %q", m)
	}
	if !strings.Contains(page, `<meta name="viewport" content="width=device-width, initial-scale=1">`) {
		t.Error("the page has no viewport meta: it would be unreadable on a phone")
	}
}

// Keys of failed objects are user data: the script writes them as text and never
// through an HTML sink, and the JSON carries the markup escaped.
func TestFailedKeysAreText(t *testing.T) {
	h := statuspage.Handler(snapshot)
	_, js := get(t, h, "GET", "/status.js")
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(",
		"setAttribute(\"style\"", "createContextualFragment", "DOMParser"} {
		if strings.Contains(js, sink) {
			t.Errorf("status.js uses %s", sink)
		}
	}
	if !strings.Contains(js, "textContent") || !regexp.MustCompile(`el\("code", "key", quoteKey\(f\.key\)\)`).MatchString(js) {
		t.Error("status.js does not write the failed keys as text (el(..., quoteKey(f.key)) sets textContent)")
	}

	_, body := get(t, h, "GET", "/api/status")
	if strings.Contains(body, "<img") {
		t.Errorf("/api/status carries raw markup:\n%s", body)
	}
	var st statuspage.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if got := st.Buckets[0].FailedKeys[0].Key; got != markupKey {
		t.Errorf("failed key %q, want %q", got, markupKey)
	}
}

func TestStatusJSON(t *testing.T) {
	snap := snapshot()
	h := statuspage.Handler(func() metrics.Snapshot { return snap })
	before := time.Now().UTC()
	resp, body := get(t, h, "GET", "/api/status")
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	var st statuspage.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Now.Before(before) || st.Now.After(time.Now().UTC()) {
		t.Errorf("now = %v, not the server's clock", st.Now)
	}
	b, want := st.Buckets[0], snap.Buckets[0]
	if b.Bucket != want.Bucket || b.Copied != want.Copied || b.BytesDone != want.BytesDone || b.Progress != want.Progress ||
		*b.ETASeconds != *want.ETASeconds || !b.LastCheckpoint.Equal(want.LastCheckpoint) || st.Phase != "copy" ||
		len(st.Runs) != 1 || !st.Runs[0].LastSuccess.Equal(snap.Runs[0].LastSuccess) {
		t.Errorf("/api/status does not carry the snapshot:\n%s", body)
	}
	// The field names are the README's.
	var raw map[string]any
	json.Unmarshal([]byte(body), &raw)
	for _, k := range []string{"phase", "inFlight", "buckets", "runs", "now"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("/api/status has no %q", k)
		}
	}
	if snap.Buckets[0].FailedKeys[1].Error != snapshot().Buckets[0].FailedKeys[1].Error {
		t.Error("the handler changed the snapshot it was given")
	}
}

// Errors quote URLs and headers; credentials in them never reach the page.
func TestErrorsLoseCredentials(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`Put "http://AKIA:wJalr@minio:9000/b/k": EOF`, `Put "http://REDACTED@minio:9000/b/k": EOF`},
		{`Get "https://user@host/b/k": EOF`, `Get "https://REDACTED@host/b/k": EOF`},
		{`GET /b/k?X-Amz-Credential=AKIA%2F2026&X-Amz-Signature=abc&X-Amz-Security-Token=tok: 403`,
			`GET /b/k?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED: 403`},
		{`Authorization: AWS4-HMAC-SHA256 Credential=AKIA/2026/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=deadbeef`,
			`Authorization: AWS4-HMAC-SHA256 Credential=REDACTED, SignedHeaders=host, Signature=REDACTED`},
		{`?AWSAccessKeyId=AKIA&Signature=xyz&Expires=1`, `?AWSAccessKeyId=REDACTED&Signature=REDACTED&Expires=1`},
		// Nothing to hide: left as it is, keys with @ and = included.
		{`put mobs/a@b=c.mob: AccessDenied: Access Denied.`, `put mobs/a@b=c.mob: AccessDenied: Access Denied.`},
		{`Put "http://minio:9000/b/k": dial tcp: connection refused`, `Put "http://minio:9000/b/k": dial tcp: connection refused`},
	} {
		snap := metrics.Snapshot{Buckets: []metrics.BucketStatus{{Bucket: "b", Failed: 1,
			FailedKeys: []metrics.FailedKey{{Key: "k", Error: c.in}}}}}
		_, body := get(t, statuspage.Handler(func() metrics.Snapshot { return snap }), "GET", "/api/status")
		var st statuspage.Status
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatal(err)
		}
		if got := st.Buckets[0].FailedKeys[0].Error; got != c.want {
			t.Errorf("error %q\n shown as %q\n want     %q", c.in, got, c.want)
		}
	}
}
