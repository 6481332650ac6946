package assetsroute_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/assetsroute"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Keys as OpenReplay's assets service writes them (backend/pkg/url/assets: the page's
// URL query-escaped with % as !, then the day), and keys whose URLs need escaping.
var assetKeys = map[string]string{
	"https!3A!2F!2Fshop.example.com!2Fstatic!2Fmain.css.17": "body{color:rgb(1,2,3)}",
	"fonts/a b.woff2":  "not really a font",
	"gz/main.css":      "stored gzip-encoded, read as stored",
	"q?x=1.css":        "a{}",
	"100%.css":         "b{}",
	"deep/er/1.ttf.30": strings.Repeat("f", 70000),
}

// frontend is OpenReplay's frontend as the Ingress controller routes it: every path
// without a route of its own gets index.html with status 200.
const frontend = `location / {
    default_type text/html;
    return 200 "<!doctype html><title>OpenReplay</title>";
}
`

// publicAssets is the destination's assets bucket, anonymous-readable as the external
// storage guide asks, holding assetKeys.
func publicAssets(t *testing.T) (*testenv.MinIO, *s3.Client) {
	t.Helper()
	dst := testenv.StartMinIO(t)
	dst.MakeBuckets("openreplay-assets")
	ctx := context.Background()
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::openreplay-assets/*"]}]}`
	if err := dst.Client().SetBucketPolicy(ctx, "openreplay-assets", policy); err != nil {
		t.Fatal(err)
	}
	for k, body := range assetKeys {
		o := minio.PutObjectOptions{ContentType: "text/css", CacheControl: "max-age=2628000, immutable, private"}
		if strings.HasPrefix(k, "gz/") {
			o.ContentEncoding = "gzip" // as OpenReplay uploads compressed assets; the bytes need not be gzip here
		}
		if _, err := dst.Client().PutObject(ctx, "openreplay-assets", k, strings.NewReader(body), int64(len(body)), o); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := s3.New(s3.Options{Endpoint: dst.Endpoint, Region: "us-east-1", AccessKey: dst.AccessKey, SecretKey: dst.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return dst, cl
}

// The printed block in Debian's nginx, in front of the destination MinIO: every old URL
// ends at its object's bytes, whatever its key holds, and the frontend keeps the rest.
func TestNginxBlockRedirectsEveryOldURL(t *testing.T) {
	t.Parallel()
	dst, cl := publicAssets(t)
	route, err := assetsroute.New("/sessions-assets", dst.Endpoint+"/openreplay-assets/")
	if err != nil {
		t.Fatal(err)
	}
	ng := testenv.StartNginx(t, route.Nginx()+frontend)
	ctx := context.Background()

	samples, err := assetsroute.Samples(ctx, cl, "openreplay-assets", ng.URL+"/sessions-assets", 100, nil)
	if err != nil || len(samples) != len(assetKeys) {
		t.Fatalf("samples: %d, %v", len(samples), err)
	}
	for _, r := range assetsroute.Probe(ctx, nil, samples) {
		if !r.OK || !strings.HasPrefix(r.Final, dst.Endpoint+"/openreplay-assets/") {
			t.Errorf("%s -> %d %s: %s\n%s", r.URL, r.Status, r.Final, r.Problem, ng.ErrorLog())
		}
	}

	// The redirect itself, as a browser gets it: 302 (not 301: a rollback or a later move
	// must not be stuck in browsers), the query kept, CORS for fonts, a bounded cache.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(ng.URL + "/sessions-assets/fonts/a%20b.woff2?v=3")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != dst.Endpoint+"/openreplay-assets/fonts/a%20b.woff2?v=3" ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Cache-Control") != "public, max-age=3600" {
		t.Errorf("redirect: %s, headers %v", resp.Status, resp.Header)
	}
	// Paths that only look alike stay the frontend's.
	for _, p := range []string{"/sessions-assetsX/a.css", "/", "/sessions"} {
		resp, err := http.Get(ng.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "<title>OpenReplay</title>") {
			t.Errorf("%s went to %s, not to the frontend", p, resp.Request.URL)
		}
	}
}

// Without a route, the frontend answers 200 with index.html: the probe must see that
// this is not the asset.
func TestProbeSeesAMissingRoute(t *testing.T) {
	t.Parallel()
	_, cl := publicAssets(t)
	ng := testenv.StartNginx(t, frontend)
	ctx := context.Background()
	samples, err := assetsroute.Samples(ctx, cl, "openreplay-assets", ng.URL+"/sessions-assets/", 2, func(o store.Object) bool { return o.Size > 0 })
	if err != nil || len(samples) != 2 {
		t.Fatalf("samples: %d, %v", len(samples), err)
	}
	for _, r := range assetsroute.Probe(ctx, nil, samples) {
		if r.OK || r.Status != 200 || !strings.Contains(r.Problem, "something else answers") {
			t.Errorf("%s -> %d: ok=%v %q", r.URL, r.Status, r.OK, r.Problem)
		}
	}
}

func TestNewRefusesWhatNginxWouldMisread(t *testing.T) {
	for _, c := range []struct{ path, origin, want string }{
		{"/sessions-assets", "s3.amazonaws.com/assets", "want http(s)://host"},
		{"/sessions assets", "https://s3.amazonaws.com/assets", "assets path"},
		{"/a;b", "https://s3.amazonaws.com/assets", "assets path"},
		{"/sessions-assets", "https://s3.amazonaws.com/as$1", "nginx would interpret"},
		{"/sessions-assets", "https://AKIA:secret@s3.amazonaws.com/assets", "user name or key"},
		{"/sessions-assets", "https://s3.amazonaws.com/assets?x=1", "want http(s)://host"},
	} {
		_, err := assetsroute.New(c.path, c.origin)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q, %q) = %v, want an error naming %q", c.path, c.origin, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error shows the key: %v", err)
		}
	}
}
