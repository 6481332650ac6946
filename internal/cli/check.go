package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// checkBuckets reads the first listing entry of every bucket on both sides before any
// work, so a wrong key, a missing bucket or an unreachable endpoint stops the run at once
// with a message that names the setting to fix. The probes run at once: on a remote
// service a dozen of them one after another would hold the start for seconds.
func checkBuckets(ctx context.Context, p *parts) error {
	var probes []func() error
	for _, pr := range p.pairs {
		probes = append(probes,
			func() error { return explainIf(p.src.Probe(ctx, pr.Source), "source", p.cfg.Source, pr.Source) },
			func() error { return explainIf(p.dst.Probe(ctx, pr.Dest), "destination", p.cfg.Destination, pr.Dest) })
	}
	if bucket, _, ok := p.cfg.StateLocation(); ok {
		probes = append(probes, func() error {
			if err := p.dst.Probe(ctx, bucket); err != nil {
				return explainState(p.cfg, bucket, err)
			}
			return nil
		})
	}
	found := make([]error, len(probes))
	var wg sync.WaitGroup
	for i, probe := range probes {
		wg.Go(func() { found[i] = probe() })
	}
	wg.Wait()
	// One wrong key fails every bucket the same way: say it once, in the config's
	// order. (Each message is checked itself: a problem of the first pair must not be
	// dropped because a later pair was fine.)
	var errs []error
	seen := map[string]bool{}
	for _, err := range found {
		if err != nil && !seen[err.Error()] {
			seen[err.Error()] = true
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func explainIf(err error, side string, e config.Endpoint, bucket string) error {
	if err == nil {
		return nil
	}
	return explain(side, e, bucket, err)
}

// explainState is explain for the bucket that keeps the checkpoints.
func explainState(c *config.Config, bucket string, err error) error {
	if store.ClassOf(err) == store.ClassNoBucket {
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
	switch store.FaultOf(err) {
	case store.FaultAccessKey:
		return fmt.Errorf("%s: the service at %s does not know this access key (%s): check %s", side, e.Endpoint, se.Code, e.Describe(side, "accessKey"))
	case store.FaultSecretKey:
		return fmt.Errorf("%s: the secret key does not match the access key (%s): check %s", side, se.Code, e.Describe(side, "secretKey"))
	case store.FaultSessionToken:
		return fmt.Errorf("%s: the session token is expired or invalid (%s): renew the temporary keys (%s.accessKey, %s.secretKey, %s.sessionToken)",
			side, se.Code, side, side, side)
	case store.FaultRegion:
		return fmt.Errorf("%s bucket %q: wrong region (%s): check %s.region", side, bucket, se.Code, side)
	}
	switch store.ClassOf(err) {
	case store.ClassNoBucket:
		if side == "destination" {
			return fmt.Errorf("destination bucket %q does not exist at %s: run `migrator preflight` to create it (or fix buckets: in the config)", bucket, e.Endpoint)
		}
		return fmt.Errorf("source bucket %q does not exist at %s: check buckets: in the config (or global.s3 in vars.yaml)", bucket, e.Endpoint)
	case store.ClassDenied:
		code := se.Code
		if code == "" {
			code = "AccessDenied" // a HEAD's refusal has no body, so no code
		}
		return fmt.Errorf("%s bucket %q: access denied (%s): the %s key needs s3:ListBucket and s3:GetObject%s on it",
			side, bucket, code, side, map[bool]string{true: ", s3:PutObject and s3:PutObjectTagging", false: ""}[side == "destination"])
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
		return fmt.Errorf("%s endpoint %s presents a certificate for another name (%v): check %s", side, e.Endpoint, se.Err, e.Describe(side, "endpoint"))
	}
	var transport *url.Error
	if se.Status == 0 && errors.As(se.Err, &transport) {
		// The same for every bucket, so checkBuckets says it once: the cause without
		// the request's URL (which names the bucket and carries the query string).
		return fmt.Errorf("%s endpoint %s is unreachable (%v): check %s and the network", side, e.Endpoint, transport.Err, e.Describe(side, "endpoint"))
	}
	return fmt.Errorf("%s bucket %q: %w", side, bucket, err)
}
