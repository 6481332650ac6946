// Package retry repeats S3 calls that failed for a passing reason, with backoff and jitter.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Policy says how often and how patiently to retry.
type Policy struct {
	Attempts int           // total tries, at least 1
	Base     time.Duration // first backoff
	Max      time.Duration // backoff cap
	// OnRetry, if set, hears of every retry (metrics count them).
	OnRetry func(err error)
}

// Default suits a copy across the internet: 6 tries over roughly half a minute.
var Default = Policy{Attempts: 6, Base: 200 * time.Millisecond, Max: 15 * time.Second}

// Do runs fn until it succeeds, fails for good, or ctx ends. It returns fn's last error;
// when that error was worth retrying and the attempts ran out, it comes as GaveUp, so a
// layer above (the copier's per-object retry) does not send the same request again.
func (p Policy) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	attempts := max(p.Attempts, 1)
	var err error
	for i := 0; i < attempts; i++ {
		if err = fn(ctx); err == nil || !Retryable(err) || ctx.Err() != nil {
			return err
		}
		if i == attempts-1 {
			break
		}
		if p.wait(ctx, i, err) != nil {
			return err
		}
	}
	if attempts > 1 {
		return &GaveUp{Err: err, Attempts: attempts}
	}
	return err
}

// GaveUp is an error that was retried as often as the policy allows. It reads as the
// error itself; Retryable says no to it, so retries never multiply across layers.
type GaveUp struct {
	Err      error
	Attempts int
}

func (g *GaveUp) Error() string { return g.Err.Error() }
func (g *GaveUp) Unwrap() error { return g.Err }

// wait reports the retry and sleeps the i-th backoff, or returns early when ctx ends.
func (p Policy) wait(ctx context.Context, i int, cause error) error {
	if p.OnRetry != nil {
		p.OnRetry(cause)
	}
	t := time.NewTimer(p.backoff(i))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is "full jitter": a random wait up to base*2^i, so many workers that failed
// together do not come back together.
func (p Policy) backoff(i int) time.Duration {
	d := p.Base << min(i, 20)
	if d > p.Max || d <= 0 {
		d = p.Max
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// Retryable tells whether err may go away if the same call is made again: a 5xx, a
// 429 or SlowDown, a reset or timed-out connection, a body cut short. What each answer
// means is decided once, in store.ClassOf.
func Retryable(err error) bool {
	var g *GaveUp
	return !errors.As(err, &g) && store.ClassOf(err).Retryable()
}

// ErrTransient marks an error the caller knows to be passing (a checksum mismatch on the way).
var ErrTransient = store.ErrTransient
