package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const urlPassword = "TopSecretUrl789"

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

// validConfig is a configuration that validates, with keys in the environment.
const validConfig = `source:      {endpoint: http://127.0.0.1:9000}
destination: {endpoint: https://s3.example.com}
buckets:     {mobs: openreplay-recordings}
`

var keysInEnv = map[string]string{EnvSourceAccessKey: "sa", EnvSourceSecretKey: "ss", EnvDestAccessKey: "da", EnvDestSecretKey: "ds"}

// A user:password@ in any URL is refused, the message says which setting and where it
// came from and what holds keys instead, and it never shows the password.
func TestEndpointWithPasswordIsRefusedWithoutEchoingIt(t *testing.T) {
	dir := t.TempDir()
	withPass := "http://user:" + urlPassword + "@127.0.0.1:31999"
	vars := writeFile(t, dir, "vars.yaml", "global:\n  s3:\n    region: us-east-1\n    endpoint: \""+withPass+"\"\n"+
		"    recordingsBucket: mobs\n    accessKey: a\n    secretKey: b\n")
	for _, c := range []struct {
		name   string
		config string
		apply  func(*Config) error
		want   []string
	}{
		{name: "source in the config", config: strings.Replace(validConfig, "http://127.0.0.1:9000", withPass, 1),
			want: []string{"source.endpoint (from ", "source.accessKey", "MIGRATOR_SOURCE_SECRET_KEY", "http://[redacted]@127.0.0.1:31999"}},
		{name: "destination in the config", config: strings.Replace(validConfig, "https://s3.example.com", "https://AKIA:"+urlPassword+"@s3.example.com", 1),
			want: []string{"destination.endpoint", "destination.secretKeyFile", "MIGRATOR_DESTINATION_ACCESS_KEY"}},
		{name: "plain-http destination", config: strings.Replace(validConfig, "https://s3.example.com", withPass, 1),
			want: []string{"destination.endpoint"}},
		{name: "no scheme", config: strings.Replace(validConfig, "http://127.0.0.1:9000", "user:"+urlPassword+"@127.0.0.1:9000", 1),
			want: []string{"source.endpoint"}},
		{name: "stateS3", config: validConfig + "stateS3: s3://user:" + urlPassword + "@state/prefix\n",
			want: []string{"stateS3", "destination.accessKey"}},
		{name: "--source-endpoint", config: validConfig,
			apply: func(c *Config) error { c.Source.SetEndpoint(withPass, "--source-endpoint"); return nil },
			want:  []string{"source.endpoint (from --source-endpoint)"}},
		{name: "vars.yaml", config: validConfig,
			apply: func(c *Config) error { return c.ApplyOpenReplayVars(vars) },
			want:  []string{"source.endpoint (from global.s3.endpoint in " + vars + ")"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(writeFile(t, dir, "migrator.yaml", c.config), env(keysInEnv))
			if err != nil {
				t.Fatal(err)
			}
			if c.apply != nil {
				if err := c.apply(cfg); err != nil {
					t.Fatal(err)
				}
			}
			err = cfg.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), urlPassword) {
				t.Fatalf("the refusal shows the password: %v", err)
			}
			for _, w := range append(c.want, "user name and password") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the refusal does not say %q: %v", w, err)
				}
			}
		})
	}
	if got := Redact("https://a:b@host:9/x?y=z@w"); got != "https://[redacted]@host:9/x?y=z@w" {
		t.Errorf("Redact: %s", got)
	}
}

// Each key remembers where it came from, in the order that decides which wins:
// environment over key file over the config file over vars.yaml.
func TestKeysRememberWhereTheyCameFrom(t *testing.T) {
	dir := t.TempDir()
	keyFile := writeFile(t, dir, "secret", "from-file\n")
	config := writeFile(t, dir, "migrator.yaml", `source:      {endpoint: http://127.0.0.1:9000, accessKey: a, secretKey: s}
destination: {endpoint: https://s3.example.com, accessKey: a, secretKey: s, secretKeyFile: `+keyFile+`}
buckets:     {mobs: openreplay-recordings}
`)
	c, err := Load(config, env(map[string]string{EnvSourceSecretKey: "from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ got, want string }{
		{c.Source.Describe("source", "secretKey"), "source.secretKey (from MIGRATOR_SOURCE_SECRET_KEY)"},
		{c.Source.Describe("source", "accessKey"), "source.accessKey (from " + config + ")"},
		{c.Source.Describe("source", "endpoint"), "source.endpoint (from " + config + ")"},
		{c.Destination.Describe("destination", "secretKey"), "destination.secretKey (from destination.secretKeyFile " + keyFile + ")"},
		{string(c.Source.SecretKey), "from-env"},
		{string(c.Destination.SecretKey), "from-file"},
	} {
		if w.got != w.want {
			t.Errorf("got %q, want %q", w.got, w.want)
		}
	}

	vars := writeFile(t, dir, "vars.yaml", "global:\n  s3:\n    region: us-east-1\n    endpoint: http://minio.db.svc.cluster.local:9000\n"+
		"    recordingsBucket: mobs\n    accessKey: va\n    secretKey: vs\n")
	c, err = Load(writeFile(t, dir, "dest-only.yaml", "destination: {endpoint: https://s3.example.com}\nbuckets: {mobs: x}\n"),
		env(map[string]string{EnvSourceAccessKey: "from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ApplyOpenReplayVars(vars); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Source.Describe("source", "secretKey"), "source.secretKey (from global.s3.secretKey in "+vars+")"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := c.Source.Describe("source", "accessKey"), "source.accessKey (from MIGRATOR_SOURCE_ACCESS_KEY)"; got != want || c.Source.AccessKey != "from-env" {
		t.Errorf("got %q (%s), want %q: the environment wins over vars.yaml", got, c.Source.AccessKey.Value(), want)
	}

	// An empty key file is named as such, not as a missing key.
	empty := writeFile(t, dir, "empty", "\n")
	c, err = Load(writeFile(t, dir, "empty.yaml", strings.Replace(validConfig, "https://s3.example.com}", "https://s3.example.com, accessKeyFile: "+empty+"}", 1)),
		env(map[string]string{EnvSourceAccessKey: "a", EnvSourceSecretKey: "s", EnvDestSecretKey: "s"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "destination.accessKeyFile "+empty+" is empty") {
		t.Errorf("an empty key file: %v", err)
	}
}

// A misspelt setting is named with its line, its file and the nearest known name, not
// with the Go type it failed to fit.
func TestUnknownSettingNamesKeyLineAndFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ body, want string }{
		{validConfig + "wrokers: 4\n", `migrator.yaml line 4: unknown setting "wrokers"; did you mean "workers"?`},
		{strings.Replace(validConfig, "{endpoint: http", "{endpont: http", 1), `migrator.yaml line 1: unknown setting "source.endpont"; did you mean "source.endpoint"?`},
		{validConfig + "secretkey: x\n", `line 4: unknown setting "secretkey"`},
		{validConfig + "colour: blue\n", `line 4: unknown setting "colour"`},
		{validConfig + "workers: four\n", `line 4: workers wants a whole number, not ` + "`four`"},
		{validConfig + "gracePeriod: soon\n", `line 4: gracePeriod wants a duration`},
		{validConfig + "workers: [2\n", `migrator.yaml line `},
		{validConfig + "limits:\n  schedule:\n    - {from: \"08:00\", bandwith: 10MiB}\n", `line 6: unknown setting "limits.schedule[0].bandwith"; did you mean "limits.schedule[0].bandwidth"?`},
	} {
		_, err := Load(writeFile(t, dir, "migrator.yaml", c.body), env(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.body, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "config.") || strings.Contains(err.Error(), "type ") {
			t.Errorf("the message names a Go type: %v", err)
		}
	}
	if _, err := Load(writeFile(t, dir, "ok.yaml", "x: &e {endpoint: http://a}\n"), env(nil)); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("an unknown top-level anchor holder: %v", err)
	}
	if _, err := Parse([]byte("base: &b {endpoint: http://a}\n")); err == nil {
		t.Error("unknown key with an anchor accepted")
	}
	if _, err := Parse([]byte("source: &s {endpoint: http://a, region: r}\ndestination:\n  <<: *s\n  caFile: x\n")); err != nil {
		t.Errorf("a merge key of known settings: %v", err)
	}
	if d := closest("wrokers", []string{"workers", "stateDir"}); d != "workers" {
		t.Errorf("closest: %q", d)
	}
}

// listing.ranges out of range is refused, naming the setting and its bounds.
func TestListingRangesAreChecked(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ body, want string }{
		{validConfig + "listing: {ranges: 0}\n", ""},
		{validConfig + "listing: {ranges: 16}\n", ""},
		{validConfig + "listing: {ranges: -1}\n", "listing.ranges: -1 is out of range 1..256"},
		{validConfig + "listing: {ranges: 5000}\n", "listing.ranges: 5000 is out of range 1..256"},
		{validConfig + "listing: {rangs: 4}\n", `unknown setting "listing.rangs"; did you mean "listing.ranges"?`},
	} {
		cfg, err := Load(writeFile(t, dir, "migrator.yaml", c.body), env(keysInEnv))
		if err == nil {
			err = cfg.Validate()
		}
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q: got %v, want %q", c.body, err, c.want)
		}
	}
}
