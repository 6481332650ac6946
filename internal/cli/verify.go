package cli

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/verify"
)

// verifyCmd is `migrator verify`: a report of every missing, different or extra object.
type verifyCmd struct {
	common common
	deep   bool
}

func (c *verifyCmd) Summary() string {
	return "prove the destination holds what the source holds; exit 1 listing every difference"
}

func (c *verifyCmd) Flags(fs *flag.FlagSet) {
	c.common.register(fs)
	c.common.registerShard(fs)
	fs.BoolVar(&c.deep, "deep", false, "also compare every object's headers, user metadata and tags (a HEAD per object and side)")
}

func (c *verifyCmd) Run(ctx context.Context, env *Env) int {
	p, err := c.common.open(ctx, env)
	if err != nil {
		return fail(env.Stderr, "verify", err)
	}
	defer p.close()
	p.metrics.SetPhase("verify")
	start := time.Now()
	v := &verify.Verifier{Src: p.src, Dst: p.dst, Checkpoints: p.state, Shard: p.shard, Deep: c.deep, Workers: min(p.cfg.InFlightMax(), 32)}
	total := 0
	for _, pr := range p.pairs {
		rep, err := v.Pair(ctx, pr, nil)
		if err != nil {
			p.metrics.RunFinished("verify", start, false)
			return fail(env.Stderr, "verify", err)
		}
		status := "identical"
		if n := len(rep.Differences); n > 0 {
			status = count(int64(n), "difference")
		}
		fmt.Fprintf(env.Stdout, "%s -> %s: %s, %s compared (%d by reading both): %s\n",
			pr.Source, pr.Dest, count(int64(rep.Objects), "object"), human(rep.Bytes), rep.ReadChecked, status)
		for _, d := range rep.Differences {
			fmt.Fprintf(env.Stdout, "  %-9s %q: %s\n", d.Kind, d.Key, d.Detail)
		}
		if n := len(rep.TagsDropped); n > 0 {
			// Not a difference: the copy warned that this destination keeps no tags.
			fmt.Fprintf(env.Stdout, "  %d objects are there without their tags (%s keeps none; the first: %q)\n",
				n, pr.Dest, rep.TagsDropped[0].Key)
		}
		total += len(rep.Differences)
	}
	p.metrics.RunFinished("verify", start, total == 0)
	p.metrics.SetPhase("idle")
	if total > 0 {
		fmt.Fprintf(env.Stdout, "verify: %s\n", count(int64(total), "difference"))
		return ExitFailed
	}
	fmt.Fprintln(env.Stdout, "verify: destination matches source")
	return ExitOK
}
