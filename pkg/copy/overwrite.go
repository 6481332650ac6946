package copy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// CopyOver copies the source's object at key over whatever the destination holds there,
// as a pass copies an object (headers, tags, checksums, the ETag kept, retries), for an
// operator who chose the source's side of a conflict. It returns both objects as they
// stand after the copy, for the record of that choice.
//
// It runs outside a pass, so it keeps no journal of a multipart upload: one a crash
// leaves open is not visible as an object and is ended by the bucket's
// AbortIncompleteMultipartUpload rule, or aborted here when the copy fails.
func (e *Engine) CopyOver(ctx context.Context, p Pair, key string) (src, dst store.Object, err error) {
	o := e.defaults()
	meta, err := e.Src.Stat(ctx, p.Source, key)
	if errors.Is(err, store.ErrNotFound) {
		return src, dst, fmt.Errorf("%s/%s is not in the source (check the key and --bucket): %w", p.Source, key, err)
	}
	if err != nil {
		return src, dst, fmt.Errorf("stat %s/%s: %w", p.Source, key, err)
	}
	src = meta.Object
	src.Key = key
	oc := e.copier(p, o.Log, noJournal{})
	err = o.Retry.Do(ctx, func(ctx context.Context) error {
		_, err := oc.copy(ctx, src)
		return err
	})
	e.abortUnsure(p.Dest, key, oc.unsure)
	if errors.Is(err, errGone) {
		return src, dst, fmt.Errorf("copy %s/%s: %w", p.Source, key, err)
	}
	if err != nil {
		return src, dst, fmt.Errorf("copy %s/%s over %s/%s: %w", p.Source, key, p.Dest, key, err)
	}
	dm, err := e.Dst.Stat(ctx, p.Dest, key)
	if err != nil {
		return src, dst, fmt.Errorf("stat %s/%s after the copy: %w", p.Dest, key, err)
	}
	dst = dm.Object
	dst.Key = key
	return src, dst, nil
}

// abortUnsure aborts, as far as it can, the uploads failed attempts may have left.
func (e *Engine) abortUnsure(bucket, key string, unsure []string) {
	if len(unsure) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids := map[string]bool{}
	for _, id := range unsure {
		if id != "" {
			ids[id] = true
			continue
		}
		ups, _ := e.Dst.ListUploads(ctx, bucket, key)
		for _, u := range ups {
			if u.Key == key {
				ids[u.UploadID] = true
			}
		}
	}
	for id := range ids {
		e.Dst.AbortMultipart(ctx, bucket, key, id) // best effort: see CopyOver
	}
}

// noJournal is the upload journal of a copy outside a pass.
type noJournal struct{}

func (noJournal) uploadStarting(string) error        { return nil }
func (noJournal) uploadCreated(string, string) error { return nil }
func (noJournal) uploadEnded(string)                 {}
func (noJournal) uploadAbortDenied(string, string)   {}
