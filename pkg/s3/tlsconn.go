package s3

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"time"
)

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// tlsDialer opens TLS connections here rather than in net/http, to hand it a connection
// that takes a request body with ReadFrom. net/http copies a body to the connection with
// io.Copy: to a *tls.Conn, which has no ReadFrom, that is a fresh 32 KiB buffer for every
// PUT (all garbage) and a TLS record, and a write system call, per read of the source.
// (A connection through an HTTPS proxy is still net/http's own.)
func tlsDialer(dial dialFunc, cfg *tls.Config, timeout time.Duration) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := cfg.Clone() // shares the session cache
		if c.ServerName == "" {
			if c.ServerName, _, err = net.SplitHostPort(addr); err != nil {
				c.ServerName = addr
			}
		}
		tc := tls.Client(raw, c)
		hctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			raw.Close()
			return nil, err
		}
		return tlsConn{tc}, nil
	}
}

// tlsConn is a TLS connection that copies a request body in copyBufSize chunks from a
// pooled buffer: a TLS record of 16 KiB per write, and no garbage.
type tlsConn struct{ *tls.Conn }

func (c tlsConn) ReadFrom(r io.Reader) (int64, error) { return copyPooled(c.Conn, r) }
