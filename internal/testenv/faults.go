package testenv

import (
	"context"
	"errors"
	"io"
	"iter"
	"sync"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Faulty wraps a real store and makes chosen calls fail, for tests of what the copier
// does then. Every call that is not made to fail reaches the real server.
type Faulty struct {
	store.Store
	mu sync.Mutex
	// Fail, when it returns an error for (op, key, n) — n counts calls of op on key,
	// from 1 — makes that call fail with it instead of reaching the server; an error
	// that wraps ErrAnswerLost lets the call reach the server and loses its answer.
	// The ops: get, put, create, part, complete, abort.
	Fail func(op, key string, n int) error
	// ETag, if set, rewrites the ETags the store reports, as a service that does not
	// compute MD5 ETags (SSE-KMS) would.
	ETag  func(string) string
	calls map[[2]string]int
}

func (f *Faulty) fail(op, key string) error {
	if f.Fail == nil {
		return nil
	}
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[[2]string]int{}
	}
	f.calls[[2]string{op, key}]++
	n := f.calls[[2]string{op, key}]
	f.mu.Unlock()
	return f.Fail(op, key, n)
}

// ErrAnswerLost, wrapped in an error from Fail, makes the call reach the server and its
// answer go missing, as when a connection breaks after the request was sent.
var ErrAnswerLost = errors.New("connection reset after the request was sent")

func (f *Faulty) etag(e string) string {
	if f.ETag == nil {
		return e
	}
	return f.ETag(e)
}

func (f *Faulty) List(ctx context.Context, bucket, after string) iter.Seq2[store.Object, error] {
	return func(yield func(store.Object, error) bool) {
		for o, err := range f.Store.List(ctx, bucket, after) {
			o.ETag = f.etag(o.ETag)
			if !yield(o, err) {
				return
			}
		}
	}
}

func (f *Faulty) Get(ctx context.Context, bucket, key string, part int) (io.ReadCloser, store.ObjectMeta, error) {
	if err := f.fail("get", key); err != nil {
		return nil, store.ObjectMeta{}, err
	}
	b, m, err := f.Store.Get(ctx, bucket, key, part)
	m.ETag = f.etag(m.ETag)
	return b, m, err
}

func (f *Faulty) Stat(ctx context.Context, bucket, key string) (store.ObjectMeta, error) {
	m, err := f.Store.Stat(ctx, bucket, key)
	m.ETag = f.etag(m.ETag)
	return m, err
}

func (f *Faulty) Put(ctx context.Context, bucket, key string, body io.Reader, size int64, md5 []byte, h store.Header) (string, error) {
	if err := f.fail("put", key); err != nil {
		return "", err
	}
	e, err := f.Store.Put(ctx, bucket, key, body, size, md5, h)
	return f.etag(e), err
}

func (f *Faulty) UploadPart(ctx context.Context, bucket, key, id string, n int, body io.Reader, size int64, md5 []byte, sum store.Checksum) (store.Part, error) {
	if err := f.fail("part", key); err != nil {
		return store.Part{}, err
	}
	return f.Store.UploadPart(ctx, bucket, key, id, n, body, size, md5, sum)
}

func (f *Faulty) CompleteMultipart(ctx context.Context, bucket, key, id string, parts []store.Part) (string, error) {
	if err := f.fail("complete", key); err != nil {
		return "", err
	}
	e, err := f.Store.CompleteMultipart(ctx, bucket, key, id, parts)
	return f.etag(e), err
}

func (f *Faulty) CreateMultipart(ctx context.Context, bucket, key string, h store.Header, sum store.Checksum) (string, error) {
	err := f.fail("create", key)
	if err != nil && !errors.Is(err, ErrAnswerLost) {
		return "", err
	}
	id, cerr := f.Store.CreateMultipart(ctx, bucket, key, h, sum)
	if err != nil {
		return "", err
	}
	return id, cerr
}

func (f *Faulty) AbortMultipart(ctx context.Context, bucket, key, id string) error {
	if err := f.fail("abort", key); err != nil {
		return err
	}
	return f.Store.AbortMultipart(ctx, bucket, key, id)
}
