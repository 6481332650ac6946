// Package cutover switches OpenReplay over to the destination: final sync, vars.yaml
// edited (backup first), reinstall, catch-up sync, verify; a persisted state machine
// that resumes after a crash and rolls the file back when the reinstall fails.
package cutover

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
)

// Cutover is one switch of one vars.yaml. Every field but Now is required.
type Cutover struct {
	StateDir string
	VarsPath string
	Dest     openreplay.Destination // what global.s3 becomes
	// Reinstall is the command that makes OpenReplay read vars.yaml again, run with
	// `sh -c` in Env (see CleanEnv).
	Reinstall string
	Env       []string
	// Out receives progress lines and the reinstall command's output as it comes.
	Out io.Writer
	// Sync copies what the source has and the destination lacks; phase names it for
	// messages ("final sync", "catch-up sync").
	Sync func(ctx context.Context, phase string) error
	// Verify proves the destination holds what the source holds. Objects OpenReplay
	// wrote to the destination after switchedAt are expected there and are no difference.
	Verify func(ctx context.Context, switchedAt time.Time) error
	// KeepSource saves the source's settings before vars.yaml stops naming them.
	KeepSource func() error
	// ForgetSource drops them again once a rollback restored vars.yaml.
	ForgetSource func() error
	// CheckAssets, if set, runs after the reinstall command succeeded, with the time
	// the cutover started (objects older than that are old recordings' and were in the
	// final sync); an error rolls the cutover back (see checkAssets).
	CheckAssets func(ctx context.Context, copiedBefore time.Time) error
	Now         func() time.Time
}

// Result is what a run did.
type Result struct {
	State       State
	AlreadyDone bool   // the cutover had finished before this run
	Diff        string // vars.yaml before and after, secrets redacted
	// Before and After are global.s3 as vars.yaml said before the switch and says now.
	Before, After *openreplay.Storage
}

// ErrRolledBack says the cutover was undone: vars.yaml is restored and OpenReplay was
// reinstalled with it. The error wraps the reason.
var ErrRolledBack = errors.New("cutover rolled back")

func (c *Cutover) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

func (c *Cutover) say(format string, a ...any) { fmt.Fprintf(c.Out, "cutover: "+format+"\n", a...) }

// Run takes the cutover from wherever it stands to done. Interrupted (ctx ends), it
// stops between steps, or stops the reinstall command, and the next run resumes.
func (c *Cutover) Run(ctx context.Context) (*Result, error) {
	unlock, err := c.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := c.state()
	if err != nil {
		return nil, err
	}
	res := &Result{}
	if st.Step == Done {
		res.AlreadyDone = true
		res.State = *st
		return res, c.describe(res, st)
	}
	if st.RollingBack {
		c.say("a rollback was interrupted (%s); finishing it", st.Reason)
		return c.finishRollback(ctx, st, res)
	}
	for st.Step != Done {
		if err := ctx.Err(); err != nil {
			return res, c.interrupted(st, err)
		}
		var err error
		switch st.Step {
		case None:
			err = c.finalSync(ctx, st)
		case Synced:
			err = c.backup(st)
		case BackedUp:
			err = c.write(st)
		case Written:
			err = c.reinstall(ctx, st)
		case Reinstalled:
			err = c.catchUp(ctx, st)
		case CaughtUp:
			err = c.verify(ctx, st)
		case Verified:
			st.Finished = c.now()
			err = c.advance(st, Done)
		}
		var rb *rollbackError
		if errors.As(err, &rb) {
			return c.rollback(ctx, st, res, rb.reason)
		}
		if err != nil {
			if ctx.Err() != nil {
				return res, c.interrupted(st, err)
			}
			return res, err
		}
	}
	res.State = *st
	return res, c.describe(res, st)
}

// rollbackError asks Run to roll back: vars.yaml was changed and must not stay so.
type rollbackError struct{ reason error }

func (e *rollbackError) Error() string { return e.reason.Error() }

func (c *Cutover) interrupted(st *State, err error) error {
	return fmt.Errorf("stopped after step %q (%w); run cutover again to resume", stepName(st.Step), err)
}

func stepName(s Step) string {
	if s == None {
		return "start"
	}
	return string(s)
}

// state loads the saved progress, or starts a new cutover.
func (c *Cutover) state() (*State, error) {
	st, err := LoadState(c.StateDir)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(c.VarsPath)
	if err != nil {
		return nil, err
	}
	if st != nil && st.Step != RolledBack {
		if st.VarsPath != abs {
			return nil, fmt.Errorf("%s holds a cutover of %s (step %s), not of %s: finish it (or roll it back) with --openreplay-vars %s",
				statePath(c.StateDir), st.VarsPath, stepName(st.Step), abs, st.VarsPath)
		}
		return st, nil
	}
	if st != nil {
		c.say("the cutover of %s was rolled back (%s); starting a new one", st.Finished.Format(time.RFC3339), st.Reason)
	}
	now := c.now()
	return &State{VarsPath: abs, Reinstall: c.Reinstall, Started: now, Updated: now}, nil
}

func (c *Cutover) advance(st *State, to Step) error {
	st.Step = to
	st.Updated = c.now()
	if err := saveState(c.StateDir, st); err != nil {
		return err
	}
	if to != Done {
		c.say("step %s done", to)
	}
	return nil
}

func (c *Cutover) finalSync(ctx context.Context, st *State) error {
	c.say("final sync of every bucket pair")
	if err := c.Sync(ctx, "final sync"); err != nil {
		return fmt.Errorf("final sync: %w; vars.yaml is untouched: fix that and run cutover again", err)
	}
	return c.advance(st, Synced)
}

// backup keeps the source's settings, then copies vars.yaml to a timestamped file next to it.
func (c *Cutover) backup(st *State) error {
	data, mode, err := readVars(st.VarsPath)
	if err != nil {
		return err
	}
	// Before anything is kept: a file that cannot be switched (or names the destination
	// already) must not have its settings kept as the source's.
	if _, err := c.editOf(st.VarsPath, data); err != nil {
		return err
	}
	if err := c.KeepSource(); err != nil {
		return fmt.Errorf("keep the source's settings before vars.yaml changes: %w", err)
	}
	name := fmt.Sprintf("%s.before-cutover-%s", st.VarsPath, c.now().Format("20060102T150405Z"))
	if err := writeAtomic(name, data, mode); err != nil {
		return fmt.Errorf("back up vars.yaml: %w", err)
	}
	if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, data) {
		return fmt.Errorf("back up vars.yaml: %s does not read back as written (%v)", name, err)
	}
	st.Backup, st.BeforeSHA256 = name, digest(data)
	c.say("vars.yaml backed up to %s", name)
	return c.advance(st, BackedUp)
}

// edited returns the backed-up vars.yaml and what it becomes.
func (c *Cutover) edited(st *State) (before, after []byte, err error) {
	before, err = os.ReadFile(st.Backup)
	if err != nil {
		return nil, nil, fmt.Errorf("read the backup of vars.yaml: %w", err)
	}
	if digest(before) != st.BeforeSHA256 {
		return nil, nil, fmt.Errorf("the backup %s changed since it was taken; restore it from elsewhere, or move %s away and start over",
			st.Backup, statePath(c.StateDir))
	}
	after, err = c.editOf(st.VarsPath, before)
	return before, after, err
}

// editOf returns vars.yaml (read from path) as it is after the switch, refusing an edit
// that changes nothing or anything outside global.s3.
func (c *Cutover) editOf(path string, before []byte) ([]byte, error) {
	after, err := openreplay.EditStorage(before, c.Dest)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(before, after) {
		return nil, fmt.Errorf("%s already names the destination in global.s3: nothing to switch", path)
	}
	if err := onlyS3Changed(before, after, c.Dest.DisableMinio); err != nil {
		return nil, err
	}
	return after, nil
}

// write edits vars.yaml: atomically, after recording what it will hold.
func (c *Cutover) write(st *State) error {
	before, after, err := c.edited(st)
	if err != nil {
		return err
	}
	cur, mode, err := readVars(st.VarsPath)
	if err != nil {
		return err
	}
	switch digest(cur) {
	case digest(after):
		// Written before a crash that came before the step was saved.
		st.AfterSHA256 = digest(after)
	case st.BeforeSHA256:
		st.AfterSHA256 = digest(after)
		if err := saveState(c.StateDir, st); err != nil {
			return err
		}
		if err := writeAtomic(st.VarsPath, after, mode); err != nil {
			return fmt.Errorf("write vars.yaml: %w", err)
		}
	default:
		return fmt.Errorf("%s changed since it was backed up to %s; put the change in the backup too (or restore it), then run cutover again",
			st.VarsPath, st.Backup)
	}
	// Read back what is on disk, as OpenReplay's installer will.
	got, err := os.ReadFile(st.VarsPath)
	if err == nil && !bytes.Equal(got, after) {
		err = errors.New("it does not read back as written")
	}
	if err == nil {
		err = onlyS3Changed(before, got, c.Dest.DisableMinio)
	}
	if err != nil {
		return &rollbackError{fmt.Errorf("check the edited %s: %w", st.VarsPath, err)}
	}
	c.say("vars.yaml written: global.s3 names the destination")
	return c.advance(st, Written)
}

func (c *Cutover) reinstall(ctx context.Context, st *State) error {
	if cur, _, err := readVars(st.VarsPath); err != nil {
		return err
	} else if digest(cur) != st.AfterSHA256 {
		return fmt.Errorf("%s changed after cutover wrote it, so the reinstall command was not run: check the file, then run cutover again (or cutover --rollback to restore %s)",
			st.VarsPath, st.Backup)
	}
	st.ReinstallStarted = true
	st.Reinstall = c.Reinstall
	if err := saveState(c.StateDir, st); err != nil {
		return err
	}
	c.say("running the reinstall command: %s", c.Reinstall)
	err := runCommand(ctx, c.Reinstall, c.Env, c.Out)
	if ctx.Err() != nil {
		return err // interrupted: the next run runs it again
	}
	if err != nil {
		return &rollbackError{err}
	}
	st.SwitchedAt = c.now()
	if err := c.checkAssets(ctx, st); err != nil {
		return err
	}
	return c.advance(st, Reinstalled)
}

// afterSwitch words failures once OpenReplay writes to the destination: rolling back
// then would leave what it wrote there behind, so the cutover stops and resumes instead.
func afterSwitch(what string, err error) error {
	return fmt.Errorf("%s: %w; OpenReplay already uses the destination, so nothing is rolled back: fix this and run cutover again to resume", what, err)
}

func (c *Cutover) catchUp(ctx context.Context, st *State) error {
	c.say("catch-up sync of what the source received while OpenReplay restarted")
	if err := c.Sync(ctx, "catch-up sync"); err != nil {
		return afterSwitch("catch-up sync", err)
	}
	return c.advance(st, CaughtUp)
}

func (c *Cutover) verify(ctx context.Context, st *State) error {
	c.say("verifying the destination against the source")
	if err := c.Verify(ctx, st.SwitchedAt); err != nil {
		return afterSwitch("verify", err)
	}
	return c.advance(st, Verified)
}

// Rollback undoes a cutover that has not finished: vars.yaml is restored from its
// backup and, if the reinstall command ran with the edited file, it runs again.
func (c *Cutover) Rollback(ctx context.Context, reason error) (*Result, error) {
	unlock, err := c.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := LoadState(c.StateDir)
	if err != nil {
		return nil, err
	}
	switch {
	case st == nil || st.Step == RolledBack:
		return nil, errors.New("no cutover is in progress: nothing to roll back")
	case st.Step == Done:
		return nil, fmt.Errorf("the cutover finished at %s and OpenReplay has written to the destination since; to go back, restore %s by hand and copy those objects back",
			st.Finished.Format(time.RFC3339), st.Backup)
	case !st.Step.before(Reinstalled) && !st.RollingBack:
		c.say("warning: OpenReplay has used the destination since %s; what it wrote there stays only there", st.SwitchedAt.Format(time.RFC3339))
	}
	return c.rollback(ctx, st, &Result{}, reason)
}

func (c *Cutover) rollback(ctx context.Context, st *State, res *Result, reason error) (*Result, error) {
	c.say("rolling back: %v", reason)
	st.RollingBack, st.Reason = true, reason.Error()
	if err := saveState(c.StateDir, st); err != nil {
		return res, err
	}
	return c.finishRollback(ctx, st, res)
}

func (c *Cutover) finishRollback(ctx context.Context, st *State, res *Result) (*Result, error) {
	if !st.Step.before(BackedUp) {
		data, err := os.ReadFile(st.Backup)
		if err != nil {
			return res, fmt.Errorf("rollback: read the backup of vars.yaml: %w", err)
		}
		if digest(data) != st.BeforeSHA256 {
			return res, fmt.Errorf("rollback: the backup %s changed since it was taken; restore vars.yaml by hand", st.Backup)
		}
		cur, mode, err := readVars(st.VarsPath)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("rollback: %w", err)
		}
		if err != nil || !bytes.Equal(cur, data) {
			if mode == 0 {
				mode = 0o600
			}
			if err := writeAtomic(st.VarsPath, data, mode); err != nil {
				return res, fmt.Errorf("rollback: restore vars.yaml from %s: %w", st.Backup, err)
			}
		}
		if got, err := os.ReadFile(st.VarsPath); err != nil || !bytes.Equal(got, data) {
			return res, fmt.Errorf("rollback: %s does not read back as the backup %s (%v); copy the backup over it by hand", st.VarsPath, st.Backup, err)
		}
		c.say("vars.yaml restored from %s", st.Backup)
	}
	if st.ReinstallStarted {
		c.say("running the reinstall command again with the restored vars.yaml: %s", st.Reinstall)
		if err := runCommand(ctx, st.Reinstall, c.Env, c.Out); err != nil {
			return res, fmt.Errorf("rollback: vars.yaml is restored, but %w: run it by hand (or run cutover again to retry)", err)
		}
	}
	if err := c.ForgetSource(); err != nil {
		return res, fmt.Errorf("rollback: %w", err)
	}
	st.RollingBack = false
	st.Step = RolledBack
	st.Finished = c.now()
	st.Updated = st.Finished
	if err := saveState(c.StateDir, st); err != nil {
		return res, err
	}
	res.State = *st
	return res, fmt.Errorf("%w: %s", ErrRolledBack, st.Reason)
}

// describe fills in what changed, for the report.
func (c *Cutover) describe(res *Result, st *State) error {
	before, err := os.ReadFile(st.Backup)
	if err != nil {
		return fmt.Errorf("read the backup of vars.yaml: %w", err)
	}
	after, err := os.ReadFile(st.VarsPath)
	if err != nil {
		return fmt.Errorf("read vars.yaml: %w", err)
	}
	res.Diff = Diff(before, after)
	if res.Before, err = openreplay.ParseStorage(before); err != nil {
		return fmt.Errorf("%s: %w", st.Backup, err)
	}
	if res.After, err = openreplay.ParseStorage(after); err != nil {
		return fmt.Errorf("%s: %w", st.VarsPath, err)
	}
	return nil
}

// Plan is what a run would do, for --dry-run: nothing is written.
type Plan struct {
	State *State // nil: no cutover has started
	Diff  string // vars.yaml now and after the edit
	Steps []string
	After *openreplay.Storage // global.s3 and minio.enabled as the edit leaves them
}

// Plan reads the saved progress and vars.yaml and says what Run would do.
func (c *Cutover) Plan() (*Plan, error) {
	st, err := LoadState(c.StateDir)
	if err != nil {
		return nil, err
	}
	p := &Plan{State: st}
	if st != nil && st.Step == Done {
		return p, nil
	}
	if st != nil && st.RollingBack {
		p.Steps = []string{"finish the interrupted rollback: restore vars.yaml from " + st.Backup + " and run the reinstall command again"}
		return p, nil
	}
	resuming := st != nil && st.Step != RolledBack
	from := None
	var before []byte
	if resuming && !st.Step.before(BackedUp) {
		from = st.Step
		if before, err = os.ReadFile(st.Backup); err != nil {
			return nil, fmt.Errorf("read the backup of vars.yaml: %w", err)
		}
	} else {
		if resuming {
			from = st.Step
		}
		if before, _, err = readVars(c.VarsPath); err != nil {
			return nil, err
		}
	}
	after, err := c.editOf(c.VarsPath, before)
	if err != nil {
		return nil, err
	}
	p.Diff = Diff(before, after)
	if p.After, err = openreplay.ParseStorage(after); err != nil {
		return nil, fmt.Errorf("the edited vars.yaml: %w", err)
	}
	all := []struct {
		done Step
		what string
	}{
		{Synced, "final sync of every bucket pair"},
		{BackedUp, "keep the source's settings in the state folder; back vars.yaml up to " + c.VarsPath + ".before-cutover-<time>"},
		{Written, "write the edited vars.yaml (the diff below), atomically, and read it back"},
		{Reinstalled, "run `" + c.Reinstall + "`; if it fails, restore vars.yaml and run it again"},
		{CaughtUp, "catch-up sync of what the source received meanwhile"},
		{Verified, "verify the destination against the source"},
	}
	for _, s := range all {
		if from.before(s.done) {
			p.Steps = append(p.Steps, s.what)
		}
	}
	return p, nil
}

// lock keeps two cutovers from running at once. The kernel drops it with the process.
func (c *Cutover) lock() (func(), error) {
	if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state folder %s: %w", c.StateDir, err)
	}
	f, err := os.OpenFile(filepath.Join(c.StateDir, "cutover.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state folder %s is not writable: %w", c.StateDir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another cutover is running with state folder %s", c.StateDir)
	}
	return func() { f.Close() }, nil
}

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
	if err := checkpoint.WriteFileAtomic(path, data); err != nil {
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
