package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseError is a configuration file that does not parse, at a line when one is known.
type ParseError struct {
	Line int // 1-based; 0 when the whole file is at fault
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("config: line %d: %s", e.Line, e.Msg)
	}
	return "config: " + e.Msg
}

// unknownSetting finds the first key of doc that no field of t (a struct with yaml tags)
// takes, in file order, and describes it by its full name ("source.endpont"), with the
// closest known name when one is near: yaml.v3's own message names a Go type instead.
func unknownSetting(doc *yaml.Node, t reflect.Type) *ParseError {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	return unknownIn(doc, t, "")
}

func unknownIn(n *yaml.Node, t reflect.Type, prefix string) *ParseError {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice {
		for i, item := range n.Content {
			if err := unknownIn(item, t.Elem(), fmt.Sprintf("%s[%d].", strings.TrimSuffix(prefix, "."), i)); err != nil {
				return err
			}
		}
		return nil
	}
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return nil
	}
	fields := map[string]reflect.Type{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" { // a merge key: its mapping's keys count as this one's
			if err := unknownIn(v, t, prefix); err != nil {
				return err
			}
			continue
		}
		ft, ok := fields[k.Value]
		if !ok {
			msg := fmt.Sprintf("unknown setting %q", prefix+k.Value)
			if near := closest(k.Value, names); near != "" {
				msg += fmt.Sprintf("; did you mean %q?", prefix+near)
			}
			return &ParseError{Line: k.Line, Msg: msg}
		}
		if err := unknownIn(v, ft, prefix+k.Value+"."); err != nil {
			return err
		}
	}
	return nil
}

// closest is the name within a small edit distance of s (ignoring case), or "".
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := distance(strings.ToLower(s), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, transpositions counting one.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// parseError turns yaml.v3's error into a ParseError at its line, naming the setting
// and the kind of value it wants rather than a Go type.
func parseError(doc *yaml.Node, err error) *ParseError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, after
			}
		}
	}
	if m := cannotUnmarshal.FindStringSubmatch(msg); m != nil && doc != nil {
		want, ok := goTypeWords[m[2]]
		if !ok {
			want = "another kind of value"
		}
		name := settingAt(doc, line, "")
		if name == "" {
			name = "this setting"
		}
		msg = fmt.Sprintf("%s wants %s, not %s", name, want, m[1])
	}
	return &ParseError{Line: line, Msg: msg}
}

var cannotUnmarshal = regexp.MustCompile("^cannot unmarshal !!\\w+ (.*) into (\\S+)$")

// goTypeWords says what each field type of Config takes, in an operator's words.
var goTypeWords = map[string]string{
	"int":               "a whole number",
	"float64":           "a number",
	"bool":              "true or false",
	"string":            "a single value",
	"config.Secret":     "a single value",
	"time.Duration":     "a duration such as 30s or 2m",
	"map[string]string": "a mapping of source bucket to destination bucket",
	"config.Endpoint":   "a mapping such as {endpoint: https://..., region: us-east-1}",
	"config.Config":     "a mapping of settings",
}

// settingAt is the dotted name of the setting whose value starts on line.
func settingAt(n *yaml.Node, line int, prefix string) string {
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			if s := settingAt(c, line, prefix); s != "" {
				return s
			}
		}
		return ""
	}
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Line == line && v.Kind != yaml.MappingNode {
			return prefix + k.Value
		}
		if s := settingAt(v, line, prefix+k.Value+"."); s != "" {
			return s
		}
	}
	return ""
}
