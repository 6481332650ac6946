package preflight

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Bucket policies are JSON documents in the IAM policy language. Only the few shapes
// that decide "anyone may read" are interpreted here; everything else in a policy is
// kept as it is when a statement is added.

const publicReadSid = "OpenReplayAssetsPublicRead"

// publicReadStatement is the guide's public read: s3:GetObject for everyone on every
// object of the bucket.
func publicReadStatement(bucket string) map[string]any {
	return map[string]any{
		"Sid":       publicReadSid,
		"Effect":    "Allow",
		"Principal": map[string]any{"AWS": []any{"*"}},
		"Action":    []any{"s3:GetObject"},
		"Resource":  []any{"arn:aws:s3:::" + bucket + "/*"},
	}
}

// statements decodes a policy document into its statements; "" has none.
func statements(doc string) (map[string]any, []map[string]any, error) {
	if strings.TrimSpace(doc) == "" {
		return map[string]any{"Version": "2012-10-17"}, nil, nil
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, nil, fmt.Errorf("the bucket policy is not a JSON object: %w", err)
	}
	var out []map[string]any
	switch s := p["Statement"].(type) {
	case nil:
	case map[string]any:
		out = append(out, s)
	case []any:
		for _, e := range s {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, nil, fmt.Errorf("the bucket policy has a statement that is not an object")
			}
			out = append(out, m)
		}
	default:
		return nil, nil, fmt.Errorf("the bucket policy's Statement is neither an object nor a list")
	}
	return p, out, nil
}

// strs reads a policy field that may be one string or a list of them.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// anonymous reports a principal that means everyone: "*" or {"AWS": "*"}.
func anonymous(p any) bool {
	switch x := p.(type) {
	case string:
		return x == "*"
	case map[string]any:
		return slices.Contains(strs(x["AWS"]), "*")
	}
	return false
}

func allows(st map[string]any) bool {
	e, _ := st["Effect"].(string)
	return e == "Allow"
}

// grantsGetObject reports an action list that includes s3:GetObject.
func grantsGetObject(actions []string) bool {
	for _, a := range actions {
		switch strings.ToLower(a) {
		case "s3:getobject", "s3:get*", "s3:*", "*":
			return true
		}
	}
	return false
}

// coversObjects reports a resource list that covers every object of bucket.
func coversObjects(resources []string, bucket string) bool {
	for _, r := range resources {
		switch r {
		case "*", "arn:aws:s3:::*", "arn:aws:s3:::" + bucket + "/*", bucket + "/*":
			return true
		}
	}
	return false
}

// publicRead reports whether the policy lets anyone read every object of bucket, with
// no condition narrowing it.
func publicRead(doc, bucket string) (bool, error) {
	_, sts, err := statements(doc)
	if err != nil {
		return false, err
	}
	for _, st := range sts {
		if allows(st) && anonymous(st["Principal"]) && st["Condition"] == nil &&
			grantsGetObject(strs(st["Action"])) && coversObjects(strs(st["Resource"]), bucket) {
			return true, nil
		}
	}
	return false, nil
}

// anonymousGrants describes each statement that allows anything to everyone, e.g.
// "s3:GetObject on arn:aws:s3:::mobs/*".
func anonymousGrants(doc string) ([]string, error) {
	_, sts, err := statements(doc)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, st := range sts {
		if !allows(st) || !anonymous(st["Principal"]) {
			continue
		}
		d := strings.Join(strs(st["Action"]), ",") + " on " + strings.Join(strs(st["Resource"]), ",")
		if st["Condition"] != nil {
			d += " (with conditions)"
		}
		out = append(out, d)
	}
	return out, nil
}

// withPublicRead returns doc with the guide's public read statement added; every
// statement already there stays.
func withPublicRead(doc, bucket string) (string, error) {
	p, sts, err := statements(doc)
	if err != nil {
		return "", err
	}
	list := make([]any, 0, len(sts)+1)
	for _, st := range sts {
		list = append(list, st)
	}
	list = append(list, publicReadStatement(bucket))
	p["Statement"] = list
	if _, ok := p["Version"]; !ok {
		p["Version"] = "2012-10-17"
	}
	b, err := json.Marshal(p)
	return string(b), err
}
