package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// checkBuckets reads one listing page of every bucket on both sides before any work,
// so a wrong key, a missing bucket or an unreachable endpoint stops the run at once with
// a message that names the setting to fix.
func checkBuckets(ctx context.Context, p *parts) error {
	var errs []error
	seen := map[string]bool{}
	for _, pr := range p.pairs {
		if err := probe(ctx, p.src, pr.Source); err != nil {
			errs = append(errs, explain("source", p.cfg.Source, pr.Source, err))
		}
		if err := probe(ctx, p.dst, pr.Dest); err != nil {
			errs = append(errs, explain("destination", p.cfg.Destination, pr.Dest, err))
		}
		// One wrong key fails every bucket the same way: say it once.
		if len(errs) > 0 && seen[errs[len(errs)-1].Error()] {
			errs = errs[:len(errs)-1]
		} else if len(errs) > 0 {
			seen[errs[len(errs)-1].Error()] = true
		}
	}
	return errors.Join(errs...)
}

func probe(ctx context.Context, s store.Store, bucket string) error {
	for _, err := range s.List(ctx, bucket, "") {
		return err
	}
	return nil
}

// explain turns a failed request into what the operator should change.
func explain(side string, e config.Endpoint, bucket string, err error) error {
	var se *store.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("%s bucket %q: %w", side, bucket, err)
	}
	switch se.Code {
	case "InvalidAccessKeyId":
		return fmt.Errorf("%s: the service at %s does not know this access key (InvalidAccessKeyId): check %s.accessKey", side, e.Endpoint, side)
	case "SignatureDoesNotMatch":
		return fmt.Errorf("%s: the secret key does not match the access key (SignatureDoesNotMatch): check %s.secretKey", side, side)
	case "NoSuchBucket":
		if side == "destination" {
			return fmt.Errorf("destination bucket %q does not exist at %s: run `migrator preflight` to create it (or fix buckets: in the config)", bucket, e.Endpoint)
		}
		return fmt.Errorf("source bucket %q does not exist at %s: check buckets: in the config (or global.s3 in vars.yaml)", bucket, e.Endpoint)
	case "AccessDenied":
		return fmt.Errorf("%s bucket %q: access denied (AccessDenied): the %s key needs s3:ListBucket and s3:GetObject%s on it",
			side, bucket, side, map[bool]string{true: ", s3:PutObject and s3:PutObjectTagging", false: ""}[side == "destination"])
	case "AuthorizationHeaderMalformed", "InvalidRegion":
		return fmt.Errorf("%s bucket %q: wrong region (%s): check %s.region", side, bucket, se.Code, side)
	}
	if se.Status == 0 {
		return fmt.Errorf("%s endpoint %s is unreachable (%v): check %s.endpoint and the network", side, e.Endpoint, se.Err, side)
	}
	return fmt.Errorf("%s bucket %q: %w", side, bucket, err)
}
