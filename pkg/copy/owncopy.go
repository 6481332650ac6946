package copy

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// confirmOwnCopy settles a destination object that is newer than the source's, of the
// same size, with an ETag the ETag map does not hold. Where the destination computes
// ETags its own way (SSE-KMS), that is also what a copy looks like whose run was killed
// after the destination kept it and before its ETag was recorded: calling it a
// conflict would leave every such object unresolved for good. Both bodies are read:
// the same bytes make it the migrator's copy, recorded now so later runs recognise it
// from the listings; other bytes make it a conflict. Only objects in flight at a
// crash, and real conflicts of equal size, cost these reads.
func (r *pairRun) confirmOwnCopy(ctx context.Context, src, dst store.Object) {
	same, err := r.sameBodies(ctx, src.Key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Deleted on one side since the listing: the next run sees what is there.
		r.record(src.Key, Skipped, 0, nil)
	case err != nil:
		r.record(src.Key, Failed, src.Size, err)
	case !same:
		r.conflict(src)
	default:
		if err := r.tags.Record(src.Key, src.ETag, dst.ETag); err != nil {
			r.record(src.Key, Failed, src.Size, fmt.Errorf("remember the ETag of %s/%s: %w", r.pair.Dest, src.Key, err))
			return
		}
		r.record(src.Key, Skipped, src.Size, nil)
	}
}

// sameBodies reads the object on both sides and compares their MD5s.
func (r *pairRun) sameBodies(ctx context.Context, key string) (bool, error) {
	return SameBodies(ctx, r.e.Src, r.pair.Source, r.e.Dst, r.pair.Dest, key)
}

// SameBodies reads key from both stores and tells whether the bytes are the same: the
// proof left where ETags prove nothing (an encrypting destination, a copy of unknown origin).
func SameBodies(ctx context.Context, src store.Store, srcBucket string, dst store.Store, dstBucket, key string) (bool, error) {
	a, err := bodyMD5(ctx, src, srcBucket, key)
	if err != nil {
		return false, err
	}
	b, err := bodyMD5(ctx, dst, dstBucket, key)
	if err != nil {
		return false, err
	}
	return bytes.Equal(a, b), nil
}

func bodyMD5(ctx context.Context, s store.Store, bucket, key string) ([]byte, error) {
	body, _, err := s.Get(ctx, bucket, key, 0)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	h := md5.New()
	if _, err := io.Copy(h, body); err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", bucket, key, err)
	}
	return h.Sum(nil), nil
}
