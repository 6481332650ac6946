// Command migrator moves an OpenReplay instance's object storage to another
// S3-compatible service and keeps the two in sync.
package main

import (
	"os"
	"runtime"

	"golang.org/x/term"

	"github.com/openreplay-migrator/openreplay-migrator/internal/cli"
)

// version is the release, set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(procs(runtime.GOMAXPROCS(0)))
	}
	os.Exit(cli.Main(os.Args[1:], &cli.Env{
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Getenv:   os.Getenv,
		Terminal: term.IsTerminal(int(os.Stderr.Fd())),
		Version:  version,
	}))
}

// procs is how many threads run Go code at once, given the runtime's default (the CPUs,
// or the container's CPU limit): half of them, at least one. A copy waits on the network
// nearly all the time; with a thread per CPU the scheduler wakes and parks threads for
// every answer that arrives, and on a node whose CPUs are busy (with the MinIO being
// copied, or OpenReplay itself) those wake-ups cost more than the work. On the 2-core
// bench machine one thread instead of two cut the migrator's CPU per 2 KiB object by a
// fifth or more and the servers' by about a tenth. Over TLS to a 20-80 ms link (issue 17's
// bench, two runs) Go on both CPUs, or on 4 by GOMAXPROCS=4, copied no faster and peaked
// 3-25 MiB higher. GOMAXPROCS in the environment overrides this.
func procs(def int) int { return max(1, def/2) }
