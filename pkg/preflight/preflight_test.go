package preflight_test

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/lifecycle"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/preflight"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
)

// The pairs of a default install, mapped to the guide's example names. Source and
// destination buckets live on one server here: preflight does not mind.
var pairs = []preflight.Bucket{
	{Source: "mobs", Dest: "openreplay-recordings"},
	{Source: "sessions-assets", Dest: "openreplay-assets", Assets: true},
	{Source: "sourcemaps", Dest: "openreplay-sourcemaps"},
}

var dests = []string{"openreplay-recordings", "openreplay-assets", "openreplay-sourcemaps"}

// guideOnMinIO is the guide's seven permissions as MinIO can grant them: MinIO rejects
// s3:GetObjectAcl in a policy ("unsupported action") and authorises GET ?acl with
// s3:GetBucketPolicy instead, so that stands in for it.
var guideOnMinIO = []string{"s3:PutObject", "s3:GetObject", "s3:GetBucketPolicy", "s3:GetObjectTagging",
	"s3:ListBucket", "s3:PutObjectTagging", "s3:GetBucketLocation"}

var guidePermissions = []string{"s3:PutObject", "s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectTagging",
	"s3:PutObjectTagging", "s3:ListBucket", "s3:GetBucketLocation"}

// stateBucket is where stateS3 keeps the checkpoints in the tests that set it.
const stateBucket = "migrator-state"

func client(t *testing.T, m *testenv.MinIO, k testenv.Keys) *s3.Client {
	t.Helper()
	c, err := s3.New(s3.Options{Endpoint: m.Endpoint, Region: "us-east-1", CAFile: m.CAFile,
		AccessKey: k.AccessKey, SecretKey: k.SecretKey, SessionToken: k.SessionToken})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func root(m *testenv.MinIO) testenv.Keys {
	return testenv.Keys{AccessKey: m.AccessKey, SecretKey: m.SecretKey}
}

func run(t *testing.T, dst, src *s3.Client, endpoint string, dryRun bool, stateBucket string) (*preflight.Report, string) {
	t.Helper()
	rep, err := preflight.Run(context.Background(), dst, src, preflight.Options{
		Endpoint: endpoint, Region: "us-east-1", Buckets: pairs, StateBucket: stateBucket, DryRun: dryRun})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Logf("preflight:\n%s", out.String())
	return rep, out.String()
}

// expect checks rows by their check name and status, in the printed table as well.
func expect(t *testing.T, rep *preflight.Report, table string, want map[string]preflight.Status) {
	t.Helper()
	for check, st := range want {
		row, ok := rep.Row(check)
		if !ok {
			t.Errorf("no row %q", check)
			continue
		}
		if row.Status != st {
			t.Errorf("row %q: status %q (%s), want %q", check, row.Status, row.Do, st)
		}
		line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(check) + ` +` + regexp.QuoteMeta(string(st)) + `( !)? `)
		if !line.MatchString(table) {
			t.Errorf("printed table has no line %q ... %q", check, st)
		}
	}
}

func sourceBuckets(t *testing.T, m *testenv.MinIO) {
	t.Helper()
	m.MakeBuckets("mobs", "sessions-assets", "sourcemaps")
	// The lifecycle minio.sh ships (commented out): expire objects tagged for deletion.
	lc := lifecycle.NewConfiguration()
	lc.Rules = []lifecycle.Rule{{ID: "delete-tagged", Status: "Enabled",
		RuleFilter: lifecycle.Filter{Tag: lifecycle.Tag{Key: "to_delete_in_days", Value: "30"}},
		Expiration: lifecycle.Expiration{Days: 30}}}
	if err := m.Client().SetBucketLifecycle(context.Background(), "mobs", lc); err != nil {
		t.Fatal(err)
	}
}

func TestPreflightRootCreatesAndFixes(t *testing.T) {
	t.Parallel()
	m := testenv.StartMinIO(t)
	sourceBuckets(t, m)
	c := client(t, m, root(m))

	// A dry run first: it reports what it would do and changes nothing.
	rep, table := run(t, c, c, m.Endpoint, true, stateBucket)
	want := map[string]preflight.Status{"destination endpoint": preflight.Warn, "s3:PutObject": preflight.NotProbed}
	for _, d := range dests {
		want["bucket "+d] = preflight.WouldFix
		want["CORS "+d] = preflight.WouldFix
	}
	want["public read openreplay-assets"] = preflight.WouldFix
	want["state bucket "+stateBucket] = preflight.WouldFix
	expect(t, rep, table, want)
	for _, d := range append(dests, stateBucket) {
		if ok, err := m.Client().BucketExists(context.Background(), d); err != nil || ok {
			t.Fatalf("dry run: bucket %s exists=%v (%v)", d, ok, err)
		}
	}

	rep, table = run(t, c, c, m.Endpoint, false, stateBucket)
	want = map[string]preflight.Status{
		"destination endpoint":             preflight.Warn, // plain http
		"public read openreplay-assets":    preflight.Fixed,
		"not public openreplay-recordings": preflight.OK, "not public openreplay-sourcemaps": preflight.OK,
		"s3:DeleteObject": preflight.Granted, "s3:AbortMultipartUpload": preflight.Granted,
		"source mobs": preflight.OK, "lifecycle mobs": preflight.Warn, "lifecycle sourcemaps": preflight.OK,
		"state bucket " + stateBucket: preflight.Fixed,
	}
	for _, d := range dests {
		want["bucket "+d] = preflight.Fixed
		want["region "+d] = preflight.OK
		want["CORS "+d] = preflight.NA // MinIO: NotImplemented, server-wide CORS
	}
	for _, p := range guidePermissions {
		want[p] = preflight.Granted
	}
	expect(t, rep, table, want)
	if rep.Blocking() || !strings.Contains(table, "the copy can run") {
		t.Fatalf("root preflight blocks the copy:\n%s", table)
	}
	if row, _ := rep.Row("lifecycle mobs"); !strings.Contains(row.Do, "to_delete_in_days=30 expire after 30 days") {
		t.Errorf("lifecycle row does not describe the tag rule: %s", row.Do)
	}

	// Seen from outside: anyone may read the assets bucket, nobody else's.
	ctx := context.Background()
	mc := m.Client()
	for _, d := range append(dests, stateBucket) {
		if _, err := mc.PutObject(ctx, d, "1234567890123456/dom.mobs", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(m.Endpoint + "/" + d + "/1234567890123456/dom.mobs")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if public := resp.StatusCode == 200; public != (d == "openreplay-assets") {
			t.Errorf("anonymous GET on %s: %s", d, resp.Status)
		}
		// The probe cleaned up after itself: the key may delete and abort.
		for o := range mc.ListObjects(ctx, d, minio.ListObjectsOptions{Prefix: preflight.ProbePrefix, Recursive: true}) {
			t.Errorf("probe object left: %s/%s", d, o.Key)
		}
		testenv.AssertNoUploads(t, m, d)
	}

	// Again: everything is in place now, and nothing is fixed twice.
	rep, table = run(t, c, c, m.Endpoint, false, stateBucket)
	want = map[string]preflight.Status{"public read openreplay-assets": preflight.OK, "state bucket " + stateBucket: preflight.OK}
	for _, d := range dests {
		want["bucket "+d] = preflight.OK
	}
	expect(t, rep, table, want)
}

func TestPreflightRestrictedKey(t *testing.T) {
	t.Parallel()
	m := testenv.StartMinIO(t)
	sourceBuckets(t, m)
	m.MakeBuckets(dests...)
	keys := m.TempKeys(testenv.Policy(guideOnMinIO, dests...))
	rep, table := run(t, client(t, m, keys), client(t, m, root(m)), m.Endpoint, false, "")
	want := map[string]preflight.Status{
		"public read openreplay-assets":    preflight.CannotFix, // no s3:PutBucketPolicy
		"not public openreplay-recordings": preflight.OK,
		"s3:DeleteObject":                  preflight.Denied,
		"s3:AbortMultipartUpload":          preflight.Denied,
	}
	for _, d := range dests {
		want["bucket "+d] = preflight.OK
		want["region "+d] = preflight.OK
		want["CORS "+d] = preflight.NA
	}
	for _, p := range guidePermissions {
		want[p] = preflight.Granted
	}
	expect(t, rep, table, want)
	if rep.Blocking() {
		t.Fatalf("the guide's permissions are enough to copy, yet preflight blocks:\n%s", table)
	}
	del, _ := rep.Row("s3:DeleteObject")
	if !strings.Contains(del.Do, "the guide grants none") || !strings.Contains(del.Do, "openreplay-assets/"+preflight.ProbePrefix) {
		t.Errorf("DeleteObject row does not say the probe stays and why: %s", del.Do)
	}
	abort, _ := rep.Row("s3:AbortMultipartUpload")
	if !strings.Contains(abort.Do, "AbortIncompleteMultipartUpload") {
		t.Errorf("AbortMultipartUpload row recommends no lifecycle rule: %s", abort.Do)
	}

	// stateS3 names a bucket outside the key's policy: the checkpoints could not be
	// saved, so that row blocks and says what to grant.
	m.MakeBuckets(stateBucket)
	rep, table = run(t, client(t, m, keys), client(t, m, root(m)), m.Endpoint, false, stateBucket)
	expect(t, rep, table, map[string]preflight.Status{"state bucket " + stateBucket: preflight.Unknown})
	if row, _ := rep.Row("state bucket " + stateBucket); !rep.Blocking() || !strings.Contains(row.Do, "s3:PutObject and s3:DeleteObject") {
		t.Errorf("a state bucket the key may not use: blocking %v, row %q", rep.Blocking(), row.Do)
	}

	// A key without s3:PutObject cannot copy: that row blocks, and the exit says so.
	keys = m.TempKeys(testenv.Policy([]string{"s3:ListBucket", "s3:GetObject", "s3:GetBucketLocation"}, dests...))
	rep, table = run(t, client(t, m, keys), client(t, m, root(m)), m.Endpoint, false, "")
	expect(t, rep, table, map[string]preflight.Status{
		"s3:PutObject": preflight.Denied, "s3:PutObjectTagging": preflight.Denied,
		"s3:GetObject": preflight.Granted, "s3:GetObjectTagging": preflight.Denied,
		"public read openreplay-assets": preflight.CannotFix,
	})
	if row, _ := rep.Row("s3:PutObject"); !row.Blocking || !rep.Blocking() || !strings.Contains(table, "cannot run") {
		t.Fatalf("a key that cannot write does not block the copy:\n%s", table)
	}
}
