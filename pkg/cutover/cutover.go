// Package cutover switches OpenReplay over to the destination: final sync, vars.yaml
// edited (backup first), reinstall, catch-up sync, verify; a persisted state machine
// that resumes after a crash and rolls the file back when the reinstall fails.
package cutover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

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
