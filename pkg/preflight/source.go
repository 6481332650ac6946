package preflight

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
)

// source checks that the source bucket can be read and whether its lifecycle expires
// objects by tag, which the destination would need a rule of its own for.
func (c *checker) source(ctx context.Context, b Bucket) error {
	listErr := c.listFirst(ctx, c.src, b.Source)
	if f := fatal("source", b.Source, listErr); f != nil {
		return f
	}
	check := "source " + b.Source
	switch classify(listErr) {
	case answerOK:
		c.add(Row{Check: check, Status: OK, Do: "readable"})
	case answerNoBucket:
		c.add(Row{Check: check, Status: Missing, Blocking: true,
			Do: "does not exist: fix buckets: in the config (or global.s3 in vars.yaml)"})
		return nil
	case answerDenied:
		c.add(Row{Check: check, Status: Missing, Blocking: true,
			Do: "the source key may not list it: it needs s3:ListBucket and s3:GetObject"})
		return nil
	default:
		c.add(Row{Check: check, Status: Unknown, Blocking: true, Do: brief(listErr)})
		return nil
	}
	check = "lifecycle " + b.Source
	var rules []s3.LifecycleRule
	err := c.call(ctx, func(ctx context.Context) (err error) { rules, err = c.src.BucketLifecycle(ctx, b.Source); return err })
	if f := fatal("source", b.Source, err); f != nil {
		return f
	}
	if err != nil {
		c.add(Row{Check: check, Status: Unknown,
			Do: "the source lifecycle could not be read (" + brief(err) + "); if it expires objects by tag, give " + b.Dest + " the same rule"})
		return nil
	}
	var missing []string
	for _, r := range rules {
		if !r.Enabled || len(r.Tags) == 0 {
			continue
		}
		if !c.hasRule(ctx, b.Dest, r) {
			missing = append(missing, describeRule(r))
		}
	}
	switch {
	case len(missing) > 0:
		c.add(Row{Check: check, Status: Warn,
			Do: "the source expires objects by tag (" + strings.Join(missing, "; ") + "); tags are copied, rules are not: add the same rule to " + b.Dest})
	case hasTagRule(rules):
		c.add(Row{Check: check, Status: OK, Do: b.Dest + " has the same tag-based rules"})
	default:
		c.add(Row{Check: check, Status: OK, Do: "no tag-based rule"})
	}
	return nil
}

func hasTagRule(rules []s3.LifecycleRule) bool {
	return slices.ContainsFunc(rules, func(r s3.LifecycleRule) bool { return r.Enabled && len(r.Tags) > 0 })
}

// hasRule reports a destination rule with the same filter and expiration as r.
func (c *checker) hasRule(ctx context.Context, bucket string, r s3.LifecycleRule) bool {
	for _, d := range c.destLifecycle(ctx, bucket) {
		if d.Enabled && d.Prefix == r.Prefix && maps.Equal(d.Tags, r.Tags) && d.ExpireDays == r.ExpireDays {
			return true
		}
	}
	return false
}

func describeRule(r s3.LifecycleRule) string {
	keys := slices.Sorted(maps.Keys(r.Tags))
	var tags []string
	for _, k := range keys {
		tags = append(tags, k+"="+r.Tags[k])
	}
	d := "objects tagged " + strings.Join(tags, ",")
	if r.Prefix != "" {
		d += " under " + r.Prefix
	}
	if r.ExpireDays > 0 {
		d += fmt.Sprintf(" expire after %d days", r.ExpireDays)
	}
	if r.ID != "" {
		d = "rule " + r.ID + ": " + d
	}
	return d
}
