package dashboards

import (
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// A real Prometheus scrapes a real `migrator serve` copying between real MinIO servers,
// and every dashboard panel's query and every alert's expression is evaluated through
// Prometheus' HTTP API: first on a healthy run, right after the bulk copy and before the
// first scheduled sync, where every panel must show a value (0, not "No data"); then
// after a destination outage, which the error panels must show.
//
// Every evaluation is at a time chosen once Prometheus holds the samples the panels need
// (see promAPI.settle), never after a fixed wait.
func TestDashboardAndAlertsAgainstRealPrometheus(t *testing.T) {
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed: run `make tools` (it installs Debian's prometheus package)")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: run `make tools`")
	}
	rules, err := filepath.Abs("../deploy/alerts/openreplay-migrator.rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", rules).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}

	s := testenv.NewSite(t, testenv.SiteOptions{Spec: seed.Spec{Sessions: 40, Assets: 40, Sourcemaps: 5, LargeEvery: 20, LargeMax: 11 << 20, Seed: 31}, Workers: 4})
	dst := s.Dst
	// Something else wrote to the destination too: an object only it has.
	if _, err := dst.Client().PutObject(context.Background(), "openreplay-assets", seed.OddKeys[0], strings.NewReader("theirs"), 6, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := s.Dir
	maddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	serve := func(schedule string) *testenv.Process {
		cfg := s.WriteConfig(s.ConfigText(dst.Endpoint, fmt.Sprintf("schedule: %q\n", schedule)))
		return s.Start("serve", "--config", cfg, "--metrics-addr", maddr, "--log-format", "json")
	}
	paddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	pcfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(pcfg, []byte(fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: openreplay-migrator
    static_configs: [{targets: [%q]}]
`, rules, maddr)), 0o600)
	pr := exec.Command(prom, "--config.file="+pcfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+paddr, "--log.level=warn")
	promLog, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	pr.Stdout, pr.Stderr = promLog, promLog
	pr.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := pr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Process.Kill(); pr.Wait() })
	api := promAPI{base: "http://" + paddr}
	exprs := panelExprs(t)
	if len(exprs) < 10 {
		t.Fatalf("only %d panel queries found", len(exprs))
	}
	alerts := alertExprs(t, rules)
	// Prometheus scrapes the address before the migrator listens there, so that it sees
	// the process early, as one that has been deployed for a while would.
	testenv.Eventually(t, 60*time.Second, "Prometheus trying to scrape the migrator", func() bool {
		r, _ := api.query(`up{job="openreplay-migrator"}`, time.Now())
		return len(r) > 0
	})

	// The first sync is an hour away: the healthy run below is the bulk copy alone.
	mig := serve("@every 1h")

	// Healthy: the bulk copy's success seen in two scrapes, so every series made before
	// it (all that increase() and rate() read) has two samples, and two scrapes within
	// the shortest rate() window the panels use.
	at := api.settle(t, 120*time.Second, "the finished bulk copy in two scrapes",
		`count_over_time(openreplay_migrator_last_run_success_timestamp_seconds{kind="copy"}[1h]) >= 2 and on() `+
			scrapedTwiceWithin(expand("$__rate_interval")))
	for title, qs := range exprs {
		for _, q := range qs {
			r, err := api.query(expand(q), at)
			if err != nil {
				t.Errorf("panel %q: %v", title, err)
			} else if len(r) == 0 {
				t.Errorf("panel %q shows no data on a healthy run: %s", title, q)
			}
		}
	}
	// What an operator reads on a healthy run: nothing failed, and the copy counted once.
	for _, c := range []struct {
		panel  string
		labels map[string]string
		want   float64
	}{
		{"Request errors", nil, 0},
		{"Retries", nil, 0},
		{"Failed objects", nil, 0},
		{"Runs", map[string]string{"kind": "sync", "result": "ok"}, 0},
	} {
		if got, ok := panelValue(t, api, exprs, c.panel, c.labels, at); ok && math.Round(got) != c.want {
			t.Errorf("panel %q%v shows %v on a healthy run, want %v", c.panel, c.labels, got, c.want)
		}
	}
	// increase() cannot see a rise that happened before a series' first sample. A copy
	// that Prometheus saw running (runs_total at 0) must count once; one that was over
	// by the first scrape (the machine too busy for Prometheus to scrape in time) looks
	// as it would to a user whose Prometheus found the pod late.
	if r, err := api.query(`min_over_time(openreplay_migrator_runs_total{kind="copy",result="ok"}[1h]) == 0`, at); err == nil && len(r) > 0 {
		if got, ok := panelValue(t, api, exprs, "Runs", map[string]string{"kind": "copy", "result": "ok"}, at); ok && math.Round(got) != 1 {
			t.Errorf("panel \"Runs\" shows %v copies; one ran and Prometheus saw it start", got)
		}
	} else {
		t.Logf("the bulk copy was over before Prometheus first scraped the migrator: the Runs count is not checked")
	}
	for name, expr := range alerts {
		r, err := api.query(expr, at)
		switch {
		case err != nil:
			t.Errorf("alert %s does not evaluate: %v", name, err)
		case len(r) > 0:
			t.Errorf("alert %s would fire on a healthy run: %s = %v", name, expr, r)
		}
	}

	// A restart with syncs every second, then the destination goes away for a while,
	// as in a network outage: syncs retry and fail.
	mig.Stop()
	serve("@every 1s")
	testenv.Eventually(t, 90*time.Second, "a sync of the restarted process seen by Prometheus", func() bool {
		r, _ := api.query(`openreplay_migrator_runs_total{kind="sync",result="ok"} > 0`, time.Now())
		return len(r) > 0
	})
	dst.Stop()
	testenv.Eventually(t, 60*time.Second, "retries during the outage", func() bool {
		r, _ := api.query(`openreplay_migrator_retries_total > 0`, time.Now())
		return len(r) > 0
	})
	dst.Start()
	back := time.Now()
	at = api.settle(t, 90*time.Second, "a successful sync after the outage",
		fmt.Sprintf(`openreplay_migrator_last_run_success_timestamp_seconds{kind="sync"} > %d and on() %s`,
			back.Unix(), scrapedTwiceWithin(expand("$__rate_interval"))))
	for _, panel := range []string{"Request errors", "Retries"} {
		if got, ok := panelValue(t, api, exprs, panel, nil, at); ok && got < 1 {
			t.Errorf("panel %q shows %v after the outage; the outage's failed requests are missing", panel, got)
		}
	}
	if got, ok := panelValue(t, api, exprs, "Last successful sync", nil, at); ok && got > at.Sub(back).Seconds()+1 {
		t.Errorf("panel \"Last successful sync\" shows %.0f s ago; a sync succeeded %.0f s ago", got, at.Sub(back).Seconds())
	}
	for name, expr := range alerts {
		if _, err := api.query(expr, at); err != nil {
			t.Errorf("alert %s does not evaluate: %v", name, err)
		}
	}
}

// panelValue evaluates the single query of panel at at and returns the value of its
// series with exactly labels (nil: its only series).
func panelValue(t *testing.T, api promAPI, exprs map[string][]string, panel string, labels map[string]string, at time.Time) (float64, bool) {
	t.Helper()
	qs := exprs[panel]
	if len(qs) != 1 {
		t.Errorf("panel %q has %d queries, want 1", panel, len(qs))
		return 0, false
	}
	r, err := api.query(expand(qs[0]), at)
	if err != nil {
		t.Errorf("panel %q: %v", panel, err)
		return 0, false
	}
	for _, s := range r {
		if labels == nil && len(r) == 1 || labels != nil && maps.Equal(s.labels, labels) {
			return s.value, true
		}
	}
	t.Errorf("panel %q has no series %v: %v", panel, labels, r)
	return 0, false
}

// expand replaces Grafana's variables as Grafana would for "All" buckets over the last hour.
func expand(q string) string {
	return strings.NewReplacer(`"$bucket"`, `".*"`, `"${bucket}"`, `".*"`, "$__rate_interval", "15s",
		"$__range", "1h", "$__interval", "5s").Replace(q)
}

func panelExprs(t *testing.T) map[string][]string {
	t.Helper()
	d, _ := loadDashboard(t)
	out := map[string][]string{}
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			if tg.Expr != "" {
				out[p.Title] = append(out[p.Title], tg.Expr)
			}
		}
	}
	return out
}

func alertExprs(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The rule file is YAML; `alert:` and `expr: |` blocks are all this needs.
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if name, ok := strings.CutPrefix(l, "- alert:"); ok {
			for j := i + 1; j < len(lines); j++ {
				e := strings.TrimSpace(lines[j])
				if rest, ok := strings.CutPrefix(e, "expr:"); ok {
					expr := strings.TrimSpace(rest)
					if expr == "|" || expr == ">" {
						ind := len(lines[j+1]) - len(strings.TrimLeft(lines[j+1], " "))
						var b []string
						for k := j + 1; k < len(lines) && (strings.TrimSpace(lines[k]) == "" || len(lines[k])-len(strings.TrimLeft(lines[k], " ")) >= ind); k++ {
							b = append(b, lines[k])
						}
						expr = strings.Join(b, "\n")
					}
					out[strings.TrimSpace(name)] = expr
					break
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no alert found in the rule file")
	}
	return out
}
