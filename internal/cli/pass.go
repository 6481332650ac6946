package cli

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// runPass runs one copy or sync pass over every pair, with metrics, phase and run
// records, and periodic progress lines in the log (the progress bars' counterpart
// where there is no terminal).
func (p *parts) runPass(ctx context.Context, kind string, extra ...copy.Observer) ([]copy.Result, error) {
	obs := append(copy.Observers{p.metrics}, extra...)
	p.metrics.SetPhase(kind)
	defer p.metrics.SetPhase("idle")
	start := time.Now()
	src, stopCount := p.countAhead(ctx, listingObservers(extra))
	eng := &copy.Engine{Src: src, Dst: p.dst, Checkpoints: p.state, Opt: copy.Options{
		Workers:  p.cfg.Workers,
		Gate:     p.limits.engineGate(),
		Shard:    p.shard,
		Ranges:   p.cfg.Listing.Ranges,
		Grace:    p.cfg.GracePeriod,
		Retry:    p.retryPolicy(),
		Log:      p.log,
		Observer: obs,
	}}
	stop := p.logProgress(kind, 10*time.Second)
	stopJudging := p.limits.run(ctx)
	results, err := eng.Run(ctx, p.pairs)
	stopJudging()
	stopCount()
	stop()
	ok := err == nil
	for _, r := range results {
		ok = ok && r.OK()
	}
	p.metrics.RunFinished(kind, start, ok)
	return results, err
}

// countAhead lists, beside the copy, the source buckets that never completed a pass, so
// progress and ETA know the total from the start: the copy's own listing runs only a
// queue's length ahead of the workers. Buckets that completed a pass before are expected
// to hold what that pass listed, at no cost.
//
// The copy reads these listings too (the source it returns serves them): what a count
// lists goes to a window of up to countWindow objects that the copy takes its objects
// from, so a bucket that fits the window is listed once. A count that outruns the copy
// by more than that lists on alone, and the copy lists from where the window ended.
//
// listed hears the size of each pass as soon as a listing has found it: from the count,
// or from the copy's own listing where no count runs.
func (p *parts) countAhead(ctx context.Context, listed func(bucket string, objects, bytes int64)) (src store.Store, stop func()) {
	return p.countAheadWindow(ctx, countWindow, listed)
}

func (p *parts) countAheadWindow(ctx context.Context, window int, listed func(string, int64, int64)) (store.Store, func()) {
	ctx, cancel := context.WithCancel(ctx)
	if listed == nil {
		listed = func(string, int64, int64) {}
	}
	shared := &sharedSource{Store: p.src, lists: map[listFrom]*sharedList{}, listed: listed, owns: p.shard.Owns}
	var wg sync.WaitGroup
	for _, pr := range p.pairs {
		after := ""
		if st, err := p.state.Load(ctx, copy.CheckpointName(pr, p.shard)); err == nil {
			if !st.LastComplete.IsZero() {
				continue
			}
			// The engine lists from the watermark of a pass in progress, and from
			// the start otherwise.
			if !st.PassStarted.IsZero() {
				after = st.Watermark
			}
		}
		l := newSharedList(pr.Source, after, window)
		shared.lists[listFrom{pr.Source, after}] = l
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, bytes, ok := l.count(ctx, p.src, p.shard.Owns); ok {
				p.metrics.Expect(pr.Source, n, bytes)
				listed(pr.Source, n, bytes)
			}
			// A failed count says nothing: the copy's own listing reports the error.
		}()
	}
	return shared, func() { cancel(); wg.Wait() }
}

// listingObserver hears when a listing of a bucket, from where its pass starts, has
// reached the end: the pass's size is known from then on.
type listingObserver interface {
	ListingDone(bucket string, objects, bytes int64)
}

// listingObservers calls ListingDone on each observer that has it.
func listingObservers(obs []copy.Observer) func(bucket string, objects, bytes int64) {
	var ls []listingObserver
	for _, o := range obs {
		if l, ok := o.(listingObserver); ok {
			ls = append(ls, l)
		}
	}
	return func(bucket string, objects, bytes int64) {
		for _, l := range ls {
			l.ListingDone(bucket, objects, bytes)
		}
	}
}

// logProgress logs each running bucket's progress every interval until stopped.
func (p *parts) logProgress(kind string, every time.Duration) (stop func()) {
	if p.quietProgress {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, b := range p.metrics.Snapshot().Buckets {
					if !b.Running {
						continue
					}
					f := []zap.Field{zap.String("kind", kind), zap.String("bucket", b.Bucket),
						zap.Int64("objectsDone", b.ObjectsDone), zap.Int64("objectsKnown", b.ObjectsKnown),
						zap.Int64("bytesDone", b.BytesDone), zap.Int64("bytesKnown", b.BytesKnown),
						zap.Int64("failed", b.Failed), zap.Float64("bytesPerSecond", b.BytesPerSecond)}
					if b.ETASeconds != nil {
						f = append(f, zap.Float64("etaSeconds", *b.ETASeconds))
					}
					p.log.Info("progress", f...)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
