package cutover

import (
	"fmt"
	"os"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
)

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
