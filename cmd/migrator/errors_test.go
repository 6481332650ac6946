package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// Every mistake an operator can make in the configuration stops the migrator before any
// work with exit status 2 and a message that names the setting to fix.
func TestErrorsNameTheSettingToFix(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 2, Assets: 2, Sourcemaps: 1, Seed: 71}, 2)
	base := readFile(t, s.Config)
	unreachable := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	without := func(name string) []string {
		var env []string
		for _, kv := range s.Env {
			if !strings.HasPrefix(kv, name+"=") {
				env = append(env, kv)
			}
		}
		return env
	}
	// Keys set elsewhere than the environment, for the messages that name where a
	// key came from.
	wrongKeyFile := filepath.Join(s.Dir, "source-secret")
	if err := os.WriteFile(wrongKeyFile, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := filepath.Join(s.Dir, "vars.yaml")
	if err := os.WriteFile(vars, []byte(fmt.Sprintf(cutoverVars, s.Src.AccessKey, "wrong", s.Src.Endpoint)), 0o600); err != nil {
		t.Fatal(err)
	}
	notADir := filepath.Join(s.Dir, "a-file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		config string   // the config file; "" for the site's own
		env    []string // replaces the site's environment when set
		args   []string // after copy --config FILE, or instead of --config with noConfig
		want   []string // every one must be in the message
		not    []string // none may be
		once   string   // must be in the message exactly once
		// noConfig: run copy without --config.
		noConfig bool
	}{
		{name: "wrong destination access key", env: append(s.Env[:len(s.Env):len(s.Env)], "MIGRATOR_DESTINATION_ACCESS_KEY=nosuchkey"),
			want: []string{"InvalidAccessKeyId", "check destination.accessKey"}},
		{name: "wrong source secret key", env: append(s.Env[:len(s.Env):len(s.Env)], "MIGRATOR_SOURCE_SECRET_KEY=wrong"),
			want: []string{"SignatureDoesNotMatch", "check source.secretKey (from MIGRATOR_SOURCE_SECRET_KEY)"}},
		{name: "wrong source secret key in a key file", env: without("MIGRATOR_SOURCE_SECRET_KEY"),
			config: strings.Replace(base, "source:      {", "source:      {secretKeyFile: "+wrongKeyFile+", ", 1),
			want:   []string{"SignatureDoesNotMatch", "check source.secretKey (from source.secretKeyFile " + wrongKeyFile + ")"}},
		{name: "wrong source secret key in the config", env: without("MIGRATOR_SOURCE_SECRET_KEY"),
			config: strings.Replace(base, "source:      {", "source:      {secretKey: wrong, ", 1),
			want:   []string{"SignatureDoesNotMatch", "check source.secretKey (from " + s.Dir}},
		{name: "wrong source secret key in vars.yaml", env: without("MIGRATOR_SOURCE_SECRET_KEY"), args: []string{"--openreplay-vars", vars},
			want: []string{"SignatureDoesNotMatch", "check source.secretKey (from global.s3.secretKey in " + vars + ")"}},
		{name: "missing source bucket", config: strings.Replace(base, "mobs: openreplay-recordings", "no-such-recordings: openreplay-recordings", 1),
			want: []string{`source bucket "no-such-recordings" does not exist`, "buckets:"}},
		{name: "missing destination bucket", config: strings.Replace(base, "mobs: openreplay-recordings", "mobs: no-such-destination", 1),
			want: []string{`destination bucket "no-such-destination" does not exist`, "`migrator preflight`"}},
		{name: "unreachable endpoint", config: strings.Replace(base, s.Dst.Endpoint, unreachable, 1),
			want: []string{"destination endpoint " + unreachable + " is unreachable", "check destination.endpoint (from " + s.Dir},
			// Said once for the three buckets, without the request's URL.
			once: "is unreachable", not: []string{"list-type", "?", unreachable + "/"}},
		{name: "unreachable source endpoint from --source-endpoint", args: []string{"--source-endpoint", unreachable},
			want: []string{"source endpoint " + unreachable + " is unreachable", "check source.endpoint (from --source-endpoint)"},
			once: "is unreachable", not: []string{"list-type", "?"}},
		{name: "broken YAML", config: strings.Replace(base, "workers: 2", "workers: [2", 1),
			want: []string{"config", "line "}},
		{name: "unknown config key", config: strings.Replace(base, "workers: 2", "wrokers: 2", 1),
			want: []string{`.yaml line 4: unknown setting "wrokers"; did you mean "workers"?`}, not: []string{"config.Config", "type "}},
		{name: "stateDir cannot be created", config: strings.Replace(base, "stateDir: "+filepath.Join(s.Dir, "state"), "stateDir: "+filepath.Join(notADir, "state"), 1),
			want: []string{"stateDir " + filepath.Join(notADir, "state") + " cannot be created", "not a directory"}, not: []string{"total:"}},
		{name: "no config file", noConfig: true, want: []string{"--config FILE", "source.endpoint is empty"}},
		{name: "missing secret", env: without("MIGRATOR_SOURCE_SECRET_KEY"),
			want: []string{"source.secretKey is empty", "MIGRATOR_SOURCE_SECRET_KEY"}},
		{name: "plain-http destination", config: strings.Replace(base, "allowInsecure: true", "allowInsecure: false", 1),
			want: []string{"destination.endpoint", "plain http", "allowInsecure: true"}},
		{name: "missing state bucket", config: base + "stateS3: s3://no-such-state/openreplay\n",
			want: []string{"stateS3 s3://no-such-state/openreplay", `bucket "no-such-state" does not exist`, "`migrator preflight` to create it"}},
		{name: "state bucket is a destination bucket", config: base + "stateS3: s3://openreplay-assets/state\n",
			want: []string{"stateS3", "openreplay-assets also receives OpenReplay's sessions-assets"}},
		{name: "state location not a URL", config: base + "stateS3: migrator-state\n",
			want: []string{`stateS3 "migrator-state"`, "s3://bucket"}},
		{name: "stall timeout too short", config: strings.Replace(base, "region: us-east-1}", "region: us-east-1, stallTimeout: 10ms}", 1),
			want: []string{"source.stallTimeout"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s.t = t
			config := s.Config
			if c.config != "" {
				config = s.WriteConfig(c.config)
			}
			env := s.Env
			if c.env != nil {
				s.Env = c.env
			}
			args := append([]string{"copy", "--config", config}, c.args...)
			if c.noConfig {
				args = append([]string{"copy"}, c.args...)
			}
			code, out := s.Run(args...)
			s.Env = env
			if code != 2 {
				t.Errorf("exit %d, want 2:\n%s", code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("the message does not say %q:\n%s", w, out)
				}
			}
			for _, w := range c.not {
				if strings.Contains(out, w) {
					t.Errorf("the message says %q:\n%s", w, out)
				}
			}
			if n := strings.Count(out, c.once); c.once != "" && n != 1 {
				t.Errorf("the message says %q %d times, want once:\n%s", c.once, n, out)
			}
			if strings.Contains(out, "panic") || strings.Count(strings.TrimSpace(out), "\n") > 5 {
				t.Errorf("want a short message, got:\n%s", out)
			}
		})
	}
}
