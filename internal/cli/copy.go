package cli

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
)

// copyCmd is `migrator copy` (the bulk copy) and `migrator sync` (the same pass, run
// again later: the merge-join makes it copy only what changed).
type copyCmd struct {
	kind     string
	common   common
	progress string
}

func (c *copyCmd) Summary() string {
	if c.kind == "sync" {
		return "copy what changed since the last run (what `serve` runs on its schedule)"
	}
	return "copy every configured bucket to the destination; resumable"
}

func (c *copyCmd) Flags(fs *flag.FlagSet) {
	c.common.register(fs)
	c.common.registerShard(fs)
	c.common.writesState = true
	choiceVar(fs, &c.progress, "progress", "`when` to draw progress bars: on, off, or auto (on a terminal)", "auto", "on", "off")
}

func (c *copyCmd) Run(ctx context.Context, env *Env) int {
	p, err := c.common.open(ctx, env)
	if err != nil {
		return fail(env.Stderr, c.kind, err)
	}
	defer p.close()
	left := newLeftTally(p.pairs)
	extra := []copy.Observer{left}
	var bars *progressBars
	if c.progress == "on" || (c.progress == "auto" && env.Terminal) {
		bars = newProgressBars(env.Stderr, p.pairs)
		extra = append(extra, bars)
		p.log = newLoggerTo(c.common.logFormat, env, bars.writer())
		p.quietProgress = true // the bars show it
		bars.start()
	}
	start := time.Now()
	results, err := p.runPass(ctx, c.kind, extra...)
	if bars != nil {
		bars.wait()
	}
	ok := err == nil
	for _, r := range results {
		ok = ok && r.OK()
	}
	printCopyReport(env, results, time.Since(start), &c.common)
	if err != nil {
		return fail(env.Stderr, c.kind, err)
	}
	if interrupted(ctx, results, len(p.pairs)) {
		// Stopped by SIGTERM or Ctrl-C: the summary above is of a partial run.
		msg := left.interrupted(results)
		fmt.Fprintln(env.Stdout, msg)
		p.log.Warn(msg)
		return ExitInterrupted
	}
	if !ok {
		return ExitFailed
	}
	return ExitOK
}

// printCopyReport prints each pair's outcome, the failed keys, and the conflicts with
// the commands that resolve them (flags as in the command line of c).
func printCopyReport(env *Env, results []copy.Result, took time.Duration, c *common) {
	var objs, bytes int64
	for _, r := range results {
		fmt.Fprintf(env.Stdout, "%s -> %s: %d copied (%s), %d already there, %d failed, %s\n",
			r.Source, r.Dest, r.Copied, human(r.Bytes), r.Skipped, len(r.Failed), count(int64(len(r.Conflicts)), "conflict"))
		if r.TagsDropped > 0 {
			fmt.Fprintf(env.Stdout, "  warning: %d objects copied without their tags: %s keeps no object tags, so OpenReplay's "+
				"retention tags are lost there (OpenReplay EE's services need USE_S3_TAGS=false)\n", r.TagsDropped, r.Dest)
		}
		objs += r.Copied
		bytes += r.Bytes
		keys := make([]string, 0, len(r.Failed))
		for k := range r.Failed {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(env.Stdout, "  failed   %q: %s\n", k, r.Failed[k])
		}
		for _, k := range r.Conflicts {
			fmt.Fprintf(env.Stdout, "  conflict %q: the destination holds a newer, different object; left alone\n", k)
		}
		if n := len(r.Conflicts); n > 0 {
			if n > maxHintKeys {
				fmt.Fprintf(env.Stdout, "  the commands below name the first %d of the %d conflicts; the next sync prints the rest\n", maxHintKeys, n)
			}
			fmt.Fprintf(env.Stdout, "  to keep the destination's objects (later syncs stop reporting them):\n    %s\n", c.resolveHint(r.Source, "destination", r.Conflicts))
			fmt.Fprintf(env.Stdout, "  or to copy the source's over them:\n    %s\n", c.resolveHint(r.Source, "source", r.Conflicts))
		}
	}
	secs := took.Seconds()
	if objs == 0 {
		// No rate: nothing was transferred, and skipped objects are not a speed.
		fmt.Fprintf(env.Stdout, "total: 0 objects copied in %.1fs\n", secs)
		return
	}
	fmt.Fprintf(env.Stdout, "total: %s, %s in %.1fs (%.0f objects/s, %.1f MiB/s)\n",
		count(objs, "object"), human(bytes), secs, float64(objs)/secs, float64(bytes)/secs/(1<<20))
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
