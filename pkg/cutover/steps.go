package cutover

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
)

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
