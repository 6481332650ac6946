package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Migrator builds the migrator binary once per test process and returns its path.
func Migrator(t testing.TB) string {
	t.Helper()
	path, err := BuildMigrator()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// BuildMigrator is Migrator for a TestMain, which has no testing.TB.
func BuildMigrator() (string, error) {
	buildOnce.Do(func() {
		gomod, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = fmt.Errorf("find the module: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "migrator-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "migrator")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/migrator")
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build migrator: %v\n%s", err, out)
		}
	})
	return buildPath, buildErr
}
