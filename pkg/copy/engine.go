package copy

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Pair is one source bucket and the destination bucket it is copied to.
type Pair struct {
	Source, Dest string
}

// Options tune an Engine; zero values get sensible defaults.
type Options struct {
	Workers int // objects copied at once (default 16); ignored with a Gate
	// Gate, when set, decides how many objects are in flight while the run goes on (the
	// worker pool is Gate.Max() strong, and each object waits for a slot).
	Gate            Gate
	Shard           Shard         // this process's share of the keys
	CheckpointEvery time.Duration // default 2s
	// Grace is how long in-flight objects may finish after ctx is cancelled (SIGTERM)
	// before they are aborted. Default 30s.
	Grace    time.Duration
	Retry    retry.Policy // per object; default retry.Default
	Log      *zap.Logger
	Observer Observer
	// DestTraits, if set, is what a conformance run showed of the destination
	// (storetest.Known): the engine starts from it instead of learning it from the
	// first objects' answers, e.g. sends no tags at all to a store that keeps none.
	DestTraits *store.Traits
}

// Gate admits objects into flight: limit.Adaptive is one.
type Gate interface {
	// Acquire waits for a slot; it fails only when ctx ends.
	Acquire(ctx context.Context) error
	// Release frees the slot; bytes is what the object moved, ok whether it was copied.
	Release(bytes int64, ok bool)
	// Max is the most slots there can ever be.
	Max() int
}

// Engine copies bucket pairs from Src to Dst.
type Engine struct {
	Src, Dst    store.Store
	Checkpoints checkpoint.Store
	Opt         Options

	abortWarned atomic.Bool // the missing s3:AbortMultipartUpload was explained
	partETags   partETagHints
	tagless     taglessBuckets
}

// Result is what one pair's run achieved.
type Result struct {
	Pair
	Copied, Skipped int64
	Bytes           int64
	Conflicts       []string          // keys left alone: the destination's is newer and different
	TagsDropped     int64             // objects copied without their tags: the destination bucket keeps none
	Failed          map[string]string // key -> last error, after retries
	Interrupted     bool              // stopped by ctx before the pass ended
}

// OK tells whether every object of the pair is in place.
func (r Result) OK() bool { return len(r.Failed) == 0 && len(r.Conflicts) == 0 && !r.Interrupted }

func (e *Engine) defaults() Options {
	o := e.Opt
	if o.Gate != nil {
		o.Workers = o.Gate.Max()
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 2 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 30 * time.Second
	}
	if o.Retry.Attempts == 0 {
		o.Retry = retry.Default
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Observer == nil {
		o.Observer = Observers{}
	}
	return o
}

// CheckpointName is the name of a pair's checkpoint in the state folder.
func CheckpointName(p Pair, s Shard) string {
	n := p.Source + "--" + p.Dest
	if s.Count > 1 {
		n += "--shard-" + s.String()
	}
	return n
}

// Run copies every pair in turn with one pool of workers: a pair's listing starts once
// the previous pair's has ended, and its objects take the workers as the previous
// pair's last ones free them, so the pool does not drain at every bucket. When ctx is
// cancelled it stops taking work, lets in-flight objects finish within the grace
// period, writes the checkpoints and returns the results so far with Interrupted set.
// A pair that fails stops the pairs after it the same way.
func (e *Engine) Run(ctx context.Context, pairs []Pair) ([]Result, error) {
	// Progress that cannot be saved would be redone after a restart: say so before
	// copying anything.
	if err := e.Checkpoints.Writable(ctx); err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	o := e.defaults()
	n := o.Workers
	if t := e.Opt.DestTraits; t != nil {
		for _, p := range pairs {
			if !t.KeepsTags {
				e.tagless.m.Store(p.Dest, struct{}{})
			}
			e.partETags.learn(p.Dest, t.PartETagsAreMD5)
		}
	}
	jobs := make(chan job, n)
	var workers sync.WaitGroup
	for range n {
		workers.Go(func() {
			for j := range jobs {
				if o.Gate == nil {
					j.run.do(j)
					continue
				}
				if o.Gate.Acquire(j.run.listCtx) != nil {
					j.run.do(j) // stopping: do leaves the object for the next run
					continue
				}
				bytes, ok := j.run.do(j)
				o.Gate.Release(bytes, ok)
			}
		})
	}
	defer workers.Wait()
	defer close(jobs)

	runCtx, stopRest := context.WithCancel(ctx)
	defer stopRest()
	results := make([]Result, len(pairs))
	errs := make([]error, len(pairs))
	var running sync.WaitGroup
	started := 0
	for i, p := range pairs {
		listed := make(chan bool, 1)
		started++
		running.Go(func() {
			results[i], errs[i] = e.runPair(runCtx, p, jobs, listed)
			if errs[i] != nil {
				stopRest()
			}
		})
		if !<-listed {
			break // interrupted, or the listing failed: no pair after it starts
		}
	}
	running.Wait()
	for _, err := range errs[:started] {
		if err != nil {
			return results[:started], err
		}
	}
	return results[:started], nil
}

// pairRun is the state of one pair's pass, shared by the lister, the workers and the
// checkpointer.
type pairRun struct {
	e    *Engine
	o    Options
	pair Pair
	name string
	mark *watermark
	tags *checkpoint.ETagMap
	// resolved are the conflicts the operator resolved, as the pass began.
	resolved *checkpoint.Resolutions

	// stop ends the pass early with a StopError: no more objects are started.
	stop context.CancelCauseFunc

	// listCtx ends with the listing (SIGTERM, or a StopError): queued objects are not
	// started then. workCtx is the in-flight objects', cancelled when the grace ends.
	listCtx, workCtx context.Context
	inflight         sync.WaitGroup // this pair's objects handed to the workers

	mu     sync.Mutex // guards state and res
	state  *checkpoint.State
	res    Result
	saveMu sync.Mutex // one checkpoint write at a time
}

// runPair runs one pair's pass, its objects copied by the workers that read jobs. It
// tells listed, once, whether its listing reached the end, which lets the next pair start.
func (e *Engine) runPair(ctx context.Context, p Pair, jobs chan<- job, listed chan<- bool) (Result, error) {
	defer tell(listed, false) // unless told already: an early error

	o := e.defaults()
	name := CheckpointName(p, o.Shard)
	state, err := e.Checkpoints.Load(ctx, name)
	if errors.Is(err, checkpoint.ErrCorrupt) {
		// The merge-join makes a fresh start correct, only slower.
		o.Log.Warn("checkpoint unreadable (the error names the file); starting this bucket over: objects already copied are "+
			"recognised from the listings and skipped, so nothing is lost, only time",
			zap.String("bucket", p.Source), zap.Error(err))
		state = &checkpoint.State{Version: checkpoint.Version}
		state.Uploads, err = e.ownUploads(ctx, p, o.Shard)
	}
	if err != nil {
		return Result{Pair: p}, err
	}
	tags, err := e.Checkpoints.OpenETagMap(ctx, name)
	if err != nil {
		return Result{Pair: p}, err
	}
	defer tags.Close()
	resolved, err := e.Checkpoints.LoadResolutions(ctx, CheckpointName(p, Shard{}))
	if errors.Is(err, checkpoint.ErrCorrupt) {
		// Unreadable: every conflict is reported again, which loses nothing.
		o.Log.Warn("resolved conflicts unreadable (the error names the file); conflicts are reported again until resolved anew",
			zap.String("bucket", p.Source), zap.Error(err))
		resolved, err = nil, nil
	}
	if err != nil {
		return Result{Pair: p}, err
	}
	state.Source, state.Dest, state.Shard = p.Source, p.Dest, o.Shard.String()
	if state.PassStarted.IsZero() {
		state.Watermark = ""
		state.PassStarted = time.Now().UTC()
	}
	r := &pairRun{e: e, o: o, pair: p, name: name, state: state, tags: tags, resolved: resolved,
		mark: newWatermark(state.Watermark, 64*o.Workers+1024),
		res:  Result{Pair: p, Failed: map[string]string{}}}
	if err := r.abortLeftovers(ctx); err != nil {
		return r.res, err
	}
	o.Observer.PassStarted(p.Source, state.Watermark)
	if state.Watermark != "" {
		o.Log.Info("resuming", zap.String("bucket", p.Source), zap.String("after", state.Watermark))
	}
	err = r.pass(ctx, jobs, listed)
	return r.res, err
}

// tell sends v on a channel of capacity one, unless something was sent before.
func tell(c chan<- bool, v bool) {
	select {
	case c <- v:
	default:
	}
}

// abortLeftovers aborts the multipart uploads an earlier run journaled and did not end.
// The journal holds the key before the upload exists, so the uploads are looked up by
// key: one created just before a crash has an ID nobody wrote down.
//
// A key with only the migration guide's permissions may neither list nor abort
// uploads: then the ID the journal holds is tried, and what cannot be aborted is
// reported (abortDenied) and dropped from the journal, since no later run could do
// better with the same key.
func (r *pairRun) abortLeftovers(ctx context.Context) error {
	var kept []string
	for key, id := range r.state.Uploads {
		ups, err := r.e.Dst.ListUploads(ctx, r.pair.Dest, key)
		if denied(err) {
			ups, err = nil, nil
			if id != "" {
				ups = []store.Upload{{Key: key, UploadID: id}}
			} else {
				kept = append(kept, key+" (upload ID not recorded)")
			}
		}
		if err != nil {
			return fmt.Errorf("look for uploads left by an earlier run under %s/%s: %w", r.pair.Dest, key, err)
		}
		for _, u := range ups {
			if u.Key != key {
				continue
			}
			err := r.e.Dst.AbortMultipart(ctx, r.pair.Dest, key, u.UploadID)
			if denied(err) {
				kept = append(kept, key+" (upload "+u.UploadID+")")
				continue
			}
			if err != nil {
				return fmt.Errorf("abort the upload of %s/%s left by an earlier run: %w", r.pair.Dest, key, err)
			}
			r.o.Log.Info("aborted an upload left by an earlier run", zap.String("bucket", r.pair.Dest), zap.String("key", key))
		}
		delete(r.state.Uploads, key)
	}
	if len(kept) > 0 {
		sort.Strings(kept)
		r.e.abortDenied(r.o.Log, r.pair.Dest, kept)
	}
	return nil
}

type job struct {
	run  *pairRun
	obj  store.Object
	slot *slot
	// maybeOwn, if set, is the destination's newer object of the same size whose ETag
	// is not in the ETag map: read before it is called a conflict (see confirmOwnCopy).
	maybeOwn *store.Object
}

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

// pass runs the listing and the checkpointer until the listing is done and the objects
// it handed out are, or ctx is cancelled.
func (r *pairRun) pass(ctx context.Context, jobs chan<- job, listed chan<- bool) error {
	// Objects in flight get their own context: cancelling ctx stops the lister at
	// once, while in-flight objects get the grace period to finish.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	// listCtx ends the listing on SIGTERM (ctx) or on a StopError from any worker.
	listCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r.stop = stop
	r.listCtx, r.workCtx = listCtx, workCtx
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(r.o.Grace, cancelWork)
		<-workCtx.Done()
		t.Stop()
	})
	defer stopGrace()

	ticker := time.NewTicker(r.o.CheckpointEvery)
	tickDone := make(chan struct{})
	var tickWG sync.WaitGroup
	tickWG.Add(1)
	go func() {
		defer tickWG.Done()
		for {
			select {
			case <-ticker.C:
				if err := r.save(ctx); err != nil {
					r.o.Log.Error("checkpoint", zap.Error(err))
				}
			case <-tickDone:
				return
			}
		}
	}()

	listErr := r.list(listCtx, jobs)
	tell(listed, listErr == nil && listCtx.Err() == nil)
	r.inflight.Wait()
	ticker.Stop()
	close(tickDone)
	tickWG.Wait()

	interrupted := ctx.Err() != nil
	if !interrupted {
		if s := stopCause(listCtx); s != nil {
			listErr = s
		} else if listErr == nil {
			r.retryFailed(workCtx)
			if s := stopCause(listCtx); s != nil {
				listErr = s
			}
		}
	}
	if listErr != nil && !interrupted {
		// The listing failed for good (after retries): keep the watermark for the next run.
		if err := r.save(context.WithoutCancel(ctx)); err != nil {
			r.o.Log.Error("checkpoint", zap.Error(err))
		}
		r.o.Observer.PassEnded(r.pair.Source, false)
		return listErr
	}
	r.finish(interrupted)
	if err := r.save(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	r.o.Observer.PassEnded(r.pair.Source, r.res.OK())
	return nil
}

// list merge-joins both listings from the watermark and hands copies to the workers.
func (r *pairRun) list(ctx context.Context, jobs chan<- job) error {
	src := r.owned(prefetch(ctx, stopOnFatal("source", r.e.Src.List(ctx, r.pair.Source, r.state.Watermark))))
	dst := r.owned(prefetch(ctx, stopOnFatal("destination", r.e.Dst.List(ctx, r.pair.Dest, r.state.Watermark))))
	err := Join(src, dst, r.same, func(a Action) error {
		r.o.Observer.Listed(r.pair.Source, a.Src)
		switch a.Kind {
		case ActSkip:
			r.mark.skip(a.Src.Key)
			r.record(a.Src.Key, Skipped, a.Src.Size, nil)
		case ActConflict:
			if a.Dst.Size == a.Src.Size {
				// Maybe this migrator's own copy, made by a run killed before it
				// recorded the destination's ETag: a worker reads to tell.
				dst := a.Dst
				if err := r.hand(ctx, jobs, job{run: r, obj: a.Src, maybeOwn: &dst}); err != nil {
					return err
				}
				break
			}
			r.mark.skip(a.Src.Key)
			r.conflict(a.Src)
		case ActCopy:
			if err := r.hand(ctx, jobs, job{run: r, obj: a.Src}); err != nil {
				return err
			}
		}
		return ctx.Err()
	}, nil)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// hand queues j for the workers, with a watermark slot that stays open until it is done.
func (r *pairRun) hand(ctx context.Context, jobs chan<- job, j job) error {
	j.slot = r.mark.begin(j.obj.Key)
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
	if r.o.Shard.Count <= 1 {
		return seq
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

func (r *pairRun) work(ctx context.Context, j job) (int64, bool) {
	defer r.mark.finish(j.slot)
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

func (r *pairRun) record(key string, out Outcome, bytes int64, err error) {
	r.mu.Lock()
	switch out {
	case Copied:
		r.res.Copied++
		r.res.Bytes += bytes
		r.state.Copied++
		r.state.CopiedBytes += bytes
		delete(r.state.Failed, key)
		delete(r.res.Failed, key)
	case Skipped:
		r.res.Skipped++
		r.state.Skipped++
		delete(r.state.Failed, key)
		delete(r.res.Failed, key)
	case Conflict:
		r.res.Conflicts = append(r.res.Conflicts, key)
		r.state.Conflicts++
	case Failed:
		if r.state.Failed == nil {
			r.state.Failed = map[string]string{}
		}
		r.state.Failed[key] = err.Error()
		r.res.Failed[key] = err.Error()
	}
	r.mu.Unlock()
	if out == Failed {
		r.o.Log.Warn("object failed after retries", zap.String("bucket", r.pair.Source), zap.String("key", key), zap.Error(err))
	}
	r.o.Observer.Finished(r.pair.Source, key, out, bytes, err)
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

// finish closes the pass in the state: a pass that reached the end starts over next
// time (new objects may land anywhere in the key space); an interrupted one resumes.
func (r *pairRun) finish(interrupted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Interrupted = interrupted
	if interrupted {
		return
	}
	r.state.Watermark = ""
	r.state.PassStarted = time.Time{}
	if len(r.state.Failed) == 0 && len(r.res.Conflicts) == 0 {
		r.state.LastComplete = time.Now().UTC()
	}
}

func (r *pairRun) save(ctx context.Context) error {
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	r.mu.Lock()
	if !r.state.PassStarted.IsZero() {
		r.state.Watermark = r.mark.get()
	}
	r.state.SavedAt = time.Now().UTC()
	snap := *r.state
	snap.Failed = cloneMap(r.state.Failed)
	snap.Uploads = cloneMap(r.state.Uploads)
	r.mu.Unlock()
	// Mappings first: every key below the watermark being saved has its mapping kept.
	if err := r.tags.Flush(ctx); err != nil {
		return fmt.Errorf("checkpoint %s: %w", r.name, err)
	}
	if err := r.e.Checkpoints.Save(ctx, r.name, &snap); err != nil {
		return fmt.Errorf("checkpoint %s: %w", r.name, err)
	}
	r.o.Observer.Checkpointed(r.pair.Source, snap.SavedAt)
	return nil
}

// uploadStarting writes the checkpoint before the upload is created, so that a crash at
// any later instant leaves a record of it.
func (r *pairRun) uploadStarting(key string) error {
	r.mu.Lock()
	if r.state.Uploads == nil {
		r.state.Uploads = map[string]string{}
	}
	r.state.Uploads[key] = ""
	r.mu.Unlock()
	return r.save(context.Background())
}

// uploadCreated records the ID before the first part is sent. A later run finds an
// upload by key where the key may list uploads; with only the migration guide's
// permissions it may not, and the recorded ID is the only way to abort it.
func (r *pairRun) uploadCreated(key, id string) error {
	r.mu.Lock()
	if _, ok := r.state.Uploads[key]; ok {
		r.state.Uploads[key] = id
	}
	r.mu.Unlock()
	return r.save(context.Background())
}

// sweepUploads aborts the uploads an object's failed attempts may have left (see
// objectCopier.unsure). It runs after the last attempt, whether that completed the
// object or not: every upload still open under the key is then a leftover. What cannot
// be aborted now is journaled again for the next run's abortLeftovers.
func (r *pairRun) sweepUploads(key string, unsure []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids := map[string]bool{}
	lookUp := false
	for _, id := range unsure {
		if id == "" {
			lookUp = true
		} else {
			ids[id] = true
		}
	}
	if lookUp {
		ups, err := r.e.Dst.ListUploads(ctx, r.pair.Dest, key)
		switch {
		case denied(err):
			r.e.abortDenied(r.o.Log, r.pair.Dest, []string{key + " (an upload whose creation went unanswered)"})
		case err != nil:
			r.uploadLeft(key, "")
		}
		for _, u := range ups {
			if u.Key == key {
				ids[u.UploadID] = true
			}
		}
	}
	for id := range ids {
		err := r.e.Dst.AbortMultipart(ctx, r.pair.Dest, key, id)
		switch {
		case denied(err):
			r.e.abortDenied(r.o.Log, r.pair.Dest, []string{key + " (upload " + id + ")"})
		case err != nil:
			r.uploadLeft(key, id)
		}
	}
}

// uploadLeft journals an upload the sweep could not end, so the next run aborts it.
func (r *pairRun) uploadLeft(key, id string) {
	r.mu.Lock()
	if r.state.Uploads == nil {
		r.state.Uploads = map[string]string{}
	}
	if r.state.Uploads[key] == "" {
		r.state.Uploads[key] = id
	}
	r.mu.Unlock()
	if err := r.save(context.Background()); err != nil {
		r.o.Log.Error("checkpoint", zap.Error(err))
	}
}

// uploadAbortDenied drops an upload the key may not abort from the journal, after
// saying so: no later run could abort it with the same key either.
func (r *pairRun) uploadAbortDenied(key, id string) {
	r.uploadEnded(key)
	r.e.abortDenied(r.o.Log, r.pair.Dest, []string{key + " (upload " + id + ")"})
}

func (r *pairRun) uploadEnded(key string) {
	r.mu.Lock()
	delete(r.state.Uploads, key)
	r.mu.Unlock()
}

// ownUploads stands in for the journal of multipart uploads when the checkpoint that
// held it is unreadable: the destination bucket's unfinished uploads under keys the
// source holds are taken for this migrator's own, so abortLeftovers ends them. (Uploads
// under other keys are someone else's and are left alone.)
func (e *Engine) ownUploads(ctx context.Context, p Pair, shard Shard) (map[string]string, error) {
	ups, err := e.Dst.ListUploads(ctx, p.Dest, "")
	if denied(err) {
		return nil, nil // abortLeftovers could not abort them either; nothing to find
	}
	if err != nil {
		return nil, fmt.Errorf("look for uploads left in %s after its checkpoint was lost: %w", p.Dest, err)
	}
	own := map[string]string{}
	for _, u := range ups {
		if !shard.Owns(u.Key) {
			continue
		}
		if _, err := e.Src.Stat(ctx, p.Source, u.Key); err == nil {
			own[u.Key] = u.UploadID
		}
	}
	return own, nil
}

// abortDenied explains, once per run, that the destination key may not abort multipart
// uploads and what to do about the ones left; later occurrences only list them.
func (e *Engine) abortDenied(log *zap.Logger, bucket string, uploads []string) {
	if e.abortWarned.Swap(true) {
		log.Warn("multipart uploads left unfinished (the key may not abort them; see above)",
			zap.String("bucket", bucket), zap.Strings("uploads", uploads))
		return
	}
	log.Warn("the destination key may not abort multipart uploads (AccessDenied: s3:AbortMultipartUpload is not among "+
		"the seven permissions of OpenReplay's migration guide), so these unfinished uploads stay in the bucket, unseen "+
		"but stored, until removed: add a lifecycle rule with AbortIncompleteMultipartUpload (e.g. DaysAfterInitiation: 1) "+
		"to the destination bucket, or grant the key s3:AbortMultipartUpload and s3:ListBucketMultipartUploads",
		zap.String("bucket", bucket), zap.Strings("uploads", uploads))
}

// denied tells whether the service refused the request for want of permission.
func denied(err error) bool {
	return store.ClassOf(err) == store.ClassDenied
}

// stopCause is the StopError that ended ctx, if one did.
func stopCause(ctx context.Context) *StopError {
	var s *StopError
	if errors.As(context.Cause(ctx), &s) {
		return s
	}
	return nil
}

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
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
