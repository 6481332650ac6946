package openreplay

import (
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseStorageFixtures(t *testing.T) {
	tests := []struct {
		file string
		want Storage
	}{
		{
			file: "vars-installed.yaml",
			want: Storage{
				Endpoint:  "http://minio.db.svc.cluster.local:9000",
				Region:    "us-east-1",
				AccessKey: "Xq7RmfTz1LbK9wPzA0cE", // through *accessKey to the MinIO anchor
				SecretKey: "Hn4sVg8JtQ2yWc6pLk0R",
				Buckets: []Bucket{
					{"assetsBucket", "sessions-assets"}, {"recordingsBucket", "mobs"},
					{"sourcemapsBucket", "sourcemaps"}, {"spotsBucket", "spots"},
					{"assistRecordsBucket", "records"}, {"vaultBucket", "vault-data"},
				},
				DomainName: "openreplay.example.org",
				Minio:      BundledMinio{Declared: true, Enabled: true},
			},
		},
		{
			file: "vars-2022.yaml",
			want: Storage{
				Endpoint:  "http://minio.db.svc.cluster.local:9000",
				Region:    "us-east-1",
				AccessKey: "fixtureMinioAccess2022",
				SecretKey: "fixtureMinioSecret2022/abc",
				Buckets: []Bucket{
					{"assetsBucket", "sessions-assets"}, {"recordingsBucket", "mobs"},
					{"sourcemapsBucket", "sourcemaps"}, {"vaultBucket", "vault-data"},
					{"quickwitBucket", "quickwit"},
				},
				DomainName: "replay.example.com",
				Minio:      BundledMinio{Declared: true, Enabled: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ReadStorage(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.Access == (PublicAccess{}) {
				tt.want.Access = chartAccess
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParseStorageCases(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want Storage
	}{
		{
			name: "empty endpoint means AWS with IAM roles",
			yaml: "global:\n  s3:\n    region: eu-west-3\n    endpoint: \"\"\n    recordingsBucket: rec\n",
			want: Storage{Endpoint: "https://s3.eu-west-3.amazonaws.com", Region: "eu-west-3", Buckets: []Bucket{{"recordingsBucket", "rec"}}},
		},
		{
			name: "missing endpoint also means AWS",
			yaml: "global:\n  s3:\n    region: eu-west-3\n",
			want: Storage{Endpoint: "https://s3.eu-west-3.amazonaws.com", Region: "eu-west-3"},
		},
		{
			name: "null and empty bucket names are skipped",
			yaml: "global:\n  s3:\n    region: r\n    endpoint: https://e\n    assetsBucket:\n    spotsBucket: ''\n    vaultBucket: ~\n    mobsBucket: m\n",
			want: Storage{Endpoint: "https://e", Region: "r", Buckets: []Bucket{{"mobsBucket", "m"}}},
		},
		{
			name: "existingSecret tolerates uninstalled key templates",
			yaml: "global:\n  s3:\n    region: r\n    endpoint: https://e\n    existingSecret: s3-keys\n    accessKey: \"{{ randAlphaNum 20 }}\"\n    secretKey: \"{{ randAlphaNum 20 }}\"\n",
			want: Storage{Endpoint: "https://e", Region: "r", ExistingSecret: "s3-keys"},
		},
		{
			name: "assetsOrigin and domainName through aliases",
			yaml: "d: &d example.net\nglobal:\n  domainName: *d\n  assetsOrigin: https://cdn.example.net/assets\n  s3:\n    region: r\n",
			want: Storage{Endpoint: "https://s3.r.amazonaws.com", Region: "r", DomainName: "example.net", AssetsOrigin: "https://cdn.example.net/assets"},
		},
		{
			name: "CRLF line endings",
			yaml: "global:\r\n  s3:\r\n    region: \"r\"\r\n    endpoint: https://e # comment\r\n    accessKey: 'a''b'\r\n    secretKey: \"s\\\"t\"\r\n",
			want: Storage{Endpoint: "https://e", Region: "r", AccessKey: "a'b", SecretKey: `s"t`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStorage([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.Access == (PublicAccess{}) {
				tt.want.Access = chartAccess
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

// leakMarker appears in every secret the broken inputs hold; no error may show it.
const leakMarker = "LEAKCHECK"

func TestParseStorageErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string // under testdata, read with ReadStorage
		yaml    string // or inline, read with ParseStorage
		wantAll []string
	}{
		{name: "missing file", file: "no-such-vars.yaml", wantAll: []string{"no-such-vars.yaml", "not found", InstalledVarsPath}},
		{name: "not YAML", file: "broken-not-yaml.yaml", wantAll: []string{"broken-not-yaml.yaml", "not valid YAML", "line "}},
		{name: "no global", file: "broken-no-global.yaml", wantAll: []string{"no top-level global"}},
		{name: "no s3", file: "broken-no-s3.yaml", wantAll: []string{"global (line 1) has no s3"}},
		{name: "s3 is a list", file: "broken-s3-list.yaml", wantAll: []string{"global.s3 (line 2)", "list", "not a mapping"}},
		{name: "no region", file: "broken-no-region.yaml", wantAll: []string{"global.s3.region is missing"}},
		{name: "template key", file: "broken-template.yaml", wantAll: []string{"global.s3.secretKey", "template", InstalledVarsPath}},
		{name: "secret is a mapping", file: "broken-secret-mapping.yaml", wantAll: []string{"global.s3.secretKey (line 5)", "mapping", "single value"}},
		{name: "empty", yaml: "", wantAll: []string{"empty"}},
		{name: "only comments", yaml: "# nothing\n", wantAll: []string{"empty"}},
		{name: "top level list", yaml: "- a\n- b\n", wantAll: []string{"top level", "list"}},
		{name: "global scalar", yaml: "global: LEAKCHECK\n", wantAll: []string{"global (line 1) is not a mapping"}},
		{name: "s3 null", yaml: "global:\n  s3:\n", wantAll: []string{"global.s3 (line 2)", "not a mapping"}},
		{name: "empty region", yaml: "global:\n  s3:\n    region: \"\"\n    secretKey: LEAKCHECK\n", wantAll: []string{"global.s3.region is empty"}},
		{name: "duplicate key", yaml: "global:\n  s3:\n    region: a\n    secretKey: LEAKCHECK1\n    secretKey: LEAKCHECK2\n", wantAll: []string{"global.s3.secretKey appears twice", "lines 4 and 5"}},
		{name: "duplicate global", yaml: "global:\n  s3: {}\nglobal:\n  x: 1\n", wantAll: []string{"global appears twice"}},
		{name: "merge key in s3", yaml: "b: &b {secretKey: LEAKCHECK}\nglobal:\n  s3:\n    <<: *b\n    region: r\n", wantAll: []string{"merge key", "line 4"}},
		{name: "merge key in global", yaml: "b: &b {s3: {region: r}}\nglobal:\n  <<: *b\n", wantAll: []string{"no s3 section", "merge"}},
		{name: "bucket is a list", yaml: "global:\n  s3:\n    region: r\n    mobsBucket: [a, b]\n", wantAll: []string{"global.s3.mobsBucket (line 4)", "list"}},
		{name: "domainName is a mapping", yaml: "global:\n  domainName: {a: b}\n  s3:\n    region: r\n", wantAll: []string{"global.domainName (line 2)", "mapping"}},
		{name: "template access key", yaml: "global:\n  s3:\n    region: r\n    accessKey: \"{{ randAlphaNum 20 }}LEAKCHECK\"\n", wantAll: []string{"global.s3.accessKey", "installed copy " + InstalledVarsPath}},
		{name: "bad tag value is hidden", yaml: "global:\n  s3:\n    region: r\n    secretKey: !!int LEAKCHECK\n  x: [\n", wantAll: []string{"not valid YAML"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.file != "" {
				_, err = ReadStorage(filepath.Join("testdata", tt.file))
			} else {
				_, err = ParseStorage([]byte(tt.yaml))
			}
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, want := range tt.wantAll {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
			if strings.Contains(msg, leakMarker) || strings.Contains(msg, "randAlphaNum") {
				t.Errorf("error shows a secret or template value: %q", msg)
			}
		})
	}
}

func TestReadStorageMissingIsNotExist(t *testing.T) {
	_, err := ReadStorage(filepath.Join(t.TempDir(), "vars.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want an fs.ErrNotExist error", err)
	}
}

// The repository's vars.yaml is the chart template: its keys are
// placeholders, so reading it must point at the installed copy.
func TestParseStorageRealTemplate(t *testing.T) {
	data := readReal(t)
	_, err := ParseStorage(data)
	if err == nil {
		t.Fatal("the uninstalled chart vars.yaml parsed without error")
	}
	for _, want := range []string{"global.s3.accessKey", InstalledVarsPath} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "randAlphaNum") {
		t.Errorf("error shows the key value: %q", err)
	}
}

// An installed copy is the chart template with the placeholders filled in.
func TestParseStorageRealInstalled(t *testing.T) {
	data := strings.ReplaceAll(string(readReal(t)), `accessKey: &accessKey "{{ randAlphaNum 20 }}"`, `accessKey: &accessKey "installedAccess"`)
	data = strings.ReplaceAll(data, `secretKey: &secretKey "{{ randAlphaNum 20 }}"`, `secretKey: &secretKey "installedSecret"`)
	got, err := ParseStorage([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := Storage{
		Endpoint: "http://minio.db.svc.cluster.local:9000", Region: "us-east-1",
		AccessKey: "installedAccess", SecretKey: "installedSecret",
		Buckets: []Bucket{
			{"assetsBucket", "sessions-assets"}, {"recordingsBucket", "mobs"}, {"sourcemapsBucket", "sourcemaps"},
			{"spotsBucket", "spots"}, {"assistRecordsBucket", "records"}, {"vaultBucket", "vault-data"},
		},
		Access: chartAccess,
		Minio:  BundledMinio{Declared: true, Enabled: true},
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("got  %+v\nwant %+v", *got, want)
	}
}

// chartAccess is what a file that does not say otherwise reads as: the chart's defaults.
var chartAccess = PublicAccess{Secure: true, HTTPPort: "80", HTTPSPort: "443"}
