package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/atomicfile"
)

// SourceCredentialsFile is where `migrator cutover` keeps, in the state folder, the
// source vars.yaml named before the switch. After the switch vars.yaml names the
// destination (and OpenReplay's Secret holds the destination key), so later runs with
// --openreplay-vars take the source from this file instead.
const SourceCredentialsFile = "source-credentials.json"

// SavedSource is the source as vars.yaml described it before the switch.
type SavedSource struct {
	VarsPath string `json:"varsPath"`
	Endpoint string `json:"endpoint"`
	Region   string `json:"region"`
	// The keys, when vars.yaml supplied them; empty when they came from elsewhere
	// (environment, key files), which then still supplies them.
	AccessKey Secret        `json:"accessKey,omitempty"`
	SecretKey Secret        `json:"secretKey,omitempty"`
	Buckets   []SavedBucket `json:"buckets"`
	SavedAt   time.Time     `json:"savedAt"`
}

// SavedBucket is one bucket of global.s3, e.g. {recordingsBucket mobs}.
type SavedBucket struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

func savedPath(stateDir string) string { return filepath.Join(stateDir, SourceCredentialsFile) }

// SaveSource writes s to the state folder, readable by its owner only, atomically.
func SaveSource(stateDir string, s *SavedSource) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	// atomicfile.Write's temporary file is created 0600, and the rename keeps that.
	if err := atomicfile.Write(savedPath(stateDir), append(data, '\n')); err != nil {
		return fmt.Errorf("keep the source's settings: %w", err)
	}
	return nil
}

// LoadSavedSource reads what SaveSource wrote; nil when there is nothing.
func LoadSavedSource(stateDir string) (*SavedSource, error) {
	data, err := os.ReadFile(savedPath(stateDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the source's settings kept by cutover: %w", err)
	}
	var s SavedSource
	if err := json.Unmarshal(data, &s); err != nil || s.Endpoint == "" {
		return nil, fmt.Errorf("%s is unreadable (%v): it holds the source vars.yaml named before `migrator cutover`; restore it, or give the source in the config file", savedPath(stateDir), err)
	}
	return &s, nil
}

// ForgetSource removes what SaveSource wrote; there being nothing is not an error.
func ForgetSource(stateDir string) error {
	if err := os.Remove(savedPath(stateDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the source's settings kept by cutover: %w", err)
	}
	return nil
}

// ApplySource takes the source for --openreplay-vars PATH: from the settings cutover
// kept in the state folder when there are any (vars.yaml names the destination after a
// cutover), from vars.yaml itself otherwise. It reports which.
func (c *Config) ApplySource(varsPath string) (fromSaved bool, err error) {
	s, err := LoadSavedSource(c.StateDir)
	if err != nil || s == nil {
		if err == nil {
			err = c.ApplyOpenReplayVars(varsPath)
		}
		return false, err
	}
	where := savedPath(c.StateDir)
	kept := where + ", kept by cutover"
	c.Source.SetEndpoint(s.Endpoint, kept)
	if s.Region != "" {
		c.Source.Region = s.Region
	}
	c.Source.setKeys(s.AccessKey.Value(), s.SecretKey.Value(), kept, kept)
	if c.Source.AccessKey == "" || c.Source.SecretKey == "" {
		return true, fmt.Errorf("%s (kept by cutover) holds no source keys: pass them as %s and %s", where, EnvSourceAccessKey, EnvSourceSecretKey)
	}
	var missing []string
	for _, b := range s.Buckets {
		if _, ok := c.Buckets[b.Name]; !ok {
			missing = append(missing, fmt.Sprintf("%q (global.s3.%s before the cutover)", b.Name, b.Key))
		}
	}
	if len(missing) > 0 {
		return true, fmt.Errorf("%s names source buckets that buckets: does not map: %s; add `NAME: <destination bucket>` for each, or `NAME: \"\"` to leave one behind on purpose",
			where, strings.Join(missing, ", "))
	}
	return true, nil
}
