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

func (c *planCmd) Flags(fs *flag.FlagSet) { c.common.register(fs) }

func (c *planCmd) Run(ctx context.Context, env *Env) int {
	p, err := c.common.open(ctx, env)
	if err != nil {
		return fail(env.Stderr, "plan", err)
	}
	defer p.close()
	fmt.Fprintf(env.Stdout, "%-24s %10s %12s %10s %12s %9s\n", "bucket", "objects", "bytes", "to copy", "bytes", "conflicts")
	for _, pr := range p.pairs {
		var n, b, cn, cb, conf int64
		err := copy.Join(p.src.List(ctx, pr.Source, ""), p.dst.List(ctx, pr.Dest, ""), copy.SameByListing,
			func(a copy.Action) error {
				if !p.shard.Owns(a.Src.Key) {
					return nil
				}
				n++
				b += a.Src.Size
				switch a.Kind {
				case copy.ActCopy:
					cn++
					cb += a.Src.Size
				case copy.ActConflict:
					conf++
				}
				return nil
			}, func(store.Object) error { return nil })
		if err != nil {
			return fail(env.Stderr, "plan", err)
		}
		fmt.Fprintf(env.Stdout, "%-24s %10d %12s %10d %12s %9d\n", pr.Source, n, human(b), cn, human(cb), conf)
	}
	return ExitOK
}
