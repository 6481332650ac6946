// Package limit keeps the migrator gentle with the stores it talks to: a cap on bytes and
// requests per second (with a timetable of windows), and a number of objects in flight that
// finds itself while the copy runs.
package limit

import (
	"context"
	"sync"
	"time"
)

// Clock is the time source; tests pass a fake one so windows switch without waiting.
type Clock interface {
	Now() time.Time
	// After is time.After on this clock.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Real is the wall clock.
var Real Clock = realClock{}

// bucket is a token bucket whose rate can change while it runs; rate 0 means unlimited.
// Taking more than the burst at once is allowed: the debt is paid by waiting, so one
// large read is not split into many small waits.
type bucket struct {
	mu     sync.Mutex
	clock  Clock
	rate   float64 // tokens per second; 0 = no limit
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(c Clock) *bucket { return &bucket{clock: c} }

// setRate changes the rate; the burst is a tenth of a second's worth, at least min.
func (b *bucket) setRate(rate, min float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	b.rate = rate
	b.burst = max(rate/10, min)
	b.tokens = clampTokens(b.tokens, b.burst)
}

func clampTokens(t, burst float64) float64 {
	if t > burst {
		return burst
	}
	return t
}

func (b *bucket) refill() {
	now := b.clock.Now()
	if !b.last.IsZero() && b.rate > 0 {
		b.tokens = clampTokens(b.tokens+now.Sub(b.last).Seconds()*b.rate, b.burst)
	}
	b.last = now
}

// take takes n tokens, waiting for them when the bucket is in debt.
func (b *bucket) take(ctx context.Context, n float64) error {
	b.mu.Lock()
	if b.rate <= 0 {
		b.mu.Unlock()
		return nil
	}
	b.refill()
	b.tokens -= n
	var wait time.Duration
	if b.tokens < 0 {
		wait = time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	b.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	select {
	case <-b.clock.After(wait):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
