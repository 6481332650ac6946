package cli

import (
	"context"
	"iter"
	"sync"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// countWindow is how many listed objects a count listing keeps for the copy, which
// reads them instead of listing the bucket a second time: about 3 MiB at most per
// bucket. Past it the count lists on alone and the copy lists from where the window
// ended, as the copy of a large bucket did before.
const countWindow = 20_000

// windowChunk is how many objects travel together from the count to the copy.
const windowChunk = 250

// sharedSource is the source as the engine sees it during a pass: a listing that
// countAhead runs anyway is read by the copy too, so a bucket with at most
// countWindow objects to go is listed once, not twice, and the total is still known
// as soon as that one listing ends.
type sharedSource struct {
	store.Store
	mu    sync.Mutex
	lists map[listFrom]*sharedList // taken by the first List that asks for them
	// listed, if set, hears of every listing the copy runs alone that reaches its end,
	// with the objects and bytes owned (as owns says): the size of the pass.
	listed func(bucket string, objects, bytes int64)
	owns   func(key string) bool
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
		return l.read(ctx, s.Store) // the count reports the size
	}
	if s.listed == nil {
		return s.Store.List(ctx, bucket, startAfter)
	}
	return func(yield func(store.Object, error) bool) {
		var n, bytes int64
		for o, err := range s.Store.List(ctx, bucket, startAfter) {
			if err == nil && s.owns(o.Key) {
				n++
				bytes += o.Size
			}
			if !yield(o, err) || err != nil {
				return
			}
		}
		s.listed(bucket, n, bytes)
	}
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
