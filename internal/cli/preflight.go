package cli

import (
	"context"
	"errors"
	"flag"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/preflight"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
)

// preflightCmd is `migrator preflight`: what OpenReplay's external-storage guide asks an
// operator to do to the destination, done or checked, with a table of what is left.
type preflightCmd struct {
	common common
	dryRun bool
}

func (c *preflightCmd) Summary() string {
	return "prepare the destination as OpenReplay's guide asks (buckets, CORS, public assets) and probe the key's permissions"
}

func (c *preflightCmd) Flags(fs *flag.FlagSet) {
	c.common.register(fs)
	fs.BoolVar(&c.dryRun, "dry-run", false, "change nothing (no bucket, CORS rule, policy or probe object): say what would be done")
}

func (c *preflightCmd) Run(ctx context.Context, env *Env) int {
	// Not common.open: its bucket probe fails on the missing destination buckets that
	// preflight is here to create.
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
	assets := assetsSourceBucket(p.cfg, c.common.varsPath)
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
	cl, err := s3.New(s3.Options{
		Endpoint:     e.Endpoint,
		Region:       e.Region,
		AccessKey:    e.AccessKey.Value(),
		SecretKey:    e.SecretKey.Value(),
		SessionToken: e.SessionToken.Value(),
		CAFile:       e.CAFile,
	})
	if err != nil {
		return nil, errors.New(side + "." + err.Error())
	}
	return cl, nil
}

// assetsSourceBucket is the source bucket OpenReplay serves assets from: global.s3's
// assetsBucket (as cutover kept it, or as vars.yaml says), sessions-assets by default.
func assetsSourceBucket(cfg *config.Config, varsPath string) string {
	const key, byDefault = "assetsBucket", "sessions-assets"
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
