package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// SmallDisk mounts a tmpfs of size (e.g. "64m") for a server that must run out of
// space, and unmounts it when the test ends. It skips the test, saying why, where
// mounting is not allowed (not root, or in a container without the capability).
func SmallDisk(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("a full disk needs a small tmpfs, and `mount -t tmpfs` failed (run as root to include this test): %v: %s", err, out)
	}
	t.Cleanup(func() {
		// Servers stop in cleanups registered later, which run first.
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
		os.Remove(dir)
	})
	return dir
}
