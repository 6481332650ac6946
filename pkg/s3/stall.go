package s3

import (
	"context"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// DefaultStallTimeout is how long a connection may move no byte either way before it is
// given up; it matches the wait for response headers.
const DefaultStallTimeout = 2 * time.Minute

// stallDialer wraps every connection in a stallConn. HTTP bodies have no timeout of
// their own: a peer that goes silent in the middle of a listing page or an object body
// would hold that request (and its worker, or the whole listing) forever.
func stallDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error), limit time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		s := &stallConn{Conn: c, limit: limit}
		s.touch()
		return s, nil
	}
}

// stallConn fails a read or a write once no byte has moved in either direction for
// limit. Either direction counts: while a large request body is being sent, the read
// waiting for the response is not stalled. The error is a timeout, which pkg/retry
// retries.
type stallConn struct {
	net.Conn
	limit time.Duration
	last  atomic.Int64 // UnixNano of the last byte moved either way
	// The deadlines set on the connection (UnixNano). Setting one costs a timer update
	// in the runtime; done before every read and write it was ~2% of a copy's CPU. A
	// deadline is set again only when the one set is less than half a limit past the
	// last byte moved, or has passed. One that passes early (bytes moved since it was
	// set) only wakes the loops below, which set the right one; none is ever later
	// than limit after the last byte, since the last byte only moves forward.
	readSet, writeSet atomic.Int64
}

func (c *stallConn) touch() { c.last.Store(time.Now().UnixNano()) }

// deadline is limit after the last byte moved; past it, the connection is stalled.
func (c *stallConn) deadline() time.Time { return time.Unix(0, c.last.Load()).Add(c.limit) }

// arm moves a deadline to limit after the last byte when the one set falls due within
// half a limit of it, or (expired) when it has passed.
func (c *stallConn) arm(set *atomic.Int64, setDeadline func(time.Time) error, expired bool) {
	last := c.last.Load()
	if !expired && set.Load() >= last+int64(c.limit/2) {
		return
	}
	d := last + int64(c.limit)
	setDeadline(time.Unix(0, d))
	set.Store(d)
}

func (c *stallConn) Read(p []byte) (int, error) {
	for expired := false; ; expired = true {
		c.arm(&c.readSet, c.Conn.SetReadDeadline, expired)
		n, err := c.Conn.Read(p)
		if n > 0 {
			c.touch()
		}
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(c.deadline()) {
			continue // bytes moved since the deadline was set
		}
		return n, err
	}
}

func (c *stallConn) Write(p []byte) (int, error) {
	done := 0
	for expired := false; ; expired = true {
		c.arm(&c.writeSet, c.Conn.SetWriteDeadline, expired)
		n, err := c.Conn.Write(p[done:])
		done += n
		if n > 0 {
			c.touch()
		}
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(c.deadline()) {
			return done, err
		}
	}
}
