package cutover

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"

	"gopkg.in/yaml.v3"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/atomicfile"
)

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func readVars(path string) ([]byte, os.FileMode, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, fmt.Errorf("OpenReplay vars.yaml: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("OpenReplay vars.yaml: %w", err)
	}
	return data, fi.Mode().Perm(), nil
}

// writeAtomic replaces path with data (a crash leaves the old or the new content) and
// gives it mode: the temporary file it renames starts out private.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	if err := atomicfile.Write(path, data); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

// onlyS3Changed decodes both files and compares everything but global.s3 (and
// minio.enabled, when the edit disables MinIO): an edit that changed anything else is
// refused, whatever the editor believed it did.
func onlyS3Changed(before, after []byte, minioEnabled bool) error {
	a, err := withoutS3(before, minioEnabled)
	if err != nil {
		return fmt.Errorf("vars.yaml before the edit: %w", err)
	}
	b, err := withoutS3(after, minioEnabled)
	if err != nil {
		return fmt.Errorf("the edited vars.yaml does not parse: %w", err)
	}
	if !reflect.DeepEqual(a, b) {
		if minioEnabled {
			return errors.New("the edited vars.yaml differs outside global.s3 and minio.enabled; refusing it")
		}
		return errors.New("the edited vars.yaml differs outside global.s3; refusing it")
	}
	return nil
}

func withoutS3(data []byte, minioEnabled bool) (map[string]any, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if m, ok := doc["minio"].(map[string]any); ok && minioEnabled {
		cp := make(map[string]any, len(m))
		for k, v := range m {
			if k != "enabled" {
				cp[k] = v
			}
		}
		doc["minio"] = cp
	}
	if g, ok := doc["global"].(map[string]any); ok {
		// A shallow copy: aliases may share the global map with other places.
		cp := make(map[string]any, len(g))
		for k, v := range g {
			if k != "s3" {
				cp[k] = v
			}
		}
		doc["global"] = cp
	}
	return doc, nil
}
