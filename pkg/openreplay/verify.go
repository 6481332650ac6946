package openreplay

import (
	"errors"
	"fmt"
	"math"
	"reflect"

	"gopkg.in/yaml.v3"
)

// verifyEdit re-reads an edited file and proves the edit did what was asked
// and nothing else: the splicing is careful, but an operator's only copy of
// their settings is not the place to find out it wasn't careful enough.
func verifyEdit(before, after []byte, d Destination, touched map[string]bool) error {
	got, err := ParseStorage(after)
	if err != nil {
		return fmt.Errorf("the result would not read back: %w", err)
	}
	wantEndpoint := d.Endpoint
	if wantEndpoint == "" {
		wantEndpoint = awsEndpoint(d.Region)
	}
	type check struct {
		key string
		ok  bool
	}
	checks := []check{
		{"region", got.Region == d.Region},
		{"endpoint", got.Endpoint == wantEndpoint},
		{"existingSecret", got.ExistingSecret == d.ExistingSecret},
	}
	if d.ExistingSecret == "" {
		checks = append(checks, check{"accessKey", got.AccessKey == d.AccessKey}, check{"secretKey", got.SecretKey == d.SecretKey})
	} else {
		checks = append(checks, check{"accessKey", got.AccessKey == ""}, check{"secretKey", got.SecretKey == ""})
	}
	for _, c := range checks {
		if !c.ok {
			return fmt.Errorf("global.s3.%s would not read back as requested", c.key)
		}
	}
	for _, k := range sortedKeys(d.Buckets) {
		if got.Bucket(k) != d.Buckets[k] {
			return fmt.Errorf("global.s3.%s would not read back as requested", k)
		}
	}
	if d.DisableMinio {
		if got.Minio.Enabled || !got.Minio.Declared {
			return errors.New("minio.enabled would not read back as false")
		}
	}
	was, err := decodeUntouched(before, touched, d.DisableMinio)
	if err != nil {
		return fmt.Errorf("cannot check the result, vars.yaml does not decode: %w", err)
	}
	is, err := decodeUntouched(after, touched, d.DisableMinio)
	if err != nil {
		return fmt.Errorf("the result does not decode: %w", err)
	}
	if !sameValue(was, is) {
		return errors.New("the result differs outside the global.s3 keys being set")
	}
	return nil
}

// decodeUntouched decodes the whole document with the edited global.s3 keys (and
// minio.enabled, when the edit sets it) removed, so comparing two of them covers
// everything else in the file, including the global.s3 keys the edit leaves alone.
func decodeUntouched(data []byte, touched map[string]bool, minioEnabled bool) (any, error) {
	doc, sec, err := parseS3(data)
	if err != nil {
		return nil, err
	}
	if minioEnabled {
		dropMinioEnabled(sec.root)
	}
	var kept []*yaml.Node
	for _, p := range sec.pairs() {
		if !touched[p[0].Value] {
			kept = append(kept, p[0], p[1])
		}
	}
	sec.s3.Content = kept
	var v any
	if err := guard(func() error { return doc.Decode(&v) }); err != nil {
		return nil, err
	}
	return v, nil
}

// sameValue is reflect.DeepEqual for decoded YAML, except that NaN equals NaN
// (a file with .nan in it is unchanged when it still has .nan in it).
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !sameValue(xv, yv) {
				return false
			}
		}
		return true
	case map[any]any:
		y, ok := b.(map[any]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !sameValue(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || (math.IsNaN(x) && math.IsNaN(y)))
	}
	return reflect.DeepEqual(a, b)
}
