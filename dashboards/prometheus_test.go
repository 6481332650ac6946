package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
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
// through a destination outage, and every dashboard panel's query and
// every alert's expression is evaluated through Prometheus' HTTP API.
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

	src, dst := testenv.StartMinIO(t), testenv.StartMinIO(t)
	src.MakeBuckets(seed.Recordings, seed.Assets, seed.Sourcemaps)
	if _, err := seed.Write(context.Background(), src.Client(), seed.Plan(seed.Spec{Sessions: 40, Assets: 40, Sourcemaps: 5, LargeEvery: 20, LargeMax: 11 << 20, Seed: 31}), 8); err != nil {
		t.Fatal(err)
	}
	dst.MakeBuckets("openreplay-recordings", "openreplay-assets", "openreplay-sourcemaps")
	// Something else wrote to the destination too: an object only it has.
	if _, err := dst.Client().PutObject(context.Background(), "openreplay-assets", seed.OddKeys[0], strings.NewReader("theirs"), 6, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "migrator.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`source:      {endpoint: %s}
destination: {endpoint: %s}
buckets:     {mobs: openreplay-recordings, sessions-assets: openreplay-assets, sourcemaps: openreplay-sourcemaps}
workers: 4
stateDir: %s
allowInsecure: true
schedule: "@every 1s"
`, src.Endpoint, dst.Endpoint, filepath.Join(dir, "state"))), 0o600)
	maddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	mig := exec.Command(testenv.Migrator(t), "serve", "--config", cfg, "--metrics-addr", maddr, "--log-format", "json")
	mig.Env = append(os.Environ(),
		"MIGRATOR_SOURCE_ACCESS_KEY="+src.AccessKey, "MIGRATOR_SOURCE_SECRET_KEY="+src.SecretKey,
		"MIGRATOR_DESTINATION_ACCESS_KEY="+dst.AccessKey, "MIGRATOR_DESTINATION_SECRET_KEY="+dst.SecretKey)
	migLog, _ := os.Create(filepath.Join(dir, "migrator.log"))
	mig.Stdout, mig.Stderr = migLog, migLog
	mig.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := mig.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mig.Process.Signal(syscall.SIGTERM); mig.Wait() })

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

	api := "http://" + paddr + "/api/v1/query?query="
	query := func(q string) (int, error) {
		resp, err := http.Get(api + url.QueryEscape(q))
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var r struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Data   struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return 0, err
		}
		if r.Status != "success" {
			return 0, fmt.Errorf("%s", r.Error)
		}
		return len(r.Data.Result), nil
	}
	testenv.Eventually(t, 90*time.Second, "the bulk copy seen by Prometheus", func() bool {
		n, _ := query(`openreplay_migrator_last_run_success_timestamp_seconds{kind="sync"} > 0 or openreplay_migrator_runs_total{kind="copy"} > 0`)
		return n > 0
	})
	// The destination goes away for a while, as in a network outage: syncs retry and fail.
	dst.Stop()
	testenv.Eventually(t, 60*time.Second, "retries during the outage", func() bool {
		n, _ := query(`openreplay_migrator_retries_total > 0`)
		return n > 0
	})
	dst.Start()
	testenv.Eventually(t, 60*time.Second, "a successful sync after the outage", func() bool {
		n, _ := query(`time() - openreplay_migrator_last_run_success_timestamp_seconds{kind="sync"} < 3`)
		return n > 0
	})

	exprs := panelExprs(t)
	if len(exprs) < 10 {
		t.Fatalf("only %d panel queries found", len(exprs))
	}
	for title, qs := range exprs {
		for _, q := range qs {
			n, err := query(expand(q))
			if err != nil {
				t.Errorf("panel %q: %s: %v", title, q, err)
			} else if n == 0 {
				t.Errorf("panel %q returns no data: %s", title, q)
			}
		}
	}
	for name, expr := range alertExprs(t, rules) {
		if _, err := query(expr); err != nil {
			t.Errorf("alert %s does not evaluate: %v", name, err)
		}
	}
	if t.Failed() {
		log, _ := os.ReadFile(migLog.Name())
		t.Logf("migrator log (tail):\n%s", tail(string(log), 3000))
	}
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

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
