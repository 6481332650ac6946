package cutover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Known reinstall commands, for help texts.
const (
	// ReinstallInstalled reloads an install that keeps its vars.yaml in /var/lib/openreplay.
	ReinstallInstalled = "openreplay -R"
	// ReinstallGuide is the external-storage guide's form, run in openreplay/scripts/helmcharts.
	ReinstallGuide = "cd openreplay/scripts/helmcharts && ./openreplay-cli -I"
	// ReinstallHelm is a custom install's own upgrade.
	ReinstallHelm = "helm upgrade openreplay -n app openreplay/scripts/helmcharts/openreplay -f openreplay/scripts/helmcharts/vars.yaml --atomic"
)

// stopGrace is how long an interrupted reinstall gets to stop after SIGTERM: helm
// --atomic rolls its release back on the way out, which takes a while.
const stopGrace = 2 * time.Minute

// CleanEnv returns env without the migrator's own variables (MIGRATOR_*): they carry its
// keys, and the reinstall command needs none of them.
func CleanEnv(env []string) []string {
	out := []string{} // never nil: exec.Cmd takes a nil Env as "inherit everything"
	for _, kv := range env {
		if !strings.HasPrefix(kv, "MIGRATOR_") {
			out = append(out, kv)
		}
	}
	return out
}

// ExitError is a reinstall command that ran and failed.
type ExitError struct {
	Command string
	Code    int
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("the reinstall command `%s` exited with status %d", e.Command, e.Code)
}

// runCommand runs command with `sh -c` in env (without MIGRATOR_* variables; nil for
// this process's environment), streaming its output to out. It runs in its own
// process group: when ctx ends, the group gets SIGTERM, then SIGKILL after stopGrace.
func runCommand(ctx context.Context, command string, env []string, out io.Writer) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = CleanEnv(env)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("the reinstall command `%s` was stopped: %w", command, ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &ExitError{Command: command, Code: ee.ExitCode()}
	}
	if err != nil {
		return fmt.Errorf("run the reinstall command `%s`: %w", command, err)
	}
	return nil
}
