// Package preflight prepares a destination the way OpenReplay's external-storage guide
// asks an operator to by hand, probes what its key may do, and reports what it could not do.
package preflight

import (
	"context"
	"iter"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// ProbePrefix is where the probe objects go (see store.ProbePrefix).
const ProbePrefix = store.ProbePrefix

// Admin is what preflight needs of the destination: the object calls of store.Store and
// a few bucket-level ones. *s3.Client implements it.
type Admin interface {
	store.Store
	// MakeBucket creates bucket in region.
	MakeBucket(ctx context.Context, bucket, region string) error
	// BucketCORS returns the bucket's CORS rules; none is not an error.
	BucketCORS(ctx context.Context, bucket string) ([]s3.CORSRule, error)
	// SetBucketCORS replaces the bucket's CORS rules.
	SetBucketCORS(ctx context.Context, bucket string, rules []s3.CORSRule) error
	// BucketPolicy returns the bucket policy (JSON), "" when there is none.
	BucketPolicy(ctx context.Context, bucket string) (string, error)
	// SetBucketPolicy replaces the bucket policy.
	SetBucketPolicy(ctx context.Context, bucket, policy string) error
	// BucketLocation asks the service for the bucket's region.
	BucketLocation(ctx context.Context, bucket string) (string, error)
	// BucketLifecycle returns the bucket's lifecycle rules; none is not an error.
	BucketLifecycle(ctx context.Context, bucket string) ([]s3.LifecycleRule, error)
	// MergeLifecycle adds rules to the bucket's lifecycle, keeping the rules there
	// except those replace returns true for.
	MergeLifecycle(ctx context.Context, bucket string, rules []s3.LifecycleRule, replace func(s3.LifecycleRule) bool) error
	// PutTags replaces an object's tags.
	PutTags(ctx context.Context, bucket, key string, tags map[string]string) error
	// ObjectACL reads an object's ACL.
	ObjectACL(ctx context.Context, bucket, key string) error
	// Remove deletes an object; a missing one is not an error.
	Remove(ctx context.Context, bucket, key string) error
}

var (
	_ Admin  = (*s3.Client)(nil)
	_ Source = (*s3.Client)(nil)
)

// Source is what preflight reads of the source: nothing is ever written there.
type Source interface {
	List(ctx context.Context, bucket, startAfter string) iter.Seq2[store.Object, error]
	BucketLifecycle(ctx context.Context, bucket string) ([]s3.LifecycleRule, error)
}

// Bucket is one configured pair.
type Bucket struct {
	Source, Dest string
	// Assets marks the pair of OpenReplay's assets bucket (global.s3.assetsBucket, by
	// default sessions-assets): the guide makes its destination publicly readable.
	Assets bool
}

// Options say what to check.
type Options struct {
	// Retry is the config's retry policy, where it sets one; zero: four tries, up to 3 s apart.
	Retry    retry.Policy
	Endpoint string // the destination's URL
	Region   string // the destination region as configured
	Buckets  []Bucket
	// StateBucket, when stateS3 names one, is the destination bucket that keeps the
	// checkpoints: created like the others, but private and with no CORS.
	StateBucket string
	// DryRun changes nothing: no bucket, CORS rule, policy or probe object is written.
	DryRun bool
	// Retention adds the lifecycle rules that carry OpenReplay's deletions over.
	Retention Retention
}

// SideError stops preflight: a key the service does not accept, or a service that does
// not answer. Every other refusal becomes a row of the report.
type SideError struct {
	Side   string // source or destination
	Bucket string
	Err    error
}

func (e *SideError) Error() string { return e.Side + " bucket " + e.Bucket + ": " + e.Err.Error() }
func (e *SideError) Unwrap() error { return e.Err }

type checker struct {
	dst     Admin
	src     Source
	o       Options
	rep     *Report
	probes  map[string][]outcome
	destLCs map[string][]s3.LifecycleRule // read once per bucket; nil entry when unreadable
}

// Run checks (and, unless o.DryRun, fixes) the destination and reads the source, and
// returns one row per check. The error is non-nil only when a side cannot be talked to
// at all (SideError) or ctx ends.
func Run(ctx context.Context, dst Admin, src Source, o Options) (*Report, error) {
	c := &checker{dst: dst, src: src, o: o, rep: &Report{DryRun: o.DryRun},
		probes: map[string][]outcome{}, destLCs: map[string][]s3.LifecycleRule{}}
	c.endpoint()
	var existing []string
	for _, b := range dedupe(o.Buckets) {
		exists, err := c.bucket(ctx, b)
		if err != nil {
			return c.rep, err
		}
		if !exists {
			continue
		}
		existing = append(existing, b.Dest)
		for _, step := range []func(context.Context, Bucket) error{c.region, c.cors, c.access, c.probe} {
			if err := step(ctx, b); err != nil {
				return c.rep, err
			}
		}
	}
	if o.StateBucket != "" {
		if err := c.stateBucket(ctx, o.StateBucket); err != nil {
			return c.rep, err
		}
	}
	c.permissionRows(ctx)
	if o.Retention.Enabled {
		if err := c.retention(ctx, existing); err != nil {
			return c.rep, err
		}
	}
	for _, b := range o.Buckets {
		if err := c.source(ctx, b); err != nil {
			return c.rep, err
		}
	}
	return c.rep, ctx.Err()
}

// dedupe keeps one entry per destination bucket, assets if any pair says so.
func dedupe(bs []Bucket) []Bucket {
	var out []Bucket
	at := map[string]int{}
	for _, b := range bs {
		if i, ok := at[b.Dest]; ok {
			out[i].Assets = out[i].Assets || b.Assets
			continue
		}
		at[b.Dest] = len(out)
		out = append(out, b)
	}
	return out
}

func (c *checker) add(r Row) { c.rep.Rows = append(c.rep.Rows, r) }

func (c *checker) destLifecycle(ctx context.Context, bucket string) []s3.LifecycleRule {
	if rules, ok := c.destLCs[bucket]; ok {
		return rules
	}
	// An unreadable lifecycle counts as none: the rows that use it then recommend a rule.
	var rules []s3.LifecycleRule
	_ = c.call(ctx, func(ctx context.Context) (err error) { rules, err = c.dst.BucketLifecycle(ctx, bucket); return err })
	c.destLCs[bucket] = rules
	return rules
}
