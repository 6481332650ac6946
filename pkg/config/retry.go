package config

import (
	"fmt"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
)

// Retry is how often and how patiently a request that failed for a passing reason (a
// 5xx, SlowDown, a reset, a timeout) is sent again. Each request is retried at one layer
// only: a repeatable call by the store wrapper, a whole object whose body broke by the
// copier; an error one layer gave up on is not retried by the other.
type Retry struct {
	Attempts   int           `yaml:"attempts"`   // tries in all, default 6
	MaxBackoff time.Duration `yaml:"maxBackoff"` // longest wait between two, default 15s
}

// Policy is the retry policy these settings give.
func (r Retry) Policy() retry.Policy {
	p := retry.Default
	if r.Attempts > 0 {
		p.Attempts = r.Attempts
	}
	if r.MaxBackoff > 0 {
		p.Max = r.MaxBackoff
	}
	return p
}

func (r Retry) validate() error {
	if r.Attempts < 0 || r.Attempts > 100 {
		return fmt.Errorf("retry.attempts: %d is out of range 1..100 (tries in all, default %d)", r.Attempts, retry.Default.Attempts)
	}
	if r.MaxBackoff < 0 || (r.MaxBackoff > 0 && r.MaxBackoff < retry.Default.Base) {
		return fmt.Errorf("retry.maxBackoff: %s is too short; give at least %s (default %s)", r.MaxBackoff, retry.Default.Base, retry.Default.Max)
	}
	return nil
}
