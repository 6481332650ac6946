package openreplay

import (
	"errors"
	"fmt"
	"regexp"

	"gopkg.in/yaml.v3"
)

// secretSafeError carries a yaml.v3 message with quoted values blanked out. It
// deliberately does not unwrap to the original error: yaml.v3 quotes scalar
// values in some messages, and a value here may be a password.
type secretSafeError struct{ msg string }

func (e *secretSafeError) Error() string { return e.msg }

// quotedInYAMLError matches the `value` and "value" spans yaml.v3 puts in messages.
var quotedInYAMLError = regexp.MustCompile("`[^`]*`|\"(?:[^\"\\\\]|\\\\.)*\"")

func hideValues(err error) error {
	return &secretSafeError{msg: quotedInYAMLError.ReplaceAllString(err.Error(), "(value hidden)")}
}

// guard runs a yaml.v3 call and turns its panics into errors, because a
// malformed operator file must never crash the migrator.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("the YAML library failed on this input")
		}
	}()
	if err := f(); err != nil {
		return hideValues(err)
	}
	return nil
}

// parseDocument parses the first YAML document of data into a node tree.
func parseDocument(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := guard(func() error { return yaml.Unmarshal(data, &doc) }); err != nil {
		return nil, fmt.Errorf("not valid YAML (%w)", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("the file is empty; expected OpenReplay's vars.yaml")
	}
	return &doc, nil
}

// resolve follows an alias to the node it names, so *accessKey reads as the anchor's value.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Tag == "!!merge"
}

// lookup finds key in mapping m. Duplicates are an error because which one a
// reader honours differs between YAML libraries, so editing either is a guess.
func lookup(m *yaml.Node, key, where string) (k, v *yaml.Node, err error) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		kn := m.Content[i]
		if kn.Kind != yaml.ScalarNode || kn.Value != key || isMergeKey(kn) {
			continue
		}
		if k != nil {
			return nil, nil, fmt.Errorf("%s appears twice (lines %d and %d); keep one", where, k.Line, kn.Line)
		}
		k, v = kn, m.Content[i+1]
	}
	return k, v, nil
}

func hasMergeKey(m *yaml.Node) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if isMergeKey(m.Content[i]) {
			return true
		}
	}
	return false
}

// s3Section is where global.s3 sits in a parsed vars.yaml.
type s3Section struct {
	root      *yaml.Node // top-level mapping
	globalRaw *yaml.Node // value of the global key as written (may be an alias)
	global    *yaml.Node // global mapping after following aliases
	s3Key     *yaml.Node
	s3Raw     *yaml.Node // value of global.s3 as written (may be an alias)
	s3        *yaml.Node // global.s3 mapping after following aliases
}

// pairs returns global.s3's key/value nodes in file order.
func (s *s3Section) pairs() [][2]*yaml.Node {
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(s.s3.Content); i += 2 {
		out = append(out, [2]*yaml.Node{s.s3.Content[i], s.s3.Content[i+1]})
	}
	return out
}

// entry returns the pair for key in global.s3, or nils.
func (s *s3Section) entry(key string) (k, v *yaml.Node) {
	for _, p := range s.pairs() {
		if p[0].Value == key {
			return p[0], p[1]
		}
	}
	return nil, nil
}

// kindName describes n for error messages, looking through aliases.
func kindName(n *yaml.Node) string {
	if r := resolve(n); r != nil {
		n = r
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	case yaml.ScalarNode:
		return "single value"
	}
	return "YAML node"
}

// parseS3 parses a vars.yaml and finds its global.s3 section.
func parseS3(data []byte) (*yaml.Node, *s3Section, error) {
	doc, err := parseDocument(data)
	if err != nil {
		return nil, nil, err
	}
	sec, err := findS3(doc)
	return doc, sec, err
}

// findS3 locates global.s3 and checks the shape both reading and editing rely on.
func findS3(doc *yaml.Node) (*s3Section, error) {
	root := resolve(doc.Content[0])
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the top level is a %s, not a mapping of settings; expected OpenReplay's vars.yaml", kindName(doc.Content[0]))
	}
	sec := &s3Section{root: root}
	gk, gv, err := lookup(root, "global", "top-level key global")
	if err != nil {
		return nil, err
	}
	if gk == nil {
		return nil, errors.New("no top-level global section; OpenReplay keeps its storage settings under global.s3")
	}
	sec.globalRaw, sec.global = gv, resolve(gv)
	if sec.global == nil || sec.global.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("global (line %d) is not a mapping of settings", gk.Line)
	}
	sk, sv, err := lookup(sec.global, "s3", "key global.s3")
	if err != nil {
		return nil, err
	}
	if sk == nil {
		if hasMergeKey(sec.global) {
			return nil, fmt.Errorf("global (line %d) has no s3 section of its own (it uses a YAML merge key <<, which is not followed); write s3 directly under global", gk.Line)
		}
		return nil, fmt.Errorf("global (line %d) has no s3 section; add global.s3 with region, endpoint, buckets and keys", gk.Line)
	}
	sec.s3Key, sec.s3Raw, sec.s3 = sk, sv, resolve(sv)
	if sec.s3 == nil || sec.s3.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("global.s3 (line %d) is a %s, not a mapping of region, endpoint, buckets and keys", sk.Line, kindName(sv))
	}
	seen := map[string]int{}
	for _, p := range sec.pairs() {
		k := p[0]
		if isMergeKey(k) {
			return nil, fmt.Errorf("global.s3 uses a YAML merge key << (line %d), which is not followed; write those keys out in global.s3", k.Line)
		}
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("global.s3 has a key that is a %s (line %d); keys there must be plain names", kindName(k), k.Line)
		}
		if first, dup := seen[k.Value]; dup {
			return nil, fmt.Errorf("global.s3.%s appears twice (lines %d and %d); keep one", k.Value, first, k.Line)
		}
		seen[k.Value] = k.Line
	}
	return sec, nil
}
