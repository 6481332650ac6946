package cutover

import "testing"

// The diff shows where each change sits: two unchanged lines around it, nearby changes in
// one hunk, and no secret even in a context line.
func TestDiffShowsContextAndRedacts(t *testing.T) {
	before := "a: 1\nminio:\n  accessKey: &accessKey \"minio-root\"\nglobal:\n  s3:\n    region: us-east-1\n    endpoint: http://minio.db.svc.cluster.local:9000\n    assetsBucket: sessions-assets\n    accessKey: *accessKey\nz: 9\n"
	after := "a: 1\nminio:\n  accessKey: &accessKey \"minio-root\"\nglobal:\n  s3:\n    region: eu-west-1\n    endpoint: https://s3.eu-west-1.amazonaws.com\n    assetsBucket: sessions-assets\n    accessKey: \"AKIANEW\"\nz: 9\n"
	want := "@@ -4,7 +4,7 @@\n" +
		" global:\n" +
		"   s3:\n" +
		"-    region: us-east-1\n" +
		"-    endpoint: http://minio.db.svc.cluster.local:9000\n" +
		"+    region: eu-west-1\n" +
		"+    endpoint: https://s3.eu-west-1.amazonaws.com\n" +
		"     assetsBucket: sessions-assets\n" +
		"-    accessKey: *accessKey\n" +
		"+    accessKey: \"[redacted]\"\n" +
		" z: 9\n"
	if got := Diff([]byte(before), []byte(after)); got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	// A change next to MinIO's own anchored key: the context line is redacted too.
	got := Diff([]byte("minio:\n  accessKey: &accessKey \"minio-root\"\n  enabled: true\n"), []byte("minio:\n  accessKey: &accessKey \"minio-root\"\n  enabled: false\n"))
	if want := "@@ -1,3 +1,3 @@\n minio:\n   accessKey: \"[redacted]\"\n-  enabled: true\n+  enabled: false\n"; got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
}
