package copy

import (
	"context"
	"errors"
	"iter"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Listing: each key range of the pass merge-joined on its own, all at once, and what
// they hand the workers.

// list lists the pass's ranges, up to Options.Ranges at once, each merge-joining both
// sides from its own watermark, and hands copies to the workers. A shared pass claims
// more ranges as its own are listed.
func (r *pairRun) list(ctx context.Context, jobs chan<- job) error {
	g, gctx := errgroup.WithContext(ctx)
	next := 0
	take := func() (*rangeRun, error) {
		r.rangesMu.Lock()
		for next < len(r.ranges) {
			rr := r.ranges[next]
			next++
			if !rr.Done {
				r.rangesMu.Unlock()
				return rr, nil
			}
		}
		r.rangesMu.Unlock()
		if r.shared == nil || gctx.Err() != nil {
			return nil, nil
		}
		c, ok, err := r.shared.claim(gctx)
		if err != nil || !ok {
			return nil, err
		}
		rr := newRangeRuns([]checkpoint.Range{c}, r.window)[0]
		r.rangesMu.Lock()
		r.ranges = append(r.ranges, rr)
		next = max(next, len(r.ranges))
		r.rangesMu.Unlock()
		return rr, nil
	}
	for range max(r.o.Ranges, 1) {
		g.Go(func() error {
			for {
				rr, err := take()
				if err != nil || rr == nil {
					return err
				}
				if err := r.listRange(gctx, rr, jobs); err != nil {
					return err
				}
			}
		})
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	if err == nil && ctx.Err() == nil {
		r.listingDone()
	}
	return err
}

// listRange merge-joins one range of both listings from its watermark.
func (r *pairRun) listRange(ctx context.Context, rr *rangeRun, jobs chan<- job) error {
	from := rr.start()
	// within stops each listing at the range's end, before prefetch could page on into
	// the next range.
	src := r.owned(prefetch(ctx, within(stopOnFatal("source", r.src.List(ctx, r.pair.Source, from)), rr.Through)))
	dst := r.owned(prefetch(ctx, within(stopOnFatal("destination", r.e.Dst.List(ctx, r.pair.Dest, from)), rr.Through)))
	err := Join(src, dst, r.same, func(a Action) error {
		r.o.Observer.Listed(r.pair.Source, a.Src)
		rr.saw(a.Src)
		switch a.Kind {
		case ActSkip:
			rr.mark.skip(a.Src.Key)
			r.record(a.Src.Key, Skipped, a.Src.Size, nil)
		case ActConflict:
			if a.Dst.Size == a.Src.Size {
				// Maybe this migrator's own copy, made by a run killed before it
				// recorded the destination's ETag: a worker reads to tell.
				dst := a.Dst
				if err := r.hand(ctx, jobs, job{run: r, obj: a.Src, maybeOwn: &dst, mark: rr.mark}); err != nil {
					return err
				}
				break
			}
			rr.mark.skip(a.Src.Key)
			r.conflict(a.Src)
		case ActCopy:
			if err := r.hand(ctx, jobs, job{run: r, obj: a.Src, mark: rr.mark}); err != nil {
				return err
			}
		}
		return ctx.Err()
	}, nil)
	if err == nil && ctx.Err() == nil {
		rr.listed.Store(true)
	}
	return err
}

// hand queues j for the workers, with a watermark slot that stays open until it is done.
func (r *pairRun) hand(ctx context.Context, jobs chan<- job, j job) error {
	j.slot = j.mark.begin(j.obj.Key)
	r.inflight.Add(1)
	select {
	case jobs <- j:
		return nil
	case <-ctx.Done():
		r.inflight.Done()
		return ctx.Err() // the slot stays open: the watermark must not pass it
	}
}

// conflict leaves a newer, different destination object alone, and says so.
func (r *pairRun) conflict(src store.Object) {
	r.o.Log.Warn("conflict: the destination holds a newer, different object; left alone until `migrator resolve` says which to keep",
		zap.String("bucket", r.pair.Dest), zap.String("key", src.Key))
	r.record(src.Key, Conflict, src.Size, nil)
}

// same recognises equal objects from the listings alone, including copies whose
// destination ETag differs by nature (recorded in the ETag map when they were made),
// and destination objects an operator chose to keep for the source's (`migrator resolve`).
func (r *pairRun) same(src, dst store.Object) bool {
	return SameByListing(src, dst) || (src.Size == dst.Size && r.tags.Same(src.Key, src.ETag, dst.ETag)) ||
		r.resolved.Accepts(src.Key, src, dst)
}

func (r *pairRun) owned(seq iter.Seq2[store.Object, error]) iter.Seq2[store.Object, error] {
	if r.o.Shard.Count <= 1 || r.shared != nil {
		return seq // unsharded, or the shard lists only ranges it owns
	}
	return func(yield func(store.Object, error) bool) {
		for o, err := range seq {
			if err != nil || r.o.Shard.Owns(o.Key) {
				if !yield(o, err) {
					return
				}
			}
		}
	}
}

// prefetch runs a listing ahead of its consumer, so listing latency overlaps copying.
func prefetch(ctx context.Context, seq iter.Seq2[store.Object, error]) iter.Seq2[store.Object, error] {
	return func(yield func(store.Object, error) bool) {
		type item struct {
			o   store.Object
			err error
		}
		ctx, cancel := context.WithCancel(ctx)
		ch := make(chan item, 2000)
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error {
			defer close(ch)
			for o, err := range seq {
				select {
				case ch <- item{o, err}:
				case <-ctx.Done():
					return nil
				}
				if err != nil {
					return nil
				}
			}
			return nil
		})
		defer g.Wait()
		defer cancel()
		for it := range ch {
			if !yield(it.o, it.err) {
				return
			}
		}
	}
}
