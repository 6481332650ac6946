package preflight_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7/pkg/lifecycle"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/preflight"
)

// rule is a lifecycle rule as MinIO reads it back, reduced to what decides its effect.
type rule struct {
	id, tag   string // tag as key=value, "" for none
	prefix    string
	days      int
	noncurDay int
}

func readRules(t *testing.T, m *testenv.MinIO, bucket string) map[string]rule {
	t.Helper()
	cfg, err := m.Client().GetBucketLifecycle(context.Background(), bucket)
	if err != nil {
		t.Fatalf("lifecycle of %s: %v", bucket, err)
	}
	out := map[string]rule{}
	for _, r := range cfg.Rules {
		if r.Status != "Enabled" {
			t.Errorf("%s: rule %s is %s", bucket, r.ID, r.Status)
		}
		x := rule{id: r.ID, prefix: r.RuleFilter.Prefix, days: int(r.Expiration.Days), noncurDay: int(r.NoncurrentVersionExpiration.NoncurrentDays)}
		if !r.RuleFilter.Tag.IsEmpty() {
			x.tag = r.RuleFilter.Tag.Key + "=" + r.RuleFilter.Tag.Value
		}
		out[r.ID] = x
	}
	return out
}

func retentionRun(t *testing.T, m *testenv.MinIO, r preflight.Retention, dryRun bool) (*preflight.Report, string) {
	t.Helper()
	c := client(t, m, root(m))
	r.Enabled = true
	rep, err := preflight.Run(context.Background(), c, c, preflight.Options{
		Endpoint: m.Endpoint, Region: "us-east-1", Buckets: pairs, DryRun: dryRun, Retention: r})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Logf("preflight --retention:\n%s", out.String())
	return rep, out.String()
}

// --retention puts one rule per to_delete_in_days value on every destination bucket and
// the age rule on the recordings bucket, keeping the rules the operator had there.
func TestPreflightRetentionRulesOnMinIO(t *testing.T) {
	t.Parallel()
	m := testenv.StartMinIO(t)
	sourceBuckets(t, m)
	m.MakeBuckets(dests...)
	// The operator's own rules, of kinds this tool never writes: they must survive.
	own := lifecycle.NewConfiguration()
	own.Rules = []lifecycle.Rule{
		{ID: "tmp-files", Status: "Enabled", RuleFilter: lifecycle.Filter{Prefix: "tmp/"}, Expiration: lifecycle.Expiration{Days: 3}},
		{ID: "old-versions", Status: "Enabled", RuleFilter: lifecycle.Filter{Prefix: "v/"},
			NoncurrentVersionExpiration: lifecycle.NoncurrentVersionExpiration{NoncurrentDays: 9}},
	}
	if err := m.Client().SetBucketLifecycle(context.Background(), "openreplay-recordings", own); err != nil {
		t.Fatal(err)
	}
	r := preflight.Retention{DeleteDays: []int{30, 7, 30, 14}, ExpireAfterDays: 90, RecordingsBucket: "openreplay-recordings"}

	rep, table := retentionRun(t, m, r, true)
	expect(t, rep, table, map[string]preflight.Status{"retention openreplay-recordings": preflight.WouldFix, "retention openreplay-assets": preflight.WouldFix})
	if got := readRules(t, m, "openreplay-recordings"); len(got) != 2 {
		t.Fatalf("dry run changed the lifecycle: %v", got)
	}

	rep, table = retentionRun(t, m, r, false)
	expect(t, rep, table, map[string]preflight.Status{
		"retention openreplay-recordings": preflight.Fixed, "retention openreplay-assets": preflight.Fixed,
		"retention openreplay-sourcemaps": preflight.Fixed,
		"recording ages":                  preflight.Warn, "openreplay -c": preflight.Warn,
	})
	tagged := map[string]rule{
		"openreplay-to-delete-in-7-days":  {id: "openreplay-to-delete-in-7-days", tag: "to_delete_in_days=7", days: 7},
		"openreplay-to-delete-in-14-days": {id: "openreplay-to-delete-in-14-days", tag: "to_delete_in_days=14", days: 14},
		"openreplay-to-delete-in-30-days": {id: "openreplay-to-delete-in-30-days", tag: "to_delete_in_days=30", days: 30},
	}
	for _, b := range []string{"openreplay-assets", "openreplay-sourcemaps"} {
		if got := readRules(t, m, b); !equalRules(got, tagged) {
			t.Errorf("%s rules: %v, want %v", b, got, tagged)
		}
	}
	wantRec := map[string]rule{
		"tmp-files":                       {id: "tmp-files", prefix: "tmp/", days: 3},
		"old-versions":                    {id: "old-versions", prefix: "v/", noncurDay: 9},
		"openreplay-expire-after-90-days": {id: "openreplay-expire-after-90-days", days: 90},
	}
	for k, v := range tagged {
		wantRec[k] = v
	}
	if got := readRules(t, m, "openreplay-recordings"); !equalRules(got, wantRec) {
		t.Errorf("recordings rules: %v\nwant %v", got, wantRec)
	}
	if row, _ := rep.Row("recording ages"); !strings.Contains(row.Do, "cannot subtract the source age") || !strings.Contains(row.Do, "x-amz-meta-openreplay-migrator-source-last-modified") {
		t.Errorf("the ages row does not say how ages restart: %s", row.Do)
	}
	if row, _ := rep.Row("openreplay -c"); !strings.Contains(row.Do, "only from a bucket named mobs") {
		t.Errorf("the cleanup row: %s", row.Do)
	}

	// Again: nothing to add. Then a new --expire-after replaces this tool's age rule
	// instead of adding a second one (the shorter of two would rule).
	rep, table = retentionRun(t, m, r, false)
	expect(t, rep, table, map[string]preflight.Status{"retention openreplay-recordings": preflight.OK})
	r.ExpireAfterDays = 60
	rep, table = retentionRun(t, m, r, false)
	expect(t, rep, table, map[string]preflight.Status{"retention openreplay-recordings": preflight.Fixed, "retention openreplay-assets": preflight.OK})
	delete(wantRec, "openreplay-expire-after-90-days")
	wantRec["openreplay-expire-after-60-days"] = rule{id: "openreplay-expire-after-60-days", days: 60}
	if got := readRules(t, m, "openreplay-recordings"); !equalRules(got, wantRec) {
		t.Errorf("after --expire-after 60: %v\nwant %v", got, wantRec)
	}
}

// A recordings bucket named mobs is the one `openreplay -c` knows: no warning; no age
// rule asked for: the ages row says what --expire-after would do.
func TestPreflightRetentionMobsAndNoAgeRule(t *testing.T) {
	t.Parallel()
	m := testenv.StartMinIO(t)
	sourceBuckets(t, m)
	m.MakeBuckets(dests...)
	rep, table := retentionRun(t, m, preflight.Retention{DeleteDays: preflight.DefaultDeleteDays, RecordingsBucket: "mobs"}, false)
	if _, ok := rep.Row("openreplay -c"); ok {
		t.Error("warned about openreplay -c for a bucket named mobs")
	}
	expect(t, rep, table, map[string]preflight.Status{"recording ages": preflight.OK, "retention openreplay-recordings": preflight.Fixed})
	if got := readRules(t, m, "openreplay-recordings"); len(got) != 2 {
		t.Errorf("rules %v, want the 7- and 30-day tag rules", got)
	}
}

func equalRules(a, b map[string]rule) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A destination endpoint OpenReplay would take for its own MinIO blocks, saying why and
// what to do. (The clients talk to the real server; only the configured endpoint differs.)
func TestPreflightRefusesAMinioNamedEndpoint(t *testing.T) {
	t.Parallel()
	m := testenv.StartMinIO(t)
	sourceBuckets(t, m)
	c := client(t, m, root(m))
	rep, err := preflight.Run(context.Background(), c, c, preflight.Options{
		Endpoint: "https://minio.example.com", Region: "us-east-1", Buckets: pairs})
	if err != nil {
		t.Fatal(err)
	}
	row, ok := rep.Row("endpoint for OpenReplay")
	if !ok || !row.Blocking || !strings.Contains(row.Do, "in-cluster MinIO") || !strings.Contains(row.Do, "host name without \"minio\"") {
		t.Fatalf("row %+v", row)
	}
	if !rep.Blocking() {
		t.Error("preflight does not block")
	}
	rep, err = preflight.Run(context.Background(), c, c, preflight.Options{Endpoint: "https://s3.example.com", Region: "us-east-1", Buckets: pairs})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rep.Row("endpoint for OpenReplay"); ok {
		t.Error("an endpoint without minio was refused")
	}
}
