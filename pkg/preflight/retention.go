package preflight

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// DeleteTag is the object tag OpenReplay's API puts on a deleted session's files
// (api/chalicelib/utils/storage/s3.py, tag_for_deletion): to_delete_in_days=N, N being
// its SCH_DELETE_DAYS. OpenReplay deletes nothing itself: a lifecycle rule matching
// the tag's exact value does.
const DeleteTag = "to_delete_in_days"

// DefaultDeleteDays are the N OpenReplay tags with unless SCH_DELETE_DAYS says
// otherwise: 30 from the api image's env.default (its .env), 7 the code's own fallback.
var DefaultDeleteDays = []int{7, 30}

// Retention says which lifecycle rules preflight --retention puts on the destination.
type Retention struct {
	Enabled bool
	// DeleteDays are the N of to_delete_in_days=N to expire: a rule matches one tag
	// value, so there is one rule per N.
	DeleteDays []int
	// ExpireAfterDays, when above 0, adds an age rule to the recordings bucket: what
	// `openreplay -c N` did with mc rm --older-than on the bundled store.
	ExpireAfterDays int
	// RecordingsBucket is the destination bucket of global.s3.recordingsBucket.
	RecordingsBucket string
}

// Rule IDs this tool writes; the expire-after rule is replaced when its days change.
const (
	deleteRuleID     = "openreplay-to-delete-in-%d-days"
	expireRulePrefix = "openreplay-expire-after-"
)

// OpenReplayCleanupBucket is the one bucket `openreplay -c` deletes old recordings
// from (mc rm --older-than Nd minio/mobs: the name is written into the script).
const OpenReplayCleanupBucket = "mobs"

func deleteRules(days []int) []s3.LifecycleRule {
	var out []s3.LifecycleRule
	for _, n := range slices.Compact(slices.Sorted(slices.Values(days))) {
		if n > 0 {
			out = append(out, s3.LifecycleRule{ID: fmt.Sprintf(deleteRuleID, n), Enabled: true,
				Tags: map[string]string{DeleteTag: strconv.Itoa(n)}, ExpireDays: n})
		}
	}
	return out
}

func expireRule(days int) s3.LifecycleRule {
	return s3.LifecycleRule{ID: fmt.Sprintf("%s%d-days", expireRulePrefix, days), Enabled: true, ExpireDays: days}
}

// sameEffect: an enabled rule with the same filter and expiration, whatever its ID.
func sameEffect(a, b s3.LifecycleRule) bool {
	return a.Enabled && b.Enabled && a.Prefix == b.Prefix && maps.Equal(a.Tags, b.Tags) && a.ExpireDays == b.ExpireDays
}

// retention puts OpenReplay's deletion rules on each destination bucket, and the age
// rule on the recordings bucket, keeping every rule already there.
func (c *checker) retention(ctx context.Context, buckets []string) error {
	r := c.o.Retention
	for _, b := range buckets {
		want := deleteRules(r.DeleteDays)
		if b == r.RecordingsBucket && r.ExpireAfterDays > 0 {
			want = append(want, expireRule(r.ExpireAfterDays))
		}
		if err := c.lifecycleRules(ctx, b, want); err != nil {
			return err
		}
	}
	c.retentionNotes()
	return nil
}

func (c *checker) lifecycleRules(ctx context.Context, bucket string, want []s3.LifecycleRule) error {
	check := "retention " + bucket
	var have []s3.LifecycleRule
	err := c.call(ctx, func(ctx context.Context) (err error) { have, err = c.dst.BucketLifecycle(ctx, bucket); return err })
	if f := fatal("destination", bucket, err); f != nil {
		return f
	}
	byHand := "add by hand: " + describeRules(want)
	switch classify(err) {
	case answerOK:
	case answerUnsupported:
		c.add(Row{Check: check, Status: CannotFix, Do: "the service has no lifecycle API (" + detail(err) + "); " + byHand + ", or nothing OpenReplay deletes is ever removed"})
		return nil
	case answerDenied:
		// Writing without reading first would throw away the rules that are there.
		c.add(Row{Check: check, Status: CannotFix, Do: "the key may not read the lifecycle (s3:GetLifecycleConfiguration); " + byHand})
		return nil
	default:
		c.add(Row{Check: check, Status: CannotFix, Do: brief(err) + "; " + byHand})
		return nil
	}
	var missing []s3.LifecycleRule
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h s3.LifecycleRule) bool { return sameEffect(h, w) }) {
			missing = append(missing, w)
		}
	}
	kept := func(n int) string { return fmt.Sprintf("; %d rules already there kept", n) }
	switch {
	case len(missing) == 0:
		c.add(Row{Check: check, Status: OK, Do: "has the rules: " + describeRules(want)})
		return nil
	case c.o.DryRun:
		c.add(Row{Check: check, Status: WouldFix, Do: "would add " + describeRules(missing) + kept(len(have))})
		return nil
	}
	// Our own age rule of other days is superseded, not added beside: two age rules
	// would leave the shorter one in force.
	superseded := func(h s3.LifecycleRule) bool {
		return strings.HasPrefix(h.ID, expireRulePrefix) && slices.ContainsFunc(missing, func(m s3.LifecycleRule) bool {
			return strings.HasPrefix(m.ID, expireRulePrefix)
		})
	}
	err = c.call(ctx, func(ctx context.Context) error { return c.dst.MergeLifecycle(ctx, bucket, missing, superseded) })
	if f := fatal("destination", bucket, err); f != nil {
		return f
	}
	delete(c.destLCs, bucket) // the rows that read the lifecycle later must see the new rules
	switch classify(err) {
	case answerOK:
		c.add(Row{Check: check, Status: Fixed, Do: "added " + describeRules(missing) + kept(len(have)-countFunc(have, superseded))})
	case answerDenied:
		c.add(Row{Check: check, Status: CannotFix, Do: "the key may not set the lifecycle (s3:PutLifecycleConfiguration); add by hand: " + describeRules(missing)})
	default:
		c.add(Row{Check: check, Status: CannotFix, Do: brief(err) + "; add by hand: " + describeRules(missing)})
	}
	return nil
}

// retentionNotes say what the rules cannot do: a copy dates every object anew, and
// `openreplay -c` knows one bucket name.
func (c *checker) retentionNotes() {
	r := c.o.Retention
	age := "every copied object's age at the destination starts at its copy (the source's Last-Modified is kept as x-amz-meta-" +
		store.SourceLastModifiedMeta + "); tagged deletions expire N days after the copy at the latest"
	if r.ExpireAfterDays > 0 {
		c.add(Row{Check: "recording ages", Status: Warn, Do: fmt.Sprintf("%s, and the %d-day age rule removes an old recording %d days after its copy, not after it was recorded: "+
			"a lifecycle rule cannot subtract the source age, so old recordings stay up to %d days longer; delete them sooner by hand, by that metadata, if that matters",
			age, r.ExpireAfterDays, r.ExpireAfterDays, r.ExpireAfterDays)})
	} else {
		c.add(Row{Check: "recording ages", Status: OK, Do: age + "; no age rule: add --expire-after DAYS for what `openreplay -c` did"})
	}
	if r.RecordingsBucket != "" && r.RecordingsBucket != OpenReplayCleanupBucket {
		c.add(Row{Check: "openreplay -c", Status: Warn, Do: fmt.Sprintf("`openreplay -c` deletes old recordings only from a bucket named %s (written into the script), not %s: "+
			"after the switch it cleans nothing there; expire recordings with --expire-after DAYS instead", OpenReplayCleanupBucket, r.RecordingsBucket)})
	}
}

func countFunc(rules []s3.LifecycleRule, f func(s3.LifecycleRule) bool) int {
	n := 0
	for _, r := range rules {
		if f(r) {
			n++
		}
	}
	return n
}

func describeRules(rules []s3.LifecycleRule) string {
	var out []string
	for _, r := range rules {
		if len(r.Tags) == 0 {
			out = append(out, fmt.Sprintf("every object expires after %d days (%s)", r.ExpireDays, r.ID))
			continue
		}
		out = append(out, fmt.Sprintf("objects tagged %s=%s expire after %d days (%s)", DeleteTag, r.Tags[DeleteTag], r.ExpireDays, r.ID))
	}
	return strings.Join(out, "; ")
}
