package testenv

import (
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Ports for the servers tests start as processes come from below the kernel's ephemeral
// range (where bind(":0") and every outgoing connection take theirs) and above the
// well-known ones; the bench and demo scripts pick theirs from 20000 up.
const (
	portsFrom = 10000
	portsTo   = 20000 // exclusive
)

// FreePort returns a loopback port for a server this test starts, held for this test
// alone until it ends. A server stopped and started again on its port (a restart
// mid-copy) finds it still free on a busy machine: no outgoing connection can take a port
// outside the ephemeral range, and no other test process picks one another holds (a lock
// file per port, released when the test ends or its process dies).
func FreePort(t testing.TB) int {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "openreplay-migrator-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatalf("free port: %v", err)
	}
	hi := min(portsTo, ephemeralFrom())
	for range 1000 {
		p := portsFrom + rand.IntN(hi-portsFrom)
		if lock, ok := reserve(dir, p); ok {
			t.Cleanup(func() { lock.Close() }) // closing the file drops the lock
			return p
		}
	}
	t.Fatalf("free port: no free loopback port in %d-%d after 1000 tries", portsFrom, hi-1)
	return 0
}

// reserve takes port p if no other test holds its lock and nothing listens on it.
func reserve(dir string, p int) (*os.File, bool) {
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(p)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, false
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		f.Close()
		return nil, false
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		f.Close()
		return nil, false
	}
	l.Close()
	return f, true
}

// ephemeralFrom is the first port of the kernel's ephemeral range (32768 when unknown).
func ephemeralFrom() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > portsFrom+100 {
				return n
			}
		}
	}
	return 32768
}
