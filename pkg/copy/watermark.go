package copy

import "sync"

// watermark tracks the largest key below which every object of a pass is done, while
// workers finish objects out of order. Objects are emitted in key order; only those
// being copied are held, and at most window of them, which bounds memory when one slow
// object holds the mark back.
type watermark struct {
	mu      sync.Mutex
	cond    *sync.Cond
	window  int
	pending []*slot // objects being copied, in emit order
	last    string  // the last key emitted
	mark    string
}

type slot struct {
	key  string
	prev string // the key emitted just before this one
	done bool
}

func newWatermark(start string, window int) *watermark {
	w := &watermark{window: window, last: start, mark: start}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// skip records a key that needed no work.
func (w *watermark) skip(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = key
	if len(w.pending) == 0 {
		w.mark = key
	}
}

// begin records a key that a worker will copy; it waits while window keys are pending.
func (w *watermark) begin(key string) *slot {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.pending) >= w.window {
		w.cond.Wait()
	}
	s := &slot{key: key, prev: w.last}
	w.pending = append(w.pending, s)
	w.last = key
	return s
}

// finish marks s done (copied or failed: a failed key is kept in the checkpoint instead).
func (w *watermark) finish(s *slot) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s.done = true
	n := 0
	for n < len(w.pending) && w.pending[n].done {
		n++
	}
	if n == 0 {
		return
	}
	w.pending = w.pending[n:]
	if len(w.pending) == 0 {
		w.mark = w.last
	} else {
		w.mark = w.pending[0].prev
	}
	w.cond.Broadcast()
}

// get returns the current watermark.
func (w *watermark) get() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mark
}

// idle tells whether no object is being copied.
func (w *watermark) idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) == 0
}
