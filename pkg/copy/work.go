package copy

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// A worker's handling of one object: the copy with its retries, and the run's final retry
// of the keys that failed.

// do is a worker's handling of one job; it returns the bytes copied, and whether the
// object was.
func (r *pairRun) do(j job) (int64, bool) {
	defer r.inflight.Done()
	if r.listCtx.Err() != nil {
		// Stopping: queued objects are not started. Their slots stay open, so the
		// watermark stays below them and the next run copies them.
		return 0, false
	}
	return r.work(r.workCtx, j)
}

func (r *pairRun) work(ctx context.Context, j job) (int64, bool) {
	defer j.mark.finish(j.slot)
	r.o.Observer.InFlight(1)
	defer r.o.Observer.InFlight(-1)
	if j.maybeOwn != nil {
		r.confirmOwnCopy(ctx, j.obj, *j.maybeOwn)
		return 0, true // nothing written: it tells the gate nothing of the link
	}
	c, err := r.copyOne(ctx, j.obj)
	err = explainFolderKey(j.obj.Key, err)
	switch {
	case errors.Is(err, errGone):
		r.record(j.obj.Key, Skipped, 0, nil)
	case err != nil:
		r.record(j.obj.Key, Failed, j.obj.Size, err)
		if s := stopping(sideOf(err), err); s != nil {
			r.stop(s)
		}
		return 0, false
	default:
		r.record(j.obj.Key, Copied, c.bytes, nil)
	}
	return c.bytes, true
}

// copyOne copies an object with retries and remembers a destination ETag that differs
// from the source's, so later runs recognise the copy.
func (r *pairRun) copyOne(ctx context.Context, obj store.Object) (copied, error) {
	oc := r.e.copier(r.pair, r.o.Log, r)
	var c copied
	err := r.o.Retry.Do(ctx, func(ctx context.Context) error {
		var err error
		c, err = oc.copy(ctx, obj)
		return err
	})
	if len(oc.unsure) > 0 {
		r.sweepUploads(obj.Key, oc.unsure)
	}
	if err != nil {
		return c, err
	}
	if c.tagsDropped {
		r.mu.Lock()
		r.res.TagsDropped++
		r.mu.Unlock()
		if t, ok := r.o.Observer.(TagsDroppedObserver); ok {
			t.TagsDropped(r.pair.Source, obj.Key)
		}
	}
	if c.dstETag != c.srcETag {
		if err := r.tags.Record(obj.Key, c.srcETag, c.dstETag); err != nil {
			return c, fmt.Errorf("remember the ETag of %s/%s: %w", r.pair.Dest, obj.Key, err)
		}
	}
	return c, nil
}

// retryFailed gives every key that failed, in this run or an earlier one, one more
// round now that the rest is done.
func (r *pairRun) retryFailed(ctx context.Context) {
	r.mu.Lock()
	keys := make([]string, 0, len(r.state.Failed))
	for k := range r.state.Failed {
		keys = append(keys, k)
	}
	r.mu.Unlock()
	sort.Strings(keys)
	for _, k := range keys {
		if ctx.Err() != nil {
			return
		}
		src, err := r.e.Src.Stat(ctx, r.pair.Source, k)
		if errors.Is(err, store.ErrNotFound) {
			r.record(k, Skipped, 0, nil)
			continue
		}
		if err != nil {
			r.record(k, Failed, 0, err)
			if s := stopping("source", err); s != nil {
				r.stop(s)
				return
			}
			continue
		}
		var dstp *store.Object
		if dst, err := r.e.Dst.Stat(ctx, r.pair.Dest, k); err == nil {
			dstp = &dst.Object
		}
		src.Key = k
		switch a := Decide(src.Object, dstp, r.same); a.Kind {
		case ActSkip:
			r.record(k, Skipped, src.Size, nil)
		case ActConflict:
			r.record(k, Conflict, src.Size, nil)
		default:
			c, err := r.copyOne(ctx, src.Object)
			if err != nil {
				r.record(k, Failed, src.Size, err)
				if s := stopping(sideOf(err), err); s != nil {
					r.stop(s)
					return
				}
			} else {
				r.record(k, Copied, c.bytes, nil)
			}
		}
	}
}
