package main_test

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
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
	ro := s.src.TempKeys(testenv.Policy(testenv.ReadOnly, seed.Recordings, seed.Assets, seed.Sourcemaps))
	s.env = append(s.env, "MIGRATOR_SOURCE_ACCESS_KEY="+ro.AccessKey, "MIGRATOR_SOURCE_SECRET_KEY="+ro.SecretKey,
		"MIGRATOR_SOURCE_SESSION_TOKEN="+ro.SessionToken)
	secrets := map[string]string{
		"source access key": ro.AccessKey, "source secret key": ro.SecretKey, "source session token": ro.SessionToken,
		"destination access key": s.dst.AccessKey, "destination secret key": s.dst.SecretKey,
	}
	before := map[string]map[string]testenv.ObjectState{}
	for src := range destBuckets {
		before[src] = s.src.Snapshot(src)
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
		{"copy", "--config", s.config},
		{"sync", "--config", s.config},
		{"verify", "--config", s.config},
		{"verify", "--deep", "--config", s.config},
		{"plan", "--config", s.config},
	} {
		if code, out := runAll(args...); code != 0 {
			t.Errorf("%s with a read-only source key exited %d:\n%s", strings.Join(args, " "), code, tail(out, 20))
		}
	}
	// preflight checks both sides and may fix the destination; with this source key it
	// must not (and cannot) change the source, whatever it reports.
	runAll("preflight", "--config", s.config)
	s.verifyClean()
	for src, objs := range before {
		if after := s.src.Snapshot(src); !reflect.DeepEqual(objs, after) {
			t.Errorf("source bucket %s changed while read with a read-only key", src)
		}
		testenv.AssertNoUploads(t, s.src, src)
	}

	// Failures print errors: a wrong secret, a wrong access key, a broken config file
	// holding secrets inline. None of them may echo a secret.
	wrong := "wrong-" + s.dst.SecretKey
	secrets["wrong destination secret key"] = wrong
	s.env = append(s.env, "MIGRATOR_DESTINATION_SECRET_KEY="+wrong)
	if code, _ := runAll("copy", "--config", s.config); code != 2 {
		t.Errorf("copy with a wrong destination secret exited %d, want 2", code)
	}
	inline := "inline-secret-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	secrets["secret in the config file"] = inline
	broken := readFile(t, s.config)
	broken = strings.Replace(broken, "region: us-east-1}", "region: us-east-1, secretKey: "+inline+"}", 1)
	broken = s.writeConfig(strings.Replace(broken, "workers: 4", "workers: four", 1))
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

	code, out := s.run("copy", "--config", secure)
	if code != 2 || !strings.Contains(out, "does not trust") || !strings.Contains(out, "destination.caFile") {
		t.Errorf("copy to a self-signed destination without caFile exited %d; want 2 and a message naming destination.caFile:\n%s", code, out)
	}
	for _, b := range destBuckets {
		if n := len(s.dst.Snapshot(b)); n != 0 {
			t.Fatalf("%d objects reached %s over an untrusted connection", n, b)
		}
	}
	trusted := s.writeConfig(strings.Replace(readFile(t, secure), "destination: {endpoint: "+tlsDst.Endpoint,
		"destination: {caFile: "+tlsDst.CAFile+", endpoint: "+tlsDst.Endpoint, 1))
	if code, out := s.run("copy", "--config", trusted); code != 0 {
		t.Fatalf("copy with caFile exited %d:\n%s", code, out)
	}
	s.verifyClean()

	plain := s.writeConfig(strings.Replace(readFile(t, secure), tlsDst.Endpoint, "http://"+tlsDst.Addr(), 1))
	code, out = s.run("copy", "--config", plain)
	if code != 2 || !strings.Contains(out, "plain http") || !strings.Contains(out, "allowInsecure: true") {
		t.Errorf("copy to a plain-http destination without allowInsecure exited %d; want 2 and a message naming allowInsecure:\n%s", code, out)
	}
	report(t, faultRow{order: 61, Scenario: "security: TLS destination with a self-signed certificate", Objects: s.objects(),
		Faults: "untrusted certificate; then plain http without allowInsecure", Retries: "0",
		Result: "refused (exit 2, names destination.caFile) until caFile is set, then identical; plain http refused (exit 2, names allowInsecure)"})
}
