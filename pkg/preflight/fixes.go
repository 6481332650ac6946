package preflight

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
)

// stateBucket makes sure the bucket of stateS3 exists. Nothing of OpenReplay's guide
// applies to it: it stays private, without CORS.
func (c *checker) stateBucket(ctx context.Context, name string) error {
	check := "state bucket " + name
	err := c.listFirst(ctx, c.dst, name)
	if f := fatal("destination", name, err); f != nil {
		return f
	}
	switch classify(err) {
	case answerOK:
		c.add(Row{Check: check, Status: OK, Do: "exists"})
		return nil
	case answerNoBucket:
	default:
		c.add(Row{Check: check, Status: Unknown, Blocking: true,
			Do: "the key may not list it (s3:ListBucket): grant s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on it; the checkpoints are kept there"})
		return nil
	}
	if c.o.DryRun {
		c.add(Row{Check: check, Status: WouldFix, Do: "would create it (private) in " + c.o.Region})
		return nil
	}
	err = c.call(ctx, func(ctx context.Context) error { return c.dst.MakeBucket(ctx, name, c.o.Region) })
	if f := fatal("destination", name, err); f != nil {
		return f
	}
	if classify(err) == answerOK {
		c.add(Row{Check: check, Status: Fixed, Do: "created (private) in " + c.o.Region})
		return nil
	}
	c.add(Row{Check: check, Status: Missing, Blocking: true,
		Do: fmt.Sprintf("does not exist and could not be created in %s (%s): create it, or fix stateS3 in the config", c.o.Region, brief(err))})
	return nil
}

// bucket makes sure the destination bucket exists, creating it in the configured region.
func (c *checker) bucket(ctx context.Context, b Bucket) (bool, error) {
	check := "bucket " + b.Dest
	// A listing rather than HEAD: an error answer to HEAD has no body, so a wrong key
	// and a missing permission would look alike.
	err := c.listFirst(ctx, c.dst, b.Dest)
	if f := fatal("destination", b.Dest, err); f != nil {
		return false, f
	}
	switch classify(err) {
	case answerOK:
		c.add(Row{Check: check, Status: OK, Do: "exists"})
		return true, nil
	case answerNoBucket:
	case answerDenied:
		c.add(Row{Check: check, Status: Unknown, Blocking: true,
			Do: "the key may not list the bucket (s3:ListBucket), so whether it exists is unknown: grant it, then run preflight again"})
		return false, nil
	default:
		c.add(Row{Check: check, Status: Unknown, Blocking: true, Do: brief(err)})
		return false, nil
	}
	if c.o.DryRun {
		c.add(Row{Check: check, Status: WouldFix, Do: "would create it in " + c.o.Region})
		if b.Assets {
			c.add(Row{Check: "public read " + b.Dest, Status: WouldFix, Do: "would allow s3:GetObject to everyone on it"})
		}
		c.add(Row{Check: "CORS " + b.Dest, Status: WouldFix, Do: "would allow GET from any origin, any header"})
		return false, nil
	}
	err = c.call(ctx, func(ctx context.Context) error { return c.dst.MakeBucket(ctx, b.Dest, c.o.Region) })
	if f := fatal("destination", b.Dest, err); f != nil {
		return false, f
	}
	switch classify(err) {
	case answerOK:
		c.add(Row{Check: check, Status: Fixed, Do: "created in " + c.o.Region})
		return true, nil
	case answerDenied:
		c.add(Row{Check: check, Status: Missing, Blocking: true,
			Do: fmt.Sprintf("does not exist and the key may not create it (s3:CreateBucket): create %s in %s, or fix buckets: in the config", b.Dest, c.o.Region)})
	default:
		c.add(Row{Check: check, Status: Missing, Blocking: true,
			Do: fmt.Sprintf("does not exist and could not be created in %s (%s): create it, or fix buckets: in the config", c.o.Region, brief(err))})
	}
	return false, nil
}

// corsRule is the guide's rule: GET from any origin with any header.
var corsRule = s3.CORSRule{ID: "openreplay", AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, AllowedHeaders: []string{"*"}}

func corsAllowsGet(rules []s3.CORSRule) bool {
	for _, r := range rules {
		if slices.Contains(r.AllowedOrigins, "*") && slices.Contains(r.AllowedHeaders, "*") &&
			slices.ContainsFunc(r.AllowedMethods, func(m string) bool { return strings.EqualFold(m, "GET") }) {
			return true
		}
	}
	return false
}

const corsByHand = "set CORS by hand: AllowedMethods GET, AllowedOrigins *, AllowedHeaders *"

func (c *checker) cors(ctx context.Context, b Bucket) error {
	check := "CORS " + b.Dest
	var rules []s3.CORSRule
	err := c.call(ctx, func(ctx context.Context) (err error) { rules, err = c.dst.BucketCORS(ctx, b.Dest); return err })
	if f := fatal("destination", b.Dest, err); f != nil {
		return f
	}
	switch classify(err) {
	case answerOK:
	case answerUnsupported:
		c.add(Row{Check: check, Status: NA, Do: "no per-bucket CORS here: " + detail(err)})
		return nil
	case answerDenied:
		// Setting rules without reading them first would throw away whatever is there.
		c.add(Row{Check: check, Status: CannotFix, Do: "the key may not read the bucket's CORS rules (s3:GetBucketCORS); " + corsByHand})
		return nil
	default:
		c.add(Row{Check: check, Status: CannotFix, Do: brief(err) + "; " + corsByHand})
		return nil
	}
	if corsAllowsGet(rules) {
		c.add(Row{Check: check, Status: OK, Do: "GET from any origin allowed"})
		return nil
	}
	if c.o.DryRun {
		c.add(Row{Check: check, Status: WouldFix, Do: "would add a rule: GET from any origin, any header"})
		return nil
	}
	err = c.call(ctx, func(ctx context.Context) error {
		return c.dst.SetBucketCORS(ctx, b.Dest, append(slices.Clone(rules), corsRule))
	})
	if f := fatal("destination", b.Dest, err); f != nil {
		return f
	}
	switch classify(err) {
	case answerOK:
		c.add(Row{Check: check, Status: Fixed, Do: "added a rule: GET from any origin, any header"})
	case answerUnsupported:
		c.add(Row{Check: check, Status: NA, Do: "no per-bucket CORS here: " + detail(err)})
	case answerDenied:
		c.add(Row{Check: check, Status: CannotFix, Do: "the key may not set CORS (s3:PutBucketCORS); " + corsByHand})
	default:
		c.add(Row{Check: check, Status: CannotFix, Do: brief(err) + "; " + corsByHand})
	}
	return nil
}

// access makes the assets bucket publicly readable and checks that no other bucket is.
func (c *checker) access(ctx context.Context, b Bucket) error {
	var doc string
	err := c.call(ctx, func(ctx context.Context) (err error) { doc, err = c.dst.BucketPolicy(ctx, b.Dest); return err })
	if f := fatal("destination", b.Dest, err); f != nil {
		return f
	}
	if b.Assets {
		return c.publicRead(ctx, b, doc, err)
	}
	check := "not public " + b.Dest
	if err != nil {
		c.add(Row{Check: check, Status: Unknown,
			Do: "the bucket policy could not be read (" + brief(err) + "): check by hand that it grants nothing to everyone"})
		return nil
	}
	grants, err := anonymousGrants(doc)
	switch {
	case err != nil:
		c.add(Row{Check: check, Status: Unknown, Do: err.Error()})
	case len(grants) > 0:
		c.add(Row{Check: check, Status: Warn,
			Do: "its policy allows everyone " + strings.Join(grants, "; ") + ": remove that statement (only the assets bucket is public)"})
	default:
		c.add(Row{Check: check, Status: OK, Do: "no public access"})
	}
	return nil
}

func (c *checker) publicRead(ctx context.Context, b Bucket, doc string, readErr error) error {
	check := "public read " + b.Dest
	byHand := fmt.Sprintf("allow s3:GetObject on arn:aws:s3:::%s/* to Principal \"*\" by hand (on AWS, Block Public Access must allow public bucket policies)", b.Dest)
	if readErr != nil {
		// Writing a policy that was not read would throw away whatever is there.
		c.add(Row{Check: check, Status: CannotFix, Do: "the bucket policy could not be read (" + brief(readErr) + "); " + byHand})
		return nil
	}
	ok, err := publicRead(doc, b.Dest)
	if err != nil {
		c.add(Row{Check: check, Status: CannotFix, Do: err.Error() + "; " + byHand})
		return nil
	}
	if ok {
		c.add(Row{Check: check, Status: OK, Do: "everyone may read its objects (OpenReplay's player loads assets from it)"})
		return nil
	}
	if c.o.DryRun {
		c.add(Row{Check: check, Status: WouldFix, Do: "would allow s3:GetObject to everyone on it"})
		return nil
	}
	next, err := withPublicRead(doc, b.Dest)
	if err != nil {
		c.add(Row{Check: check, Status: CannotFix, Do: err.Error() + "; " + byHand})
		return nil
	}
	err = c.call(ctx, func(ctx context.Context) error { return c.dst.SetBucketPolicy(ctx, b.Dest, next) })
	if f := fatal("destination", b.Dest, err); f != nil {
		return f
	}
	switch classify(err) {
	case answerOK:
		c.add(Row{Check: check, Status: Fixed, Do: "allowed s3:GetObject to everyone on it"})
	case answerDenied:
		c.add(Row{Check: check, Status: CannotFix, Do: "the key may not set the bucket policy (s3:PutBucketPolicy); " + byHand})
	default:
		c.add(Row{Check: check, Status: CannotFix, Do: brief(err) + "; " + byHand})
	}
	return nil
}
