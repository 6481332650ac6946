package cutover

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// With DisableMinio the cutover writes minio.enabled: false in the same edit, shows it
// in the diff, and the check that nothing else changed still holds for the rest.
func TestCutoverDisableMinioChangesThatKeyOnly(t *testing.T) {
	b := newBench(t)
	co := b.cutover()
	co.Dest.DisableMinio = true
	res, err := co.Run(context.Background())
	if err != nil {
		t.Fatalf("cutover: %v\n%s", err, b.out.String())
	}
	if !strings.Contains(res.Diff, "-  enabled: true\n+  enabled: false\n") {
		t.Errorf("diff does not show minio.enabled:\n%s", res.Diff)
	}
	if res.Before.Minio.Enabled != true || res.After.Minio.Enabled || !res.After.Minio.Declared {
		t.Errorf("minio before %+v, after %+v", res.Before.Minio, res.After.Minio)
	}
	restored := strings.Replace(b.varsNow(), "  enabled: false\n", "  enabled: true\n", 1)
	if err := onlyS3Changed([]byte(varsFixture), []byte(restored), false); err != nil {
		t.Errorf("outside minio.enabled and global.s3 the file changed: %v", err)
	}
}

func TestOnlyS3ChangedAllowsMinioEnabledOnlyWhenAsked(t *testing.T) {
	before := []byte(varsFixture)
	after := bytes.Replace(before, []byte("  enabled: true\n"), []byte("  enabled: false\n"), 1)
	if bytes.Equal(before, after) {
		t.Fatal("fixture has no minio enabled: true line")
	}
	if err := onlyS3Changed(before, after, false); err == nil {
		t.Error("minio.enabled changed without DisableMinio, and passed")
	}
	if err := onlyS3Changed(before, after, true); err != nil {
		t.Error(err)
	}
	other := bytes.Replace(before, []byte(`"postgresql.db.svc.cluster.local"`), []byte(`"elsewhere"`), 1)
	if err := onlyS3Changed(before, other, true); err == nil {
		t.Error("an edit of postgresql passed with DisableMinio")
	}
}
