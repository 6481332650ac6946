package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// After a cutover vars.yaml names the destination; the source must come from what
// cutover kept, with keys from the environment still winning.
func TestApplySourcePrefersWhatCutoverKept(t *testing.T) {
	dir := t.TempDir()
	vars := filepath.Join(dir, "vars.yaml")
	afterCutover := "global:\n  s3:\n    region: \"eu-west-1\"\n    endpoint: \"https://s3.eu-west-1.amazonaws.com\"\n" +
		"    recordingsBucket: \"or-recordings\"\n    accessKey: \"DEST\"\n    secretKey: \"DESTSECRET\"\n"
	if err := os.WriteFile(vars, []byte(afterCutover), 0o644); err != nil {
		t.Fatal(err)
	}
	kept := &SavedSource{VarsPath: vars, Endpoint: "http://minio.db.svc.cluster.local:9000", Region: "us-east-1",
		AccessKey: "SRC", SecretKey: "SRCSECRET", Buckets: []SavedBucket{{Key: "recordingsBucket", Name: "mobs"}}}
	if err := SaveSource(dir, kept); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, SourceCredentialsFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kept file: %v %v", fi, err)
	}

	c := &Config{StateDir: dir, Buckets: map[string]string{"mobs": "or-recordings"}}
	c.Source.SecretKey = "FROMENV"
	saved, err := c.ApplySource(vars)
	if err != nil || !saved {
		t.Fatalf("ApplySource: %v, %v", saved, err)
	}
	if c.Source.Endpoint != kept.Endpoint || c.Source.Region != "us-east-1" || c.Source.AccessKey != "SRC" || c.Source.SecretKey != "FROMENV" {
		t.Fatalf("source: %+v", c.Source)
	}

	c = &Config{StateDir: dir, Buckets: map[string]string{"or-recordings": "x"}}
	if _, err := c.ApplySource(vars); err == nil || !strings.Contains(err.Error(), `"mobs" (global.s3.recordingsBucket before the cutover)`) {
		t.Fatalf("an unmapped kept bucket: %v", err)
	}

	// Without the kept file (no cutover, or rolled back), vars.yaml is the source.
	if err := ForgetSource(dir); err != nil {
		t.Fatal(err)
	}
	c = &Config{StateDir: dir, Buckets: map[string]string{"or-recordings": "x"}}
	if saved, err := c.ApplySource(vars); err != nil || saved || c.Source.Endpoint != "https://s3.eu-west-1.amazonaws.com" {
		t.Fatalf("without a kept file: %v %v %+v", saved, err, c.Source)
	}
	if err := ForgetSource(dir); err != nil {
		t.Fatalf("forgetting twice: %v", err)
	}
}
