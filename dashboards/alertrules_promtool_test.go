package dashboards

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// What SyncStale answers in the situations an operator meets, evaluated by promtool (the
// real PromQL engine) over made-up series: every series the migrator starts at 0 is there
// from the beginning, as pkg/metrics makes it.
func TestSyncStaleAlertWithPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: run `make tools` (it installs Debian's prometheus package)")
	}
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	expr := alertExprs(t, rules)["OpenReplayMigratorSyncStale"]
	if expr == "" {
		t.Fatal("no SyncStale alert")
	}
	const who = `job="m",instance="a"`
	series := func(name, labels, values string) map[string]string {
		return map[string]string{"series": name + "{" + who + "," + labels + "}", "values": values}
	}
	runs := func(kind, result, values string) map[string]string {
		return series("openreplay_migrator_runs_total", `kind="`+kind+`",result="`+result+`"`, values)
	}
	success := func(kind, values string) map[string]string {
		return series("openreplay_migrator_last_run_success_timestamp_seconds", `kind="`+kind+`"`, values)
	}
	type sample struct {
		Labels string  `yaml:"labels"`
		Value  float64 `yaml:"value"`
	}
	stale := func(v float64) []sample { return []sample{{Labels: "{" + who + "}", Value: v}} }
	cases := []struct {
		name  string
		input []map[string]string
		at    string
		want  []sample
	}{
		{"a bulk copy running for three hours is not a stale sync", []map[string]string{
			runs("copy", "ok", "0x12"), runs("copy", "failed", "0x12"),
			runs("sync", "ok", "0x12"), runs("sync", "failed", "0x12"),
		}, "3h", []sample{}},
		{"the bulk copy is the last known complete state before the first sync", []map[string]string{
			success("copy", "0x12"), runs("copy", "ok", "1x12"), runs("sync", "ok", "0x12"), runs("sync", "failed", "0x12"),
		}, "2h", stale(7200)},
		{"syncs every 15 minutes after the copy", []map[string]string{
			success("copy", "0x12"), success("sync", "0+900x12"), runs("sync", "ok", "0+1x12"), runs("sync", "failed", "0x12"),
		}, "2h", []sample{}},
		{"syncs that finish and fail after a recent copy", []map[string]string{
			success("copy", "0x12"), runs("sync", "ok", "0x12"), runs("sync", "failed", "0+1x12"),
		}, "30m", stale(2)},
	}
	var tests []map[string]any
	for _, c := range cases {
		tests = append(tests, map[string]any{
			"name": c.name, "interval": "15m", "input_series": c.input,
			"promql_expr_test": []map[string]any{{"expr": expr, "eval_time": c.at, "exp_samples": c.want}},
		})
	}
	file, err := yaml.Marshal(map[string]any{"rule_files": []string{rules}, "evaluation_interval": "1m", "tests": tests})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "syncstale_test.yaml")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "test", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}
