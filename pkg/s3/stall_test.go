package s3

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// A connection through the stall dialer to a loopback peer that runs serve.
func stallPair(t *testing.T, limit time.Duration, serve func(net.Conn)) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	dial := stallDialer((&net.Dialer{}).DialContext, limit)
	c, err := dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A peer that goes silent fails the read as a timeout (which pkg/retry retries).
func TestSilentPeerFailsTheRead(t *testing.T) {
	c := stallPair(t, 300*time.Millisecond, func(p net.Conn) {
		p.Write([]byte("first bytes"))
		io.Copy(io.Discard, p) // then nothing, until the client gives up
	})
	_, err := io.ReadAll(c)
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read from a silent peer: %v; want a timeout", err)
	}
}

// A slow peer is no stalled one: bytes that keep coming, each well within the limit,
// are read to the end however long the whole takes.
func TestSlowPeerIsReadToTheEnd(t *testing.T) {
	// Bytes come ten times faster than the limit: a loaded machine would have to
	// delay one goroutine by a whole second to fail a correct dialer.
	const limit = time.Second
	c := stallPair(t, limit, func(p net.Conn) {
		for range 30 { // 3 s in all, 3 limits
			p.Write([]byte("x"))
			time.Sleep(limit / 10)
		}
	})
	b, err := io.ReadAll(c)
	if err != nil || len(b) != 30 {
		t.Fatalf("read %d bytes, %v; want 30 and the end", len(b), err)
	}
}

// Bytes moving the other way count too: a read waiting for a response while the
// request body is still being sent is not stalled.
func TestReadWaitsWhileTheRequestBodyMoves(t *testing.T) {
	const limit = time.Second // as above
	c := stallPair(t, limit, func(p net.Conn) {
		buf := make([]byte, 1)
		for range 30 {
			if _, err := io.ReadFull(p, buf); err != nil {
				return
			}
		}
		p.Write([]byte("done"))
	})
	sent := make(chan error, 1)
	go func() {
		for range 30 { // 3 s of a slow body, no byte back meanwhile
			if _, err := c.Write([]byte("y")); err != nil {
				sent <- err
				return
			}
			time.Sleep(limit / 10)
		}
		sent <- nil
	}()
	b := make([]byte, 4)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "done" {
		t.Fatalf("response %q, %v; want done", b, err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("sending the body: %v", err)
	}
}
