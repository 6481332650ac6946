package metrics

import (
	"errors"

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

// reason is a retried error's label, from the one table of what S3 answers mean.
func reason(err error) string {
	switch store.ClassOf(err) {
	case store.ClassThrottled:
		return "slowdown"
	case store.ClassDamaged:
		return "checksum" // bytes or ETags that did not match what was sent or read
	case store.ClassTimeout:
		return "timeout"
	case store.ClassTransient:
		var se *store.Error
		switch {
		case !errors.As(err, &se) || se.Status == 0 || se.Code == "IncompleteBody":
			return "reset" // a connection broken, refused, or a body cut short
		case se.Status >= 500:
			return "5xx"
		}
	}
	return "other"
}
