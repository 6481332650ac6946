package openreplay

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Destination is what cutover writes into global.s3.
type Destination struct {
	Endpoint, Region     string
	AccessKey, SecretKey string // written as plain values unless ExistingSecret is set
	// ExistingSecret, when set, becomes global.s3.existingSecret, and accessKey and
	// secretKey (where present) become "": see blankedWithSecret.
	ExistingSecret string
	Buckets        map[string]string // global.s3 key (e.g. "recordingsBucket") -> new bucket name
	// DisableMinio sets minio.enabled to false in the same edit: the one change
	// outside global.s3 (see switches.go).
	DisableMinio bool
}

var bucketKeyShape = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*Bucket$`)

// check rejects destinations that would write a broken or misleading
// global.s3. Messages name fields, never their values, since two are secrets.
func (d Destination) check() error {
	if d.Region == "" {
		return errors.New("region is empty; give the destination bucket region, e.g. us-east-1")
	}
	for _, f := range []struct{ name, v string }{
		{"endpoint", d.Endpoint}, {"region", d.Region}, {"existing secret name", d.ExistingSecret},
		{"access key", d.AccessKey}, {"secret key", d.SecretKey},
	} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%s is not valid UTF-8", f.name)
		}
	}
	if d.ExistingSecret == "" {
		if (d.AccessKey == "") != (d.SecretKey == "") {
			return errors.New("give both an access key and a secret key, or neither (AWS IAM roles)")
		}
		if isTemplate(d.AccessKey) || isTemplate(d.SecretKey) {
			return errors.New("access key or secret key is a template placeholder ({{ ... }}), not a real key")
		}
	}
	for _, k := range sortedKeys(d.Buckets) {
		switch {
		case !bucketKeyShape.MatchString(k):
			return fmt.Errorf("bucket key %q is not a global.s3 bucket key (expected a name like recordingsBucket)", k)
		case d.Buckets[k] == "":
			return fmt.Errorf("bucket name for %s is empty", k)
		case !utf8.ValidString(d.Buckets[k]):
			return fmt.Errorf("bucket name for %s is not valid UTF-8", k)
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// setting is one global.s3 key EditStorage makes hold value.
type setting struct{ key, value string }

// blankedWithSecret are the keys an existingSecret edit empties. OpenReplay's services
// take their key from the Secret then, but `openreplay -c`, Secret openreplay-secrets
// (MINIO_ACCESS_KEY) and EE's vault-s3-upload job read these two as literal values:
// left as aliases they would hand MinIO's own key to the new endpoint. A reference to
// the Secret is no use there (they would send its name as the key), so they are
// emptied: those few jobs then fail plainly instead of using the wrong key.
var blankedWithSecret = []string{"accessKey", "secretKey"}

// settings lists what d writes, in the order new keys are added. Without
// ExistingSecret, an existing existingSecret is blanked: services would
// otherwise keep reading the old Secret and ignore the keys just written.
func (d Destination) settings(sec *s3Section) []setting {
	out := []setting{{"region", d.Region}, {"endpoint", d.Endpoint}}
	for _, k := range sortedKeys(d.Buckets) {
		out = append(out, setting{k, d.Buckets[k]})
	}
	if d.ExistingSecret != "" {
		out = append(out, setting{"existingSecret", d.ExistingSecret})
		for _, k := range blankedWithSecret {
			if k, _ := sec.entry(k); k != nil {
				out = append(out, setting{k.Value, ""})
			}
		}
		return out
	}
	out = append(out, setting{"accessKey", d.AccessKey}, setting{"secretKey", d.SecretKey})
	if k, _ := sec.entry("existingSecret"); k != nil {
		out = append(out, setting{"existingSecret", ""})
	}
	return out
}

// EditStorage returns vars.yaml with global.s3 changed to d and nothing else changed.
//
// It splices new values into the original bytes rather than re-encoding the
// tree, because re-encoding would reflow comments, quoting and anchors all over
// an operator's file. The result is re-read and checked before it is returned.
func EditStorage(data []byte, d Destination) ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("destination for global.s3: %w", err)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("vars.yaml is not UTF-8 text; save it as UTF-8 and retry")
	}
	doc, sec, err := parseS3(data)
	if err != nil {
		return nil, err
	}
	if err := editable(doc, sec); err != nil {
		return nil, err
	}
	ed := &editor{ix: indexLines(data), sec: sec}
	touched := map[string]bool{}
	var splices []splice
	for i, w := range d.settings(sec) {
		touched[w.key] = true
		sp, changed, err := ed.set(w, i)
		if err != nil {
			return nil, err
		}
		if changed {
			splices = append(splices, sp)
		}
	}
	if d.DisableMinio {
		sp, changed, err := ed.disableMinio(doc, len(splices)+1)
		if err != nil {
			return nil, err
		}
		if changed {
			splices = append(splices, sp)
		}
	}
	out, err := applySplices(data, splices)
	if err != nil {
		return nil, err
	}
	if err := verifyEdit(data, out, d, touched); err != nil {
		return nil, fmt.Errorf("edit of global.s3 not applied: %w", err)
	}
	return out, nil
}

// editable rejects layouts where changing global.s3's lines would also change
// something else, or where its lines cannot be edited one token at a time.
func editable(doc *yaml.Node, sec *s3Section) error {
	if sec.globalRaw.Kind == yaml.AliasNode {
		return fmt.Errorf("global (line %d) is an alias (*%s); write it out in full before editing", sec.globalRaw.Line, sec.globalRaw.Value)
	}
	if sec.s3Raw.Kind == yaml.AliasNode {
		return fmt.Errorf("global.s3 (line %d) is an alias (*%s); write it out in full before editing", sec.s3Raw.Line, sec.s3Raw.Value)
	}
	if sec.s3.Style&yaml.FlowStyle != 0 || len(sec.s3.Content) == 0 {
		return fmt.Errorf("global.s3 (line %d) is written inline ({...}); write it as an indented block, one key per line", sec.s3Key.Line)
	}
	owner := map[*yaml.Node]string{sec.global: "global", sec.s3: "global.s3"}
	for _, p := range sec.pairs() {
		where := "global.s3." + p[0].Value
		walk(p[0], func(n *yaml.Node) { owner[n] = where })
		walk(p[1], func(n *yaml.Node) { owner[n] = where })
	}
	var err error
	walk(doc, func(n *yaml.Node) {
		if where, ok := owner[n.Alias]; ok && n.Kind == yaml.AliasNode && err == nil {
			err = fmt.Errorf("%s carries anchor &%s, which line %d refers to (*%s); editing it would change that place too, so replace that alias with its value first", where, n.Alias.Anchor, n.Line, n.Value)
		}
	})
	return err
}

// walk visits n and everything under it, without following aliases.
func walk(n *yaml.Node, f func(*yaml.Node)) {
	f(n)
	for _, c := range n.Content {
		walk(c, f)
	}
}

// editor turns settings into byte splices on the original file.
type editor struct {
	ix  *lineIndex
	sec *s3Section
}

// set returns the splice that makes global.s3.<w.key> hold w.value, or changed=false when it already does.
func (e *editor) set(w setting, order int) (sp splice, changed bool, err error) {
	k, v := e.sec.entry(w.key)
	if k == nil {
		sp, err = e.insert(w, order)
		return sp, err == nil, err
	}
	// An alias is replaced even when its value already matches: the point is
	// to stop global.s3 following MinIO's own credential.
	if cur := resolve(v); v.Kind != yaml.AliasNode && cur.Kind == yaml.ScalarNode && scalarText(cur) == w.value {
		return splice{}, false, nil
	}
	sp, err = e.replace(k, v, w.value, order)
	return sp, err == nil, err
}

func scalarText(n *yaml.Node) string {
	if n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

func isEmptyNull(v *yaml.Node) bool {
	return v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == "" && v.Style == 0 && v.Anchor == ""
}

func (e *editor) replace(k, v *yaml.Node, value string, order int) (splice, error) {
	where := "global.s3." + k.Value
	var (
		start, end int
		text       string
		err        error
	)
	switch {
	case v.Kind == yaml.AliasNode:
		start, end, err = e.aliasToken(v)
		text = doubleQuoted(value)
	case v.Kind != yaml.ScalarNode:
		return splice{}, fmt.Errorf("%s (line %d) is a %s; make it a single value before editing", where, v.Line, kindName(v))
	case v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return splice{}, fmt.Errorf("%s (line %d) is a block scalar (| or >); write it on one line before editing", where, v.Line)
	case v.Style&yaml.TaggedStyle != 0 && v.Tag != "!!str":
		return splice{}, fmt.Errorf("%s (line %d) has an explicit YAML tag; remove it before editing", where, v.Line)
	case isEmptyNull(v):
		start, err = e.emptyValue(k, v)
		end, text = start, " "+doubleQuoted(value)
	default:
		start, end, err = e.scalarToken(v)
		text = render(value, v.Style)
	}
	if err != nil {
		return splice{}, fmt.Errorf("%s (line %d): %w; put its value on one line after the key", where, v.Line, err)
	}
	return splice{start: start, end: end, text: text, order: order}, nil
}

// restIsComment reports whether what follows a value on its line is only blanks and a comment.
func restIsComment(rest []byte) bool {
	t := strings.TrimLeft(string(rest), " \t")
	return t == "" || (t[0] == '#' && len(t) < len(rest))
}

// aliasToken locates "*name" for an alias node.
func (e *editor) aliasToken(v *yaml.Node) (int, int, error) {
	off, err := e.ix.offset(v.Line, v.Column)
	if err != nil {
		return 0, 0, err
	}
	end := e.ix.lineEnd(v.Line)
	tok := "*" + v.Value
	if !strings.HasPrefix(string(e.ix.data[off:end]), tok) || !restIsComment(e.ix.data[off+len(tok):end]) {
		return 0, 0, errors.New("could not find the alias on its line")
	}
	return off, off + len(tok), nil
}

// emptyValue returns where a value goes for "key:" with nothing after it.
func (e *editor) emptyValue(k, v *yaml.Node) (int, error) {
	off, err := e.ix.offset(v.Line, v.Column)
	if err != nil {
		return 0, err
	}
	end := e.ix.lineEnd(v.Line)
	rest := e.ix.data[off:end]
	if v.Line != k.Line || off == 0 || e.ix.data[off-1] != ':' || (len(rest) > 0 && rest[0] != ' ' && rest[0] != '\t') || !restIsComment(rest) {
		return 0, errors.New("could not find the empty value after the key")
	}
	return off, nil
}

// scalarToken locates a single-line scalar's text (after any &anchor or !!tag,
// which stay) and proves the span is the whole value by re-reading it.
func (e *editor) scalarToken(v *yaml.Node) (int, int, error) {
	off, err := e.ix.offset(v.Line, v.Column)
	if err != nil {
		return 0, 0, err
	}
	b, end := e.ix.data, e.ix.lineEnd(v.Line)
	blank := func(c byte) bool { return c == ' ' || c == '\t' }
	i := off
	for i < end && (b[i] == '&' || b[i] == '!') {
		for i < end && !blank(b[i]) {
			i++
		}
		for i < end && blank(b[i]) {
			i++
		}
	}
	start := i
	multiline := errors.New("the value does not sit on one line")
	if i >= end {
		return 0, 0, multiline
	}
	switch {
	case v.Style&yaml.DoubleQuotedStyle != 0:
		if b[i] != '"' {
			return 0, 0, multiline
		}
		for i++; i < end && b[i] != '"'; i++ {
			if b[i] == '\\' {
				i++
			}
		}
		if i >= end {
			return 0, 0, multiline
		}
		i++
	case v.Style&yaml.SingleQuotedStyle != 0:
		if b[i] != '\'' {
			return 0, 0, multiline
		}
		for i++; ; i++ {
			if i >= end {
				return 0, 0, multiline
			}
			if b[i] == '\'' {
				if i+1 < end && b[i+1] == '\'' {
					i++
					continue
				}
				i++
				break
			}
		}
	default:
		for i < end && !(b[i] == '#' && i > start && blank(b[i-1])) {
			i++
		}
		for i > start && blank(b[i-1]) {
			i--
		}
	}
	if !restIsComment(b[i:end]) || !readsAs(b[start:i], v.Value) {
		return 0, 0, multiline
	}
	return start, i, nil
}

// readsAs reports whether tok, as a mapping value on its own, is the scalar want.
func readsAs(tok []byte, want string) bool {
	var n yaml.Node
	if guard(func() error { return yaml.Unmarshal(append([]byte("k: "), tok...), &n) }) != nil {
		return false
	}
	if len(n.Content) != 1 || len(n.Content[0].Content) != 2 {
		return false
	}
	got := n.Content[0].Content[1]
	return got.Kind == yaml.ScalarNode && got.Value == want
}

// entryEnd returns the line an entry's value ends on, when the value is one
// token a new sibling line can safely follow.
func (e *editor) entryEnd(k, v *yaml.Node) (int, bool) {
	var err error
	switch {
	case v.Kind == yaml.AliasNode:
		_, _, err = e.aliasToken(v)
	case isEmptyNull(v):
		_, err = e.emptyValue(k, v)
	case v.Kind == yaml.ScalarNode && v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0:
		_, _, err = e.scalarToken(v)
	default:
		return 0, false
	}
	return v.Line, err == nil
}

// anchorsFor says where a missing key reads best: after which existing keys
// (most preferred first), and whether to fall back to the top of global.s3
// rather than after its last entry.
func (e *editor) anchorsFor(key string) (after []string, top bool) {
	switch key {
	case "region":
		return nil, true
	case "endpoint":
		return []string{"region"}, true
	case "secretKey":
		return []string{"accessKey"}, false
	case "existingSecret":
		return []string{"secretKey", "accessKey"}, false
	}
	if strings.HasSuffix(key, "Bucket") {
		pairs := e.sec.pairs()
		for i := len(pairs) - 1; i >= 0; i-- {
			if strings.HasSuffix(pairs[i][0].Value, "Bucket") {
				after = append(after, pairs[i][0].Value)
			}
		}
	}
	return after, false
}

// insert adds "key: value" as a new line of global.s3, indented like its neighbours.
func (e *editor) insert(w setting, order int) (splice, error) {
	after, top := e.anchorsFor(w.key)
	for _, a := range after {
		if k, v := e.sec.entry(a); k != nil {
			if sp, ok := e.insertAfter(k, v, w, order); ok {
				return sp, nil
			}
		}
	}
	pairs := e.sec.pairs()
	if !top {
		for i := len(pairs) - 1; i >= 0; i-- {
			if sp, ok := e.insertAfter(pairs[i][0], pairs[i][1], w, order); ok {
				return sp, nil
			}
		}
	}
	first := pairs[0][0]
	indent, err := e.ix.indent(first.Line, first.Column)
	if err != nil {
		return splice{}, fmt.Errorf("cannot add global.s3.%s: %w; put each global.s3 key on its own line", w.key, err)
	}
	br := e.ix.lineBreak(first.Line)
	if len(br) == 0 {
		br = e.ix.defaultBreak()
	}
	off := e.ix.start[first.Line-1]
	return splice{start: off, end: off, text: string(indent) + w.key + ": " + doubleQuoted(w.value) + string(br), order: order}, nil
}

func (e *editor) insertAfter(k, v *yaml.Node, w setting, order int) (splice, bool) {
	last, ok := e.entryEnd(k, v)
	if !ok {
		return splice{}, false
	}
	indent, err := e.ix.indent(k.Line, k.Column)
	if err != nil {
		return splice{}, false
	}
	line := string(indent) + w.key + ": " + doubleQuoted(w.value)
	if br := e.ix.lineBreak(last); len(br) > 0 {
		off := e.ix.start[last]
		return splice{start: off, end: off, text: line + string(br), order: order}, true
	}
	// The entry is the file's last line and has no line break: start a new line.
	off := e.ix.lineEnd(last)
	return splice{start: off, end: off, text: string(e.ix.defaultBreak()) + line, order: order}, true
}
