// Package retry repeats S3 calls that failed for a passing reason, with backoff and jitter.
package retry

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
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

// Do runs fn until it succeeds, fails for good, or ctx ends. It returns fn's last error.
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
	return err
}

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
// 429 or SlowDown, a reset or timed-out connection, a body cut short.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var se *store.Error
	if errors.As(err, &se) {
		switch se.Code {
		case "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "XMinioServerNotInitialized", "RequestTimeTooSkewed":
			return true
		case "BadDigest", "XAmzContentSHA256Mismatch", "IncompleteBody":
			// The bytes were damaged on the way; the next try reads them again.
			return true
		case "XMinioStorageFull", "XMinioAdminBucketQuotaExceeded", "QuotaExceeded":
			// A full disk or quota (MinIO answers 507) does not clear in seconds:
			// retrying every object would only delay the stop that says so.
			return false
		}
		if se.Status >= 500 || se.Status == 429 || se.Status == 408 {
			return true
		}
		if se.Status != 0 {
			return false
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrTransient) || isNetOpError(err)
}

// ErrTransient marks an error the caller knows to be passing (a checksum mismatch on the way).
var ErrTransient = errors.New("transient")

func isNetOpError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}
