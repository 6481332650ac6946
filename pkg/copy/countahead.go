package copy

import (
	"context"
	"iter"
	"sync"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// countWindow is how many listed objects a count listing keeps for the copy, which
// reads them instead of listing the bucket a second time: about 3 MiB at most per
// bucket. Past it the count lists on alone and the copy lists from where the window
// ended, as the copy of a large bucket did before.
const countWindow = 20_000

// windowChunk is how many objects travel together from the count to the copy.
const windowChunk = 250

// sharedSource is the source as a pass's listings see it: a listing that countAhead
// runs anyway is read by the copy too, so a bucket with at most countWindow objects to
// go is listed once, not twice, and the total is still known as soon as that one
// listing ends.
type sharedSource struct {
	store.Store
	mu    sync.Mutex
	lists map[listFrom]*sharedList // taken by the first List that asks for them
}

type listFrom struct{ bucket, after string }

// List serves the copy's listing from the count's window where one runs from the same
// key, and from the store otherwise.
func (s *sharedSource) List(ctx context.Context, bucket, startAfter string) iter.Seq2[store.Object, error] {
	s.mu.Lock()
	l := s.lists[listFrom{bucket, startAfter}]
	delete(s.lists, listFrom{bucket, startAfter})
	s.mu.Unlock()
	if l != nil {
		return l.read(ctx, s.Store)
	}
	return s.Store.List(ctx, bucket, startAfter)
}

// sharedList is one count listing and the window it fills for the copy.
type sharedList struct {
	bucket, after string
	chunks        chan []store.Object
	// Set before chunks is closed: whether the window holds the whole listing, else the
	// key after which the copy lists on by itself.
	complete bool
	resume   string
}

func newSharedList(bucket, after string, size int) *sharedList {
	return &sharedList{bucket: bucket, after: after, chunks: make(chan []store.Object, max(size/windowChunk, 1))}
}

// count lists the bucket to its end; every object goes to the window until it is full,
// or the listing fails, or ctx ends. It returns the objects and bytes owned (as owns
// says) and whether the listing reached its end.
func (l *sharedList) count(ctx context.Context, src store.Store, owns func(key string) bool) (n, bytes int64, ok bool) {
	open, last := true, l.after
	var chunk []store.Object
	closeAt := func(complete bool) {
		l.complete, l.resume, open = complete, last, false
		close(l.chunks)
	}
	// send hands the chunk to the window, or closes the window if it is full: the
	// copy then lists on from the last key it was given.
	send := func() {
		select {
		case l.chunks <- chunk:
			last = chunk[len(chunk)-1].Key
			chunk = nil
		default:
			closeAt(false)
		}
	}
	defer func() {
		if open {
			closeAt(false) // failed or stopped: the copy's own listing meets the error, if any
		}
	}()
	for o, err := range src.List(ctx, l.bucket, l.after) {
		if err != nil {
			return n, bytes, false
		}
		if owns(o.Key) {
			n++
			bytes += o.Size
		}
		if open {
			chunk = append(chunk, o)
			if len(chunk) == windowChunk {
				send()
			}
		}
	}
	if open && len(chunk) > 0 {
		send()
	}
	if open {
		closeAt(true)
	}
	return n, bytes, true
}

// read yields the window, then, if the window did not hold the whole listing, lists on
// from where it ended. It may be ranged over once.
func (l *sharedList) read(ctx context.Context, src store.Store) iter.Seq2[store.Object, error] {
	return func(yield func(store.Object, error) bool) {
		for {
			var chunk []store.Object
			var ok bool
			select {
			case chunk, ok = <-l.chunks:
			case <-ctx.Done():
				yield(store.Object{}, ctx.Err())
				return
			}
			if !ok {
				break
			}
			for _, o := range chunk {
				if !yield(o, nil) {
					return
				}
			}
		}
		if l.complete {
			return
		}
		for o, err := range src.List(ctx, l.bucket, l.resume) {
			if !yield(o, err) {
				return
			}
		}
	}
}

// Expecter is an Observer that also hears a pass's size from the count ahead of it.
type Expecter interface {
	Expect(bucket string, objects, bytes int64)
}

func (o Observers) Expect(b string, objects, bytes int64) {
	for _, x := range o {
		if e, ok := x.(Expecter); ok {
			e.Expect(b, objects, bytes)
		}
	}
}

// countAhead lists, beside the copy, the source buckets that never completed a pass, so
// progress and ETA know the total from the start: the copy's own listing runs only a
// queue's length ahead of the workers. Buckets that completed a pass before are expected
// to hold what that pass listed, at no cost.
//
// The copy reads these listings too (the source it returns serves them): what a count
// lists goes to a window of up to window objects that the copy takes its objects from,
// so a bucket that fits the window is listed once. A count that outruns the copy by
// more than that lists on alone, and the copy lists from where the window ended. The
// observers hear the size (Expect and ListingDone) when a count reaches the end.
func (e *Engine) countAhead(ctx context.Context, pairs []Pair, o Options, window int) (store.Store, func()) {
	ctx, cancel := context.WithCancel(ctx)
	shared := &sharedSource{Store: e.Src, lists: map[listFrom]*sharedList{}}
	var wg sync.WaitGroup
	for _, pr := range pairs {
		after := ""
		if st, err := e.Checkpoints.Load(ctx, CheckpointName(pr, o.Shard)); err == nil {
			if !st.LastComplete.IsZero() {
				continue
			}
			after = resumeFrom(st)
		}
		l := newSharedList(pr.Source, after, window)
		shared.lists[listFrom{pr.Source, after}] = l
		wg.Go(func() {
			if n, bytes, ok := l.count(ctx, e.Src, o.Shard.Owns); ok {
				if x, ok := o.Observer.(Expecter); ok {
					x.Expect(pr.Source, n, bytes)
				}
				if x, ok := o.Observer.(ListingObserver); ok {
					x.ListingDone(pr.Source, n, bytes)
				}
			}
			// A failed count says nothing: the copy's own listing reports the error.
		})
	}
	return shared, func() { cancel(); wg.Wait() }
}

// resumeFrom is where a pass's first listing starts, as runPair resumes it: the first
// unfinished range of a pass in progress, the beginning otherwise.
func resumeFrom(st *checkpoint.State) string {
	if st.PassStarted.IsZero() {
		return ""
	}
	return checkpoint.FirstUndone(st.ResumeRanges())
}
