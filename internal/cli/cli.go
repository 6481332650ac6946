// Package cli holds the migrator's subcommands: each parses its flags, builds its
// parts from the configuration, and calls a package that does the work.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit statuses.
const (
	ExitOK     = 0 // every object in place
	ExitFailed = 1 // some objects failed or differ (listed)
	ExitUsage  = 2 // bad usage or configuration
)

// command is one subcommand.
type command interface {
	// Flags registers the command's flags on fs.
	Flags(fs *flag.FlagSet)
	// Run does the work and returns the exit status.
	Run(ctx context.Context, env *Env) int
	// Summary is one line for the usage text.
	Summary() string
}

// takesArgs is a command that takes arguments after its flags (resolve's keys).
type takesArgs interface{ SetArgs(args []string) }

// Env is what a command reads and writes besides its flags.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Terminal tells whether Stderr is a terminal (progress bars, readable logs).
	Terminal bool
	// Version is the release this binary is, set at build time; "" prints as "dev".
	Version string
}

func commands() map[string]func() command {
	return map[string]func() command{
		"copy":   func() command { return &copyCmd{kind: "copy"} },
		"sync":   func() command { return &copyCmd{kind: "sync"} },
		"verify": func() command { return &verifyCmd{} },
		"plan":   func() command { return &planCmd{} },
		"serve":  func() command { return &serveCmd{} },

		"preflight": func() command { return &preflightCmd{} },
		"cutover":   func() command { return &cutoverCmd{} },
		"resolve":   func() command { return &resolveCmd{} },
		"version":   func() command { return versionCmd{} },

		"assets-route": func() command { return &assetsRouteCmd{} },
	}
}

// Main runs the subcommand named by args[0] and returns the exit status. Help that was
// asked for goes to stdout (exit 0); a usage error goes to stderr (exit 2).
func Main(args []string, env *Env) int {
	cmds := commands()
	if len(args) == 0 {
		usage(env.Stderr, cmds)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(env.Stdout, cmds)
		return ExitOK
	case "-version", "--version":
		printVersion(env.Stdout, env.Version)
		return ExitOK
	}
	newCmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "migrator: unknown command %q\n\n", args[0])
		usage(env.Stderr, cmds)
		return ExitUsage
	}
	cmd := newCmd()
	name := "migrator " + args[0]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package prints its errors and the usage to one writer: keep both, and
	// send the usage to stdout when it was asked for, a short error to stderr otherwise.
	var help strings.Builder
	fs.SetOutput(&help)
	fs.Usage = func() {
		fmt.Fprintf(&help, "Usage: %s [flags]\n\n%s\n\nFlags:\n", name, cmd.Summary())
		fs.PrintDefaults()
	}
	cmd.Flags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(env.Stdout, help.String())
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "%s: %s\nRun '%s -h' for its flags.\n", name, dashDash(err), name)
		return ExitUsage
	}
	if a, ok := cmd.(takesArgs); ok {
		a.SetArgs(fs.Args())
	} else if fs.NArg() > 0 {
		fmt.Fprintf(env.Stderr, "%s: unexpected argument %q\nRun '%s -h' for its flags.\n", name, fs.Arg(0), name)
		return ExitUsage
	}
	// SIGTERM (Kubernetes) and Ctrl-C stop taking work; in-flight objects get the grace period.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return cmd.Run(ctx, env)
}

// ParseArgs checks that args (without the program name) form a valid command line,
// without running anything: the Helm chart's tests use it so chart and binary agree.
func ParseArgs(args []string) error {
	if len(args) == 0 {
		return errors.New("no command")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help", "-version", "--version":
		return nil
	}
	newCmd, ok := commands()[args[0]]
	if !ok {
		return fmt.Errorf("unknown command %q", args[0])
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cmd := newCmd()
	cmd.Flags(fs)
	if err := fs.Parse(args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		return err
	}
	if _, ok := cmd.(takesArgs); !ok && fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func usage(w io.Writer, cmds map[string]func() command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("migrator moves OpenReplay's object storage to another S3-compatible service.\n\nUsage: migrator COMMAND [flags]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-12s %s\n", n, cmds[n]().Summary())
	}
	b.WriteString("\nRun 'migrator COMMAND -h' for a command's flags.\n")
	io.WriteString(w, b.String())
}
