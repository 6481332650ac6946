package openreplay

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// realVarsPath finds OpenReplay's own vars.yaml, kept beside the repository in
// ../shared/openreplay and never copied into it.
func realVarsPath(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("skipping: no go.mod above the package directory, so the repository root (and ../shared beside it) is unknown")
		}
		dir = parent
	}
	return filepath.Join(dir, "..", "shared", "openreplay", "vars.yaml")
}

// readReal returns the real vars.yaml, skipping the test when this checkout has no ../shared beside it.
func readReal(tb testing.TB) []byte {
	tb.Helper()
	path := realVarsPath(tb)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		tb.Skipf("skipping: OpenReplay's vars.yaml is not at %s (the ../shared checkout beside the repository is missing)", path)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// diffLines renders a unified-style list of changed lines between two files
// (hunks of -old/+new lines with line numbers) and reports, for the old file,
// which lines were removed and after which old lines new ones were inserted.
func diffLines(a, b []byte) (text string, removed, insertedAfter []int) {
	x := strings.Split(string(a), "\n")
	y := strings.Split(string(b), "\n")
	// lcs[i][j] is the longest common subsequence of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		if i < len(x) && j < len(y) && x[i] == y[j] {
			i, j = i+1, j+1
			continue
		}
		// A hunk: gather removals and insertions until lines match again.
		var del, add []string
		oi, oj := i, j
		for i < len(x) || j < len(y) {
			if i < len(x) && j < len(y) && x[i] == y[j] {
				break
			}
			if j < len(y) && (i == len(x) || lcs[i][j+1] >= lcs[i+1][j]) {
				add = append(add, y[j])
				insertedAfter = append(insertedAfter, i) // i old lines precede it
				j++
			} else {
				del = append(del, x[i])
				removed = append(removed, i+1)
				i++
			}
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", oi+1, len(del), oj+1, len(add))
		for _, l := range del {
			fmt.Fprintf(&out, "-%s\n", l)
		}
		for _, l := range add {
			fmt.Fprintf(&out, "+%s\n", l)
		}
	}
	return out.String(), removed, insertedAfter
}

// checkGolden compares got with testdata/name, rewriting it under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("diff does not match %s (run go test -update after checking it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// s3Lines returns the first and last line numbers that belong to global.s3:
// from the line after "s3:" to the line before the next key after it.
// It reads positions from yaml.v3 directly rather than the package's own helpers.
func s3Lines(tb testing.TB, data []byte) (first, last int) {
	tb.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		tb.Fatal(err)
	}
	root := doc.Content[0]
	last = bytes.Count(data, []byte("\n")) + 1
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "global" {
			continue
		}
		if i+2 < len(root.Content) {
			last = root.Content[i+2].Line - 1
		}
		global := root.Content[i+1]
		for j := 0; j+1 < len(global.Content); j += 2 {
			if global.Content[j].Value != "s3" {
				continue
			}
			first = global.Content[j].Line + 1
			if j+2 < len(global.Content) {
				last = global.Content[j+2].Line - 1
			}
			return first, last
		}
	}
	tb.Fatal("no global.s3 in test input")
	return 0, 0
}

// assertOnlyS3Changed fails unless every removed or inserted line lies inside global.s3.
func assertOnlyS3Changed(t *testing.T, before, after []byte) {
	t.Helper()
	first, last := s3Lines(t, before)
	_, removed, inserted := diffLines(before, after)
	for _, l := range removed {
		if l < first || l > last {
			t.Errorf("line %d changed, outside global.s3 (lines %d-%d)", l, first, last)
		}
	}
	for _, after := range inserted {
		if after < first-1 || after > last {
			t.Errorf("a line was inserted after line %d, outside global.s3 (lines %d-%d)", after, first, last)
		}
	}
}

// decodedOutsideS3 decodes a file with global.s3 removed, printed so that two
// results compare with ==, NaN included.
func decodedOutsideS3(tb testing.TB, data []byte) string {
	tb.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		tb.Fatalf("decode: %v", err)
	}
	switch root := v.(type) {
	case map[string]any:
		deleteS3(root["global"])
	case map[any]any:
		deleteS3(root["global"])
	}
	return fmt.Sprintf("%#v", v)
}

func deleteS3(global any) {
	switch g := global.(type) {
	case map[string]any:
		delete(g, "s3")
	case map[any]any:
		delete(g, "s3")
	}
}

// lookupPath walks decoded YAML by keys, for assertions on single values.
func lookupPath(tb testing.TB, data []byte, path ...string) any {
	tb.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		tb.Fatal(err)
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			tb.Fatalf("%s: not a mapping above %q", strings.Join(path, "."), k)
		}
		v = m[k]
	}
	return v
}
