package cutover

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
)

// varsFixture is an installed vars.yaml of the current shape: global.s3's keys are
// aliases of MinIO's own credential anchors.
const varsFixture = `fromVersion: "v1.22.0"
postgresql: &postgres
  postgresqlPassword: "Zk4pQ8wLm2Rt6Yv0Xc3B"
  postgresqlHost: "postgresql.db.svc.cluster.local"

minio:
  # Disable this if you use an external object storage service (s3)
  enabled: true
  global:
    minio:
      accessKey: &accessKey "MinioAccessKey000001"
      secretKey: &secretKey "MinioSecretKey000001"

global:
  postgresql: *postgres
  s3:
    region: "us-east-1"
    endpoint: "http://minio.db.svc.cluster.local:9000"
    assetsBucket: "sessions-assets"
    recordingsBucket: "mobs"
    sourcemapsBucket: 'sourcemaps'
    # are same as minio.global.minio.accesskey and secretKey
    accessKey: *accessKey
    secretKey: *secretKey
  domainName: "openreplay.example.org"
`

var dest = openreplay.Destination{
	Endpoint: "https://s3.eu-central-1.amazonaws.com", Region: "eu-central-1",
	AccessKey: "AKIADESTINATION00001", SecretKey: "destination/Secret+Key=1",
	Buckets: map[string]string{"recordingsBucket": "or-recordings", "assetsBucket": "or-assets", "sourcemapsBucket": "or-sourcemaps"},
}

// bench is a cutover with fakes for everything but the file and the reinstall script.
type bench struct {
	t                *testing.T
	dir, vars, state string
	args, code, log  string
	out              bytes.Buffer
	phases           []string
	syncErr          map[string]error
	verifyErr        error
	kept, forgot     int
	onSync           func(phase string)
	switchedAtVerify time.Time
}

func newBench(t *testing.T) *bench {
	t.Helper()
	b := &bench{t: t, dir: t.TempDir(), syncErr: map[string]error{}}
	b.vars = filepath.Join(b.dir, "vars.yaml")
	b.state = filepath.Join(b.dir, "state")
	b.args = filepath.Join(b.dir, "reinstall.args")
	b.code = filepath.Join(b.dir, "reinstall.code")
	if err := os.WriteFile(b.vars, []byte(varsFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	b.exitCode("0")
	script := filepath.Join(b.dir, "reinstall.sh")
	// Each run takes the next exit status from the code file (0 once it is empty).
	body := "#!/bin/sh\necho \"$*\" >> " + b.args + "\necho reinstalling with $(grep -c or-recordings " + b.vars + ") destination lines\n" +
		"read -r first rest < " + b.code + "\necho \"$rest\" > " + b.code + "\nexit ${first:-0}\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *bench) exitCode(c string) {
	if err := os.WriteFile(b.code, []byte(c), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *bench) cutover() *Cutover {
	return &Cutover{
		StateDir: b.state, VarsPath: b.vars, Dest: dest,
		Reinstall: filepath.Join(b.dir, "reinstall.sh") + " -R",
		Env:       []string{"PATH=" + os.Getenv("PATH"), "MIGRATOR_DESTINATION_SECRET_KEY=must-not-pass"},
		Out:       &b.out,
		Sync: func(_ context.Context, phase string) error {
			b.phases = append(b.phases, phase)
			if b.onSync != nil {
				b.onSync(phase)
			}
			return b.syncErr[phase]
		},
		Verify: func(_ context.Context, at time.Time) error {
			b.phases = append(b.phases, "verify")
			b.switchedAtVerify = at
			return b.verifyErr
		},
		KeepSource:   func() error { b.kept++; return nil },
		ForgetSource: func() error { b.forgot++; return nil },
	}
}

func (b *bench) reinstalls() []string {
	data, err := os.ReadFile(b.args)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func (b *bench) varsNow() string {
	data, err := os.ReadFile(b.vars)
	if err != nil {
		b.t.Fatal(err)
	}
	return string(data)
}

func (b *bench) step() Step {
	st, err := LoadState(b.state)
	if err != nil || st == nil {
		b.t.Fatalf("state: %v, %v", st, err)
	}
	return st.Step
}

func TestCutoverSwitchesThenIsANoOp(t *testing.T) {
	b := newBench(t)
	res, err := b.cutover().Run(context.Background())
	if err != nil {
		t.Fatalf("cutover: %v\n%s", err, b.out.String())
	}
	if got := strings.Join(b.phases, ","); got != "final sync,catch-up sync,verify" {
		t.Errorf("phases %s", got)
	}
	if b.switchedAtVerify.IsZero() || b.kept != 1 || b.forgot != 0 {
		t.Errorf("verify saw switch time %v; source kept %d, forgotten %d times", b.switchedAtVerify, b.kept, b.forgot)
	}
	if r := b.reinstalls(); len(r) != 1 || r[0] != "-R" {
		t.Errorf("reinstall ran with %q", r)
	}
	st, err := openreplay.ParseStorage([]byte(b.varsNow()))
	if err != nil || st.Endpoint != dest.Endpoint || st.AccessKey != dest.AccessKey || st.Bucket("assetsBucket") != "or-assets" {
		t.Fatalf("vars.yaml after the cutover: %+v, %v", st, err)
	}
	if !strings.Contains(b.varsNow(), `accessKey: &accessKey "MinioAccessKey000001"`) {
		t.Error("MinIO's own credential changed")
	}
	if res.State.Step != Done || res.Before.Endpoint != "http://minio.db.svc.cluster.local:9000" || res.After.Endpoint != dest.Endpoint {
		t.Errorf("result %+v", res)
	}
	backup, err := os.ReadFile(res.State.Backup)
	if err != nil || string(backup) != varsFixture {
		t.Errorf("backup %s: %v", res.State.Backup, err)
	}
	if fi, err := os.Stat(b.vars); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("vars.yaml mode after the write: %v %v", fi.Mode(), err)
	}
	for _, secret := range []string{dest.SecretKey, dest.AccessKey, "must-not-pass"} {
		if strings.Contains(b.out.String(), secret) || strings.Contains(res.Diff, secret) {
			t.Errorf("output shows a secret:\n%s", b.out.String())
		}
	}
	if !strings.Contains(res.Diff, `+    secretKey: "[redacted]"`) || !strings.Contains(res.Diff, "-    secretKey: *secretKey") {
		t.Errorf("diff:\n%s", res.Diff)
	}

	b.phases = nil
	res, err = b.cutover().Run(context.Background())
	if err != nil || !res.AlreadyDone || len(b.phases) != 0 || len(b.reinstalls()) != 1 {
		t.Fatalf("second run: done=%v err=%v phases=%v reinstalls=%v", res.AlreadyDone, err, b.phases, b.reinstalls())
	}
	if p, err := b.cutover().Plan(); err != nil || p.State.Step != Done || len(p.Steps) != 0 {
		t.Fatalf("plan after the cutover: %+v %v", p, err)
	}
}

func TestCutoverFailingReinstallRollsBackExactly(t *testing.T) {
	b := newBench(t)
	b.exitCode("3")
	_, err := b.cutover().Run(context.Background())
	if !errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), "exited with status 3") {
		t.Fatalf("cutover with a failing reinstall: %v\n%s", err, b.out.String())
	}
	if b.varsNow() != varsFixture {
		t.Fatalf("vars.yaml not restored byte for byte:\n%s", b.varsNow())
	}
	if r := b.reinstalls(); len(r) != 2 {
		t.Fatalf("reinstall ran %d times, want 2 (the switch, then the rollback)", len(r))
	}
	if b.step() != RolledBack || b.forgot != 1 || strings.Contains(strings.Join(b.phases, ","), "catch-up") {
		t.Fatalf("after the rollback: step %s, forgot %d, phases %v", b.step(), b.forgot, b.phases)
	}
	// Fixed, a new run starts over and succeeds.
	if _, err := b.cutover().Run(context.Background()); err != nil {
		t.Fatalf("cutover after a rollback: %v\n%s", err, b.out.String())
	}
	if b.step() != Done || len(b.reinstalls()) != 3 {
		t.Fatalf("step %s, %d reinstalls", b.step(), len(b.reinstalls()))
	}
}

// An interruption at any step stops there; the next run resumes without repeating
// what was done (the reinstall runs once).
func TestCutoverResumesAfterInterruption(t *testing.T) {
	for _, stopAt := range []string{"final sync", "catch-up sync", "verify"} {
		t.Run(stopAt, func(t *testing.T) {
			b := newBench(t)
			ctx, cancel := context.WithCancel(context.Background())
			b.onSync = func(phase string) {
				if phase == stopAt {
					cancel()
				}
			}
			c := b.cutover()
			if stopAt == "verify" {
				c.Verify = func(context.Context, time.Time) error { cancel(); return context.Canceled }
			}
			_, err := c.Run(ctx)
			if err == nil || !strings.Contains(err.Error(), "run cutover again to resume") {
				t.Fatalf("interrupted cutover: %v", err)
			}
			b.onSync = nil
			if _, err := b.cutover().Run(context.Background()); err != nil {
				t.Fatalf("resumed cutover: %v\n%s", err, b.out.String())
			}
			if b.step() != Done || len(b.reinstalls()) != 1 {
				t.Fatalf("step %s, %d reinstalls", b.step(), len(b.reinstalls()))
			}
		})
	}
}

// A crash between writing vars.yaml and saving the step: the next run sees its own
// edit, and goes on.
func TestCutoverRecognisesItsOwnEditAfterACrash(t *testing.T) {
	b := newBench(t)
	c := b.cutover()
	st := &State{VarsPath: b.vars, Step: Synced, Started: time.Now()}
	if err := c.backup(st); err != nil {
		t.Fatal(err)
	}
	_, after, err := c.edited(st)
	if err != nil {
		t.Fatal(err)
	}
	st.AfterSHA256 = digest(after)
	if err := saveState(b.state, st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.vars, after, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.cutover().Run(context.Background()); err != nil {
		t.Fatalf("cutover after a crash mid-write: %v\n%s", err, b.out.String())
	}
	if b.step() != Done || b.varsNow() != string(after) {
		t.Fatalf("step %s", b.step())
	}
}

func TestCutoverRetriesAFailedRollbackReinstall(t *testing.T) {
	b := newBench(t)
	b.exitCode("1 1")
	_, err := b.cutover().Run(context.Background())
	if err == nil || errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), "vars.yaml is restored, but") {
		t.Fatalf("failed rollback: %v", err)
	}
	if b.varsNow() != varsFixture {
		t.Fatal("vars.yaml not restored")
	}
	_, err = b.cutover().Run(context.Background())
	if !errors.Is(err, ErrRolledBack) || b.step() != RolledBack || len(b.reinstalls()) != 3 {
		t.Fatalf("retried rollback: %v, step %s, %d reinstalls", err, b.step(), len(b.reinstalls()))
	}
}

func TestCutoverFinishesAnInterruptedRollback(t *testing.T) {
	b := newBench(t)
	ctx, cancel := context.WithCancel(context.Background())
	b.exitCode("1")
	c := b.cutover()
	// The rollback's reinstall is interrupted.
	c.ForgetSource = func() error { cancel(); return context.Canceled }
	if _, err := c.Run(ctx); err == nil {
		t.Fatal("no error")
	}
	st, _ := LoadState(b.state)
	if !st.RollingBack {
		t.Fatalf("state after an interrupted rollback: %+v", st)
	}
	b.exitCode("0")
	_, err := b.cutover().Run(context.Background())
	if !errors.Is(err, ErrRolledBack) || b.varsNow() != varsFixture || b.step() != RolledBack {
		t.Fatalf("finishing the rollback: %v, step %s", err, b.step())
	}
}

func TestCutoverFailureAfterTheSwitchDoesNotRollBack(t *testing.T) {
	b := newBench(t)
	b.verifyErr = errors.New("1 object missing")
	_, err := b.cutover().Run(context.Background())
	if err == nil || errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), "nothing is rolled back") {
		t.Fatalf("verify failure: %v", err)
	}
	if b.step() != CaughtUp || strings.Contains(b.varsNow(), "minio.db.svc") || len(b.reinstalls()) != 1 {
		t.Fatalf("step %s, %d reinstalls", b.step(), len(b.reinstalls()))
	}
	// An explicit rollback is still possible, and says what it leaves behind.
	_, err = b.cutover().Rollback(context.Background(), errors.New("operator asked"))
	if !errors.Is(err, ErrRolledBack) || b.varsNow() != varsFixture || len(b.reinstalls()) != 2 {
		t.Fatalf("rollback: %v", err)
	}
	if !strings.Contains(b.out.String(), "stays only there") {
		t.Errorf("no warning about objects written to the destination:\n%s", b.out.String())
	}
}

func TestCutoverPlanTouchesNothing(t *testing.T) {
	b := newBench(t)
	p, err := b.cutover().Plan()
	if err != nil {
		t.Fatal(err)
	}
	if p.State != nil || len(p.Steps) != 6 || !strings.Contains(p.Diff, `+    endpoint: "https://s3.eu-central-1.amazonaws.com"`) ||
		strings.Contains(p.Diff, dest.SecretKey) {
		t.Fatalf("plan: %+v\n%s", p, p.Diff)
	}
	if _, err := os.Stat(b.state); !errors.Is(err, os.ErrNotExist) || b.varsNow() != varsFixture || b.reinstalls() != nil {
		t.Fatalf("plan touched something: state folder %v", err)
	}
}

func TestCutoverRefusesAnEditOutsideS3(t *testing.T) {
	before := []byte(varsFixture)
	after := bytes.Replace(before, []byte(`"postgresql.db.svc.cluster.local"`), []byte(`"elsewhere"`), 1)
	if err := onlyS3Changed(before, after, false); err == nil {
		t.Fatal("an edit of postgresql passed")
	}
	after = bytes.Replace(before, []byte(`region: "us-east-1"`), []byte(`region: "eu-west-1"`), 1)
	if err := onlyS3Changed(before, after, false); err != nil {
		t.Fatal(err)
	}
	if err := onlyS3Changed(before, []byte("global: [unclosed"), false); err == nil {
		t.Fatal("a broken file passed")
	}
}

func TestCutoverReinstallEnvHasNoMigratorSecrets(t *testing.T) {
	var out bytes.Buffer
	env := []string{"PATH=" + os.Getenv("PATH"), "MIGRATOR_SOURCE_SECRET_KEY=x", "HOME=/nowhere"}
	if err := runCommand(context.Background(), "env", env, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "MIGRATOR_") || !strings.Contains(out.String(), "HOME=/nowhere") {
		t.Fatalf("reinstall environment:\n%s", out.String())
	}
}
