package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// runSplit runs bin with args and returns its exit status, stdout and stderr apart.
func runSplit(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stdout.String(), stderr.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

// Help that was asked for goes to stdout with exit 0, so `migrator copy -h | less`
// works; a usage mistake goes to stderr with exit 2, naming what is allowed.
func TestHelpVersionAndFlagValues(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, stdout, stderr := runSplit(t, binary, args...)
		if code != 0 || !strings.Contains(stdout, "Usage: migrator COMMAND") || stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want the usage on stdout, exit 0", args, code, clip(stdout, 200), stderr)
		}
	}
	code, stdout, stderr := runSplit(t, binary)
	if code != 2 || stdout != "" || !strings.Contains(stderr, "Usage: migrator COMMAND") {
		t.Errorf("no command: exit %d, stdout %q, stderr %q; want the usage on stderr, exit 2", code, stdout, clip(stderr, 200))
	}
	code, stdout, stderr = runSplit(t, binary, "copy", "--no-such-flag")
	if code != 2 || stdout != "" || !strings.Contains(stderr, "flag provided but not defined: --no-such-flag") || !strings.Contains(stderr, "migrator copy -h") {
		t.Errorf("an unknown flag: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// Each command's help, on stdout; --shard only where a command works on a shard.
	sharded := map[string]bool{"copy": true, "sync": true, "verify": true, "plan": true, "serve": true}
	for _, cmd := range []string{"copy", "sync", "verify", "plan", "serve", "preflight", "cutover", "assets-route", "version"} {
		code, stdout, stderr := runSplit(t, binary, cmd, "-h")
		if code != 0 || stderr != "" || !strings.Contains(stdout, "Usage: migrator "+cmd) {
			t.Errorf("%s -h: exit %d, stdout %q, stderr %q", cmd, code, clip(stdout, 200), stderr)
		}
		if has := strings.Contains(stdout, "-shard"); has != sharded[cmd] {
			t.Errorf("%s -h lists --shard: %v, want %v", cmd, has, sharded[cmd])
		}
		if cmd == "version" || cmd == "assets-route" { // no logs
			continue
		}
		// An enum-like value that is not one of its values is refused before any work.
		code, stdout, stderr = runSplit(t, binary, cmd, "--log-format", "xml")
		if code != 2 || stdout != "" || !strings.Contains(stderr, `invalid value "xml" for --log-format: want one of auto, json, console`) {
			t.Errorf("%s --log-format xml: exit %d, stdout %q, stderr %q; want exit 2 naming the allowed values", cmd, code, stdout, stderr)
		}
	}
	for _, c := range []struct{ args []string }{
		{[]string{"copy", "--progress", "bogus"}},
		{[]string{"sync", "--progress", "bogus"}},
		{[]string{"assets-route", "--format", "bogus"}},
	} {
		code, stdout, stderr := runSplit(t, binary, c.args...)
		want := map[string]string{"--progress": "--progress: want one of auto, on, off", "--format": "--format: want one of nginx, ingress"}[c.args[1]]
		if code != 2 || stdout != "" || !strings.Contains(stderr, `invalid value "bogus" for `+want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 naming the allowed values", c.args, code, stdout, stderr)
		}
	}

	// The version: "dev" unless the build set one, and the Go version.
	stamped := filepath.Join(t.TempDir(), "migrator")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version=1.2.3-test", "-o", stamped, ".").CombinedOutput(); err != nil {
		t.Fatalf("build with a version: %v\n%s", err, out)
	}
	for bin, want := range map[string]string{binary: "migrator dev\n", stamped: "migrator 1.2.3-test\n"} {
		for _, args := range [][]string{{"version"}, {"--version"}} {
			code, stdout, stderr := runSplit(t, bin, args...)
			if code != 0 || stderr != "" || !strings.HasPrefix(stdout, want) || !regexp.MustCompile(`(?m)^go: go1\.\d+`).MatchString(stdout) ||
				!strings.Contains(stdout, "module: github.com/openreplay-migrator/openreplay-migrator") {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q, the Go version and the module", args, code, stdout, stderr, want)
			}
		}
	}
}

// The reports count in words an operator reads without stumbling: "1 difference",
// "1 object"; plan names both buckets of each pair and adds a total row.
func TestReportsCountAndNameWhatTheyShow(t *testing.T) {
	t.Parallel()
	spec := seed.Spec{Sessions: 3, Assets: 3, Sourcemaps: 1, Seed: 65}
	s := newSite(t, spec, 2)
	if code, out := s.Run("copy", "--config", s.Config); code != 0 {
		t.Fatalf("copy exited %d:\n%s", code, out)
	}
	lost := seed.Plan(spec)[0]
	if err := s.Dst.Client().RemoveObject(context.Background(), destBuckets[lost.Bucket], lost.Key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	code, out := s.Run("verify", "--config", s.Config)
	if code != 1 || !strings.Contains(out, "verify: 1 difference\n") || !strings.Contains(out, ": 1 difference\n") || strings.Contains(out, "1 differences") {
		t.Errorf("verify with one object missing exited %d; want 1 and \"1 difference\":\n%s", code, out)
	}

	code, out = s.Run("plan", "--config", s.Config)
	if code != 0 {
		t.Fatalf("plan exited %d:\n%s", code, out)
	}
	for src, dst := range destBuckets {
		if !strings.Contains(out, src+" -> "+dst+" ") {
			t.Errorf("plan does not name the pair %s -> %s:\n%s", src, dst, out)
		}
	}
	total := regexp.MustCompile(`(?m)^total \(3 buckets\) +(\d+) +\S+ \S+ +(\d+) +\S+ \S+ +(\d+)$`).FindStringSubmatch(out)
	if total == nil || total[1] != fmt.Sprint(len(seed.Plan(spec))) || total[2] != "1" || total[3] != "0" {
		t.Errorf("plan's total row is %q; want %d objects, 1 to copy, 0 conflicts:\n%s", total, len(seed.Plan(spec)), out)
	}

	code, out = s.Run("copy", "--config", s.Config)
	if code != 0 || !strings.Contains(out, "total: 1 object,") || !strings.Contains(out, "0 conflicts") {
		t.Errorf("copy of the one missing object exited %d; want \"total: 1 object\":\n%s", code, out)
	}
}

// preflight's closing lines name the rows that ask for work by hand. With a key that
// may only read, the rows that block the copy do not hide the others: the
// s3:AbortMultipartUpload row (uploads a crash leaves would linger) is still named, and
// the row itself is kept (denied, or not probed in a dry run).
func TestPreflightNamesRowsAndKeepsAbortForReadOnlyKey(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 2, Assets: 2, Sourcemaps: 1, Seed: 66}, 2)
	code, out := s.Run("preflight", "--config", s.Config)
	if code != 0 || !strings.Contains(out, "preflight: the copy can run; 1 row asks for something to be done by hand before `migrator cutover`: destination endpoint\n") {
		t.Errorf("preflight with the root key (plain http only) exited %d; want the row named:\n%s", code, out)
	}
	dests := []string{"openreplay-recordings", "openreplay-assets", "openreplay-sourcemaps"}
	s.usePreflightKeys(s.Dst.TempKeys(testenv.Policy(testenv.ReadOnly, dests...)))
	code, out = s.Run("preflight", "--config", s.Config)
	closing := regexp.MustCompile(`(?m)^preflight: also, \d+ rows ask for something to be done by hand before ` + "`migrator cutover`" + `: (.*)$`).FindStringSubmatch(out)
	if code != 1 || !preflightRow(out, "s3:AbortMultipartUpload", "denied") ||
		!strings.Contains(out, "preflight: the copy cannot run until the rows marked ! are fixed: s3:PutObject, s3:PutObjectTagging\n") ||
		closing == nil || !strings.Contains(closing[1], "s3:AbortMultipartUpload") || !strings.Contains(closing[1], "s3:GetObjectAcl") ||
		strings.Contains(closing[1], "s3:DeleteObject") {
		t.Errorf("preflight with a read-only key exited %d; want 1, the blocking rows named, then the others with s3:AbortMultipartUpload (not the fine s3:DeleteObject):\n%s", code, out)
	}
	_, out = s.Run("preflight", "--dry-run", "--config", s.Config)
	if !preflightRow(out, "s3:AbortMultipartUpload", "not probed") {
		t.Errorf("preflight --dry-run with a read-only key: no s3:AbortMultipartUpload row:\n%s", out)
	}
}
