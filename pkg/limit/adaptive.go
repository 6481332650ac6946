package limit

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Reasons the concurrency limit changed, as the metric's label says them.
const (
	ReasonStart         = "start"
	ReasonRising        = "throughput_rising"  // more in flight brought more done
	ReasonFalling       = "throughput_falling" // the last increase made things worse, or did not pay
	ReasonProbe         = "probe"              // flat for a while: look for more room
	ReasonThrottled     = "throttled"          // SlowDown, 429
	ReasonTimeout       = "timeout"
	ReasonLatency       = "latency"        // requests took far longer than their floor
	ReasonSourceLatency = "source_latency" // the live source answered slower than limits.sourceLatency
)

// Reasons lists every reason, so their series can start at zero.
var Reasons = []string{ReasonStart, ReasonRising, ReasonFalling, ReasonProbe, ReasonThrottled,
	ReasonTimeout, ReasonLatency, ReasonSourceLatency}

// Adaptive is the number of objects in flight, found while the copy runs. On a link with
// round trips of tens of milliseconds the rate is set by how many objects wait at once,
// and nobody knows the right number for their link: so it starts at StartLimit, doubles
// while the rate of finished work rises with it, then creeps; an increase that does not
// pay is taken back and fewer are tried, so it settles where more in flight stops
// bringing more done (each object in flight costs memory). It backs off multiplicatively
// on throttling, timeouts, latency far above its floor, and a live source that slows down.
type Adaptive struct {
	min, max int
	// SourceLatency, when set, is the source GET latency (p90 over a window) above which
	// in-flight work shrinks until it falls back: OpenReplay records into that store.
	sourceLatency time.Duration
	onChange      func(limit int, reason string)
	clock         Clock
	window        time.Duration

	mu       sync.Mutex
	limit    int
	inflight int
	// waiters queue for a slot, first come first served; a freed slot is handed to one
	// of them (counted in inflight before it wakes). Waking them all on every release
	// cost more CPU than the copy on loopback: some 200 idle workers woke per object.
	waiters []chan struct{}
	w       windowStats

	// controller state, owned by Run
	prevLimit int
	prevRate  float64
	objTime   time.Duration // how long an object spent in flight, on average, last window
	slowStart bool
	settle    bool // the window after a change is a transition: not judged
	flat      int  // windows in a row without a clear change
	recoverTo int  // the limit before a backoff for latency: doubled back up to it
	// probeDown: the next flat spell tries fewer in flight (it stops once fewer cost).
	probeDown  bool
	probedDown bool // the last change was a probe down, judged next
	downFailed bool // a probe down cost throughput once: none again
	floor      map[string]time.Duration
	latHigh    bool    // the last window's latency was high
	doubt      float64 // the rate of a window whose increase was neither clearly paid nor not
}

type windowStats struct {
	objects, bytes      float64
	throttled, timeouts int
	// full: every slot was taken at some moment. At the pool's size no worker ever waits
	// for one (each holds its own), so an Acquire that waited is not the sign: with it,
	// an increase to the pool's size was never judged and so never taken back.
	full bool
	lat  map[string][]time.Duration
	// busy is the integral of objects in flight over time (object-seconds); by Little's
	// law busy/objects is how long an object took, round trips included.
	busy      time.Duration
	busySince time.Time
}

// StartLimit is where the limit starts unless told: twice the fixed default it replaced.
// A copy of a few thousand objects is over in seconds, and every doubling costs two or
// three windows: on the WAN bench (issue 17) the best fixed count was 32-256, most often
// 64 or 128, so 64 is at most two doublings from any of them. Where fewer pay as well
// (loopback, a busy CPU) a probe brings it down.
const StartLimit = 64

// A doubling pays when it brings at least gain times the rate (a smaller step its share:
// half a doubling, the square root of gain); one that does not is taken back. Doubling
// goes on while a doubling brings steepGain, by half a doubling once it brings less (the
// knee is near). Each object in flight costs memory (over TLS about a sixth of a MiB:
// 61 MiB at 256 in flight, 42 at 128, 33 at 64), and on the 2-core WAN bench, where both
// servers and the link's proxy share the CPU, a window's rate is noisy by 10% or so:
// with a 5% bar, a doubling that brought nothing was kept about one time in three. A
// probe down is kept while it costs less than downLoss of the best rate seen since the
// last increase, so that probes cannot add up to a loss.
const (
	gain      = 1.10
	steepGain = 1.25
	downLoss  = 1.03
)

// AdaptiveOptions configure NewAdaptive.
type AdaptiveOptions struct {
	Min, Max, Start int
	SourceLatency   time.Duration
	Window          time.Duration // how often the limit is judged; default 1s
	OnChange        func(limit int, reason string)
	Clock           Clock
}

// NewAdaptive returns a limit that starts at o.Start and stays within [Min, Max].
func NewAdaptive(o AdaptiveOptions) *Adaptive {
	o.Min = max(o.Min, 1)
	o.Max = max(o.Max, o.Min)
	if o.Start <= 0 {
		o.Start = min(StartLimit, o.Max)
	}
	if o.Window <= 0 {
		o.Window = time.Second
	}
	if o.Clock == nil {
		o.Clock = Real
	}
	if o.OnChange == nil {
		o.OnChange = func(int, string) {}
	}
	a := &Adaptive{min: o.Min, max: o.Max, sourceLatency: o.SourceLatency, onChange: o.OnChange,
		clock: o.Clock, window: o.Window, limit: min(max(o.Start, o.Min), o.Max),
		slowStart: true, settle: true, floor: map[string]time.Duration{}}
	a.w.lat = map[string][]time.Duration{}
	a.onChange(a.limit, ReasonStart)
	return a
}

// Max is the most objects that may ever be in flight: the worker pool's size.
func (a *Adaptive) Max() int { return a.max }

// Limit is the number of objects that may be in flight now.
func (a *Adaptive) Limit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limit
}

// Acquire waits for a slot.
func (a *Adaptive) Acquire(ctx context.Context) error {
	a.mu.Lock()
	if a.inflight < a.limit && len(a.waiters) == 0 {
		a.accountLocked()
		a.inflight++
		a.w.full = a.w.full || a.inflight == a.limit
		a.mu.Unlock()
		return nil
	}
	a.w.full = true
	slot := make(chan struct{}, 1)
	a.waiters = append(a.waiters, slot)
	a.mu.Unlock()
	select {
	case <-slot:
		return nil
	case <-ctx.Done():
		a.mu.Lock()
		if i := slices.Index(a.waiters, slot); i >= 0 {
			a.waiters = slices.Delete(a.waiters, i, i+1)
			a.mu.Unlock()
			return ctx.Err()
		}
		a.mu.Unlock()
		// A slot was handed over as ctx ended: give it back.
		a.Release(0, false)
		return ctx.Err()
	}
}

// Release frees a slot; bytes is what the object moved (0 for one that failed).
func (a *Adaptive) Release(bytes int64, ok bool) {
	a.mu.Lock()
	a.accountLocked()
	a.inflight--
	if ok {
		a.w.objects++
		a.w.bytes += float64(bytes)
	}
	a.handOverLocked()
	a.mu.Unlock()
}

// accountLocked adds the time since the last change of inflight to the window's busy.
func (a *Adaptive) accountLocked() {
	now := a.clock.Now()
	if !a.w.busySince.IsZero() {
		a.w.busy += time.Duration(a.inflight) * now.Sub(a.w.busySince)
	}
	a.w.busySince = now
}

// handOverLocked gives the slots free under the limit to the first waiters.
func (a *Adaptive) handOverLocked() {
	for len(a.waiters) > 0 && a.inflight < a.limit {
		a.accountLocked()
		a.inflight++
		a.w.full = a.w.full || a.inflight == a.limit
		a.waiters[0] <- struct{}{}
		a.waiters = a.waiters[1:]
	}
}

// Observe takes one request's outcome: side is "source" or "destination", op the
// request (latency is only taken from requests that carry no large body).
func (a *Adaptive) Observe(side, op string, d time.Duration, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch store.ClassOf(err) {
	case store.ClassThrottled:
		a.w.throttled++
	case store.ClassTimeout:
		a.w.timeouts++
	case store.ClassNone:
		k := side + " " + op
		if len(a.w.lat[k]) < 4096 {
			a.w.lat[k] = append(a.w.lat[k], d)
		}
	}
}

// Run judges the limit once a window until ctx ends.
func (a *Adaptive) Run(ctx context.Context) {
	for {
		d := a.period()
		select {
		case <-ctx.Done():
			return
		case <-a.clock.After(d):
			a.judge(d)
		}
	}
}

// period is the next window's length. While the limit is still doubling, a window is a
// few objects' time in flight (half a window at most): long enough that most of the
// window's objects ran at the new limit, short enough that a copy of a few thousand
// objects over a 20 ms link is not over before the limit has found its size.
func (a *Adaptive) period() time.Duration {
	if !a.slowStart { // controller state: Run's alone
		return a.window
	}
	if a.objTime <= 0 {
		return a.window / 2
	}
	return min(max(3*a.objTime, a.window/10), a.window/2)
}

// judge looks at the window of length d just ended and moves the limit.
func (a *Adaptive) judge(d time.Duration) {
	a.mu.Lock()
	a.accountLocked()
	w := a.w
	a.w = windowStats{lat: map[string][]time.Duration{}, busySince: w.busySince, full: a.inflight >= a.limit}
	limit := a.limit
	a.mu.Unlock()
	if w.objects > 0 {
		a.objTime = w.busy / time.Duration(w.objects)
	}

	// Work done: objects, with a MiB counting as one more, so that both a set of tiny
	// recordings and one of large ones register a rising rate.
	rate := (w.objects + w.bytes/(1<<20)) / d.Seconds()
	next, reason := limit, ""
	restored := 0.0       // set when going back to the previous limit: the rate it had
	second := a.doubt > 0 // the second window of a verdict in doubt: judged on both
	if second {
		rate, a.doubt = (a.doubt+rate)/2, 0
	}
	srcP90 := percentile(w.lat["source get"], 0.9)
	latHigh := a.latencyHigh(w.lat)
	switch {
	case w.throttled > 0:
		next, reason = limit*7/10, ReasonThrottled
	case w.timeouts > 0:
		next, reason = limit*7/10, ReasonTimeout
	case a.sourceLatency > 0 && srcP90 > a.sourceLatency:
		next, reason = limit*7/10, ReasonSourceLatency
	case latHigh:
		next, reason = limit*8/10, ReasonLatency
	case a.settle:
		a.settle = false // the rate still carries the last limit's: judge the next window
		return
	case !w.full:
		// The limit did not hold anything back (the listing, or the end of a bucket):
		// this window says nothing about a higher one.
		return
	case a.prevLimit > 0 && limit > a.prevLimit && rate < a.prevRate*a.paid(limit):
		if rate >= a.prevRate && !second {
			// More, but less than the increase should bring: a window's rate is noisy
			// by 10% or so, and a verdict either way costs (memory, or throughput on a
			// long link). The next window decides, on both.
			a.doubt = rate
			return
		}
		// The last increase did not bring what it should have: the extra objects only
		// queue somewhere (a busy CPU, a full link) and cost memory. Back to before it,
		// and the next flat spell tries fewer.
		next, reason = a.prevLimit, ReasonFalling
		a.slowStart = false
		a.probeDown = !a.downFailed
	case a.prevLimit > 0 && limit < a.prevLimit && a.probedDown:
		a.probedDown = false
		if rate < a.prevRate/downLoss {
			// Fewer cost throughput: back up, and no more probes down.
			next, reason = a.prevLimit, ReasonRising
			a.downFailed, restored = true, a.prevRate
		} else {
			// As much done with fewer in flight: keep the memory, try fewer again later,
			// held against the rate before this probe.
			a.probeDown = true
			a.prevLimit, a.prevRate = limit, max(a.prevRate, rate)
			return
		}
	case a.prevLimit == 0 || limit > a.prevLimit || rate >= a.prevRate*gain:
		// The last increase paid, or the rate rose by itself: more. Doubling goes on
		// while a doubling brings gain times the rate, by half a doubling once it brings
		// less than steepGain (the knee is near: a step past it costs memory for
		// nothing); after that, steps of an eighth.
		switch {
		case limit*2 <= a.recoverTo:
			next = limit * 2
		case a.slowStart && (a.prevLimit == 0 || rate >= a.prevRate*steepGain):
			next = limit * 2
		case a.slowStart && rate >= a.prevRate*gain:
			next = limit * 3 / 2
		default:
			a.slowStart = false
			next = limit + max(1, limit/8)
		}
		reason = ReasonRising
		a.flat = 0
	default:
		a.flat++
		if a.flat < 5 {
			a.prevRate = max(a.prevRate, rate)
			return
		}
		a.flat = 0
		next, reason = limit+max(1, limit/8), ReasonProbe
		if a.probeDown {
			a.probeDown, a.probedDown = false, true
			next = limit - max(1, limit/4)
		}
	}
	switch reason {
	case ReasonThrottled, ReasonTimeout:
		// The store asked for less: come back slowly.
		a.slowStart, a.recoverTo = false, 0
	case ReasonSourceLatency, ReasonLatency:
		// A queue somewhere that may drain: once it has, the old limit was fine.
		a.slowStart, a.recoverTo = false, max(a.recoverTo, limit)
	}
	next = min(max(next, a.min), a.max)
	if next == limit {
		return
	}
	if reason == ReasonFalling {
		// Back where the rate was better: that rate, not the failed increase's, is
		// what the next increase has to beat.
		a.prevLimit, a.prevRate = limit, max(rate, a.prevRate)
	} else {
		a.prevLimit, a.prevRate = limit, rate
	}
	if restored > 0 {
		// Back to the limit of a rate already seen: later windows are weighed against it.
		a.prevLimit, a.prevRate = next, restored
	}
	// The window after a change is a transition, not judged: new slots open connections
	// (a handshake or two over a long link, TLS's on top) before their first object
	// finishes, and the objects finishing still started under the old limit.
	a.settle = true
	a.mu.Lock()
	a.limit = next
	a.handOverLocked()
	a.mu.Unlock()
	a.onChange(next, reason)
}

// paid is the factor by which the rate must have risen for the increase from prevLimit
// to limit to be kept: gain for a doubling, its share of it for a smaller step (by
// powers: half a doubling, the square root), so that a step that brings next to
// nothing (the CPU or a queue is the bound) is taken back.
func (a *Adaptive) paid(limit int) float64 {
	return math.Pow(gain, math.Log2(float64(limit)/float64(a.prevLimit)))
}

// latencyHigh tells whether any bodiless request type's median stood far above the
// lowest median seen for it, two windows in a row: a queue is building somewhere on the
// path. Medians and the second window keep a burst of slow answers (a busy CPU, a
// garbage collection on the server) from cutting the limit.
func (a *Adaptive) latencyHigh(lat map[string][]time.Duration) bool {
	high := false
	for k, ds := range lat {
		if len(ds) < 8 {
			continue
		}
		p50 := percentile(ds, 0.5)
		f, ok := a.floor[k]
		if !ok || p50 < f {
			a.floor[k], f = p50, p50
		}
		// A quarter of a second above the floor: on a busy 2-core machine requests
		// queue 100 ms and more behind the CPU at 32-64 in flight, a cost the rate
		// already shows; this rule is for a queue on the path that the rate does not.
		if p50 > 3*f && p50-f > 250*time.Millisecond {
			high = true
		}
	}
	wasHigh := a.latHigh
	a.latHigh = high
	return high && wasHigh
}

func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
