package copy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Notified copies single objects of one pair as the source announces them, between the
// passes and beside them, with the rules of a pass: the same object copier (checksums,
// headers, tags, the ETag kept), the same "same object" and conflict rules, retries, and
// a journal of its multipart uploads that the next start aborts after a crash.
//
// It keeps its own checkpoint (CheckpointName + "--notified": the uploads journal only),
// so a pass running at the same time owns its watermark alone. Its copies keep the
// source's ETag where the destination computes MD5 ETags, so the next pass skips them
// from the listings; where it does not (SSE-KMS), the destination ETag goes to the
// notifier's own ETag map, which passes do not read: the next pass proves such an
// object by reading both bodies once (confirmOwnCopy), and never copies it again.
type Notified struct {
	run *pairRun
}

// NotifiedName is the name of the checkpoint that Notified keeps for pair p.
func NotifiedName(p Pair, s Shard) string { return CheckpointName(p, s) + "--notified" }

// Notified prepares the copy of announced objects of p, aborting the multipart uploads
// a killed process left in its journal. Outcomes go to the Engine's Observer.
func (e *Engine) Notified(ctx context.Context, p Pair) (*Notified, error) {
	o := e.defaults()
	name := NotifiedName(p, o.Shard)
	state, err := e.Checkpoints.Load(ctx, name)
	if errors.Is(err, checkpoint.ErrCorrupt) {
		state = &checkpoint.State{Version: checkpoint.Version}
		state.Uploads, err = e.ownUploads(ctx, p, o.Shard)
	}
	if err != nil {
		return nil, err
	}
	state.Source, state.Dest, state.Shard = p.Source, p.Dest, o.Shard.String()
	state.PassStarted, state.Watermark = time.Time{}, "" // no watermark: save keeps it empty
	tags, err := e.Checkpoints.OpenETagMap(ctx, name)
	if err != nil {
		return nil, err
	}
	resolved, err := e.Checkpoints.LoadResolutions(ctx, CheckpointName(p, Shard{}))
	if errors.Is(err, checkpoint.ErrCorrupt) {
		resolved, err = nil, nil // a pass says so; conflicts are only reported again
	}
	if err != nil {
		tags.Close()
		return nil, err
	}
	r := &pairRun{e: e, o: o, pair: p, name: name, state: state, tags: tags, resolved: resolved,
		res: Result{Pair: p, Failed: map[string]string{}}}
	if err := r.abortLeftovers(ctx); err != nil {
		tags.Close()
		return nil, err
	}
	if err := r.save(ctx); err != nil {
		tags.Close()
		return nil, err
	}
	return &Notified{run: r}, nil
}

// Owns tells whether key is this process's to copy: the rule a pass's listing uses.
func (n *Notified) Owns(key string) bool { return n.run.o.Shard.Owns(key) }

// Copy brings the source's object at key to the destination, unless the destination
// holds it already or a newer, different one (a conflict, left alone and reported). An
// object deleted since it was announced is Skipped. Failures are retried as in a pass;
// one that persists is returned, and the next pass lists the object and tries again.
func (n *Notified) Copy(ctx context.Context, key string) (Outcome, int64, error) {
	out, bytes, err := n.copy(ctx, key)
	if out == Copied || out == Failed {
		// As a pass reports them (conflicts were reported on the way): the status page
		// lists a failed key until a later copy of it succeeds.
		n.run.o.Observer.Finished(n.run.pair.Source, key, out, bytes, err)
	}
	return out, bytes, err
}

func (n *Notified) copy(ctx context.Context, key string) (Outcome, int64, error) {
	r := n.run
	src, err := r.e.Src.Stat(ctx, r.pair.Source, key)
	if errors.Is(err, store.ErrNotFound) {
		return Skipped, 0, nil
	}
	if err != nil {
		return Failed, 0, fmt.Errorf("stat %s/%s: %w", r.pair.Source, key, err)
	}
	src.Key = key
	var dstp *store.Object
	dst, err := r.e.Dst.Stat(ctx, r.pair.Dest, key)
	switch {
	case err == nil:
		dst.Key = key
		dstp = &dst.Object
	case !errors.Is(err, store.ErrNotFound):
		return Failed, 0, fmt.Errorf("stat %s/%s: %w", r.pair.Dest, key, err)
	}
	switch a := Decide(src.Object, dstp, r.same); a.Kind {
	case ActSkip:
		return Skipped, src.Size, nil
	case ActConflict:
		if a.Dst.Size == a.Src.Size {
			r.confirmOwnCopy(ctx, a.Src, a.Dst) // reads both: maybe a copy of ours
		} else {
			r.conflict(a.Src)
		}
		return Conflict, src.Size, nil
	}
	c, err := r.copyOne(ctx, src.Object)
	err = explainFolderKey(key, err)
	switch {
	case errors.Is(err, errGone):
		return Skipped, 0, nil
	case err != nil:
		return Failed, src.Size, fmt.Errorf("copy %s/%s: %w", r.pair.Source, key, err)
	}
	if c.dstETag != c.srcETag {
		if err := r.tags.Flush(ctx); err != nil {
			return Failed, c.bytes, fmt.Errorf("remember the ETag of %s/%s: %w", r.pair.Dest, key, err)
		}
	}
	return Copied, c.bytes, nil
}

// Close releases the ETag map.
func (n *Notified) Close() error { return n.run.tags.Close() }
