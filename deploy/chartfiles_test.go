package deploy

import (
	"bytes"
	"os"
	"testing"
)

// Helm reads only files inside the chart, so the chart carries copies of the dashboard and
// the alert rules; the files outside it are the ones their own tests check.
const (
	canonicalDashboard = "../dashboards/openreplay-migrator.json"
	canonicalRules     = "alerts/openreplay-migrator.rules.yaml"
)

func TestChartFilesAreCopies(t *testing.T) {
	for canonical, inChart := range map[string]string{
		canonicalDashboard: chartDir + "/files/openreplay-migrator.json",
		canonicalRules:     chartDir + "/files/openreplay-migrator.rules.yaml",
	} {
		want, err := os.ReadFile(canonical)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(inChart)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("deploy/%s differs from deploy/%s: run `make chart-files` (or cp deploy/%s deploy/%s)", inChart, canonical, canonical, inChart)
		}
	}
}
