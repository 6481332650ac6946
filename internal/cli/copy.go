package cli

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"time"

	"go.uber.org/zap"

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
	var extra []copy.Observer
	var bars *progressBars
	if c.progress == "on" || (c.progress == "auto" && env.Terminal) {
		bars = newProgressBars(env.Stderr, p.pairs)
		extra = append(extra, bars)
		p.log = newLoggerTo(c.common.logFormat, env, bars.writer())
		p.quietProgress = true // the bars show it
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
	printCopyReport(env, results, time.Since(start))
	if err != nil {
		return fail(env.Stderr, c.kind, err)
	}
	for _, r := range results {
		if r.Interrupted {
			p.log.Info("stopped; the checkpoint is written and the next run resumes", zap.String("bucket", r.Source))
			return ExitOK
		}
	}
	if !ok {
		return ExitFailed
	}
	return ExitOK
}

func printCopyReport(env *Env, results []copy.Result, took time.Duration) {
	var objs, bytes int64
	for _, r := range results {
		fmt.Fprintf(env.Stdout, "%s -> %s: %d copied (%s), %d already there, %d failed, %s\n",
			r.Source, r.Dest, r.Copied, human(r.Bytes), r.Skipped, len(r.Failed), count(int64(len(r.Conflicts)), "conflict"))
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
	}
	secs := took.Seconds()
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
