package statuspage_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// An operator watches a real copy between real MinIO servers on the status page in
// Debian's Chromium: the bars move and reach 100%, a refused key shows as text with its
// error, the page survives a restart of the migrator, and it fits a phone's screen.
// Screenshots are left under test-output/ (or $E2E_OUT) for a reviewer.
func TestStatusPageInBrowser(t *testing.T) {
	t.Parallel()
	chromium := findChromium(t)
	out := outputDir(t)

	s := newSite(t, seed.Spec{Sessions: 60, Assets: 40, Sourcemaps: 6, LargeEvery: 12, LargeMax: 16 << 20, Seed: 8})
	// ~90 MiB at 12 MiB/s, held after a third until the page has shown a moving bar:
	// however slow the browser, there is a moment to see.
	dst, release := throttle(t, s.Dst.Addr(), 12<<20, 30<<20)

	b := startBrowser(t, chromium)
	s.serve("@every 1h", dst)
	b.do(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.url("/")))

	// Watch the bulk copy as a person would, every 300ms, until the page shows its end.
	seen := map[string][]float64{}
	var moving, midway bool
	deadline := time.Now().Add(3 * time.Minute)
	for {
		d := b.dom()
		for _, bk := range d.Buckets {
			if v := seen[bk.Name]; len(v) == 0 || v[len(v)-1] != bk.Progress {
				seen[bk.Name] = append(v, bk.Progress)
			}
			if bk.Progress > 0 && bk.Progress < 100 {
				// The first moving bar, replaced by one about halfway if the page shows one.
				mid := bk.Progress >= 25 && bk.Progress <= 75
				if !moving || (mid && !midway) {
					b.screenshot(filepath.Join(out, "statuspage-copying.png"))
					midway = mid
				}
				moving = true
				release()
			}
		}
		st, _ := s.status()
		if copyFinished(st) && d.phase() == "idle" && d.bucket(seed.Assets).Failed == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never showed the end of the copy; last DOM: %+v", d)
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Logf("progress values the page showed, per bucket: %v", seen)
	if !moving {
		t.Errorf("no bar was ever seen between 0 and 100%%: %v", seen)
	}

	// The refused key, as text: quoted, its markup inert, with the destination's answer.
	d := b.dom()
	keys := d.bucket(seed.Assets).Keys
	if len(keys) != 1 || keys[0].Key != `"`+evilKey+`"` || !strings.Contains(keys[0].Error, "AccessDenied") {
		t.Errorf("failed keys on the page = %+v, want %q with AccessDenied", keys, evilKey)
	}
	if d.Images != 0 {
		t.Errorf("the page holds %d <img> elements: a key was parsed as HTML", d.Images)
	}
	if got := d.bucket(seed.Sourcemaps).Conflicts; got != "1" {
		t.Errorf("sourcemaps conflicts on the page = %q, want 1", got)
	}
	if !strings.Contains(d.Runs, "Last copy") || !strings.Contains(d.Runs, "failed") {
		t.Errorf("runs on the page = %q, want the failed copy", d.Runs)
	}
	if !strings.Contains(d.Runs, "Notifications") || !strings.Contains(d.Runs, "streams connected") {
		t.Errorf("runs on the page = %q, want serve's notification streams", d.Runs)
	}
	b.screenshot(filepath.Join(out, "statuspage-failed.png"))

	// The operator gives the migrator a key that may read everything and restarts it; the
	// page says it lost the migrator meanwhile, then shows the retried key copied.
	s.stop()
	b.eventually(15*time.Second, "the page to notice the migrator is gone", func(d dom) bool { return d.Offline })
	s.srcKeys = credentials.Value{AccessKeyID: s.Src.AccessKey, SecretAccessKey: s.Src.SecretKey}
	s.serve("@every 1h", dst)
	b.eventually(2*time.Minute, "every bar at 100% and no failure", func(d dom) bool {
		if d.Offline || d.phase() != "idle" || len(d.Buckets) != 3 {
			return false
		}
		for _, bk := range d.Buckets {
			if bk.Progress != 100 || bk.Failed != "0" {
				return false
			}
		}
		return true
	})
	d = b.dom()
	for _, bk := range d.Buckets {
		if bk.Filled < 0.99 {
			t.Errorf("%s: the bar's fill covers %.0f%% of it at 100%%", bk.Name, bk.Filled*100)
		}
	}
	if d.Overall != 100 {
		t.Errorf("overall bar at %v, want 100", d.Overall)
	}
	b.screenshot(filepath.Join(out, "statuspage.png"))

	// A phone: nothing wider than the screen, and a screenshot at its pixel density.
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait),
		chromedp.Reload())
	b.eventually(30*time.Second, "the page on a phone", func(d dom) bool { return len(d.Buckets) == 3 })
	d = b.dom()
	if d.ScrollWidth > d.InnerWidth {
		t.Errorf("on a 390px phone the page is %dpx wide: it scrolls sideways", d.ScrollWidth)
	}
	b.screenshot(filepath.Join(out, "statuspage-phone.png"))

	b.checkConsole()
}

// findChromium returns Debian's chromium, or skips (fails under E2E_REQUIRED=1).
func findChromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("E2E_REQUIRED") == "1" {
			t.Fatalf("chromium not found at %s and E2E_REQUIRED=1: install Debian's chromium package", path)
		}
		t.Skipf("chromium not found at %s: `make e2e` installs Debian's chromium and runs this test", path)
	}
	return path
}

// outputDir is where screenshots go: $E2E_OUT, else test-output/ at the repository's
// root (ignored by git); t.TempDir would delete them before anyone looked.
func outputDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("E2E_OUT")
	if dir == "" {
		dir = filepath.Join(testenv.RepoRoot(t), "test-output")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one headless Chromium tab, with what the page wrote to its console and
// any dialog it opened (there must be none).
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	dialogs []string
}

func startBrowser(t *testing.T, path string) *browser {
	t.Helper()
	// The flags this machine needs: no sandbox as root, and no background connections
	// to Google, which the closed network refuses.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	b := &browser{t: t, ctx: ctx}

	// Start the browser now, not on the first page: its start-up is not the page's time.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
		if os.Getenv("E2E_REQUIRED") == "1" {
			t.Fatalf("start %s: %v", path, err)
		}
		t.Skipf("%s does not start here (%v): `make e2e` runs this test where it does", path, err)
	}
	messages := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			b.mu.Unlock()
			// A dialog blocks the page; dismiss it so the test can report it.
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
		wg.Wait()
	})
	return b
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) screenshot(path string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// dom is what the page shows, read from the rendered document.
type dom struct {
	Phase       string      `json:"phase"`
	Offline     bool        `json:"offline"`
	Images      int         `json:"images"`
	Overall     float64     `json:"overall"`
	Runs        string      `json:"runs"`
	ScrollWidth int         `json:"scrollWidth"`
	InnerWidth  int         `json:"innerWidth"`
	Buckets     []bucketDOM `json:"buckets"`
}

type bucketDOM struct {
	Name      string  `json:"name"`
	Progress  float64 `json:"progress"` // the bar's aria-valuenow
	Filled    float64 `json:"filled"`   // the fill's rendered width over the bar's
	State     string  `json:"state"`
	Failed    string  `json:"failed"`
	Conflicts string  `json:"conflicts"`
	Keys      []struct {
		Key   string `json:"key"`
		Error string `json:"error"`
	} `json:"keys"`
}

const readDOM = `(() => {
  const text = (root, sel) => { const e = root.querySelector(sel); return e ? e.textContent : ""; };
  return {
    phase: text(document, "#phase"),
    offline: !document.getElementById("offline").hidden,
    images: document.querySelectorAll("img").length,
    overall: Number(document.getElementById("overall").getAttribute("aria-valuenow")),
    runs: text(document, "#runs"),
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    buckets: Array.from(document.querySelectorAll("[data-bucket]")).map((c) => {
      const bar = c.querySelector("[role=progressbar]");
      return {
        name: c.dataset.bucket,
        progress: Number(bar.getAttribute("aria-valuenow")),
        filled: bar.querySelector(".fill").getBoundingClientRect().width / bar.getBoundingClientRect().width,
        state: text(c, ".state"),
        failed: text(c, "[data-field=failed] dd"),
        conflicts: text(c, "[data-field=conflicts] dd"),
        keys: Array.from(c.querySelectorAll(".keys li")).map((li) => ({ key: text(li, ".key"), error: text(li, ".err") })),
      };
    }),
  };
})()`

func (b *browser) dom() dom {
	b.t.Helper()
	d, err := chromedp.Run(b.ctx, chromedp.Evaluate[dom](readDOM))
	if err != nil {
		b.t.Fatalf("read the page: %v", err)
	}
	return d
}

func (d dom) phase() string { return strings.TrimPrefix(d.Phase, "phase: ") }

func (d dom) bucket(name string) bucketDOM {
	for _, b := range d.Buckets {
		if b.Name == name {
			return b
		}
	}
	return bucketDOM{}
}

func (b *browser) eventually(timeout time.Duration, what string, cond func(dom) bool) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d := b.dom()
		if cond(d) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out after %s waiting for %s; the page shows %+v", timeout, what, d)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// checkConsole fails on any script error, CSP violation or dialog the page caused.
func (b *browser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if strings.HasSuffix(m.URL, "/favicon.ico") {
			continue // the browser asks for it on its own; 404 is the answer
		}
		if m.Type == chromedp.ConsoleError || m.IsException() {
			// Fetches that failed while the migrator restarted are expected.
			if strings.Contains(m.URL, "/api/status") || strings.Contains(m.Text, "ERR_CONNECTION_REFUSED") {
				continue
			}
			b.t.Errorf("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
		}
	}
	for _, d := range b.dialogs {
		b.t.Errorf("the page opened a dialog: %s", d)
	}
}
