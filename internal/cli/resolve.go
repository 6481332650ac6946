package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// resolveCmd is `migrator resolve`: the operator's answer to a conflict (the destination
// holds a newer, different object). --keep source copies the source's object over it;
// --keep destination records that the destination's stays, so syncs stop reporting it.
// Either way the choice is kept with the checkpoints (stateDir or stateS3), and holds
// until one side is written again: a new object is a new question.
type resolveCmd struct {
	common common
	keep   string
	bucket string
	keys   []string
}

func (c *resolveCmd) Summary() string {
	return "settle conflicts: --keep source copies over the destination's object, --keep destination keeps it"
}

func (c *resolveCmd) Flags(fs *flag.FlagSet) {
	c.common.register(fs)
	fs.StringVar(&c.keep, "keep", "", "which side's object to keep: `source` (copied over the destination's) or destination")
	fs.StringVar(&c.bucket, "bucket", "", "the bucket the keys are in: its source name as in the config's buckets (e.g. mobs), or its destination name; may be left out when only one bucket is configured")
}

// SetArgs takes the keys to resolve.
func (c *resolveCmd) SetArgs(args []string) { c.keys = args }

func (c *resolveCmd) Run(ctx context.Context, env *Env) int {
	if c.keep != "source" && c.keep != "destination" {
		return fail(env.Stderr, "resolve", usageError{fmt.Errorf("--keep %q: want --keep source or --keep destination", c.keep)})
	}
	if len(c.keys) == 0 {
		return fail(env.Stderr, "resolve", usageError{errors.New("no key given: name the conflicting keys after the flags, " +
			"as the copy's summary prints them: migrator resolve --bucket BUCKET --keep source|destination KEY...")})
	}
	p, err := c.common.open(ctx, env)
	if err != nil {
		return fail(env.Stderr, "resolve", err)
	}
	defer p.close()
	pair, err := c.pair(p.pairs)
	if err != nil {
		return fail(env.Stderr, "resolve", usageError{err})
	}
	name := copy.CheckpointName(pair, copy.Shard{}) // shards share a pair's resolutions
	res, err := p.state.LoadResolutions(ctx, name)
	if errors.Is(err, checkpoint.ErrCorrupt) {
		fmt.Fprintf(env.Stderr, "migrator resolve: %v; starting the resolved conflicts of %s afresh\n", err, pair.Source)
		res, err = &checkpoint.Resolutions{Version: checkpoint.Version}, nil
	}
	if err != nil {
		return fail(env.Stderr, "resolve", err)
	}
	eng := &copy.Engine{Src: p.src, Dst: p.dst, Checkpoints: p.state, Opt: copy.Options{Retry: p.retryPolicy(), Log: p.log}}
	failed := 0
	for _, key := range c.keys {
		msg, err := c.resolve(ctx, eng, pair, key, res)
		if err != nil {
			failed++
			fmt.Fprintf(env.Stdout, "  failed   %q: %v\n", key, err)
			continue
		}
		fmt.Fprintf(env.Stdout, "  resolved %q: %s\n", key, msg)
	}
	if err := p.state.SaveResolutions(context.WithoutCancel(ctx), name, res); err != nil {
		return fail(env.Stderr, "resolve", fmt.Errorf("keep the resolutions in the %s: %w", p.state, err))
	}
	if failed > 0 {
		fmt.Fprintf(env.Stdout, "%d of %d keys not resolved\n", failed, len(c.keys))
		return ExitFailed
	}
	return ExitOK
}

// resolve settles one key and records the choice in res.
func (c *resolveCmd) resolve(ctx context.Context, eng *copy.Engine, p copy.Pair, key string, res *checkpoint.Resolutions) (string, error) {
	if c.keep == "source" {
		src, dst, err := eng.CopyOver(ctx, p, key)
		if err != nil {
			return "", err
		}
		if !copy.SameByListing(src, dst) {
			// The destination computes its own ETags (e.g. SSE-KMS): the copy is
			// newer than the source and differs in the listing, so say it is the same.
			res.Accept(key, "source", src, dst, time.Now())
		} else {
			delete(res.Keys, key)
		}
		return fmt.Sprintf("the source's object copied over %s/%s", p.Dest, key), nil
	}
	sm, err := eng.Src.Stat(ctx, p.Source, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("%s/%s is not in the source (check the key and --bucket)", p.Source, key)
	}
	if err != nil {
		return "", fmt.Errorf("stat %s/%s: %w", p.Source, key, err)
	}
	dm, err := eng.Dst.Stat(ctx, p.Dest, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("%s/%s is not in the destination: there is nothing to keep; the next sync copies the source's", p.Dest, key)
	}
	if err != nil {
		return "", fmt.Errorf("stat %s/%s: %w", p.Dest, key, err)
	}
	if copy.SameByListing(sm.Object, dm.Object) {
		delete(res.Keys, key)
		return "both sides already hold the same object; nothing to keep", nil
	}
	res.Accept(key, "destination", sm.Object, dm.Object, time.Now())
	return fmt.Sprintf("the destination's object kept in %s/%s; syncs leave it and stop reporting it until either side is written again", p.Dest, key), nil
}

// pair finds the pair --bucket names, by its source or destination name.
func (c *resolveCmd) pair(pairs []copy.Pair) (copy.Pair, error) {
	var names []string
	for _, p := range pairs {
		if c.bucket == p.Source || c.bucket == p.Dest || (c.bucket == "" && len(pairs) == 1) {
			return p, nil
		}
		names = append(names, p.Source)
	}
	if c.bucket == "" {
		return copy.Pair{}, fmt.Errorf("--bucket is missing: name the bucket the keys are in, one of %s", strings.Join(names, ", "))
	}
	return copy.Pair{}, fmt.Errorf("--bucket %q is not a configured bucket: want one of %s (or its destination name)", c.bucket, strings.Join(names, ", "))
}

// maxHintKeys bounds the keys one printed command names: a command line (and a log
// line) stays usable, and the next sync prints the rest.
const maxHintKeys = 100

// resolveHint is the command that resolves a bucket's conflicts (the first maxHintKeys
// of keys, in order), with the flags that found the configuration of this run, for the
// operator to pick a side and run.
func (c *common) resolveHint(bucket, keep string, keys []string) string {
	keys = slices.Sorted(slices.Values(keys))
	if len(keys) > maxHintKeys {
		keys = keys[:maxHintKeys]
	}
	var b strings.Builder
	b.WriteString("migrator resolve")
	if c.configPath != "" {
		b.WriteString(" --config " + shellQuote(c.configPath))
	}
	if c.varsPath != "" {
		b.WriteString(" --openreplay-vars " + shellQuote(c.varsPath))
	}
	if c.sourceEndpoint != "" {
		e := c.sourceEndpoint
		if u, err := url.Parse(e); err == nil && u.User != nil {
			e = u.Redacted() // never print a password, even one the operator put in a URL
		}
		b.WriteString(" --source-endpoint " + shellQuote(e))
	}
	b.WriteString(" --bucket " + shellQuote(bucket) + " --keep " + keep)
	if slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, "-") }) {
		b.WriteString(" --") // the keys are not flags
	}
	for _, k := range keys {
		b.WriteString(" " + shellQuote(k))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell where it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
