package copy

import (
	"errors"
	"fmt"
	"iter"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// StopError is a failure that every other object would meet too: a key rejected or
// revoked, a destination that refuses writes or is full, a bucket gone. Going on would
// fail each object in turn and fill the checkpoint with failed keys, so the pass stops,
// saves its checkpoint and says what to fix; the next run resumes.
type StopError struct {
	Side string // source or destination
	Err  *store.Error
}

func (e *StopError) Unwrap() error { return e.Err }

func (e *StopError) Error() string {
	const resume = "the copy stopped; run it again once fixed, it resumes where it stopped"
	what := fmt.Sprintf("%s %s", e.Err.Op, e.Err.Bucket)
	if e.Err.Key != "" {
		what += "/" + e.Err.Key
	}
	switch store.ClassOf(e.Err) {
	case store.ClassCredentials:
		return fmt.Sprintf("the %s rejected the key (%s on %s): %s; check %s.accessKey and %s.secretKey (rotated, revoked or expired?)",
			e.Side, e.Err.Code, what, resume, e.Side, e.Side)
	case store.ClassFull:
		return fmt.Sprintf("the %s is out of space (%s on %s): %s; free space or raise the bucket quota there",
			e.Side, e.Err.Code, what, resume)
	case store.ClassNoBucket:
		return fmt.Sprintf("the %s bucket %q is gone (NoSuchBucket on %s): %s; recreate it (`migrator preflight`) or fix buckets: in the config",
			e.Side, e.Err.Bucket, what, resume)
	default: // AccessDenied on a write
		return fmt.Sprintf("the %s key may not write to bucket %q (%s on %s): %s; give the key s3:PutObject and s3:PutObjectTagging on it (see `migrator preflight`)",
			e.Side, e.Err.Bucket, e.Err.Code, what, resume)
	}
}

// stopping returns a StopError when err, from side, would fail every other object too.
func stopping(side string, err error) *StopError {
	var stop *StopError
	if errors.As(err, &stop) {
		return stop
	}
	var se *store.Error
	if !errors.As(err, &se) {
		return nil
	}
	write := se.Op == "put" || se.Op == "multipart"
	switch store.ClassOf(se) {
	case store.ClassCredentials, store.ClassFull:
		return &StopError{Side: side, Err: se}
	case store.ClassNoBucket:
		if se.Code == "NoSuchBucket" { // not a bare 404, which a missing object also gives
			return &StopError{Side: side, Err: se}
		}
	case store.ClassDenied:
		if write {
			return &StopError{Side: side, Err: se}
		}
	}
	return nil
}

// sideOf tells which service an object copy's error came from: only the destination
// is written, and the copier reads only the source.
func sideOf(err error) string {
	var se *store.Error
	if errors.As(err, &se) && (se.Op == "put" || se.Op == "multipart") {
		return "destination"
	}
	return "source"
}

// stopOnFatal passes a listing through, turning an error that would fail everything
// into a StopError for side.
func stopOnFatal(side string, seq iter.Seq2[store.Object, error]) iter.Seq2[store.Object, error] {
	return func(yield func(store.Object, error) bool) {
		for o, err := range seq {
			if err != nil {
				if s := stopping(side, err); s != nil {
					err = s
				}
			}
			if !yield(o, err) {
				return
			}
		}
	}
}
