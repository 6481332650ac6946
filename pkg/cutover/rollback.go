package cutover

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

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
