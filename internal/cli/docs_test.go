package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/internal/cli"
)

// Every `migrator ...` command line the README and docs/ show parses with the binary's own
// flag parser: a renamed or removed flag fails here, not in an operator's terminal.
func TestDocsCommandsParse(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md", "../../bench/README.md")
	seen := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range docCommands(string(data)) {
			seen++
			args := shellWords(line)
			if err := cli.ParseArgs(args); err != nil {
				t.Errorf("%s: `%s`: %v", filepath.Base(f), line, err)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d migrator command lines found in the docs", seen)
	}
}

var (
	fence  = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")
	inline = regexp.MustCompile("`(migrator [^`|]+)`") // a span never crosses a table cell
)

// docCommands returns the migrator command lines of a Markdown text: lines of fenced blocks
// (joined across `\` continuations) and inline code spans, from "migrator" on.
func docCommands(md string) []string {
	var out []string
	for _, m := range fence.FindAllStringSubmatch(md, -1) {
		block := strings.ReplaceAll(m[1], "\\\n", " ")
		for _, l := range strings.Split(block, "\n") {
			l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "$ "))
			if strings.HasPrefix(l, "migrator ") || strings.HasPrefix(l, "./bin/migrator ") || strings.HasPrefix(l, "bin/migrator ") {
				out = append(out, l)
			}
		}
	}
	prose := fence.ReplaceAllString(md, "")
	for _, m := range inline.FindAllStringSubmatch(prose, -1) {
		out = append(out, strings.Join(strings.Fields(m[1]), " "))
	}
	return out
}

// shellWords splits a documented command line as a shell would, for the parts docs use:
// quotes, a trailing comment, a trailing `&`, optional `[--flag VALUE]` brackets and `...`.
// It returns the arguments after the program name.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	flush := func() {
		if inWord {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '#' && !inWord:
			flush()
			return clean(words)
		case r == ' ' || r == '\t':
			flush()
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return clean(words)
}

func clean(words []string) []string {
	var out []string
	for i, w := range words {
		if i == 0 {
			continue // the program
		}
		if w == "&" || w == "|" || w == "..." || w == "&&" || w == ";" {
			break
		}
		w = strings.Trim(w, "[]")
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}
