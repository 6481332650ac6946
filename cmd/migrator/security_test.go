package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// Every command runs with a source key that may only read (an STS session whose policy
// allows listing and reading): they all succeed and the source is unchanged. Meanwhile
// no secret (either side's keys, the session token) shows in the logs, the reports, the
// metrics, the command line, the error messages or the state folder.
func TestSecurityReadOnlySourceAndNoSecretLeaks(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 12, Assets: 8, Sourcemaps: 2, LargeEvery: 6, LargeMax: 7 << 20, Odd: true, Seed: 61}, 4)
	ro := s.Src.TempKeys(testenv.Policy(testenv.ReadOnly, seed.Recordings, seed.Assets, seed.Sourcemaps))
	s.Env = append(s.Env, "MIGRATOR_SOURCE_ACCESS_KEY="+ro.AccessKey, "MIGRATOR_SOURCE_SECRET_KEY="+ro.SecretKey,
		"MIGRATOR_SOURCE_SESSION_TOKEN="+ro.SessionToken)
	secrets := map[string]string{
		"source access key": ro.AccessKey, "source secret key": ro.SecretKey, "source session token": ro.SessionToken,
		"destination access key": s.Dst.AccessKey, "destination secret key": s.Dst.SecretKey,
	}
	before := map[string]map[string]testenv.ObjectState{}
	for src := range destBuckets {
		before[src] = s.Src.Snapshot(src)
	}

	var seen []string // everything a secret could leak into
	runAll := func(args ...string) (int, string) {
		t.Helper()
		r := s.start(args...)
		r.mu.Lock()
		r.keep = true
		r.mu.Unlock()
		// What `ps` shows, read while the process runs.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if b, err := os.ReadFile("/proc/" + strconv.Itoa(r.cmd.Process.Pid) + "/cmdline"); err == nil && len(b) > 0 {
				seen = append(seen, "cmdline of "+args[0]+": "+strings.ReplaceAll(string(b), "\x00", " "))
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		code := r.wait()
		out := r.output()
		seen = append(seen, args[0]+" output:\n"+out)
		r.mu.Lock()
		seen = append(seen, r.scrapes...)
		scraped := len(r.scrapes)
		r.mu.Unlock()
		if scraped == 0 && (args[0] == "copy" || args[0] == "sync" || args[0] == "verify") {
			t.Logf("%s ended before its metrics were scraped", args[0])
		}
		return code, out
	}
	for _, args := range [][]string{
		{"copy", "--config", s.Config},
		{"sync", "--config", s.Config},
		{"verify", "--config", s.Config},
		{"verify", "--deep", "--config", s.Config},
		{"plan", "--config", s.Config},
	} {
		if code, out := runAll(args...); code != 0 {
			t.Errorf("%s with a read-only source key exited %d:\n%s", strings.Join(args, " "), code, tail(out, 20))
		}
	}
	// preflight checks both sides and may fix the destination; with this source key it
	// must not (and cannot) change the source, whatever it reports.
	runAll("preflight", "--config", s.Config)
	s.verifyClean()
	for src, objs := range before {
		if after := s.Src.Snapshot(src); !reflect.DeepEqual(objs, after) {
			t.Errorf("source bucket %s changed while read with a read-only key", src)
		}
		testenv.AssertNoUploads(t, s.Src, src)
	}

	// Failures print errors: a wrong secret, a wrong access key, a broken config file
	// holding secrets inline. None of them may echo a secret.
	wrong := "wrong-" + s.Dst.SecretKey
	secrets["wrong destination secret key"] = wrong
	s.Env = append(s.Env, "MIGRATOR_DESTINATION_SECRET_KEY="+wrong)
	if code, _ := runAll("copy", "--config", s.Config); code != 2 {
		t.Errorf("copy with a wrong destination secret exited %d, want 2", code)
	}
	inline := "inline-secret-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	secrets["secret in the config file"] = inline
	broken := readFile(t, s.Config)
	broken = strings.Replace(broken, "region: us-east-1}", "region: us-east-1, secretKey: "+inline+"}", 1)
	broken = s.WriteConfig(strings.Replace(broken, "workers: 4", "workers: four", 1))
	if code, _ := runAll("copy", "--config", broken); code != 2 {
		t.Errorf("copy with a broken config exited %d, want 2", code)
	}

	for path, content := range s.stateFiles() {
		seen = append(seen, "state file "+path+":\n"+content)
	}
	if len(s.stateFiles()) == 0 {
		t.Fatal("no state file was written: nothing to check")
	}
	for _, text := range seen {
		for name, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("the %s appears in %s", name, clip(text, 300))
			}
		}
	}
	report(t, faultRow{order: 60, Scenario: "security: read-only source key; secrets in every output", Objects: s.objects(),
		Faults:  "copy, sync, verify, verify --deep, plan, preflight with a read-only STS source key; a wrong secret; a broken config with an inline secret",
		Retries: "0", Result: fmt.Sprintf("source unchanged; no secret in %d outputs, metrics scrapes, command lines or state files", len(seen))})
}

// TLS: a destination with a self-signed certificate is refused until caFile names it;
// a plain-http destination is refused unless allowInsecure: true.
func TestSecurityTLS(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 6, Assets: 6, Sourcemaps: 1, Seed: 63}, 4)
	tlsDst := testenv.StartMinIOWith(t, testenv.MinIOOptions{TLS: testenv.SelfSigned(t)})
	s.replaceDestination(tlsDst)
	secure := s.editConfig("allowInsecure: true\n", "")

	code, out := s.Run("copy", "--config", secure)
	if code != 2 || !strings.Contains(out, "does not trust") || !strings.Contains(out, "destination.caFile") {
		t.Errorf("copy to a self-signed destination without caFile exited %d; want 2 and a message naming destination.caFile:\n%s", code, out)
	}
	for _, b := range destBuckets {
		if n := len(s.Dst.Snapshot(b)); n != 0 {
			t.Fatalf("%d objects reached %s over an untrusted connection", n, b)
		}
	}
	trusted := s.WriteConfig(strings.Replace(readFile(t, secure), "destination: {endpoint: "+tlsDst.Endpoint,
		"destination: {caFile: "+tlsDst.CAFile+", endpoint: "+tlsDst.Endpoint, 1))
	if code, out := s.Run("copy", "--config", trusted); code != 0 {
		t.Fatalf("copy with caFile exited %d:\n%s", code, out)
	}
	s.verifyClean()

	plain := s.WriteConfig(strings.Replace(readFile(t, secure), tlsDst.Endpoint, "http://"+tlsDst.Addr(), 1))
	code, out = s.Run("copy", "--config", plain)
	if code != 2 || !strings.Contains(out, "plain http") || !strings.Contains(out, "allowInsecure: true") {
		t.Errorf("copy to a plain-http destination without allowInsecure exited %d; want 2 and a message naming allowInsecure:\n%s", code, out)
	}
	report(t, faultRow{order: 61, Scenario: "security: TLS destination with a self-signed certificate", Objects: s.objects(),
		Faults: "untrusted certificate; then plain http without allowInsecure", Retries: "0",
		Result: "refused (exit 2, names destination.caFile) until caFile is set, then identical; plain http refused (exit 2, names allowInsecure)"})
}

// A password written into a URL (an endpoint, --source-endpoint, vars.yaml's
// global.s3.endpoint, stateS3) is refused by every command before any request, with exit
// 2 and a message naming the settings that hold keys instead; no output shows it. The
// endpoints point at the real servers: accepted, they would work and print the URL.
func TestSecurityPasswordInEndpointIsRefusedAndNeverPrinted(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 2, Assets: 2, Sourcemaps: 1, Seed: 64}, 2)
	const password = "TopSecretUrl789"
	withPass := func(endpoint string) string {
		return strings.Replace(endpoint, "http://", "http://user:"+password+"@", 1)
	}
	base := readFile(t, s.Config)
	cleanVars := filepath.Join(s.Dir, "vars.yaml")
	passVars := filepath.Join(s.Dir, "vars-with-password.yaml")
	for p, endpoint := range map[string]string{cleanVars: s.Src.Endpoint, passVars: withPass(s.Src.Endpoint)} {
		if err := os.WriteFile(p, []byte(fmt.Sprintf(cutoverVars, s.Src.AccessKey, s.Src.SecretKey, endpoint)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name   string
		config string
		vars   string   // the vars.yaml for --openreplay-vars
		extra  []string // more flags
		want   string
	}{
		{name: "source.endpoint", config: strings.Replace(base, s.Src.Endpoint, withPass(s.Src.Endpoint), 1), vars: cleanVars,
			want: "MIGRATOR_SOURCE_SECRET_KEY"},
		{name: "destination.endpoint", config: strings.Replace(base, s.Dst.Endpoint, withPass(s.Dst.Endpoint), 1), vars: cleanVars,
			want: "MIGRATOR_DESTINATION_SECRET_KEY"},
		{name: "--source-endpoint", config: base, vars: cleanVars, extra: []string{"--source-endpoint", withPass(s.Src.Endpoint)},
			want: "source.endpoint (from --source-endpoint)"},
		{name: "global.s3.endpoint", config: base, vars: passVars, want: "global.s3.endpoint in " + passVars},
		{name: "stateS3", config: base + "stateS3: s3://user:" + password + "@migrator-state/openreplay\n", vars: cleanVars,
			want: "stateS3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s.t = t
			config := s.WriteConfig(c.config)
			for _, args := range [][]string{
				{"plan", "--config", config},
				{"copy", "--config", config},
				{"verify", "--config", config},
				{"preflight", "--config", config},
				{"serve", "--config", config, "--metrics-addr", "127.0.0.1:0"},
				{"cutover", "--dry-run", "--config", config, "--reinstall", "true"},
				{"assets-route", "--config", config},
			} {
				// --openreplay-vars for every command in the vars.yaml case, for
				// cutover (which needs it) in all.
				if c.vars == passVars || args[0] == "cutover" {
					args = append(args, "--openreplay-vars", c.vars)
				}
				args = append(args, c.extra...)
				code, out := s.runBounded(args...)
				if strings.Contains(out, password) {
					t.Errorf("%s: the password shows:\n%s", args[0], out)
				}
				if args[0] == "cutover" && c.name == "source.endpoint" {
					// With --openreplay-vars the source is vars.yaml's: the config's
					// endpoint is not used, so nothing is refused, and nothing shows it.
					continue
				}
				if args[0] == "assets-route" {
					// It reads the destination alone, and refuses keys in the URL it
					// would send browsers to.
					if c.name == "destination.endpoint" && (code != 2 || !strings.Contains(out, "user name or key")) {
						t.Errorf("assets-route exited %d; want 2 and a refusal:\n%s", code, out)
					}
					continue
				}
				if code != 2 || !strings.Contains(out, "user name and password") || !strings.Contains(out, c.want) {
					t.Errorf("%s exited %d; want 2 and a refusal naming %q:\n%s", args[0], code, c.want, out)
				}
			}
		})
	}
	report(t, faultRow{order: 62, Scenario: "security: a password in an endpoint URL", Objects: s.objects(),
		Faults: "user:password@ in source.endpoint, destination.endpoint, --source-endpoint, vars.yaml's global.s3.endpoint, stateS3", Retries: "0",
		Result: "plan, copy, verify, preflight, serve and cutover --dry-run refuse it (exit 2, naming the key settings); the password in no output"})
}

// runBounded is run for a command that should stop at once: should it not (serve that
// took the URL runs until stopped), it is killed after a minute and reported.
func (s *site) runBounded(args ...string) (int, string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = s.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		s.t.Errorf("%s was still running after a minute; killed", args[0])
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return 0, out.String()
}
