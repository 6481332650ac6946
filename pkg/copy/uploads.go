package copy

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
	"go.uber.org/zap"
)

// The multipart journal: uploads recorded before they exist, swept after failed attempts,
// and aborted by the next run when a crash left them open.

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
