// Command migrator moves an OpenReplay instance's object storage to another
// S3-compatible service and keeps the two in sync.
package main

import (
	"os"

	"golang.org/x/term"

	"github.com/openreplay-migrator/openreplay-migrator/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], &cli.Env{
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Getenv:   os.Getenv,
		Terminal: term.IsTerminal(int(os.Stderr.Fd())),
	}))
}
