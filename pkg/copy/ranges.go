package copy

import (
	"iter"
	"sync"
	"sync/atomic"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// A pass's key ranges: how a pass gets them (split afresh, or from its checkpoint), and
// each range's progress while it is listed.

// DefaultRanges is how many key ranges a pass lists at once when Options.Ranges is 0.
// Behind a 40 ms link one listing stream moves about 1,000 keys per round trip; eight
// streams per side make a no-op sync of a million objects several times faster (see
// bench/results.md, "Ten million objects"), while each costs a goroutine, a 2,000-entry
// prefetch buffer per side and at most one extra listing request per pass.
const DefaultRanges = 8

// rangeRun is one key range of a pass: listed and merge-joined on its own, with its own
// watermark.
type rangeRun struct {
	checkpoint.Range
	mark   *watermark
	listed atomic.Bool // the range's listing reached its end

	mu             sync.Mutex
	objects, bytes int64 // source objects listed
	sample         sample
}

// start is the key the range's listings start after.
func (rr *rangeRun) start() string { return max(rr.After, rr.Watermark) }

func (rr *rangeRun) saw(o store.Object) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.objects++
	rr.bytes += o.Size
	rr.sample.add(o.Key)
}

// progress is the range as a checkpoint holds it now.
func (rr *rangeRun) progress() checkpoint.Range {
	c := rr.Range
	c.Watermark = rr.mark.get()
	c.Done = rr.listed.Load() && rr.mark.idle()
	return c
}

// within ends a listing at the first key past through ("" through: never).
func within(seq iter.Seq2[store.Object, error], through string) iter.Seq2[store.Object, error] {
	if through == "" {
		return seq
	}
	return func(yield func(store.Object, error) bool) {
		for o, err := range seq {
			if err == nil && o.Key > through {
				return
			}
			if !yield(o, err) {
				return
			}
		}
	}
}

// passRanges returns the ranges of the pass: those of the pass in progress, or, for a
// new pass, o.Ranges ranges split where the last complete pass found the keys. A bucket
// with no complete pass yet is listed as one stream: that pass is a bulk copy, which the
// copying paces, not the listing, and it learns where the keys are for the next one.
func (e *Engine) passRanges(state *checkpoint.State, o Options) []checkpoint.Range {
	if !state.PassStarted.IsZero() {
		return state.ResumeRanges()
	}
	if o.Ranges <= 1 || len(state.Quantiles) == 0 {
		return []checkpoint.Range{{}}
	}
	// A small bucket gets fewer ranges: each costs up to one listing request more.
	n := int(min(int64(o.Ranges), max(state.LastListed/keysPerRange, 1)))
	return rangesAt(boundsFrom(state.Quantiles, n))
}

func newRangeRuns(ranges []checkpoint.Range, window int) []*rangeRun {
	runs := make([]*rangeRun, len(ranges))
	for i, c := range ranges {
		runs[i] = &rangeRun{Range: c}
		runs[i].mark = newWatermark(runs[i].start(), window)
		if c.Done {
			runs[i].listed.Store(true)
		}
	}
	return runs
}

// rangeProgress is every range as a checkpoint holds it now.
func (r *pairRun) rangeProgress() []checkpoint.Range {
	r.rangesMu.Lock()
	defer r.rangesMu.Unlock()
	out := make([]checkpoint.Range, len(r.ranges))
	for i, rr := range r.ranges {
		out[i] = rr.progress()
	}
	return out
}

// listingDone tells the observers the size of the pass, once every range's listing has
// ended: the objects and bytes listed from where each range's pass started.
func (r *pairRun) listingDone() {
	r.rangesMu.Lock()
	defer r.rangesMu.Unlock()
	var n, bytes int64
	for _, rr := range r.ranges {
		rr.mu.Lock()
		n, bytes = n+rr.objects, bytes+rr.bytes
		rr.mu.Unlock()
	}
	if l, ok := r.o.Observer.(ListingObserver); ok {
		l.ListingDone(r.pair.Source, n, bytes)
	}
}

// learned is where this pass found the keys, for the next pass's split: quantiles of
// what it listed, and how many objects. Only a pass that listed every range from its
// start knows; a resumed one did not see what its ranges held below their watermarks.
func (r *pairRun) learned() (q []string, listed int64, ok bool) {
	r.rangesMu.Lock()
	defer r.rangesMu.Unlock()
	samples := make([]*sample, len(r.ranges))
	for i, rr := range r.ranges {
		rr.mu.Lock()
		listed += rr.objects
		s := rr.sample
		samples[i] = &s
		rr.mu.Unlock()
	}
	if !r.fresh || listed == 0 {
		return nil, 0, false
	}
	return quantiles(samples, Quantiles), listed, true
}
