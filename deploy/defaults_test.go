package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
)

// The chart's defaults fit a standard OpenReplay install: the source is the databases
// chart's MinIO, and the bucket map has every bucket OpenReplay's vars.yaml names in
// global.s3 (the cutover refuses a config that leaves one unmentioned).
func TestChartDefaultsFitOpenReplay(t *testing.T) {
	m := render(t, "")
	w := workloads(t, m)[0]
	cfg := loadPodConfig(t, m, w, w.pod.Spec.Containers[0])
	if cfg.Source.Endpoint != "http://minio.db.svc.cluster.local:9000" {
		t.Errorf("default source %s: want OpenReplay's in-cluster MinIO", cfg.Source.Endpoint)
	}

	// Read in place, never copied into the project (see shared/openreplay/FACTS.md).
	vars := filepath.Join(testenv.RepoRoot(t), "..", "shared", "openreplay", "vars.yaml")
	data, err := os.ReadFile(vars)
	if os.IsNotExist(err) {
		t.Skipf("skipping the bucket check: OpenReplay's vars.yaml is not at %s (the ../shared checkout beside the repository is missing)", vars)
	}
	if err != nil {
		t.Fatal(err)
	}
	// The installer replaces its {{ randAlphaNum 20 }} placeholders with keys; do the same.
	data = regexp.MustCompile(`\{\{[^}]*\}\}`).ReplaceAll(data, []byte("installedkey"))
	st, err := openreplay.ParseStorage(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Buckets) == 0 {
		t.Fatalf("%s names no bucket", vars)
	}
	for _, b := range st.Buckets {
		if cfg.Buckets[b.Name] == "" {
			t.Errorf("global.s3.%s = %q is not copied by the chart's default bucket map %v", b.Key, b.Name, cfg.Buckets)
		}
	}
}
