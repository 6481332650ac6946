package retry

import (
	"context"
	"io"
	"iter"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Store retries the calls of a store.Store that can be repeated as they are. Put and
// UploadPart read a body once, and CreateMultipart makes a new upload each time (one
// whose answer was lost would be left behind unseen), so they pass through: the copier
// retries the whole object and cleans up after it.
type Store struct {
	store.Store
	Policy Policy
}

var _ store.Store = Store{}

// Wrap returns s with p applied.
func Wrap(s store.Store, p Policy) Store { return Store{Store: s, Policy: p} }

func (r Store) List(ctx context.Context, bucket, startAfter string) iter.Seq2[store.Object, error] {
	return func(yield func(store.Object, error) bool) {
		after := startAfter
		for failures := 0; ; {
			var failed error
			for o, err := range r.Store.List(ctx, bucket, after) {
				if err != nil {
					failed = err
					break
				}
				failures = 0
				after = o.Key // a retried listing resumes after the last key it gave
				if !yield(o, nil) {
					return
				}
			}
			if failed == nil {
				return
			}
			failures++
			if !Retryable(failed) || failures >= max(r.Policy.Attempts, 1) || r.Policy.wait(ctx, failures-1, failed) != nil {
				yield(store.Object{}, failed)
				return
			}
		}
	}
}

func (r Store) Probe(ctx context.Context, bucket string) error {
	return r.Policy.Do(ctx, func(ctx context.Context) error { return r.Store.Probe(ctx, bucket) })
}

func (r Store) Get(ctx context.Context, bucket, key string, part int) (body io.ReadCloser, m store.ObjectMeta, err error) {
	err = r.Policy.Do(ctx, func(ctx context.Context) error {
		body, m, err = r.Store.Get(ctx, bucket, key, part)
		return err
	})
	return body, m, err
}

func (r Store) Stat(ctx context.Context, bucket, key string) (m store.ObjectMeta, err error) {
	err = r.Policy.Do(ctx, func(ctx context.Context) error {
		m, err = r.Store.Stat(ctx, bucket, key)
		return err
	})
	return m, err
}

func (r Store) Tags(ctx context.Context, bucket, key string) (t map[string]string, err error) {
	err = r.Policy.Do(ctx, func(ctx context.Context) error {
		t, err = r.Store.Tags(ctx, bucket, key)
		return err
	})
	return t, err
}

func (r Store) CompleteMultipart(ctx context.Context, bucket, key, uploadID string, parts []store.Part) (etag string, err error) {
	err = r.Policy.Do(ctx, func(ctx context.Context) error {
		etag, err = r.Store.CompleteMultipart(ctx, bucket, key, uploadID, parts)
		return err
	})
	return etag, err
}

func (r Store) AbortMultipart(ctx context.Context, bucket, key, uploadID string) error {
	return r.Policy.Do(ctx, func(ctx context.Context) error {
		return r.Store.AbortMultipart(ctx, bucket, key, uploadID)
	})
}

func (r Store) ListUploads(ctx context.Context, bucket, prefix string) (u []store.Upload, err error) {
	err = r.Policy.Do(ctx, func(ctx context.Context) error {
		u, err = r.Store.ListUploads(ctx, bucket, prefix)
		return err
	})
	return u, err
}

func (r Store) BucketExists(ctx context.Context, bucket string) (ok bool, err error) {
	err = r.Policy.Do(ctx, func(ctx context.Context) error {
		ok, err = r.Store.BucketExists(ctx, bucket)
		return err
	})
	return ok, err
}
