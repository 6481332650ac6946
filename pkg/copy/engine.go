package copy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

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
	Gate  Gate
	Shard Shard // this process's share of the keys
	// CountAhead lists, beside the copy, each source bucket that never completed a pass,
	// so the observers hear its size (Expecter, ListingObserver) from the start; the copy
	// reads that listing too (see countAhead).
	// A shard does not count: which ranges it lists is only known as it claims them, and
	// each shard counting its hash share of the whole bucket listed the source N times over.
	CountAhead bool
	// Ranges is how many key ranges a new pass splits each bucket into, listed and
	// merge-joined at once (default DefaultRanges; 1 lists each bucket as one stream).
	Ranges          int
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

	// Whether the checkpoint store creates records once, asked once (see shareRanges).
	claimsOnce   sync.Once
	claimsErr    error
	claimsWarned atomic.Bool
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
	if o.Ranges <= 0 {
		o.Ranges = DefaultRanges
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
	src := e.Src
	if o.CountAhead && o.Shard.Count <= 1 {
		var stopCount func()
		src, stopCount = e.countAhead(runCtx, pairs, o, countWindow)
		defer stopCount()
	}
	results := make([]Result, len(pairs))
	errs := make([]error, len(pairs))
	var running sync.WaitGroup
	started := 0
	for i, p := range pairs {
		listed := make(chan bool, 1)
		started++
		running.Go(func() {
			results[i], errs[i] = e.runPair(runCtx, p, src, jobs, listed)
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
	src  store.Store // the source as the listings see it (a count ahead's window first)
	// ranges are the pass's key ranges, each listed with its own watermark; fresh when
	// the pass began in this run (not resumed), so its listings saw the bucket's ends.
	ranges   []*rangeRun
	rangesMu sync.Mutex // guards ranges, which a shared pass claims more of as it goes
	window   int        // objects each range's watermark may hold in flight
	fresh    bool
	// shared is the pass this shard shares with the others; nil unsharded, or where
	// shards hash keys instead.
	shared *sharedPass
	tags   *checkpoint.ETagMap
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
func (e *Engine) runPair(ctx context.Context, p Pair, src store.Store, jobs chan<- job, listed chan<- bool) (Result, error) {
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
	shared, err := e.shareRanges(ctx, p, state, o)
	if err != nil {
		return Result{Pair: p}, fmt.Errorf("share the key ranges of %s with the other shards: %w", p.Source, err)
	}
	var ranges []checkpoint.Range
	switch {
	case shared != nil && !state.PassStarted.IsZero():
		ranges = state.Ranges // more are claimed as the pass goes
	case shared != nil:
		state.Generation = shared.generation
	default:
		ranges = e.passRanges(state, o)
	}
	fresh := state.PassStarted.IsZero()
	if fresh {
		state.PassStarted = time.Now().UTC()
	}
	state.Ranges = ranges
	state.Watermark = checkpoint.FirstUndone(ranges)
	r := &pairRun{e: e, o: o, pair: p, name: name, src: src, state: state, tags: tags, resolved: resolved,
		ranges: newRangeRuns(ranges, 64*o.Workers+1024), window: 64*o.Workers + 1024, fresh: fresh, shared: shared,
		res: Result{Pair: p, Failed: map[string]string{}}}
	if err := r.abortLeftovers(ctx); err != nil {
		return r.res, err
	}
	o.Observer.PassStarted(p.Source, state.Watermark)
	if !fresh {
		o.Log.Info("resuming", zap.String("bucket", p.Source), zap.String("after", state.Watermark),
			zap.Int("ranges", len(ranges)))
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

type job struct {
	run  *pairRun
	obj  store.Object
	slot *slot
	mark *watermark // the watermark of the object's range
	// maybeOwn, if set, is the destination's newer object of the same size whose ETag
	// is not in the ETag map: read before it is called a conflict (see confirmOwnCopy).
	maybeOwn *store.Object
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
	held := r.rangeProgress()
	r.finish(interrupted)
	if err := r.save(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if r.shared != nil && !interrupted {
		if err := r.shared.finished(context.WithoutCancel(ctx), held); err != nil {
			return fmt.Errorf("record the ranges of %s done: %w", r.pair.Source, err)
		}
	}
	r.o.Observer.PassEnded(r.pair.Source, r.res.OK())
	return nil
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

// finish closes the pass in the state: a pass that reached the end starts over next
// time (new objects may land anywhere in the key space); an interrupted one resumes.
func (r *pairRun) finish(interrupted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Interrupted = interrupted
	if interrupted {
		return
	}
	if q, listed, ok := r.learned(); ok {
		r.state.Quantiles, r.state.LastListed = q, listed
	}
	r.state.Watermark = ""
	r.state.Ranges = nil
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
		r.state.Ranges = r.rangeProgress()
		r.state.Watermark = checkpoint.FirstUndone(r.state.Ranges)
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
