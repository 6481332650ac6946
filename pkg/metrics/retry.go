package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// reasons are the values of retries_total's reason label.
var reasons = []string{"slowdown", "5xx", "timeout", "reset", "checksum", "other"}

// RetryHook returns a func for retry.Policy.OnRetry that counts retries by side and
// reason. Every reason's series exists from the start, at 0.
func (m *Metrics) RetryHook(side string) func(error) {
	for _, r := range reasons {
		m.retries.WithLabelValues(side, r)
	}
	return func(err error) { m.retries.WithLabelValues(side, reason(err)).Inc() }
}

// reason sorts a retried error. The service's own answer is looked at first: a
// SlowDown comes as a 503, and must count as throttling, not as a server fault.
func reason(err error) string {
	var se *store.Error
	if errors.As(err, &se) {
		switch se.Code {
		case "SlowDown", "TooManyRequests", "RequestLimitExceeded", "Throttling", "ThrottlingException":
			return "slowdown"
		case "BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch":
			return "checksum"
		case "RequestTimeout":
			return "timeout"
		case "IncompleteBody":
			return "reset" // the service got a body cut short
		}
		switch {
		case se.Status == 429:
			return "slowdown"
		case se.Status == 408:
			return "timeout"
		case se.Status >= 500:
			return "5xx"
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	// The copier wraps a source read that broke off in retry.ErrTransient too, so the
	// broken connection is looked for before the checksum.
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "reset"
	}
	if errors.Is(err, retry.ErrTransient) {
		return "checksum" // bytes or ETags that did not match what was sent or read
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "reset"
	}
	return "other"
}
