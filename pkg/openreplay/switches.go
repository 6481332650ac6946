package openreplay

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// BundledMinio is vars.yaml's minio.enabled. While it is true, OpenReplay's migration
// job (a version upgrade, or a helm upgrade without skipMigration) runs its bucket
// script, files/minio.sh, against global.s3: after a switch that is the destination,
// where it creates the nine default buckets and makes sessions-assets public. It is
// also the condition of the minio chart in OpenReplay's databases release, so the old
// store goes away when that release is upgraded with it false.
type BundledMinio struct {
	Declared bool // the file has minio.enabled
	Enabled  bool
}

// readMinio reads minio.enabled from the top-level mapping.
func readMinio(root *yaml.Node) BundledMinio {
	if r := scalarAt(mapping(root, "minio"), "enabled"); r != nil && r.Tag == "!!bool" {
		var on bool
		if r.Decode(&on) == nil {
			return BundledMinio{Declared: true, Enabled: on}
		}
	}
	return BundledMinio{}
}

// disableMinio returns the splice that makes minio.enabled false, or changed=false
// when it already is. It writes a plain false: a quoted "false" is a non-empty string,
// which helm's `if` takes for true.
func (e *editor) disableMinio(doc *yaml.Node, order int) (sp splice, changed bool, err error) {
	fix := "; set minio.enabled: false by hand, or leave --disable-minio out"
	mk, mv, err := lookup(e.sec.root, "minio", "top-level key minio")
	if err != nil {
		return splice{}, false, err
	}
	if mk == nil {
		return splice{}, false, errors.New("vars.yaml has no minio section, so there is no minio.enabled to set" + fix)
	}
	if mv.Kind == yaml.AliasNode || mv.Anchor != "" {
		return splice{}, false, fmt.Errorf("minio (line %d) is an alias or carries an anchor: changing it would change other places too"+fix, mk.Line)
	}
	if mv.Kind != yaml.MappingNode || mv.Style&yaml.FlowStyle != 0 {
		return splice{}, false, fmt.Errorf("minio (line %d) is not an indented block of settings"+fix, mk.Line)
	}
	k, v, err := lookup(mv, "enabled", "minio.enabled")
	if err != nil {
		return splice{}, false, err
	}
	if k == nil {
		return splice{}, false, fmt.Errorf("minio (line %d) has no enabled key"+fix, mk.Line)
	}
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" || v.Anchor != "" {
		return splice{}, false, fmt.Errorf("minio.enabled (line %d) is not a plain true or false"+fix, k.Line)
	}
	if !readMinio(e.sec.root).Enabled {
		return splice{}, false, nil
	}
	start, end, err := e.scalarToken(v)
	if err != nil {
		return splice{}, false, fmt.Errorf("minio.enabled (line %d): %w"+fix, k.Line, err)
	}
	return splice{start: start, end: end, text: "false", order: order}, true, nil
}

// dropMinioEnabled removes minio.enabled from the tree, for comparing the rest.
func dropMinioEnabled(root *yaml.Node) {
	m := mapping(root, "minio")
	if m == nil {
		return
	}
	var kept []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "enabled" {
			kept = append(kept, m.Content[i], m.Content[i+1])
		}
	}
	m.Content = kept
}

// readDeleteDays reads chalice.env.SCH_DELETE_DAYS, the N of the to_delete_in_days=N tag
// OpenReplay's API puts on deleted sessions' files; 0 when the file does not set it.
func readDeleteDays(root *yaml.Node) int {
	r := scalarAt(mapping(mapping(root, "chalice"), "env"), "SCH_DELETE_DAYS")
	if r == nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(r.Value))
	if err != nil || n < 1 {
		return 0
	}
	return n
}
