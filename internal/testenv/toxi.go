package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/rs/zerolog"
)

// Toxi is a TCP proxy (toxiproxy, run inside the test process) in front of one server:
// point the migrator at Endpoint, and add or remove network faults while it runs.
// Every close the proxy makes is abortive (RST), as a middlebox dropping a connection
// would do.
type Toxi struct {
	// Endpoint is the proxy's URL, with the scheme of the server behind it.
	Endpoint string

	t     testing.TB
	proxy *toxiproxy.Proxy
	id    string
	conns atomic.Int64
}

// Toxic types this package adds to toxiproxy's own; each counts the connections it hit,
// which is what a fault table reports.
const (
	// ToxicCut passes Bytes bytes of a connection (in its direction) and then resets it:
	// a connection broken in the middle of a body.
	ToxicCut = "migrator_cut"
	// ToxicStall passes Bytes bytes and then holds everything back, keeping the
	// connection open: a peer that stopped answering.
	ToxicStall = "migrator_stall"
)

var (
	toxiOnce   sync.Once
	toxiServer *toxiproxy.ApiServer
	counters   sync.Map // counter id -> *atomic.Int64
	delays     sync.Map // delay id -> *Delay
	proxySeq   atomic.Int64
)

// StartToxi starts a proxy in front of m; it is removed when the test ends.
func StartToxi(t testing.TB, m *MinIO) *Toxi {
	t.Helper()
	toxiOnce.Do(func() {
		// toxiproxy logs through zerolog's global logger too; a test wants none of it.
		zerolog.SetGlobalLevel(zerolog.Disabled)
		toxiServer = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
		toxics.Register(ToxicCut, new(cutToxic))
		toxics.Register(ToxicStall, new(stallToxic))
		toxics.Register(countToxicType, new(countToxic))
		toxics.Register(delayToxicType, new(delayToxic))
	})
	x := &Toxi{t: t, id: fmt.Sprintf("toxi-%d", proxySeq.Add(1))}
	counters.Store(x.id+"/conns", &x.conns)
	x.proxy = toxiproxy.NewProxy(toxiServer, x.id, "127.0.0.1:0", m.Addr())
	if err := toxiServer.Collection.Add(x.proxy, true); err != nil {
		t.Fatalf("start toxiproxy in front of %s: %v", m, err)
	}
	scheme, _, _ := strings.Cut(m.Endpoint, "://")
	x.Endpoint = scheme + "://" + x.proxy.Listen
	// A reset_peer toxic that never fires makes toxiproxy set SO_LINGER 0 on every
	// connection it proxies, so the cuts below are resets, not orderly closes.
	x.add("linger0", "reset_peer", "downstream", 0, map[string]any{"timeout": 0})
	x.add("count", countToxicType, "upstream", 1, map[string]any{"counter": x.id + "/conns"})
	t.Cleanup(func() {
		x.proxy.Toxics.ResetToxics(context.Background())
		toxiServer.Collection.Remove(x.id)
	})
	return x
}

// Conns is how many connections the proxy has carried.
func (x *Toxi) Conns() int64 { return x.conns.Load() }

// Latency delays every chunk by ms milliseconds (± jitter) in direction
// ("upstream": towards the server, "downstream": towards the migrator).
func (x *Toxi) Latency(name, direction string, ms, jitter int) {
	x.add(name, "latency", direction, 1, map[string]any{"latency": ms, "jitter": jitter})
}

// Bandwidth limits direction to kbps KiB/s per connection.
func (x *Toxi) Bandwidth(name, direction string, kbps int) {
	x.add(name, "bandwidth", direction, 1, map[string]any{"rate": kbps})
}

// Fault adds ToxicCut or ToxicStall to every every-th connection (those open and those
// made later), hitting each after bytes plus up to jitter bytes in direction. It
// returns a counter of the connections it hit.
func (x *Toxi) Fault(name, kind, direction string, every, bytes, jitter int64) *atomic.Int64 {
	n := new(atomic.Int64)
	id := fmt.Sprintf("%s/%s", x.id, name)
	counters.Store(id, n)
	x.add(name, kind, direction, 1, map[string]any{"bytes": bytes, "jitter": jitter, "every": every, "counter": id})
	return n
}

// Delay is a latency a test turns up and down while traffic flows. Toxiproxy's
// RemoveToxic and UpdateToxic wait for every link through the proxy to take the new
// chain, and can hang on a busy one (seen with v2.5.0 in a chaos test); a Delay is a
// number its toxic reads for every chunk, so changing it touches no toxic at all.
type Delay struct{ ms atomic.Int64 }

// Set makes every chunk from now on wait ms milliseconds after it arrived.
func (d *Delay) Set(ms int) { d.ms.Store(int64(ms)) }

// Delay adds a latency of ms milliseconds in direction, to be changed with Set.
func (x *Toxi) Delay(name, direction string, ms int) *Delay {
	d := new(Delay)
	d.Set(ms)
	id := fmt.Sprintf("%s/%s", x.id, name)
	delays.Store(id, d)
	x.add(name, delayToxicType, direction, 1, map[string]any{"delay": id})
	return d
}

// Remove takes the named toxic off; connections it stalled are released.
func (x *Toxi) Remove(name string) {
	x.t.Helper()
	if err := x.proxy.Toxics.RemoveToxic(context.Background(), name); err != nil {
		x.t.Fatalf("remove toxic %s: %v", name, err)
	}
}

// Cut closes the proxy's listener and every connection through it: the network is gone.
func (x *Toxi) Cut() { x.proxy.Stop() }

// Restore listens again on the same address.
func (x *Toxi) Restore() {
	x.t.Helper()
	if err := x.proxy.Start(); err != nil {
		x.t.Fatalf("restore proxy %s: %v", x.proxy.Listen, err)
	}
}

func (x *Toxi) add(name, kind, direction string, toxicity float32, attrs map[string]any) {
	x.t.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "type": kind, "stream": direction, "toxicity": toxicity, "attributes": attrs})
	if _, err := x.proxy.Toxics.AddToxicJson(strings.NewReader(string(body))); err != nil {
		x.t.Fatalf("add toxic %s (%s): %v", name, kind, err)
	}
}

func count(id string) {
	if v, ok := counters.Load(id); ok {
		v.(*atomic.Int64).Add(1)
	}
}

// The toxics are built by toxiproxy from their JSON attributes, so their counters are
// found by name in counters.

const countToxicType = "migrator_count"

// countToxic passes everything and counts the connections it sees, once each.
type countToxic struct {
	Counter string `json:"counter"`
}

type seenState struct{ seen bool }

func (c *countToxic) NewState() any { return new(seenState) }

func (c *countToxic) Pipe(stub *toxics.ToxicStub) {
	if st := stub.State.(*seenState); !st.seen {
		st.seen = true
		count(c.Counter)
	}
	new(toxics.NoopToxic).Pipe(stub)
}

const delayToxicType = "migrator_delay"

// delayToxic holds each chunk until its Delay's milliseconds after it arrived, read
// afresh for every chunk.
type delayToxic struct {
	Delay string `json:"delay"`
}

func (d *delayToxic) Pipe(stub *toxics.ToxicStub) {
	for {
		select {
		case <-stub.Interrupt:
			return
		case chunk := <-stub.Input:
			if chunk == nil {
				stub.Close()
				return
			}
			var ms int64
			if v, ok := delays.Load(d.Delay); ok {
				ms = v.(*Delay).ms.Load()
			}
			if wait := time.Until(chunk.Timestamp.Add(time.Duration(ms) * time.Millisecond)); wait > 0 {
				select {
				case <-time.After(wait):
				case <-stub.Interrupt:
					stub.Output <- chunk // nothing is dropped when the toxic goes
					return
				}
			}
			stub.Output <- chunk
		}
	}
}

// byteState is what a fault toxic keeps per connection (toxiproxy keeps it across
// re-runs of the toxic): whether the connection is one it hits, after how many bytes,
// and how many have passed.
type byteState struct {
	armed bool
	limit int64
	n     int64
	hit   bool
}

// faultToxic holds what the cut and stall toxics share: every Every-th connection (1:
// each) is hit after Bytes plus a random share of Jitter bytes, so faults land at
// different points of different bodies, and a fault is certain once enough
// connections were made.
type faultToxic struct {
	Bytes   int64  `json:"bytes"`
	Jitter  int64  `json:"jitter"`
	Every   int64  `json:"every"`
	Counter string `json:"counter"`
	seq     atomic.Int64
}

func (f *faultToxic) NewState() any {
	st := &byteState{limit: f.Bytes}
	st.armed = f.Every <= 1 || (f.seq.Add(1)-1)%f.Every == 0
	if f.Jitter > 0 {
		st.limit += rand.Int64N(f.Jitter)
	}
	return st
}

// pass forwards a chunk, or the part of it before the limit; it tells whether the
// limit is reached (and counts the hit once).
func (f *faultToxic) pass(stub *toxics.ToxicStub, st *byteState, chunk *stream.StreamChunk) bool {
	if !st.armed {
		stub.Output <- chunk
		return false
	}
	if left := st.limit - st.n; int64(len(chunk.Data)) >= left {
		if left > 0 {
			chunk.Data = chunk.Data[:left]
			stub.Output <- chunk
		}
		st.n = st.limit
		if !st.hit {
			st.hit = true
			count(f.Counter)
		}
		return true
	}
	st.n += int64(len(chunk.Data))
	stub.Output <- chunk
	return false
}

// cutToxic resets a connection it hits at its limit.
type cutToxic struct{ faultToxic }

func (c *cutToxic) Pipe(stub *toxics.ToxicStub) {
	st := stub.State.(*byteState)
	for {
		select {
		case <-stub.Interrupt:
			return
		case chunk := <-stub.Input:
			if chunk == nil || c.pass(stub, st, chunk) {
				stub.Close()
				return
			}
		}
	}
}

// stallToxic holds a connection it hits open and silent from its limit on.
type stallToxic struct{ faultToxic }

func (s *stallToxic) Pipe(stub *toxics.ToxicStub) {
	st := stub.State.(*byteState)
	for {
		select {
		case <-stub.Interrupt:
			return
		case chunk := <-stub.Input:
			if chunk == nil {
				stub.Close()
				return
			}
			if st.hit {
				continue // dropped, as by a peer that is gone
			}
			s.pass(stub, st, chunk)
		}
	}
}

// Cleanup, when the toxic is removed, resets the connections it stalled: bytes were
// dropped meanwhile, so they cannot carry on.
func (s *stallToxic) Cleanup(stub *toxics.ToxicStub) {
	if stub.State.(*byteState).hit {
		stub.Close()
	}
}
