package limit

import (
	"context"
	"io"
	"sync"
)

// Throttle applies a Plan: every request takes a request token, every byte read from a
// source body or sent in a destination body takes a bandwidth token. One Throttle is
// shared by both sides and all workers, so the caps hold for the process as a whole.
type Throttle struct {
	plan  Plan
	clock Clock
	bytes *bucket
	reqs  *bucket

	mu  sync.Mutex
	cur Rates
	set bool
}

// NewThrottle returns a Throttle for p on clock c (Real in production).
func NewThrottle(p Plan, c Clock) *Throttle {
	return &Throttle{plan: p, clock: c, bytes: newBucket(c), reqs: newBucket(c)}
}

// Rates returns the caps in force now, switching the buckets when a window began.
func (t *Throttle) Rates() Rates {
	r := t.plan.At(t.clock.Now())
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.set || r != t.cur {
		t.cur, t.set = r, true
		// A burst of at least one 32 KiB read, and of one request.
		t.bytes.setRate(r.Bandwidth, 32<<10)
		t.reqs.setRate(r.Requests, 1)
	}
	return r
}

// Request waits for a request token.
func (t *Throttle) Request(ctx context.Context) error {
	t.Rates()
	return t.reqs.take(ctx, 1)
}

// Reader returns r with every read paid for in bandwidth tokens.
func (t *Throttle) Reader(ctx context.Context, r io.Reader) io.Reader {
	if r == nil {
		return nil
	}
	return &paced{ctx: ctx, r: r, t: t}
}

type paced struct {
	ctx context.Context
	r   io.Reader
	t   *Throttle
}

func (p *paced) Read(b []byte) (int, error) {
	// Reads are kept to a tenth of a second at the cap, so the rate stays smooth.
	if r := p.t.Rates(); r.Bandwidth > 0 {
		if lim := int(max(r.Bandwidth/10, 32<<10)); len(b) > lim {
			b = b[:lim]
		}
	}
	n, err := p.r.Read(b)
	if n > 0 {
		if werr := p.t.bytes.take(p.ctx, float64(n)); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

// pacedCloser is a paced body that closes the body it reads.
type pacedCloser struct {
	io.Reader
	io.Closer
}
