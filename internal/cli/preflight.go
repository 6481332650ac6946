package cli

import (
	"context"
	"errors"
	"flag"
	"slices"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/preflight"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
)

// preflightCmd is `migrator preflight`: what OpenReplay's external-storage guide asks an
// operator to do to the destination, done or checked, with a table of what is left.
type preflightCmd struct {
	common      common
	dryRun      bool
	retention   bool
	expireAfter int
}

func (c *preflightCmd) Summary() string {
	return "prepare the destination as OpenReplay's guide asks (buckets, CORS, public assets) and probe the key's permissions"
}

func (c *preflightCmd) Flags(fs *flag.FlagSet) {
	c.common.register(fs)
	fs.BoolVar(&c.dryRun, "dry-run", false, "change nothing (no bucket, CORS rule, policy or probe object): say what would be done")
	fs.BoolVar(&c.retention, "retention", false, "add lifecycle rules to each destination bucket that remove what OpenReplay tags for deletion (to_delete_in_days=N), keeping the rules there")
	fs.IntVar(&c.expireAfter, "expire-after", 0, "with --retention: also expire every recording `DAYS` after it reached the destination (what `openreplay -c DAYS` did on MinIO)")
}

func (c *preflightCmd) Run(ctx context.Context, env *Env) int {
	// Not common.open: its bucket probe fails on the missing destination buckets that
	// preflight is here to create.
	switch {
	case c.expireAfter < 0:
		return fail(env.Stderr, "preflight", usageError{errors.New("--expire-after DAYS must be a positive number of days")})
	case c.expireAfter > 0 && !c.retention:
		return fail(env.Stderr, "preflight", usageError{errors.New("--expire-after goes with --retention: add --retention")})
	}
	p, err := c.common.build(env)
	if err != nil {
		return fail(env.Stderr, "preflight", err)
	}
	defer p.close()
	// Bucket administration is not part of store.Store, and a refusal here is an
	// answer to report, not a failure to retry: plain clients, no retry wrapper.
	dst, err := adminClient("destination", p.cfg.Destination)
	if err != nil {
		return fail(env.Stderr, "preflight", usageError{err})
	}
	src, err := adminClient("source", p.cfg.Source)
	if err != nil {
		return fail(env.Stderr, "preflight", usageError{err})
	}
	assets := sourceBucket(p.cfg, c.common.varsPath, "assetsBucket", "sessions-assets")
	var buckets []preflight.Bucket
	for _, pr := range p.cfg.Pairs() {
		buckets = append(buckets, preflight.Bucket{Source: pr.Source, Dest: pr.Dest, Assets: pr.Source == assets})
	}
	stateBucket, _, _ := p.cfg.StateLocation()
	rep, err := preflight.Run(ctx, dst, src, preflight.Options{
		Endpoint:    p.cfg.Destination.Endpoint,
		Region:      p.cfg.Destination.Region,
		Buckets:     buckets,
		StateBucket: stateBucket,
		DryRun:      c.dryRun,
		Retention:   c.retentionOptions(p.cfg),
		Retry:       preflightRetry(p.cfg.Retry),
	})
	var se *preflight.SideError
	if errors.As(err, &se) {
		e := p.cfg.Destination
		if se.Side == "source" {
			e = p.cfg.Source
		}
		return fail(env.Stderr, "preflight", usageError{explain(se.Side, e, se.Bucket, se.Err)})
	}
	if err != nil {
		return fail(env.Stderr, "preflight", err)
	}
	rep.Print(env.Stdout)
	if rep.Blocking() {
		return ExitFailed
	}
	return ExitOK
}

// adminClient is a plain client for one side.
func adminClient(side string, e config.Endpoint) (*s3.Client, error) {
	cl, err := s3.New(s3Options(e))
	if err != nil {
		return nil, errors.New(side + "." + err.Error())
	}
	return cl, nil
}

// retentionOptions: the rules for OpenReplay's to_delete_in_days values (its defaults,
// and SCH_DELETE_DAYS where vars.yaml sets it for chalice) and the recordings bucket.
func (c *preflightCmd) retentionOptions(cfg *config.Config) preflight.Retention {
	r := preflight.Retention{Enabled: c.retention, ExpireAfterDays: c.expireAfter, DeleteDays: preflight.DefaultDeleteDays}
	if !c.retention {
		return r
	}
	if c.common.varsPath != "" {
		if st, err := openreplay.ReadStorage(c.common.varsPath); err == nil && st.DeleteDays > 0 {
			r.DeleteDays = append(slices.Clone(r.DeleteDays), st.DeleteDays)
		}
	}
	rec := sourceBucket(cfg, c.common.varsPath, "recordingsBucket", "mobs")
	for _, pr := range cfg.Pairs() {
		if pr.Source == rec {
			r.RecordingsBucket = pr.Dest
		}
	}
	return r
}

// sourceBucket is the source bucket global.s3 names under key (as cutover kept it, or
// as vars.yaml says), byDefault (OpenReplay's default name) otherwise.
func sourceBucket(cfg *config.Config, varsPath, key, byDefault string) string {
	if varsPath == "" {
		return byDefault
	}
	if saved, err := config.LoadSavedSource(cfg.StateDir); err == nil && saved != nil {
		for _, b := range saved.Buckets {
			if b.Key == key {
				return b.Name
			}
		}
		return byDefault
	}
	if st, err := openreplay.ReadStorage(varsPath); err == nil && st.Bucket(key) != "" {
		return st.Bucket(key)
	}
	return byDefault
}

// preflightRetry is the config's retry where it sets one; otherwise preflight keeps its
// own shorter patience (a one-off command an operator waits on).
func preflightRetry(r config.Retry) retry.Policy {
	if r == (config.Retry{}) {
		return retry.Policy{}
	}
	return r.Policy()
}
