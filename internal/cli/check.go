package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	// One wrong key fails every bucket the same way: say it once. (Each message is
	// checked itself: a problem of the first pair must not be dropped because a later
	// pair was fine.)
	add := func(err error) {
		if !seen[err.Error()] {
			seen[err.Error()] = true
			errs = append(errs, err)
		}
	}
	for _, pr := range p.pairs {
		if err := probe(ctx, p.src, pr.Source); err != nil {
			add(explain("source", p.cfg.Source, pr.Source, err))
		}
		if err := probe(ctx, p.dst, pr.Dest); err != nil {
			add(explain("destination", p.cfg.Destination, pr.Dest, err))
		}
	}
	if bucket, _, ok := p.cfg.StateLocation(); ok {
		if err := probe(ctx, p.dst, bucket); err != nil {
			add(explainState(p.cfg, bucket, err))
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

// explainState is explain for the bucket that keeps the checkpoints.
func explainState(c *config.Config, bucket string, err error) error {
	var se *store.Error
	if errors.As(err, &se) && se.Code == "NoSuchBucket" {
		return fmt.Errorf("stateS3 %s: bucket %q does not exist at %s: run `migrator preflight` to create it (it holds only the migrator's checkpoints), or fix stateS3 in the config",
			c.StateS3, bucket, c.Destination.Endpoint)
	}
	return fmt.Errorf("stateS3 %s (where checkpoints are kept): %w", c.StateS3, explain("destination", c.Destination, bucket, err))
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
	case "ExpiredToken", "InvalidToken", "TokenRefreshRequired":
		return fmt.Errorf("%s: the session token is expired or invalid (%s): renew the temporary keys (%s.accessKey, %s.secretKey, %s.sessionToken)",
			side, se.Code, side, side, side)
	}
	// A certificate this machine does not trust: say which setting makes it trusted.
	var unknownCA x509.UnknownAuthorityError
	var badCert *tls.CertificateVerificationError
	var badHost x509.HostnameError
	switch {
	case errors.As(err, &unknownCA) || (errors.As(err, &badCert) && !errors.As(err, &badHost)):
		return fmt.Errorf("%s endpoint %s presents a certificate this machine does not trust (%v): set %s.caFile to the PEM file of the CA that signed it",
			side, e.Endpoint, se.Err, side)
	case errors.As(err, &badHost):
		return fmt.Errorf("%s endpoint %s presents a certificate for another name (%v): check %s.endpoint", side, e.Endpoint, se.Err, side)
	}
	if se.Status == 0 {
		return fmt.Errorf("%s endpoint %s is unreachable (%v): check %s.endpoint and the network", side, e.Endpoint, se.Err, side)
	}
	return fmt.Errorf("%s bucket %q: %w", side, bucket, err)
}
