package metrics

import (
	"time"
	"unicode/utf8"
)

const (
	// rateWindow is how far back the ETA's rate looks: long enough to smooth the swings
	// between large and small objects, short enough to notice a slowdown.
	rateWindow = 5 * time.Minute
	// sampleEvery spaces the rate samples, which bounds them to rateWindow/sampleEvery.
	sampleEvery = 2 * time.Second
	// maxErrorLen bounds what is kept of a failed key's error.
	maxErrorLen = 512
)

// bucket is one source bucket's current (or last) pass.
type bucket struct {
	name              string
	running, complete bool
	resumed           bool // the pass began after a watermark: its listing is partial
	started           time.Time

	listedObjects, listedBytes int64
	// expect* is what the running pass is expected to list (see Expect); explicit
	// says Expect set it for the next pass, which PassStarted must then keep.
	expectObjects, expectBytes int64
	explicit                   bool
	// full* is what the last pass from the beginning listed: a sync lists about as
	// much as the one before it, which makes the progress meaningful while the
	// listing, held back by the copy queue, is still short of the end.
	fullObjects, fullBytes int64

	doneObjects, doneBytes int64
	copied, skipped        int64
	conflicts              int64
	copiedBytes            int64
	tagsDropped            int64 // copied without their tags, in this pass

	// pending holds the sizes of listed objects whose outcome is not known yet; the
	// engine's window of objects in flight bounds it.
	pending map[string]int64
	// failed holds the keys that failed in this pass and have not succeeded since, as
	// the engine's checkpoint does.
	failed map[string]failure

	checkpoint time.Time
	samples    []sample // doneBytes over time, for the rate
}

type failure struct {
	size  int64
	known bool // listed in this pass, so its size counts in the pass
	err   string
}

type sample struct {
	at   time.Time
	done int64
}

func newBucket(name string) *bucket {
	return &bucket{name: name, pending: map[string]int64{}, failed: map[string]failure{}}
}

// start resets the pass state, keeping what carries over between passes.
func (b *bucket) start(resumeAfter string, now time.Time) {
	n := newBucket(b.name)
	n.fullObjects, n.fullBytes = b.fullObjects, b.fullBytes
	n.checkpoint = b.checkpoint
	switch {
	case b.explicit:
		n.expectObjects, n.expectBytes = b.expectObjects, b.expectBytes
	case resumeAfter == "":
		n.expectObjects, n.expectBytes = b.fullObjects, b.fullBytes
	}
	n.running, n.resumed, n.started = true, resumeAfter != "", now
	n.samples = []sample{{at: now}}
	*b = *n
}

// end closes the pass. A pass from the beginning that listed more than what was
// remembered becomes the next pass's expectation; a complete one always does, since
// objects may have been deleted (OpenReplay's retention) and the bucket shrunk.
func (b *bucket) end(complete bool) {
	b.running, b.complete, b.explicit = false, complete, false
	b.pending = map[string]int64{}
	if b.resumed {
		return
	}
	if complete || b.listedBytes > b.fullBytes {
		b.fullObjects, b.fullBytes = b.listedObjects, b.listedBytes
	}
}

// size is the denominator of the progress: what was listed, or what is expected if
// that is more while the listing runs, or before the first pass began (so that the
// overall progress of a copy counts the buckets still waiting their turn).
func (b *bucket) size() int64 {
	if b.running || b.started.IsZero() {
		return max(b.listedBytes, b.expectBytes)
	}
	return b.listedBytes
}

func (b *bucket) sizeObjects() int64 {
	if b.running || b.started.IsZero() {
		return max(b.listedObjects, b.expectObjects)
	}
	return b.listedObjects
}

func (b *bucket) progress() float64 {
	if b.complete && !b.running {
		return 1
	}
	size := b.size()
	if size <= 0 {
		return 0
	}
	return min(float64(b.doneBytes)/float64(size), 1)
}

// eta is the seconds left at the recent rate; ok is false while that cannot be told
// (no pass, nothing done recently).
func (b *bucket) eta(now time.Time) (float64, bool) {
	if !b.running {
		return 0, b.complete
	}
	left := b.size() - b.doneBytes
	if left <= 0 {
		return 0, true
	}
	r := b.rate(now)
	if r <= 0 {
		return 0, false
	}
	return float64(left) / r, true
}

// rate is bytes done per second over the last rateWindow: from the newest sample at
// or before the window's start (else the oldest one) to now. A stalled copy takes no
// new samples, so its rate falls towards 0 as time passes.
func (b *bucket) rate(now time.Time) float64 {
	if len(b.samples) == 0 || !b.running {
		return 0
	}
	cut := now.Add(-rateWindow)
	base := b.samples[0]
	for _, s := range b.samples[1:] {
		if s.at.After(cut) {
			break
		}
		base = s
	}
	dt := now.Sub(base.at).Seconds()
	if dt < 1 {
		return 0 // too soon to tell
	}
	return float64(b.doneBytes-base.done) / dt
}

// note records doneBytes for the rate: one sample per sampleEvery slot, holding the
// last event of the slot, so that a copy that then stalls shows no progress after it.
// The pass's starting sample is never overwritten. Samples that no longer serve as
// a base are dropped.
func (b *bucket) note(now time.Time) {
	s := sample{at: now, done: b.doneBytes}
	if n := len(b.samples); n > 1 && b.samples[n-1].at.Truncate(sampleEvery).Equal(now.Truncate(sampleEvery)) {
		b.samples[n-1] = s
		return
	}
	b.samples = append(b.samples, s)
	cut := now.Add(-rateWindow)
	i := 0
	for i+1 < len(b.samples) && !b.samples[i+1].at.After(cut) {
		i++
	}
	if i > 0 {
		b.samples = append(b.samples[:0], b.samples[i:]...)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n-- // cut between characters, so the JSON status stays readable
	}
	return s[:n] + "…"
}
