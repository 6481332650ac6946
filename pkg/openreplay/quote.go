package openreplay

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// render writes value in the quoting style the file used for the old value,
// falling back to double quotes whenever that style cannot hold the value
// unambiguously.
func render(value string, style yaml.Style) string {
	switch {
	case style&yaml.SingleQuotedStyle != 0:
		if s, ok := singleQuoted(value); ok {
			return s
		}
	case style&yaml.DoubleQuotedStyle != 0:
	default:
		if plainSafe(value) {
			return value
		}
	}
	return doubleQuoted(value)
}

func printable(r rune) bool {
	return r == ' ' || (unicode.IsPrint(r) && r != '\uFEFF')
}

// doubleQuoted can hold any valid UTF-8 string: everything not plainly
// printable is escaped.
func doubleQuoted(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case printable(r):
			b.WriteRune(r)
		case r <= 0xFF:
			fmt.Fprintf(&b, `\x%02X`, r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// singleQuoted has no escape but a doubled quote, so it only holds printable text.
func singleQuoted(s string) (string, bool) {
	for _, r := range s {
		if !printable(r) {
			return "", false
		}
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", true
}

var plainShape = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_./:@+=~-]*$`)

// yaml11Words are plain scalars YAML 1.1 readers (Helm's among them) take as
// booleans or null even though yaml.v3 reads them as text.
var yaml11Words = map[string]bool{
	"y": true, "yes": true, "n": true, "no": true, "on": true, "off": true,
	"true": true, "false": true, "null": true,
}

// plainSafe reports whether s can be written unquoted and still read back as
// the same text by both yaml.v3 and YAML 1.1 readers. It is deliberately
// narrow: quoting is always correct, plain is only a nicety.
func plainSafe(s string) bool {
	if !plainShape.MatchString(s) || strings.HasSuffix(s, ":") || yaml11Words[strings.ToLower(s)] {
		return false
	}
	var n yaml.Node
	if err := guard(func() error { return yaml.Unmarshal([]byte("k: "+s), &n) }); err != nil {
		return false
	}
	if len(n.Content) != 1 || len(n.Content[0].Content) != 2 {
		return false
	}
	v := n.Content[0].Content[1]
	return v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Value == s
}
