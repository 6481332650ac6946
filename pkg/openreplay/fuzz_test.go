package openreplay

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// fuzzSecret is the fixed secret key written by FuzzEditStorage; quotes and
// backslashes exercise escaping, and no error may ever contain it.
const fuzzSecret = `fz-Secret"'\#9Qk`

// smallSeeds are short files in the shapes EditStorage treats specially; the
// fuzzer mutates these far more productively than 5 KB fixtures.
var smallSeeds = []string{
	"global:\n  s3:\n    region: r\n    endpoint:   # empty\n    accessKey:\n    secretKey: ~\n    existingSecret: old\n",
	"k: &k v\nglobal:\n  s3:\n    region: 'r' # c\n    accessKey: *k\n    secretKey: \"s\\\"x\"\n    recordingsBucket: &rb !!str mobs\n  x: *k\n",
	"global:\n  s3:\n    region:\n      r0\n    secretKey: |\n      s\n    mobsBucket: m\n  after: 1\nlast: 2",
	"global:\r\n  s3:\r\n    region: r\r\n    secretKey: s",
	"global:\n  s3: {region: r}\n",
	"\uFEFFa: [1, .nan]\nglobal:\n  s3:\n    region: \"\u00e9\"\n    accessKey: a\u2028b: c\n",
}

// seedFiles returns every fixture plus the real vars.yaml when it is present.
func seedFiles(f *testing.F) [][]byte {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	var seeds [][]byte
	for _, p := range paths {
		seeds = append(seeds, readFixture(f, p[len("testdata/"):]))
	}
	if data, err := os.ReadFile(realVarsPath(f)); err == nil {
		seeds = append(seeds, data)
	}
	for _, s := range seeds[:len(seeds):len(seeds)] {
		seeds = append(seeds, bytes.ReplaceAll(s, []byte("\n"), []byte("\r\n")))
	}
	for _, s := range smallSeeds {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

func FuzzParseStorage(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStorage(data)
		if err != nil {
			return
		}
		if s.Region == "" || s.Endpoint == "" {
			t.Fatalf("parsed without a region or endpoint: %+v", s)
		}
		_ = s.AssetsOriginBefore()
	})
}

func FuzzEditStorage(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s, "eu-central-1", "https://s3.eu-central-1.amazonaws.com", "", "openreplay-recordings")
		f.Add(s, "us-east-1", "", "s3-keys", "spots 2")
	}
	f.Fuzz(func(t *testing.T, data []byte, region, endpoint, existingSecret, bucket string) {
		d := Destination{
			Endpoint: endpoint, Region: region,
			AccessKey: "AKIAFUZZ", SecretKey: fuzzSecret,
			ExistingSecret: existingSecret,
			Buckets:        map[string]string{"recordingsBucket": bucket, "newBucket": "n"},
		}
		out, err := EditStorage(data, d)
		if err != nil {
			if strings.Contains(err.Error(), fuzzSecret) {
				t.Fatalf("error shows the secret key: %v", err)
			}
			return
		}
		got, err := ParseStorage(out)
		if err != nil {
			t.Fatalf("edited file does not read back: %v\n%q", err, out)
		}
		if got.Region != region || (existingSecret == "" && got.SecretKey != fuzzSecret) || got.Bucket("recordingsBucket") != bucket {
			t.Fatalf("edited file reads back wrong: %+v", got)
		}
		if a, b := decodedOutsideS3(t, data), decodedOutsideS3(t, out); a != b {
			t.Fatalf("content outside global.s3 changed:\n%s\n%s", a, b)
		}
		keep, tail := s3Bytes(t, data)
		if !bytes.HasPrefix(out, data[:keep]) || !bytes.HasSuffix(out[keep:], data[tail:]) {
			t.Fatalf("bytes outside global.s3 changed:\n%q\n%q", data, out)
		}
	})
}

// s3Bytes returns the offsets before which and from which an edit must leave
// the file alone: the start of the "s3:" line, and the start of the line
// holding the first key after global.s3.
func s3Bytes(tb testing.TB, data []byte) (keep, tail int) {
	tb.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		tb.Fatal(err)
	}
	ix := indexLines(data)
	root := doc.Content[0]
	var s3Key, next *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "global" {
			continue
		}
		if i+2 < len(root.Content) {
			next = root.Content[i+2]
		}
		global := root.Content[i+1]
		for j := 0; j+1 < len(global.Content); j += 2 {
			if global.Content[j].Value == "s3" {
				s3Key = global.Content[j]
				if j+2 < len(global.Content) {
					next = global.Content[j+2]
				}
			}
		}
		break
	}
	if s3Key == nil {
		tb.Fatal("edited a file without global.s3")
	}
	keep, tail = ix.start[s3Key.Line-1], len(data)
	if next != nil {
		tail = ix.start[next.Line-1]
	}
	return keep, tail
}
