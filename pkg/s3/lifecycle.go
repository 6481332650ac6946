package s3

import (
	"context"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
)

// BucketLifecycle returns the bucket's lifecycle rules; none is not an error.
func (c *Client) BucketLifecycle(ctx context.Context, bucket string) ([]LifecycleRule, error) {
	cfg, err := c.lifecycle(ctx, bucket)
	if err != nil {
		return nil, err
	}
	var out []LifecycleRule
	for _, r := range cfg.Rules {
		out = append(out, fromLifecycle(r))
	}
	return out, nil
}

// lifecycle reads the whole configuration; none reads as an empty one.
func (c *Client) lifecycle(ctx context.Context, bucket string) (*lifecycle.Configuration, error) {
	cfg, err := c.core.Client.GetBucketLifecycle(ctx, bucket)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchLifecycleConfiguration" {
			return lifecycle.NewConfiguration(), nil
		}
		return nil, wrap("lifecycle", bucket, "", err)
	}
	return cfg, nil
}

func fromLifecycle(r lifecycle.Rule) LifecycleRule {
	lr := LifecycleRule{
		ID:                  r.ID,
		Enabled:             r.Status == "Enabled",
		Prefix:              r.Prefix,
		ExpireDays:          int(r.Expiration.Days),
		AbortIncompleteDays: int(r.AbortIncompleteMultipartUpload.DaysAfterInitiation),
	}
	f := r.RuleFilter
	if f.Prefix != "" {
		lr.Prefix = f.Prefix
	}
	if f.And.Prefix != "" {
		lr.Prefix = f.And.Prefix
	}
	for _, t := range append(f.And.Tags, f.Tag) {
		if t.IsEmpty() {
			continue
		}
		if lr.Tags == nil {
			lr.Tags = map[string]string{}
		}
		lr.Tags[t.Key] = t.Value
	}
	return lr
}

// toLifecycle is an enabled expiration rule: ExpireDays after creation, for objects
// under Prefix carrying Tags (at most one tag, all this package writes).
func toLifecycle(r LifecycleRule) lifecycle.Rule {
	out := lifecycle.Rule{ID: r.ID, Status: "Enabled", Expiration: lifecycle.Expiration{Days: lifecycle.ExpirationDays(r.ExpireDays)}}
	switch {
	case len(r.Tags) == 1 && r.Prefix == "":
		for k, v := range r.Tags {
			out.RuleFilter.Tag = lifecycle.Tag{Key: k, Value: v}
		}
	case len(r.Tags) > 0:
		out.RuleFilter.And.Prefix = r.Prefix
		for k, v := range r.Tags {
			out.RuleFilter.And.Tags = append(out.RuleFilter.And.Tags, lifecycle.Tag{Key: k, Value: v})
		}
	default:
		out.RuleFilter.Prefix = r.Prefix
	}
	return out
}

// MergeLifecycle adds rules to the bucket's lifecycle configuration and writes it back:
// every rule already there stays exactly as it was (transitions, versions and all),
// except those replace says the new rules supersede. S3 has no call that adds one
// rule: a PUT replaces the whole configuration, so it has to be read first.
func (c *Client) MergeLifecycle(ctx context.Context, bucket string, rules []LifecycleRule, replace func(LifecycleRule) bool) error {
	cfg, err := c.lifecycle(ctx, bucket)
	if err != nil {
		return err
	}
	kept := cfg.Rules[:0]
	for _, r := range cfg.Rules {
		if replace == nil || !replace(fromLifecycle(r)) {
			kept = append(kept, r)
		}
	}
	cfg.Rules = kept
	for _, r := range rules {
		cfg.Rules = append(cfg.Rules, toLifecycle(r))
	}
	if err := c.core.Client.SetBucketLifecycle(ctx, bucket, cfg); err != nil {
		return wrap("set lifecycle", bucket, "", err)
	}
	return nil
}
