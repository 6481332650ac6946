// Package config loads the migrator's configuration: file, environment and secret files.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Secret is a credential; it prints as "[redacted]" so it cannot leak through a log line
// or an error message by accident.
type Secret string

func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return "[redacted]" }

// Value is the secret itself, for the one place that needs it: the S3 client.
func (s Secret) Value() string { return string(s) }

// Endpoint is one S3-compatible service.
type Endpoint struct {
	Endpoint      string `yaml:"endpoint"`
	Region        string `yaml:"region"`
	AccessKey     Secret `yaml:"accessKey"`
	SecretKey     Secret `yaml:"secretKey"`
	SessionToken  Secret `yaml:"sessionToken"` // with temporary keys (STS AssumeRole)
	AccessKeyFile string `yaml:"accessKeyFile"`
	SecretKeyFile string `yaml:"secretKeyFile"`
	CAFile        string `yaml:"caFile"`
	// StallTimeout: a connection that moves no byte either way this long is dropped and
	// the request retried (default 2m).
	StallTimeout time.Duration `yaml:"stallTimeout"`
	SSE          *SSE          `yaml:"sse"` // destination only: encryption asked for on every write

	from origins // where Endpoint and the keys came from, for messages
}

// Config is the whole configuration file.
type Config struct {
	Source      Endpoint          `yaml:"source"`
	Destination Endpoint          `yaml:"destination"`
	Buckets     map[string]string `yaml:"buckets"` // source bucket -> destination bucket; "" skips it
	// Workers pins the objects in flight; left out, it is found while running, up to
	// MaxWorkers (see limits.go).
	Workers    int    `yaml:"workers"`
	MaxWorkers int    `yaml:"maxWorkers"`
	Limits     Limits `yaml:"limits"`
	Retry      Retry  `yaml:"retry"`
	// Listing: each bucket is listed as key ranges at once (default copy.DefaultRanges).
	Listing  Listing `yaml:"listing"`
	StateDir string  `yaml:"stateDir"`
	// StateS3, s3://bucket/prefix, keeps the checkpoints in a bucket of the destination
	// service instead of stateDir, so a pod rescheduled without its volume resumes.
	StateS3       string        `yaml:"stateS3"`
	AllowInsecure bool          `yaml:"allowInsecure"`
	Schedule      string        `yaml:"schedule"`    // cron, for serve
	GracePeriod   time.Duration `yaml:"gracePeriod"` // in-flight objects' time to finish on SIGTERM

	// Notifications: "auto" (default) has serve copy what a MinIO source announces
	// between syncs; "off" leaves it to the schedule.
	Notifications string `yaml:"notifications"`
}

// Defaults.
const (
	DefaultStateDir = "/var/lib/openreplay-migrator"
	DefaultSchedule = "*/15 * * * *"
	DefaultGrace    = 30 * time.Second
)

// The values of notifications:.
const (
	NotificationsAuto = "auto"
	NotificationsOff  = "off"
)

func accessEnvName(side string) string {
	if side == "source" {
		return EnvSourceAccessKey
	}
	return EnvDestAccessKey
}

func secretEnvName(side string) string {
	if side == "source" {
		return EnvSourceSecretKey
	}
	return EnvDestSecretKey
}

// Env names of the secrets.
const (
	EnvSourceAccessKey = "MIGRATOR_SOURCE_ACCESS_KEY"
	EnvSourceSecretKey = "MIGRATOR_SOURCE_SECRET_KEY"
	EnvDestAccessKey   = "MIGRATOR_DESTINATION_ACCESS_KEY"
	EnvDestSecretKey   = "MIGRATOR_DESTINATION_SECRET_KEY"

	EnvSourceSessionToken = "MIGRATOR_SOURCE_SESSION_TOKEN"
	EnvDestSessionToken   = "MIGRATOR_DESTINATION_SESSION_TOKEN"
)

// Parse decodes a configuration file strictly: an unknown key is an error naming it,
// since a misspelt key would otherwise be silently ignored.
func Parse(data []byte) (*Config, error) {
	var c Config
	var doc yaml.Node
	// An empty file decodes as io.EOF: it is an empty configuration, and Validate then
	// says what is missing.
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &c, nil
		}
		return nil, parseError(nil, err)
	}
	if err := unknownSetting(&doc, reflect.TypeOf(c)); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, parseError(&doc, err)
	}
	return &c, nil
}

// Load reads path (may be "" for none), then applies secrets from files and env.
func Load(path string, getenv func(string) string) (*Config, error) {
	c := &Config{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		if c, err = Parse(data); err != nil {
			var pe *ParseError
			if errors.As(err, &pe) && pe.Line > 0 {
				return nil, fmt.Errorf("%s line %d: %s", path, pe.Line, pe.Msg)
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		c.Source.noteFile(path)
		c.Destination.noteFile(path)
	}
	if err := c.Source.loadSecrets("source", getenv(EnvSourceAccessKey), getenv(EnvSourceSecretKey)); err != nil {
		return nil, err
	}
	if err := c.Destination.loadSecrets("destination", getenv(EnvDestAccessKey), getenv(EnvDestSecretKey)); err != nil {
		return nil, err
	}
	// A session token has no file form: temporary keys come from the environment.
	if v := getenv(EnvSourceSessionToken); v != "" {
		c.Source.SessionToken = Secret(v)
	}
	if v := getenv(EnvDestSessionToken); v != "" {
		c.Destination.SessionToken = Secret(v)
	}
	c.applyDefaults()
	return c, nil
}

// loadSecrets: env wins over a file, which wins over the config file itself.
func (e *Endpoint) loadSecrets(side, envAccess, envSecret string) error {
	for _, s := range []struct {
		field, file, env, envName string
		dst                       *Secret
		from                      *string
	}{
		{"accessKeyFile", e.AccessKeyFile, envAccess, accessEnvName(side), &e.AccessKey, &e.from.accessKey},
		{"secretKeyFile", e.SecretKeyFile, envSecret, secretEnvName(side), &e.SecretKey, &e.from.secretKey},
	} {
		if s.file != "" {
			b, err := os.ReadFile(s.file)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", side, s.field, err)
			}
			*s.dst = Secret(strings.TrimSpace(string(b)))
			*s.from = side + "." + s.field + " " + s.file
		}
		if s.env != "" {
			*s.dst = Secret(s.env)
			*s.from = s.envName
		}
	}
	return nil
}

func (c *Config) applyDefaults() {
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.Schedule == "" {
		c.Schedule = DefaultSchedule
	}
	if c.Notifications == "" {
		c.Notifications = NotificationsAuto
	}
	if c.GracePeriod == 0 {
		c.GracePeriod = DefaultGrace
	}
	for _, e := range []*Endpoint{&c.Source, &c.Destination} {
		if e.Region == "" {
			e.Region = "us-east-1"
		}
	}
}

// Validate says, for the first problem found, which setting to fix and how.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Source.validate("source", EnvSourceAccessKey, EnvSourceSecretKey); err != nil {
		errs = append(errs, err)
	}
	if err := c.Destination.validate("destination", EnvDestAccessKey, EnvDestSecretKey); err != nil {
		errs = append(errs, err)
	}
	if u, err := url.Parse(c.Destination.Endpoint); err == nil && u.Scheme == "http" && !c.AllowInsecure && !hasUserinfo(c.Destination.Endpoint) {
		errs = append(errs, fmt.Errorf("destination.endpoint %s is plain http: recordings and keys would cross the network unencrypted; use https, or set allowInsecure: true", c.Destination.Endpoint))
	}
	if err := c.validateSSE(); err != nil {
		errs = append(errs, err)
	}
	if len(c.Pairs()) == 0 {
		errs = append(errs, errors.New("buckets: no bucket to copy; map each source bucket to its destination, e.g. buckets: {mobs: openreplay-recordings}"))
	}
	for src, dst := range c.Buckets {
		if src == "" {
			errs = append(errs, fmt.Errorf("buckets: an empty source bucket name maps to %q", dst))
		}
	}
	if err := c.validateConcurrency(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Retry.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Listing.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.StateS3 != "" {
		if err := c.validateStateS3(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.GracePeriod < 0 {
		errs = append(errs, fmt.Errorf("gracePeriod: %s is negative", c.GracePeriod))
	}
	if n := c.Notifications; n != "" && n != NotificationsAuto && n != NotificationsOff {
		errs = append(errs, fmt.Errorf("notifications: %q is neither auto (copy what a MinIO source announces, between syncs) nor off", c.Notifications))
	}
	return errors.Join(errs...)
}

func (e *Endpoint) validate(side, envAccess, envSecret string) error {
	if e.Endpoint == "" {
		return fmt.Errorf("%s.endpoint is empty: set it to the service's URL, e.g. https://s3.us-east-1.amazonaws.com", side)
	}
	if err := e.validateURL(side); err != nil {
		return err
	}
	if e.StallTimeout < 0 || (e.StallTimeout > 0 && e.StallTimeout < time.Second) {
		return fmt.Errorf("%s.stallTimeout: %s is too short; give at least 1s (default 2m)", side, e.StallTimeout)
	}
	if e.AccessKey == "" && strings.HasPrefix(e.from.accessKey, side+".accessKeyFile ") {
		return fmt.Errorf("%s is empty: write the access key into it", e.from.accessKey)
	}
	if e.SecretKey == "" && strings.HasPrefix(e.from.secretKey, side+".secretKeyFile ") {
		return fmt.Errorf("%s is empty: write the secret key into it", e.from.secretKey)
	}
	if e.AccessKey == "" {
		return fmt.Errorf("%s.accessKey is empty: set %s.accessKey, %s.accessKeyFile, or %s", side, side, side, envAccess)
	}
	if e.SecretKey == "" {
		return fmt.Errorf("%s.secretKey is empty: set %s.secretKey, %s.secretKeyFile, or %s", side, side, side, envSecret)
	}
	return nil
}

// StateLocation is where StateS3 points: a bucket of the destination service and a key
// prefix ("" or ending in "/"). ok is false when checkpoints stay in stateDir.
func (c *Config) StateLocation() (bucket, prefix string, ok bool) {
	rest, found := strings.CutPrefix(c.StateS3, "s3://")
	if !found {
		return "", "", false
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return bucket, prefix, bucket != ""
}

func (c *Config) validateStateS3() error {
	if hasUserinfo(c.StateS3) {
		return refuseUserinfo("stateS3", "", c.StateS3, "the state bucket is reached with the destination's keys (destination.accessKey, destination.secretKey)")
	}
	bucket, _, ok := c.StateLocation()
	if !ok {
		return fmt.Errorf("stateS3 %q: want s3://bucket or s3://bucket/prefix (a bucket of the destination service)", c.StateS3)
	}
	for _, p := range c.Pairs() {
		if p.Dest == bucket {
			return fmt.Errorf("stateS3 %q: bucket %s also receives OpenReplay's %s; keep the checkpoints in a bucket of their own so they never mix with recordings", c.StateS3, bucket, p.Source)
		}
	}
	return nil
}

// Pair is one source bucket and its destination.
type Pair struct{ Source, Dest string }

// Pairs lists the bucket pairs to copy, in source-name order; "" destinations are skipped.
func (c *Config) Pairs() []Pair {
	var out []Pair
	for s, d := range c.Buckets {
		if d != "" {
			out = append(out, Pair{s, d})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}
