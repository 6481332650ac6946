package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// versionCmd is `migrator version` (also `migrator --version`).
type versionCmd struct{}

func (versionCmd) Summary() string {
	return "print the migrator's version and the Go version it was built with"
}
func (versionCmd) Flags(*flag.FlagSet) {}
func (versionCmd) Run(_ context.Context, env *Env) int {
	printVersion(env.Stdout, env.Version)
	return ExitOK
}

// printVersion writes the version set at build time (-ldflags "-X main.version=..."),
// "dev" when none was, with what the Go toolchain recorded about the build: the
// module's version and, when built from a git checkout, its commit.
func printVersion(w io.Writer, version string) {
	if version == "" {
		version = "dev"
	}
	fmt.Fprintf(w, "migrator %s\n", version)
	fmt.Fprintf(w, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	fmt.Fprintf(w, "module: %s %s\n", info.Main.Path, info.Main.Version)
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		if modified == "true" {
			rev += " (with uncommitted changes)"
		}
		fmt.Fprintf(w, "commit: %s\n", rev)
	}
}
