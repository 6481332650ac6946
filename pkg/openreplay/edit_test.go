package openreplay

import (
	"bytes"
	"strings"
	"testing"
)

// awsDest is a typical cutover target: AWS S3 with a dedicated key.
var awsDest = Destination{
	Endpoint:  "https://s3.eu-central-1.amazonaws.com",
	Region:    "eu-central-1",
	AccessKey: "AKIADESTEXAMPLE00001",
	SecretKey: "dest+Secret/Key=0001",
	Buckets: map[string]string{
		"recordingsBucket": "openreplay-recordings",
		"assetsBucket":     "openreplay-assets",
		"sourcemapsBucket": "openreplay-sourcemaps",
	},
}

// secretDest is the same target with credentials held in a Kubernetes Secret.
var secretDest = Destination{
	Endpoint:       "https://storage.googleapis.com",
	Region:         "europe-west1",
	ExistingSecret: "openreplay-gcs-keys",
	Buckets: map[string]string{
		"recordingsBucket": "or-recordings",
		"spotsBucket":      "or-spots",
		"quickwitBucket":   "or-quickwit",
	},
}

func TestEditStorageGolden(t *testing.T) {
	tests := []struct {
		golden string
		input  func(testing.TB) []byte
		dest   Destination
	}{
		{"real-plain.golden", readReal, awsDest},
		{"real-existing-secret.golden", readReal, secretDest},
		{"vars-2022-plain.golden", fixture("vars-2022.yaml"), awsDest},
		{"vars-2022-existing-secret.golden", fixture("vars-2022.yaml"), secretDest},
		{"vars-installed-plain.golden", fixture("vars-installed.yaml"), awsDest},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			in := tt.input(t)
			out, err := EditStorage(in, tt.dest)
			if err != nil {
				t.Fatal(err)
			}
			diff, _, _ := diffLines(in, out)
			checkGolden(t, tt.golden, diff)
			assertOnlyS3Changed(t, in, out)
			if decodedOutsideS3(t, in) != decodedOutsideS3(t, out) {
				t.Error("content outside global.s3 changed")
			}
			got, err := ParseStorage(out)
			if err != nil {
				t.Fatalf("edited file does not read back: %v", err)
			}
			assertDestination(t, got, tt.dest)
			if a, b := comments(in), comments(out); a != b {
				t.Errorf("comments changed:\n%s\n---\n%s", a, b)
			}
		})
	}
}

func fixture(name string) func(testing.TB) []byte {
	return func(tb testing.TB) []byte { return readFixture(tb, name) }
}

func assertDestination(t *testing.T, got *Storage, d Destination) {
	t.Helper()
	wantEndpoint := d.Endpoint
	if wantEndpoint == "" {
		wantEndpoint = awsEndpoint(d.Region)
	}
	if got.Endpoint != wantEndpoint || got.Region != d.Region || got.ExistingSecret != d.ExistingSecret {
		t.Errorf("read back endpoint %q region %q existingSecret %q", got.Endpoint, got.Region, got.ExistingSecret)
	}
	if d.ExistingSecret == "" && (got.AccessKey != d.AccessKey || got.SecretKey != d.SecretKey) {
		t.Error("keys did not read back as written")
	}
	for k, name := range d.Buckets {
		if got.Bucket(k) != name {
			t.Errorf("%s reads back as %q, want %q", k, got.Bucket(k), name)
		}
	}
}

// comments returns every comment line, in order.
func comments(data []byte) string {
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "#") {
			out = append(out, t)
		}
	}
	return strings.Join(out, "\n")
}

// The alias in global.s3 gives way to the new key while MinIO's anchor, and
// every other alias in the file, stays as it was.
func TestEditStorageAliases(t *testing.T) {
	for _, tt := range []struct {
		name      string
		input     func(testing.TB) []byte
		minioKeys []any
	}{
		{"real", readReal, []any{"{{ randAlphaNum 20 }}", "{{ randAlphaNum 20 }}"}},
		{"installed", fixture("vars-installed.yaml"), []any{"Xq7RmfTz1LbK9wPzA0cE", "Hn4sVg8JtQ2yWc6pLk0R"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.input(t)
			out, err := EditStorage(in, awsDest)
			if err != nil {
				t.Fatal(err)
			}
			for i, key := range []string{"accessKey", "secretKey"} {
				if got := lookupPath(t, out, "minio", "global", "minio", key); got != tt.minioKeys[i] {
					t.Errorf("minio.global.minio.%s changed to %v", key, got)
				}
				if !bytes.Contains(out, []byte(key+": &"+key+" ")) {
					t.Errorf("anchor &%s is gone", key)
				}
				if bytes.Contains(out, []byte(key+": *"+key)) {
					t.Errorf("global.s3.%s is still an alias", key)
				}
			}
			for _, line := range []string{`    accessKey: "AKIADESTEXAMPLE00001"`, `    secretKey: "dest+Secret/Key=0001"`, "  postgresql: *postgres", "  redis: *redis", "postgresql: &postgres"} {
				if !bytes.Contains(out, []byte(line+"\n")) {
					t.Errorf("output lacks line %q", line)
				}
			}
			if got := lookupPath(t, out, "global", "postgresql", "postgresqlPort"); got != "5432" {
				t.Errorf("global.postgresql no longer follows &postgres: %v", got)
			}
		})
	}
}

// With ExistingSecret the aliases of MinIO's key in global.s3 are emptied (jobs that
// read them literally must not get MinIO's key for the new endpoint); the anchors,
// MinIO's own credential, stay as they were.
func TestEditStorageExistingSecretEmptiesKeys(t *testing.T) {
	in := readFixture(t, "vars-installed.yaml")
	out, err := EditStorage(in, secretDest)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"    accessKey: \"\"\n    secretKey: \"\"\n    existingSecret: \"openreplay-gcs-keys\"\n",
		"      accessKey: &accessKey \"Xq7RmfTz1LbK9wPzA0cE\"\n      secretKey: &secretKey \"Hn4sVg8JtQ2yWc6pLk0R\"\n",
	} {
		if !bytes.Contains(out, []byte(line)) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
	got, err := ParseStorage(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKey != "" || got.SecretKey != "" {
		t.Error("global.s3 still reads a key with existingSecret set")
	}
	if v := lookupPath(t, out, "minio", "global", "minio", "accessKey"); v != "Xq7RmfTz1LbK9wPzA0cE" {
		t.Errorf("MinIO's own accessKey became %v", v)
	}
}

// Each value keeps the quoting the operator used for it.
func TestEditStorageKeepsQuotingStyle(t *testing.T) {
	in := readFixture(t, "vars-2022.yaml")
	d := awsDest
	d.SecretKey = "it's/a+key"
	out, err := EditStorage(in, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"    region: 'eu-central-1'   # keep us-east-1 for the bundled MinIO\n",
		"    endpoint: \"https://s3.eu-central-1.amazonaws.com\"\n",
		"    assetsBucket: openreplay-assets\n",
		"    recordingsBucket: \"openreplay-recordings\"\n",
		"    sourcemapsBucket: 'openreplay-sourcemaps'\n",
		"    secretKey: 'it''s/a+key' # same as minio's\n",
	} {
		if !bytes.Contains(out, []byte(line)) {
			t.Errorf("output lacks %q", line)
		}
	}
}

func TestEditStorageCases(t *testing.T) {
	tests := []struct {
		name string
		in   string
		dest Destination
		want string
	}{
		{
			name: "missing keys are added beside their kin",
			in:   "global:\n  s3:\n    region: us-east-1\n    endpoint: http://minio:9000\n    recordingsBucket: mobs\n    # keys\n    accessKey: a\n    secretKey: b\n  domainName: x\n",
			dest: Destination{Region: "us-east-1", Endpoint: "http://minio:9000", ExistingSecret: "keys", Buckets: map[string]string{"spotsBucket": "spots2", "assetsBucket": "assets2"}},
			want: "global:\n  s3:\n    region: us-east-1\n    endpoint: http://minio:9000\n    recordingsBucket: mobs\n    assetsBucket: \"assets2\"\n    spotsBucket: \"spots2\"\n    # keys\n    accessKey: \"\"\n    secretKey: \"\"\n    existingSecret: \"keys\"\n  domainName: x\n",
		},
		{
			name: "missing region and endpoint go first",
			in:   "global:\n  s3:\n    # buckets\n    recordingsBucket: mobs\n",
			dest: Destination{Region: "r1", Endpoint: "https://e", AccessKey: "k", SecretKey: "s"},
			want: "global:\n  s3:\n    # buckets\n    region: \"r1\"\n    endpoint: \"https://e\"\n    recordingsBucket: mobs\n    accessKey: \"k\"\n    secretKey: \"s\"\n",
		},
		{
			name: "no final line break",
			in:   "global:\n  s3:\n    region: r\n    secretKey: s",
			dest: Destination{Region: "r", Endpoint: "https://e", AccessKey: "k", SecretKey: "s"},
			want: "global:\n  s3:\n    region: r\n    endpoint: \"https://e\"\n    secretKey: s\n    accessKey: \"k\"",
		},
		{
			name: "empty values are filled in",
			in:   "global:\n  s3:\n    region: r\n    endpoint:   # empty means AWS\n    accessKey:\n    secretKey: ~\n",
			dest: Destination{Region: "r", Endpoint: "https://e", AccessKey: "k", SecretKey: "s"},
			want: "global:\n  s3:\n    region: r\n    endpoint: \"https://e\"   # empty means AWS\n    accessKey: \"k\"\n    secretKey: s\n",
		},
		{
			name: "plain keys blank a previous existingSecret",
			in:   "global:\n  s3:\n    region: r\n    endpoint: https://e\n    existingSecret: old-secret\n    accessKey: a\n    secretKey: b\n",
			dest: Destination{Region: "r", Endpoint: "https://e", AccessKey: "k", SecretKey: "s"},
			want: "global:\n  s3:\n    region: r\n    endpoint: https://e\n    existingSecret: \"\"\n    accessKey: k\n    secretKey: s\n",
		},
		{
			name: "empty endpoint for IAM roles, no keys",
			in:   "global:\n  s3:\n    region: r\n    endpoint: \"http://minio.db.svc.cluster.local:9000\"\n    accessKey: \"a\"\n    secretKey: \"b\"\n",
			dest: Destination{Region: "r"},
			want: "global:\n  s3:\n    region: r\n    endpoint: \"\"\n    accessKey: \"\"\n    secretKey: \"\"\n",
		},
		{
			name: "awkward values are escaped",
			in:   "global:\n  s3:\n    region: r\n    accessKey: a\n    secretKey: 'b'\n    endpoint: e\n",
			dest: Destination{Region: "r", Endpoint: "https://e:9000/x #y", AccessKey: "true", SecretKey: "tab\there\u2028\"q\"\\"},
			want: "global:\n  s3:\n    region: r\n    accessKey: \"true\"\n    secretKey: \"tab\\there\\u2028\\\"q\\\"\\\\\"\n    endpoint: \"https://e:9000/x #y\"\n",
		},
		{
			name: "anchors and tags on a value stay",
			in:   "global:\n  s3:\n    region: r\n    endpoint: &ep !!str e\n    accessKey: a\n    secretKey: b\n",
			dest: Destination{Region: "r", Endpoint: "https://e", AccessKey: "a", SecretKey: "b"},
			want: "global:\n  s3:\n    region: r\n    endpoint: &ep !!str https://e\n    accessKey: a\n    secretKey: b\n",
		},
		{
			name: "value on the line after its key",
			in:   "global:\n  s3:\n    region:\n      r0\n    accessKey: a\n    secretKey: b\n",
			dest: Destination{Region: "r1", Endpoint: "e", AccessKey: "a", SecretKey: "b"},
			want: "global:\n  s3:\n    region:\n      r1\n    endpoint: \"e\"\n    accessKey: a\n    secretKey: b\n",
		},
		{
			name: "already in place is a no-op",
			in:   "global:\n  s3:\n    region: 'r'   # here\n    endpoint: \"https://e\"\n    accessKey: k\n    secretKey: s\n    mobsBucket: m\n",
			dest: Destination{Region: "r", Endpoint: "https://e", AccessKey: "k", SecretKey: "s", Buckets: map[string]string{"mobsBucket": "m"}},
			want: "global:\n  s3:\n    region: 'r'   # here\n    endpoint: \"https://e\"\n    accessKey: k\n    secretKey: s\n    mobsBucket: m\n",
		},
		{
			name: "non-ASCII before the value",
			in:   "global:\n  s3:\n    région: x\n    region: \"é\" # ü\n    accessKey: a\n    secretKey: b\n    endpoint: e\n",
			dest: Destination{Region: "ü-1", Endpoint: "e", AccessKey: "a", SecretKey: "b"},
			want: "global:\n  s3:\n    région: x\n    region: \"ü-1\" # ü\n    accessKey: a\n    secretKey: b\n    endpoint: e\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := EditStorage([]byte(tt.in), tt.dest)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", out, tt.want)
			}
		})
	}
}

func TestEditStorageNoOpIsIdentical(t *testing.T) {
	in := readFixture(t, "vars-2022.yaml")
	d := Destination{
		Endpoint: "http://minio.db.svc.cluster.local:9000", Region: "us-east-1",
		AccessKey: "fixtureMinioAccess2022", SecretKey: "fixtureMinioSecret2022/abc",
		Buckets: map[string]string{"recordingsBucket": "mobs", "quickwitBucket": "quickwit"},
	}
	out, err := EditStorage(in, d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in, out) {
		t.Errorf("unchanged destination changed the file:\n%s", out)
	}
}

// A CRLF file comes out as the LF result would, with CRLF kept throughout.
func TestEditStorageCRLF(t *testing.T) {
	toCRLF := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }
	for _, name := range []string{"vars-2022.yaml", "vars-installed.yaml"} {
		for _, d := range []Destination{awsDest, secretDest} {
			in := readFixture(t, name)
			lf, err := EditStorage(in, d)
			if err != nil {
				t.Fatal(err)
			}
			crlf, err := EditStorage(toCRLF(in), d)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(crlf, toCRLF(lf)) {
				t.Errorf("%s: CRLF result differs from the LF one:\n%q", name, crlf)
			}
		}
	}
}

func TestEditStorageErrors(t *testing.T) {
	const ok = "global:\n  s3:\n    region: r\n    accessKey: LEAKCHECKa\n    secretKey: LEAKCHECKs\n"
	tests := []struct {
		name    string
		in      string
		dest    Destination
		wantAll []string
	}{
		{name: "not YAML", in: "global:\n  s3: [\n", dest: awsDest, wantAll: []string{"not valid YAML", "line"}},
		{name: "no global", in: "s3:\n  region: r\n", dest: awsDest, wantAll: []string{"no top-level global"}},
		{name: "no s3", in: "global:\n  x: 1\n", dest: awsDest, wantAll: []string{"has no s3 section"}},
		{name: "s3 not a mapping", in: "global:\n  s3: LEAKCHECK\n", dest: awsDest, wantAll: []string{"global.s3 (line 2)", "not a mapping"}},
		{name: "not UTF-8", in: "global:\n  s3:\n    region: \xff\n", dest: awsDest, wantAll: []string{"UTF-8"}},
		{name: "flow s3", in: "global:\n  s3: {region: r, secretKey: LEAKCHECK}\n", dest: awsDest, wantAll: []string{"global.s3 (line 2)", "inline", "block"}},
		{name: "s3 is an alias", in: "base: &base\n  region: r\n  secretKey: LEAKCHECK\nglobal:\n  s3: *base\n", dest: awsDest, wantAll: []string{"global.s3 (line 5) is an alias (*base)"}},
		{name: "global is an alias", in: "g: &g\n  s3:\n    region: r\nglobal: *g\n", dest: awsDest, wantAll: []string{"global (line 4) is an alias (*g)"}},
		{name: "anchor in s3 used elsewhere", in: "global:\n  s3:\n    region: r\n    recordingsBucket: &rb mobs\n  other: *rb\n", dest: awsDest, wantAll: []string{"global.s3.recordingsBucket", "&rb", "line 5"}},
		{name: "s3 anchored and used elsewhere", in: "global:\n  s3: &s3\n    region: r\n  copy: *s3\n", dest: awsDest, wantAll: []string{"global.s3 carries anchor &s3", "line 4"}},
		{name: "block scalar secret", in: "global:\n  s3:\n    region: r\n    secretKey: |\n      LEAKCHECK\n", dest: awsDest, wantAll: []string{"global.s3.secretKey (line 4)", "block scalar"}},
		{name: "multi-line quoted secret", in: "global:\n  s3:\n    region: r\n    secretKey: \"LEAKCHECK\n      more\"\n", dest: awsDest, wantAll: []string{"global.s3.secretKey (line 4)", "one line"}},
		{name: "multi-line plain secret", in: "global:\n  s3:\n    region: r\n    secretKey: LEAKCHECK\n      more\n", dest: awsDest, wantAll: []string{"global.s3.secretKey (line 4)", "one line"}},
		{name: "tagged secret", in: "global:\n  s3:\n    region: r\n    secretKey: !!binary TEVBS0NIRUNL\n", dest: awsDest, wantAll: []string{"global.s3.secretKey (line 4)", "tag"}},
		{name: "secret is a list", in: "global:\n  s3:\n    region: r\n    secretKey: [LEAKCHECK]\n", dest: awsDest, wantAll: []string{"global.s3.secretKey", "list"}},
		{name: "region empty", in: ok, dest: Destination{Endpoint: "e", AccessKey: "LEAKCHECKk", SecretKey: "LEAKCHECKs"}, wantAll: []string{"region is empty"}},
		{name: "one key only", in: ok, dest: Destination{Region: "r", SecretKey: "LEAKCHECKs"}, wantAll: []string{"both an access key and a secret key"}},
		{name: "template key", in: ok, dest: Destination{Region: "r", AccessKey: "{{ LEAKCHECK }}", SecretKey: "LEAKCHECKs"}, wantAll: []string{"template"}},
		{name: "bad bucket key", in: ok, dest: Destination{Region: "r", Buckets: map[string]string{"recordings": "b"}}, wantAll: []string{`bucket key "recordings"`}},
		{name: "empty bucket name", in: ok, dest: Destination{Region: "r", Buckets: map[string]string{"recordingsBucket": ""}}, wantAll: []string{"bucket name for recordingsBucket is empty"}},
		{name: "duplicate key", in: ok + "    secretKey: LEAKCHECK2\n", dest: awsDest, wantAll: []string{"global.s3.secretKey appears twice"}},
		{name: "excessive aliasing elsewhere", in: ok + "other: !!int LEAKCHECK\n", dest: awsDest, wantAll: []string{"does not decode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := EditStorage([]byte(tt.in), tt.dest)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			if out != nil {
				t.Error("output returned with an error")
			}
			msg := err.Error()
			for _, want := range tt.wantAll {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
			for _, secret := range []string{leakMarker, tt.dest.AccessKey, tt.dest.SecretKey} {
				if secret != "" && strings.Contains(msg, secret) {
					t.Errorf("error shows a secret: %q", msg)
				}
			}
		})
	}
}
