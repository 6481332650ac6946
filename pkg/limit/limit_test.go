package limit

import (
	"bytes"
	"context"
	"io"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// virtualClock moves forward only when something waits on it: waits cost no wall time,
// and a test reads exactly how long the caps made a transfer take.
type virtualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *virtualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	c.mu.Unlock()
	return ch
}

func (c *virtualClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func TestBandwidthCapHoldsWithinTenPercent(t *testing.T) {
	for _, cap := range []string{"512K", "4M", "64M"} {
		clock := &virtualClock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
		bw, err := ParseBandwidth(cap)
		if err != nil {
			t.Fatal(err)
		}
		th := NewThrottle(Plan{Base: Rates{Bandwidth: bw}}, clock)
		size := int64(bw * 5) // five seconds' worth at the cap
		start := clock.Now()
		n, err := io.Copy(io.Discard, th.Reader(context.Background(), bytes.NewReader(make([]byte, size))))
		if err != nil || n != size {
			t.Fatalf("%s: copied %d of %d: %v", cap, n, size, err)
		}
		rate := float64(size) / clock.Now().Sub(start).Seconds()
		if rate > bw*1.1 || rate < bw*0.9 {
			t.Errorf("cap %s (%.0f B/s): measured %.0f B/s, not within 10%%", cap, bw, rate)
		}
	}
}

func TestRequestCapHolds(t *testing.T) {
	clock := &virtualClock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	th := NewThrottle(Plan{Base: Rates{Requests: 50}}, clock)
	start := clock.Now()
	for range 500 {
		if err := th.Request(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := 500 / clock.Now().Sub(start).Seconds(); got > 55 || got < 45 {
		t.Errorf("50 requests/s cap: measured %.1f/s", got)
	}
}

// The timetable switches at the window's boundary, on the clock the throttle is given.
func TestScheduleSwitchesAtItsBoundary(t *testing.T) {
	var p Plan
	for _, w := range []struct{ from, bw string }{{"19:00", "off"}, {"08:00", "10M"}} {
		from, err := ParseTimeOfDay(w.from)
		if err != nil {
			t.Fatal(err)
		}
		bw, _ := ParseBandwidth(w.bw)
		p.Windows = append(p.Windows, Window{From: from, Rates: Rates{Bandwidth: bw}})
	}
	if err := p.Sort(); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := &virtualClock{}
	th := NewThrottle(p, clock)
	for _, c := range []struct {
		at   time.Duration
		want float64
	}{
		{7*time.Hour + 59*time.Minute, 0}, // still last night's window
		{8 * time.Hour, 10 << 20},
		{18*time.Hour + 59*time.Minute, 10 << 20},
		{19 * time.Hour, 0},
		{23*time.Hour + 59*time.Minute, 0},
	} {
		clock.set(day.Add(c.at))
		if got := th.Rates().Bandwidth; got != c.want {
			t.Errorf("at %s: bandwidth cap %.0f, want %.0f", clockTime(c.at), got, c.want)
		}
	}
}

func TestParseBandwidthAndTime(t *testing.T) {
	for in, want := range map[string]float64{"10M": 10 << 20, "10MiB": 10 << 20, "512K": 512 << 10, "1G": 1 << 30,
		"1000": 1000, "off": 0, "": 0, "2.5M": 2.5 * (1 << 20), "10M/s": 10 << 20} {
		if got, err := ParseBandwidth(in); err != nil || got != want {
			t.Errorf("ParseBandwidth(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"fast", "-1M", "10X"} {
		if _, err := ParseBandwidth(bad); err == nil {
			t.Errorf("ParseBandwidth(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"8", "8:0", "24:00", "08:60", "x:00"} {
		if _, err := ParseTimeOfDay(bad); err == nil {
			t.Errorf("ParseTimeOfDay(%q) accepted", bad)
		}
	}
}

// link is a model of a copy over a long round trip: each object takes rtt, and the far
// side serves at most capacity objects at once; past it, more in flight only queues. The
// window right after a change still runs at the old limit (new slots are dialling), as
// over a real link.
type link struct {
	rtt      time.Duration
	capacity int
	last     int // the limit of the window before
}

func (l *link) window(a *Adaptive, limit int) {
	running := limit
	if l.last != 0 && l.last != limit {
		running = min(limit, l.last)
	}
	l.last = limit
	rate := float64(min(running, l.capacity)) / l.rtt.Seconds()
	a.mu.Lock()
	a.w.objects += rate * a.period().Seconds()
	a.w.full = true
	a.mu.Unlock()
	for range 20 {
		a.Observe("source", "get", l.rtt+time.Duration(max(0, limit-l.capacity))*l.rtt/time.Duration(l.capacity), nil)
	}
}

// settle runs the model for n windows and returns the limits the controller chose.
func (l *link) settle(a *Adaptive, n int) []int {
	var seen []int
	for range n {
		l.window(a, a.Limit())
		a.judge(a.period())
		seen = append(seen, a.Limit())
	}
	return seen
}

func TestAdaptiveFindsTheConcurrencyTheLinkNeeds(t *testing.T) {
	for _, l := range []*link{{rtt: 20 * time.Millisecond, capacity: 40}, {rtt: 80 * time.Millisecond, capacity: 200},
		{rtt: 5 * time.Millisecond, capacity: 8}, {rtt: 100 * time.Millisecond, capacity: 256}} {
		a := NewAdaptive(AdaptiveOptions{Min: 4, Max: 256, Clock: &virtualClock{}})
		l.settle(a, 30)
		if got := a.Limit(); got < l.capacity*9/10 || got < min(l.capacity, StartLimit) {
			t.Errorf("link %v x %d: settled at %d in flight, below 0.9x what it can serve", l.rtt, l.capacity, got)
		}
	}
}

// More in flight than the link serves only queues and costs memory: the controller
// settles near what the link serves, not at its maximum, and an increase that brought
// nothing is taken back rather than kept.
func TestAdaptiveStopsWhereMoreInFlightStopsPaying(t *testing.T) {
	for _, l := range []*link{{rtt: 80 * time.Millisecond, capacity: 128}, {rtt: 20 * time.Millisecond, capacity: 64},
		{rtt: time.Millisecond, capacity: 32}} {
		a := NewAdaptive(AdaptiveOptions{Min: 4, Max: 256, Clock: &virtualClock{}})
		seen := l.settle(a, 60)
		last := seen[len(seen)-20:]
		if got := slices.Max(last); got > l.capacity*5/4 {
			t.Errorf("link %v x %d: limit up to %d over the last 20 windows (%v), more than the link serves", l.rtt, l.capacity, got, seen)
		}
		if got := slices.Min(last); got < l.capacity*9/10 {
			t.Errorf("link %v x %d: limit down to %d over the last 20 windows (%v)", l.rtt, l.capacity, got, seen)
		}
	}
}

// A copy of a few thousand objects over a long link is over in seconds: the limit must
// reach what the link serves within a few windows, not after the copy is done.
func TestAdaptiveReachesALongLinksConcurrencyQuickly(t *testing.T) {
	l := &link{rtt: 80 * time.Millisecond, capacity: 128}
	clock := &virtualClock{}
	a := NewAdaptive(AdaptiveOptions{Min: 4, Max: 256, Clock: clock})
	start := clock.Now()
	for a.Limit() < 128 {
		if clock.Now().Sub(start) > 3*time.Second {
			t.Fatalf("limit %d after %v on a link that serves 128", a.Limit(), clock.Now().Sub(start))
		}
		l.window(a, a.Limit())
		d := a.period()
		<-clock.After(d)
		a.judge(d)
	}
}

func TestAdaptiveBacksOffOnThrottlingAndSlowSource(t *testing.T) {
	a := NewAdaptive(AdaptiveOptions{Min: 4, Max: 256, Start: 100, SourceLatency: 100 * time.Millisecond, Clock: &virtualClock{}})
	var reasons []string
	a.onChange = func(_ int, r string) { reasons = append(reasons, r) }
	a.Observe("destination", "put", 0, &store.Error{Op: "put", Status: 503, Code: "SlowDown", Err: io.EOF})
	a.judge(a.period())
	if got := a.Limit(); got != 70 {
		t.Fatalf("after a SlowDown: limit %d, want 70", got)
	}
	// The live source slows down: in-flight work shrinks each window while it stays slow.
	for range 3 {
		for range 20 {
			a.Observe("source", "get", 300*time.Millisecond, nil)
		}
		a.judge(a.period())
	}
	if got := a.Limit(); got > 70*7/10*7/10*7/10+1 {
		t.Fatalf("source GET p90 300ms over a 100ms guard for 3 windows: limit still %d", got)
	}
	low := a.Limit()
	// It recovers once the source is quick again and more in flight brings more done.
	l := &link{rtt: 10 * time.Millisecond, capacity: 200}
	for range 20 {
		l.window(a, a.Limit())
		a.judge(a.period())
	}
	if got := a.Limit(); got <= low*2 {
		t.Errorf("after the source recovered: limit %d, was %d", got, low)
	}
	want := []string{ReasonThrottled, ReasonSourceLatency}
	for i, w := range want {
		if i >= len(reasons) || reasons[i] != w {
			t.Errorf("reasons %v, want them to begin with %v", reasons, want)
			break
		}
	}
}

// Acquire never lets more than the limit in, and a raised limit wakes the waiters.
func TestAdaptiveAdmitsAtMostTheLimit(t *testing.T) {
	a := NewAdaptive(AdaptiveOptions{Min: 1, Max: 8, Start: 2, Clock: &virtualClock{}})
	ctx := context.Background()
	a.Acquire(ctx)
	a.Acquire(ctx)
	third := make(chan struct{})
	go func() { a.Acquire(ctx); close(third) }()
	select {
	case <-third:
		t.Fatal("a third object got in under a limit of 2")
	case <-time.After(50 * time.Millisecond): // a negative check: nothing must happen
	}
	a.Release(10, true)
	<-third
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := a.Acquire(cctx); err == nil {
		t.Fatal("Acquire on a cancelled context at the limit succeeded")
	}
}

// A freed slot goes to the worker that has waited longest, and to it alone; a worker
// that gives up leaves the queue without taking a slot from the others.
func TestAdaptiveHandsAFreedSlotToTheLongestWaiter(t *testing.T) {
	a := NewAdaptive(AdaptiveOptions{Min: 1, Max: 8, Start: 1, Clock: &virtualClock{}})
	ctx := context.Background()
	if err := a.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	queued := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			a.mu.Lock()
			got := len(a.waiters)
			a.mu.Unlock()
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d waiters, want %d", got, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	gaveUp, cancel := context.WithCancel(ctx)
	order := make(chan int, 3)
	for i, c := range []context.Context{ctx, gaveUp, ctx} {
		go func() {
			if a.Acquire(c) == nil {
				order <- i
			}
		}()
		queued(i + 1)
	}
	cancel()
	queued(2)
	a.Release(1, true)
	if got := <-order; got != 0 {
		t.Fatalf("the freed slot went to waiter %d, want the first", got)
	}
	select {
	case got := <-order:
		t.Fatalf("waiter %d got in too, under a limit of 1", got)
	default:
	}
	a.Release(1, true)
	if got := <-order; got != 2 {
		t.Fatalf("the next slot went to waiter %d, want the third (the second gave up)", got)
	}
	if a.inflight != 1 {
		t.Errorf("%d in flight, want 1", a.inflight)
	}
}

// curve is a link on a shared, busy machine (the WAN bench's 2 cores run both servers
// and the link's proxy too): the rate each limit brings, measured there (issue 17,
// objects/s of the bare GET->PUT loop at 16..256 in flight). Between two points the rate
// is interpolated on the doublings (log2 of the limit); past the ends it is the end's.
type curve struct {
	name   string
	points map[int]float64
	last   int
}

func (c *curve) rate(limit int) float64 {
	lo, hi := 0, 0
	for n := range c.points {
		if n <= limit && n > lo {
			lo = n
		}
		if n >= limit && (hi == 0 || n < hi) {
			hi = n
		}
	}
	switch {
	case lo == 0:
		return c.points[hi]
	case hi == 0 || hi == lo:
		return c.points[lo]
	}
	f := math.Log2(float64(limit)/float64(lo)) / math.Log2(float64(hi)/float64(lo))
	return c.points[lo] + f*(c.points[hi]-c.points[lo])
}

func (c *curve) window(a *Adaptive, limit int) {
	running := limit
	if c.last != 0 && c.last != limit {
		running = min(limit, c.last)
	}
	c.last = limit
	a.mu.Lock()
	a.w.objects += c.rate(running) * a.period().Seconds()
	a.w.full = true
	a.mu.Unlock()
}

// Where each doubling brings only a little more (5-12%), the controller keeps doubling,
// and where one brings less (TLS handshakes crowding the CPU), it turns back: after eight
// windows (a few seconds), it runs at 0.9x the best rate or better, probes included.
func TestAdaptiveFollowsSmallGainsAndTurnsBackAtALoss(t *testing.T) {
	for _, c := range []*curve{
		{name: "http 20 ms", points: map[int]float64{16: 311, 32: 393, 64: 416, 128: 467, 256: 515}},
		{name: "http 80 ms", points: map[int]float64{16: 148, 32: 269, 64: 369, 128: 449, 256: 459}},
		{name: "tls 20 ms", points: map[int]float64{16: 303, 32: 412, 64: 440, 128: 379, 256: 331}},
		{name: "tls 80 ms", points: map[int]float64{16: 151, 32: 268, 64: 392, 128: 399, 256: 352}},
	} {
		best := 0.0
		for _, r := range c.points {
			best = max(best, r)
		}
		a := NewAdaptive(AdaptiveOptions{Min: 4, Max: 256, Clock: &virtualClock{}})
		var seen []int
		done := 0.0
		for i := range 16 {
			if i >= 8 {
				done += c.rate(a.Limit()) / 8
			}
			c.window(a, a.Limit())
			a.judge(a.period())
			seen = append(seen, a.Limit())
		}
		if done < 0.9*best {
			t.Errorf("%s: limits %v ran at %.0f objects/s over the last 8 windows, of the best %.0f", c.name, seen, done, best)
		}
	}
}

// At the pool's size no worker waits for a slot: each of them holds one. A window there
// still tells whether the increase to it paid, and one that did not is taken back (the
// WAN bench's copies sat at 256, the pool's size, where 128 did as well, at some
// 0.16 MiB more per object in flight).
func TestAdaptiveTakesBackAnIncreaseToThePoolsSizeThatDidNotPay(t *testing.T) {
	const pool = 8
	a := NewAdaptive(AdaptiveOptions{Min: 1, Max: pool, Start: 4, Clock: &virtualClock{}})
	window := poolWindow(t, a, pool)
	var seen []int
	for range 5 {
		seen = append(seen, window(100)) // as many done at 8 in flight as at 4
	}
	// 8 after the doubling, its settling window, and one in doubt (no less done, no
	// more): then back.
	if want := []int{4, 8, 8, 8, 4}; !slices.Equal(seen, want) {
		t.Fatalf("limits after each window: %v; want %v (a doubling to the pool's size that brought nothing, taken back)", seen, want)
	}
}

// A doubling whose first window brought a little more, but less than it should, is judged
// on two windows: on one, noisy by 10% on a busy machine, a copy over an 80 ms link was
// sent back to 64 in flight where 128 did a sixth more.
func TestAdaptiveJudgesAnIncreaseInDoubtOnTwoWindows(t *testing.T) {
	a := NewAdaptive(AdaptiveOptions{Min: 1, Max: 64, Start: 4, Clock: &virtualClock{}})
	window := poolWindow(t, a, 64)
	var seen []int
	for _, rate := range []float64{100, 100, 100, 105, 120} {
		seen = append(seen, window(rate))
	}
	// Settling at 4, doubled, settling at 8, in doubt at 105, kept on 112.5 on average,
	// and raised by half a doubling (less than steepGain).
	if want := []int{4, 8, 8, 8, 12}; !slices.Equal(seen, want) {
		t.Fatalf("limits after each window: %v; want %v", seen, want)
	}
}

// poolWindow returns a window of a worker pool of the given size: its workers take what
// slots there are (the rest queue, and give up when the window ends), finishing objects
// at rate; then the window is judged, and the limit after it returned.
func poolWindow(t *testing.T, a *Adaptive, pool int) func(rate float64) int {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	return func(rate float64) int {
		n := a.Limit()
		for range n {
			if err := a.Acquire(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if n < pool {
			a.Acquire(done) // a worker that found every slot taken
		}
		a.mu.Lock()
		a.w.objects += rate * a.period().Seconds()
		a.mu.Unlock()
		a.judge(a.period())
		for range n {
			a.Release(0, false)
		}
		return a.Limit()
	}
}
