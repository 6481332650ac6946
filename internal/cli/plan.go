package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// planCmd is `migrator plan`: what a copy would move, from the two listings alone.
type planCmd struct {
	common common
}

func (c *planCmd) Summary() string {
	return "count objects and bytes per bucket and what a copy would move"
}

func (c *planCmd) Flags(fs *flag.FlagSet) {
	c.common.register(fs)
	c.common.registerShard(fs)
}

func (c *planCmd) Run(ctx context.Context, env *Env) int {
	p, err := c.common.open(ctx, env)
	if err != nil {
		return fail(env.Stderr, "plan", err)
	}
	defer p.close()
	type row struct {
		name               string
		n, b, cn, cb, conf int64
	}
	// The names are known before any listing: each row is printed as its bucket is done.
	total := row{name: fmt.Sprintf("total (%s)", count(int64(len(p.pairs)), "bucket"))}
	width := max(len("source -> destination"), len(total.name))
	for _, pr := range p.pairs {
		width = max(width, len(pr.Source+" -> "+pr.Dest))
	}
	const numbers = " %10d %12s %10d %12s %9d\n"
	fmt.Fprintf(env.Stdout, "%-*s %10s %12s %10s %12s %9s\n", width, "source -> destination", "objects", "bytes", "to copy", "bytes", "conflicts")
	for _, pr := range p.pairs {
		r := row{name: pr.Source + " -> " + pr.Dest}
		err := copy.Join(p.src.List(ctx, pr.Source, ""), p.dst.List(ctx, pr.Dest, ""), copy.SameByListing,
			func(a copy.Action) error {
				if !p.shard.Owns(a.Src.Key) {
					return nil
				}
				r.n++
				r.b += a.Src.Size
				switch a.Kind {
				case copy.ActCopy:
					r.cn++
					r.cb += a.Src.Size
				case copy.ActConflict:
					r.conf++
				}
				return nil
			}, func(store.Object) error { return nil })
		if err != nil {
			return fail(env.Stderr, "plan", err)
		}
		fmt.Fprintf(env.Stdout, "%-*s"+numbers, width, r.name, r.n, human(r.b), r.cn, human(r.cb), r.conf)
		total.n, total.b, total.cn, total.cb, total.conf = total.n+r.n, total.b+r.b, total.cn+r.cn, total.cb+r.cb, total.conf+r.conf
	}
	fmt.Fprintf(env.Stdout, "%-*s"+numbers, width, total.name, total.n, human(total.b), total.cn, human(total.cb), total.conf)
	return ExitOK
}
