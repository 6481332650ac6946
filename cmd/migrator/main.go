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
	def := runtime.GOMAXPROCS(0)
	os.Exit(cli.Main(os.Args[1:], &cli.Env{
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Getenv:   os.Getenv,
		Terminal: term.IsTerminal(int(os.Stderr.Fd())),
		Version:  version,
		Threads: func(tls bool) {
			if os.Getenv("GOMAXPROCS") == "" {
				runtime.GOMAXPROCS(procs(def, tls))
			}
		},
	}))
}

// procs is how many threads run Go code at once, given the runtime's default (the CPUs,
// or the container's CPU limit) and whether either store is reached over TLS.
//
// Over TLS, all of them: encryption is CPU work on every byte, and it runs in parallel.
// On issue 17's WAN bench (2 cores, destination on TLS 20 ms away, quiet machine, three
// runs) the migrator with no workers set copied 3-19% faster on both CPUs than on one,
// and within 0.93 of the best fixed loop where on one it fell to 0.79.
//
// Over plain HTTP, half of them, at least one: a copy waits on the network nearly all
// the time; with a thread per CPU the scheduler wakes and parks threads for every answer
// that arrives, and on a node whose CPUs are busy (with the MinIO being copied, or
// OpenReplay itself) those wake-ups cost more than the work. On the 2-core loopback
// bench one thread instead of two cut the migrator's CPU per 2 KiB object by a fifth or
// more and the servers' by about a tenth.
//
// GOMAXPROCS in the environment overrides this.
func procs(def int, tls bool) int {
	if tls {
		return def
	}
	return max(1, def/2)
}
