package main_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// The in-cluster endpoint OpenReplay's vars.yaml names: containing "minio", it makes
// OpenReplay serve the buckets under its own domain, so recordings hold asset URLs of
// the form <domain>/sessions-assets/<key>. The migrator reaches the test's MinIO
// through --source-endpoint.
const inClusterMinIO = "http://minio.db.svc.cluster.local:9000"

// An old recording's stylesheet and font, with keys as OpenReplay's assets service
// writes them (backend/pkg/url/assets: the page URL query-escaped, % as !, a day).
const (
	oldCSSKey  = "https!3A!2F!2Fshop.example.com!2Fstatic!2Fmain.css.17"
	oldFontKey = "https!3A!2F!2Fshop.example.com!2Ffonts!2Fbrand.ttf.17"
	oldColor   = "rgb(1, 2, 3)"
)

// assetsSite is a cutover site whose source sits behind Debian's nginx as behind
// OpenReplay's Ingress: /sessions-assets/ proxied to the source MinIO, and a page like
// the player's that loads an old recording's stylesheet from there.
type assetsSite struct {
	*cutoverSite
	ng       *testenv.Nginx
	page     string // the page's URL
	frontend string // the rest of the server block: the page, the frontend's catch-all
	after    string // the server block the reinstall stand-in switches nginx to
}

func newAssetsSite(t *testing.T, codes string) *assetsSite {
	t.Helper()
	testenv.NginxBinary(t)
	s := &assetsSite{cutoverSite: newCutoverSite(t, codes)}
	s.original = strings.Replace(s.original, `endpoint: "`+s.Src.Endpoint+`"`, `endpoint: "`+inClusterMinIO+`"`, 1)
	if err := os.WriteFile(s.vars, []byte(s.original), 0o644); err != nil {
		t.Fatal(err)
	}
	// Both assets buckets are anonymous-readable: the source as OpenReplay's minio.sh
	// leaves it, the destination as the external-storage guide asks (preflight's job).
	for _, side := range []struct {
		m      *testenv.MinIO
		bucket string
	}{{s.Src, seed.Assets}, {s.Dst, "openreplay-assets"}} {
		policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}`, side.bucket)
		if err := side.m.Client().SetBucketPolicy(context.Background(), side.bucket, policy); err != nil {
			t.Fatal(err)
		}
	}

	ng := testenv.StartNginx(t, "location / { return 200; }\n")
	s.ng = ng
	assetURL := func(key string) string { return (&url.URL{Path: "/sessions-assets/" + key}).String() }
	font, err := os.ReadFile("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf") // Chromium's package pulls it in
	if err != nil && os.Getenv("E2E_REQUIRED") == "1" {
		t.Fatalf("no font to serve as an old asset (Debian's fonts-dejavu-core, which chromium pulls in): %v", err)
	}
	if err != nil {
		t.Skipf("no font to serve as an old asset (Debian's fonts-dejavu-core): %v", err)
	}
	css := fmt.Sprintf("body { color: %s }\n@font-face { font-family: OldBrand; src: url(%s%s) }\n#brand { font-family: OldBrand }\n",
		oldColor, ng.URL, assetURL(oldFontKey))
	for key, body := range map[string][]byte{oldCSSKey: []byte(css), oldFontKey: font} {
		ctype := map[bool]string{true: "text/css", false: "font/ttf"}[key == oldCSSKey]
		if _, err := s.Src.Client().PutObject(context.Background(), seed.Assets, key, strings.NewReader(string(body)), int64(len(body)),
			minio.PutObjectOptions{ContentType: ctype, CacheControl: "max-age=2628000, immutable, private"}); err != nil {
			t.Fatal(err)
		}
	}
	web := filepath.Join(s.Dir, "web")
	os.MkdirAll(web, 0o755)
	page := fmt.Sprintf(`<!doctype html><html><head><link rel="stylesheet" href="%s"></head>
<body><p id="brand">An old recording</p></body></html>`, assetURL(oldCSSKey))
	if err := os.WriteFile(filepath.Join(web, "replay.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	s.page = ng.URL + "/replay.html"
	// OpenReplay's frontend answers every other path with its index.html, status 200.
	s.frontend = fmt.Sprintf("location = /replay.html { root %s; }\nlocation / { default_type text/html; return 200 \"<title>OpenReplay</title>\"; }\n", web)
	// OpenReplay's `minio` Ingress: the path proxied to the store, the request URI as is.
	ng.SetServer(fmt.Sprintf("location /sessions-assets/ { proxy_pass http://%s; }\n", s.Src.Addr()) + s.frontend)
	s.reload()
	return s
}

// reload makes nginx read its server block again and waits until the page answers
// through the new configuration.
func (s *assetsSite) reload() {
	s.t.Helper()
	if err := exec.Command("kill", "-HUP", s.ng.PID()).Run(); err != nil {
		s.t.Fatal(err)
	}
	testenv.Eventually(s.t, 30*time.Second, "nginx to serve the page; its log:\n"+s.ng.ErrorLog(), func() bool {
		out, _ := exec.Command("curl", "-s", s.page).Output()
		return strings.Contains(string(out), "An old recording")
	})
}

// The reinstall stand-in for this site renders nginx as OpenReplay's chart renders its
// Ingress: OpenReplay's route to MinIO (before.conf) while global.s3.endpoint contains
// "minio", else after.conf (the operator's route, or nothing). Like helm, it returns
// without waiting for nginx to reload. Then as reinstallScript.
const assetsReinstallScript = `#!/bin/sh
echo "$*" >> '%[1]s/reinstall.args'
if grep -q 'endpoint: "http://minio' '%[4]s'; then cp '%[1]s/before.conf' '%[2]s'; else cp '%[1]s/after.conf' '%[2]s'; fi
kill -HUP %[3]s
touch '%[1]s/reinstall.returning'
i=0
while [ ! -e '%[1]s/writer.stopped' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
read -r first rest < '%[1]s/reinstall.code'
echo "$rest" > '%[1]s/reinstall.code'
exit ${first:-0}
`

func (s *assetsSite) setAfter(server string) {
	s.t.Helper()
	before, err := os.ReadFile(s.ng.Conf)
	if err != nil {
		s.t.Fatal(err)
	}
	for name, body := range map[string]string{
		"after.conf": server, "before.conf": string(before),
		"reinstall.sh": fmt.Sprintf(assetsReinstallScript, s.Dir, s.ng.Conf, s.ng.PID(), s.vars),
	} {
		if err := os.WriteFile(filepath.Join(s.Dir, name), []byte(body), 0o755); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *assetsSite) cutover(extra ...string) (int, string) {
	return s.cutoverSite.cutover(append([]string{"--source-endpoint", s.Src.Endpoint, "--domain-url", s.ng.URL}, extra...)...)
}

// An old recording keeps its styles and fonts across the cutover: before it through
// OpenReplay's route to MinIO, after it through the block `migrator assets-route`
// prints, with the old MinIO stopped. The cutover itself requests old URLs after the
// reinstall and says where they ended.
func TestCutoverKeepsOldAssetURLs(t *testing.T) {
	t.Parallel()
	s := newAssetsSite(t, "0")
	b := startChromium(t)
	b.wantOldStyles(s.page, "through OpenReplay's route to MinIO, before the cutover")

	// The operator prints the route before the cutover, from the same config.
	code, block := s.Run("assets-route", "--format", "nginx", "--config", s.Config, "--openreplay-vars", s.vars)
	if code != 0 || !strings.HasPrefix(block, "location /sessions-assets/ {") || !strings.Contains(block, s.Dst.Endpoint+"/openreplay-assets$1$2") {
		t.Fatalf("assets-route exited %d:\n%s", code, block)
	}
	s.setAfter(block + s.frontend)

	if code, out := s.cutover("--require-assets-route", "--dry-run"); code != 0 ||
		!strings.Contains(out, "after the reinstall: request old asset URLs under "+s.ng.URL+"/sessions-assets/") {
		t.Fatalf("dry run exited %d:\n%s", code, out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := s.startWriter(ctx)
	code, out := s.cutover("--require-assets-route")
	cancel()
	n := w.wait(t)
	t.Logf("cutover exited %d; the writer added %d objects meanwhile\n%s", code, n, out)
	if code != 0 || !strings.Contains(out, "cutover: done") {
		t.Fatalf("cutover exited %d", code)
	}
	// The report: old URLs through the domain, ending in the new bucket.
	if !strings.Contains(out, "old asset URLs under "+s.ng.URL+"/sessions-assets/ answer with the assets") ||
		!strings.Contains(out, s.ng.URL+"/sessions-assets/") || !strings.Contains(out, "-> 200 "+s.Dst.Endpoint+"/openreplay-assets/") {
		t.Fatal("the cutover did not report the old asset URLs ending in the new bucket")
	}
	s.AssertIdentical()

	// Only the destination can answer now.
	s.Src.Stop()
	b.wantOldStyles(s.page, "through the printed block, after the cutover, the old MinIO stopped")
}

// With --require-assets-route, a reinstall that leaves old asset URLs to the frontend's
// index.html is rolled back.
func TestCutoverRequiringTheAssetsRouteRollsBack(t *testing.T) {
	t.Parallel()
	s := newAssetsSite(t, "0 0")
	s.setAfter(s.frontend)                                      // the switch deletes OpenReplay's route and nothing replaces it
	if err := os.WriteFile(s.stopped, nil, 0o644); err != nil { // no writer here
		t.Fatal(err)
	}
	code, out := s.cutover("--require-assets-route", "--assets-route-wait", "3s")
	if code != 1 || !strings.Contains(out, "rolled back") || !strings.Contains(out, "do not answer with their asset") ||
		!strings.Contains(out, "migrator assets-route") || !strings.Contains(out, "FAILED: ") {
		t.Fatalf("cutover without an assets route exited %d:\n%s", code, out)
	}
	if s.varsNow() != s.original {
		t.Fatalf("vars.yaml is not byte-identical to the original:\n%s", s.varsNow())
	}
	if r := s.reinstalls(); len(r) != 2 {
		t.Fatalf("reinstall ran %d times, want 2 (the switch, the rollback):\n%s", len(r), out)
	}

	// Without the flag the same cutover goes on, and says what is missing.
	code, out = s.cutover("--assets-route-wait", "1s")
	if code != 0 || !strings.Contains(out, "cutover: warning: ") || !strings.Contains(out, "old recordings lose their styles and fonts") {
		t.Fatalf("cutover without the flag exited %d:\n%s", code, out)
	}
}

// chromium is one headless tab of Debian's Chromium.
type chromium struct {
	t   *testing.T
	ctx context.Context
}

func startChromium(t *testing.T) *chromium {
	t.Helper()
	path := "/usr/bin/chromium"
	if p := os.Getenv("CHROMIUM"); p != "" {
		path = p
	}
	required := os.Getenv("E2E_REQUIRED") == "1"
	if _, err := exec.LookPath(path); err != nil {
		if required {
			t.Fatalf("chromium not found at %s and E2E_REQUIRED=1: install Debian's chromium package", path)
		}
		t.Skipf("chromium not found at %s: `make e2e` installs Debian's chromium and runs this test", path)
	}
	// No sandbox as root; no background connections to Google, which the closed network refuses.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		if required {
			t.Fatalf("start %s: %v", path, err)
		}
		t.Skipf("%s does not start here (%v): `make e2e` runs this test where it does", path, err)
	}
	// Assets carry `immutable`: from its cache the browser would show the old styles
	// whatever the route did.
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	return &chromium{t: t, ctx: ctx}
}

// rendered is what the page shows of the old stylesheet.
type rendered struct {
	Color      string `json:"color"`      // body's computed color: the stylesheet's rule
	Font       string `json:"font"`       // #brand's computed font-family
	FontLoaded bool   `json:"fontLoaded"` // the @font-face face loaded (CORS passed)
}

const readStyles = `(async () => {
  await document.fonts.ready;
  const faces = await document.fonts.load("16px OldBrand").catch(() => []);
  return {
    color: getComputedStyle(document.body).color,
    font: getComputedStyle(document.getElementById("brand")).fontFamily,
    fontLoaded: faces.length > 0 && faces.every((f) => f.status === "loaded"),
  };
})()`

// wantOldStyles loads page afresh (the HTTP cache is off) and waits until it shows the old
// stylesheet's color and font.
func (b *chromium) wantOldStyles(page, when string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(page)); err != nil {
		b.t.Fatal(err)
	}
	var last rendered
	testenv.Eventually(b.t, time.Minute, "the old page's styles "+when, func() bool {
		r, err := chromedp.Run(b.ctx, chromedp.Evaluate[rendered](readStyles, chromedp.EvalAwaitPromise))
		last = r
		return err == nil && r.Color == oldColor && r.FontLoaded
	})
	b.t.Logf("%s: color %s, font %s loaded %v", when, last.Color, last.Font, last.FontLoaded)
}
