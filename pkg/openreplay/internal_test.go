package openreplay

import (
	"math"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Line numbers must agree with yaml.v3, which also breaks lines on CR, NEL, LS and PS.
func TestEditStorageOddLineBreaks(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{
			name: "CR only",
			in:   "a: 1\rglobal:\r  s3:\r    region: r\r    secretKey: s\r",
			want: "a: 1\rglobal:\r  s3:\r    region: r2\r    endpoint: \"e\"\r    secretKey: s\r    accessKey: \"k\"\r",
		},
		{
			name: "LS and NEL inside a quoted value above global.s3",
			in:   "note: \"one\u2028two\u0085three\"\nglobal:\n  s3:\n    region: r\n    accessKey: é\n    secretKey: s\n",
			want: "note: \"one\u2028two\u0085three\"\nglobal:\n  s3:\n    region: r2\n    endpoint: \"e\"\n    accessKey: k\n    secretKey: s\n",
		},
		{
			name: "byte-order mark",
			in:   "\uFEFFglobal:\n  s3:\n    region: r\n",
			want: "\uFEFFglobal:\n  s3:\n    region: r2\n    endpoint: \"e\"\n    accessKey: \"k\"\n    secretKey: \"s\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := EditStorage([]byte(tt.in), Destination{Region: "r2", Endpoint: "e", AccessKey: "k", SecretKey: "s"})
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("got  %q\nwant %q", out, tt.want)
			}
		})
	}
}

func TestOffsetCountsCharacters(t *testing.T) {
	ix := indexLines([]byte("x\r\nél: \"v\"\u2028z"))
	if ix.lines() != 3 {
		t.Fatalf("got %d lines, want 3", ix.lines())
	}
	off, err := ix.offset(2, 5) // after "él: ", é being two bytes
	if err != nil || off != 3+5 {
		t.Errorf("offset(2,5) = %d, %v; want 8", off, err)
	}
	if _, err := ix.offset(2, 9); err == nil {
		t.Error("a column past the end of the line was accepted")
	}
	if _, err := ix.offset(4, 1); err == nil {
		t.Error("a line past the end of the file was accepted")
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		style, value, want string
	}{
		{"plain", "openreplay-assets", "openreplay-assets"},
		{"plain", "yes", `"yes"`},
		{"plain", "123", `"123"`},
		{"plain", "a:", `"a:"`},
		{"plain", "a b", `"a b"`},
		{"plain", "", `""`},
		{"single", "it's", `'it''s'`},
		{"single", "tab\t", `"tab\t"`},
		{"double", "\x00\x7f\u00a0\U0001F600\uFEFF\u2029", `"\x00\x7F\xA0` + "\U0001F600" + `\uFEFF\u2029"`},
	}
	styles := map[string]yaml.Style{"plain": 0, "single": yaml.SingleQuotedStyle, "double": yaml.DoubleQuotedStyle}
	for _, tt := range tests {
		if got := render(tt.value, styles[tt.style]); got != tt.want {
			t.Errorf("render(%q, %s) = %s, want %s", tt.value, tt.style, got, tt.want)
		}
		if !readsAs([]byte(render(tt.value, styles[tt.style])), tt.value) {
			t.Errorf("render(%q, %s) does not read back", tt.value, tt.style)
		}
	}
}

func TestSameValue(t *testing.T) {
	nan := math.NaN()
	if !sameValue(map[string]any{"a": []any{nan, 1}}, map[string]any{"a": []any{nan, 1}}) {
		t.Error("NaN should equal NaN")
	}
	for _, pair := range [][2]any{
		{map[string]any{"a": 1}, map[string]any{"a": 2}},
		{map[string]any{"a": 1}, map[string]any{"b": 1}},
		{map[any]any{1: "a"}, map[any]any{1: "b"}},
		{[]any{1}, []any{1, 2}},
		{1.5, 2.5},
		{"x", 1},
	} {
		if sameValue(pair[0], pair[1]) {
			t.Errorf("%v and %v compared equal", pair[0], pair[1])
		}
	}
}

// The verification is the last line of defence, so check it rejects bad results.
func TestVerifyEditRejects(t *testing.T) {
	before := "keep: 1\nglobal:\n  s3:\n    region: r\n    accessKey: a\n    secretKey: b\n    mobsBucket: m\n"
	d := Destination{Region: "r2", Endpoint: "e", AccessKey: "LEAKCHECKk", SecretKey: "LEAKCHECKs"}
	touched := map[string]bool{"region": true, "endpoint": true, "accessKey": true, "secretKey": true}
	good := "keep: 1\nglobal:\n  s3:\n    region: r2\n    endpoint: e\n    accessKey: LEAKCHECKk\n    secretKey: LEAKCHECKs\n    mobsBucket: m\n"
	if err := verifyEdit([]byte(before), []byte(good), d, touched); err != nil {
		t.Fatalf("good result rejected: %v", err)
	}
	for name, after := range map[string]string{
		"outside changed":       strings.Replace(good, "keep: 1", "keep: 2", 1),
		"other s3 key changed":  strings.Replace(good, "mobsBucket: m", "mobsBucket: x", 1),
		"secret not written":    strings.Replace(good, "secretKey: LEAKCHECKs", "secretKey: b", 1),
		"result not YAML":       good + "  - [\n",
		"region not written":    strings.Replace(good, "region: r2", "region: r", 1),
		"existingSecret sneaks": good + "    existingSecret: x\n",
	} {
		err := verifyEdit([]byte(before), []byte(after), d, touched)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), leakMarker) {
			t.Errorf("%s: error shows a secret: %v", name, err)
		}
	}
}
