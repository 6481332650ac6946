// Package stack builds the store every command works through: the S3 client, request
// metrics around it, the caps and the concurrency's eyes (pkg/limit) around those, and
// retries outermost, so that every attempt is counted and paid for.
package stack

import (
	"github.com/openreplay-migrator/openreplay-migrator/pkg/limit"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/metrics"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Layers are what goes around the client.
type Layers struct {
	Metrics  *metrics.Metrics
	Throttle *limit.Throttle // nil: no caps
	Observer limit.Observer  // nil: nobody watches
	Retry    retry.Policy    // its OnRetry is set to count retries under the side
}

// Open returns side's ("source" or "destination") store as the commands use it, and the
// bare client beneath it for the calls a store.Store lacks (bucket administration).
// The conformance suite runs on what it returns, not only on the bare client.
func Open(side string, o s3.Options, l Layers) (store.Store, *s3.Client, error) {
	cl, err := s3.New(o)
	if err != nil {
		return nil, nil, err
	}
	p := l.Retry
	p.OnRetry = l.Metrics.RetryHook(side)
	return retry.Wrap(limit.Wrap(l.Metrics.WrapStore(side, cl), side, l.Throttle, l.Observer), p), cl, nil
}
