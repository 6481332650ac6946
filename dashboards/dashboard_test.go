package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/limit"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/metrics"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

const (
	dashboardFile = "openreplay-migrator.json"
	rulesFile     = "../deploy/alerts/openreplay-migrator.rules.yaml"
	datasourceRef = "${datasource}"
)

type dashboard struct {
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Datasource *datasource     `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		Datasource *datasource `json:"datasource"`
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's panels
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboard(t *testing.T) (dashboard, []byte) {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	return d, raw
}

// allPanels flattens rows, collapsed or not.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

func TestDashboardPanelsUseTheDatasourceVariableAndKnownMetrics(t *testing.T) {
	d, _ := loadDashboard(t)
	known := knownMetrics(t)
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want 36 or later (datasource references by uid)", d.SchemaVersion)
	}
	ids := map[int]string{}
	queries := 0
	for _, p := range allPanels(d.Panels) {
		if prev, ok := ids[p.ID]; ok {
			t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != datasourceRef || p.Datasource.Type != "prometheus" {
			t.Errorf("panel %q: datasource %+v, want prometheus %s", p.Title, p.Datasource, datasourceRef)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			queries++
			if tg.Datasource == nil || tg.Datasource.UID != datasourceRef {
				t.Errorf("panel %q query %s: datasource %+v, want %s", p.Title, tg.RefID, tg.Datasource, datasourceRef)
			}
			if refs[tg.RefID] {
				t.Errorf("panel %q: refId %s twice", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			checkExpr(t, "panel "+p.Title, tg.Expr, known)
		}
	}
	if queries < 20 {
		t.Errorf("only %d queries: the dashboard lost panels", queries)
	}
}

func TestDashboardTemplateVariables(t *testing.T) {
	d, _ := loadDashboard(t)
	known := knownMetrics(t)
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		switch v.Name {
		case "datasource":
			var q string
			if v.Type != "datasource" || json.Unmarshal(v.Query, &q) != nil || q != "prometheus" {
				t.Errorf("variable datasource: type %q query %s, want a datasource variable of type prometheus", v.Type, v.Query)
			}
		case "bucket":
			if v.Type != "query" || v.Datasource == nil || v.Datasource.UID != datasourceRef {
				t.Errorf("variable bucket: type %q datasource %+v, want a query on %s", v.Type, v.Datasource, datasourceRef)
			}
			m := regexp.MustCompile(`^label_values\((\w+), bucket\)$`).FindStringSubmatch(v.Definition)
			if m == nil || !known[m[1]] {
				t.Errorf("variable bucket: definition %q, want label_values(<a metric of pkg/metrics>, bucket)", v.Definition)
			}
		}
	}
	for _, name := range []string{"datasource", "bucket"} {
		if !vars[name] {
			t.Errorf("no template variable %s", name)
		}
	}
}

// Importing must work in any Grafana: the only data source reference is the variable.
func TestDashboardHasNoHardCodedUIDs(t *testing.T) {
	_, raw := loadDashboard(t)
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "uid" && x != datasourceRef {
					t.Errorf("%s.uid = %v: a hard-coded UID", path, x)
				}
				walk(path+"."+k, x)
			}
		case []any:
			for _, x := range v {
				walk(path+"[]", x)
			}
		}
	}
	walk("$", tree)
}

// Overlapping panels are silently moved by Grafana, which scrambles the layout.
func TestDashboardPanelsDoNotOverlap(t *testing.T) {
	d, _ := loadDashboard(t)
	taken := map[[2]int]string{}
	for _, p := range allPanels(d.Panels) {
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24 columns", p.Title, g)
			continue
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[[2]int{x, y}]; ok {
					t.Errorf("panel %q overlaps %q at %d,%d", p.Title, other, x, y)
					return
				}
				taken[[2]int{x, y}] = p.Title
			}
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRules(t *testing.T) {
	raw, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true) // a misspelt field would be ignored by Prometheus' loader too late
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	known := knownMetrics(t)
	var alerts []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			checkExpr(t, "alert "+r.Alert, r.Expr, known)
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: wants a severity label and summary and description annotations", r.Alert)
			}
			if _, err := time.ParseDuration(r.For); r.For != "" && err != nil {
				t.Errorf("alert %s: for %q: %v", r.Alert, r.For, err)
			}
		}
	}
	for _, want := range []string{"OpenReplayMigratorSyncStale", "OpenReplayMigratorFailuresRising",
		"OpenReplayMigratorNoProgress", "OpenReplayMigratorConflicts"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s in %s (have %v)", want, rulesFile, alerts)
		}
	}
}

// knownMetrics is every series name pkg/metrics exposes: the families gathered from a
// fresh registry after each method was called, with a histogram's _bucket, _sum and
// _count.
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	ctx := context.Background()
	m.PassStarted("recordings", "")
	m.Listed("recordings", store.Object{Key: "k", Size: 10})
	for _, o := range []copy.Outcome{copy.Failed, copy.Conflict, copy.Skipped, copy.Copied} {
		m.Finished("recordings", "k", o, 10, errors.New("x"))
	}
	m.InFlight(1)
	m.Checkpointed("recordings", time.Now())
	m.PassEnded("recordings", true)
	m.RetryHook("source")(errors.New("x"))
	m.WrapStore("source", absent{}).BucketExists(ctx, "recordings")
	m.RunFinished("sync", time.Now().Add(-time.Minute), true)
	m.RunFinished("copy", time.Now().Add(-time.Minute), false)
	m.SetPhase("sync")
	m.SkippedOverlap()
	metrics.NewConcurrency(reg, limit.Reasons).Set(16, limit.ReasonStart)

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, mf := range mfs {
		known[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[mf.GetName()+s] = true
			}
		}
	}
	return known
}

// absent is a store with no bucket; only BucketExists may be called.
type absent struct{ store.Store }

func (absent) BucketExists(context.Context, string) (bool, error) { return false, nil }

// checkExpr reports every series name in the PromQL expr that pkg/metrics does not
// expose.
func checkExpr(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	for _, p := range exprProblems(expr, known) {
		t.Errorf("%s: %s (expr %s)", where, p, expr)
	}
}

// exprProblems is no PromQL parser: it removes what cannot hold a series name (strings,
// label matchers, ranges, grouping label lists, numbers) and takes every identifier left
// that is neither a function call nor a keyword for one.
func exprProblems(expr string, known map[string]bool) []string {
	e := expr
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`"(?:[^"\\]|\\.)*"`),
		regexp.MustCompile(`\{[^}]*\}`),
		regexp.MustCompile(`\[[^\]]*\]`),
		regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`),
		regexp.MustCompile(`\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b`),
	} {
		e = re.ReplaceAllString(e, " ")
	}
	var problems []string
	names := 0
	for _, m := range regexp.MustCompile(`([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?`).FindAllStringSubmatch(e, -1) {
		id, call := m[1], m[2] != ""
		if call || promqlWords[id] {
			continue
		}
		names++
		if !known[id] {
			problems = append(problems, fmt.Sprintf("%q is not a metric pkg/metrics exposes", id))
		}
	}
	if names == 0 {
		problems = append(problems, "no metric in it")
	}
	return problems
}

var promqlWords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

func TestExprProblems(t *testing.T) {
	known := map[string]bool{"openreplay_migrator_objects_total": true}
	cases := []struct {
		expr string
		bad  int
	}{
		{`sum by (bucket) (rate(openreplay_migrator_objects_total{result="failed",bucket=~"$bucket"}[$__rate_interval])) > 0.5e3`, 0},
		{`time() - max without (kind) (openreplay_migrator_objects_total{kind="a{b}"}) > bool 3600`, 0},
		{`openreplay_migrator_objects_total unless on (job) up`, 1},
		{`histogram_quantile(0.99, sum by (le) (rate(openreplay_migrator_nope_bucket[5m])))`, 1},
		{`vector(1)`, 1},
	}
	for _, c := range cases {
		if got := exprProblems(c.expr, known); len(got) != c.bad {
			t.Errorf("exprProblems(%s) = %q, want %d problems", c.expr, got, c.bad)
		}
	}
}
