package cutover

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/atomicfile"
)

// Step is the last step a cutover completed.
type Step string

// The steps, in order. RolledBack ends a cutover that was undone; the next run starts
// a new one.
const (
	None        Step = ""
	Synced      Step = "synced"      // final sync of every bucket pair done
	BackedUp    Step = "backed-up"   // vars.yaml copied to a timestamped backup
	Written     Step = "written"     // vars.yaml names the destination
	Reinstalled Step = "reinstalled" // the reinstall command exited 0: OpenReplay uses the destination
	CaughtUp    Step = "caught-up"   // what the source got meanwhile is copied
	Verified    Step = "verified"    // the destination holds everything the source holds
	Done        Step = "done"
	RolledBack  Step = "rolled-back"
)

var order = []Step{None, Synced, BackedUp, Written, Reinstalled, CaughtUp, Verified, Done}

func (s Step) index() int {
	for i, o := range order {
		if o == s {
			return i
		}
	}
	return -1
}

// before reports whether s comes before t in a cutover.
func (s Step) before(t Step) bool { return s.index() < t.index() }

// StateFile is the cutover's progress, in the state folder.
const StateFile = "cutover.json"

const stateVersion = 1

// State is a cutover's progress, saved after every step so that a crash resumes (or
// rolls back) where it stopped.
type State struct {
	Version  int    `json:"version"`
	Step     Step   `json:"step"`
	VarsPath string `json:"varsPath"`
	// Backup is the copy of vars.yaml taken before it was edited; BeforeSHA256 its hash.
	Backup       string `json:"backup,omitempty"`
	BeforeSHA256 string `json:"beforeSha256,omitempty"`
	// AfterSHA256 is the hash of the edited vars.yaml, recorded before it is written,
	// so a crash between the write and the next save is recognised.
	AfterSHA256 string `json:"afterSha256,omitempty"`
	Reinstall   string `json:"reinstall,omitempty"`
	// ReinstallStarted: the reinstall command ran (or was running) with the edited
	// file, so a rollback must run it again with the restored one.
	ReinstallStarted bool `json:"reinstallStarted,omitempty"`
	// SwitchedAt is when the reinstall command returned 0: from then on OpenReplay
	// writes to the destination.
	SwitchedAt time.Time `json:"switchedAt,omitzero"`
	// RollingBack: a rollback started and has not finished; the next run finishes it.
	RollingBack bool      `json:"rollingBack,omitempty"`
	Reason      string    `json:"reason,omitempty"` // why it was rolled back
	Started     time.Time `json:"started"`
	Updated     time.Time `json:"updated"`
	Finished    time.Time `json:"finished,omitzero"`
}

func statePath(dir string) string { return filepath.Join(dir, StateFile) }

// LoadState reads the cutover's progress from the state folder; nil when there is none.
func LoadState(dir string) (*State, error) {
	data, err := os.ReadFile(statePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the cutover's progress: %w", err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s is unreadable (%v): restore it, or move it away once vars.yaml is known to be right", statePath(dir), err)
	}
	if s.Version != stateVersion || (s.Step.index() < 0 && s.Step != RolledBack) {
		return nil, fmt.Errorf("%s has version %d, step %q, which this migrator does not know: finish the cutover with the migrator that started it",
			statePath(dir), s.Version, s.Step)
	}
	return &s, nil
}

func saveState(dir string, s *State) error {
	s.Version = stateVersion
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(statePath(dir), append(data, '\n')); err != nil {
		return fmt.Errorf("save the cutover's progress: %w", err)
	}
	return nil
}
