package limit

import (
	"context"
	"io"
	"iter"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Observer takes each request's outcome; *Adaptive is one.
type Observer interface {
	Observe(side, op string, d time.Duration, err error)
}

// Store applies a Throttle to one side's requests and bodies, and tells an Observer how
// long each bodiless request took. It sits below the retry wrapper, so every attempt
// pays for its request and is seen.
type Store struct {
	store.Store
	Side     string
	Throttle *Throttle // nil: no caps
	Observer Observer  // nil: nobody watches
}

var _ store.Store = Store{}

// Wrap returns s with t and o applied; s itself when both are nil.
func Wrap(s store.Store, side string, t *Throttle, o Observer) store.Store {
	if t == nil && o == nil {
		return s
	}
	return Store{Store: s, Side: side, Throttle: t, Observer: o}
}

// Unwrap returns the store below.
func (s Store) Unwrap() store.Store { return s.Store }

func (s Store) request(ctx context.Context) error {
	if s.Throttle == nil {
		return nil
	}
	return s.Throttle.Request(ctx)
}

func (s Store) observe(op string, start time.Time, err error) {
	if s.Observer != nil {
		s.Observer.Observe(s.Side, op, time.Since(start), err)
	}
}

func (s Store) body(ctx context.Context, r io.Reader) io.Reader {
	if s.Throttle == nil {
		return r
	}
	return s.Throttle.Reader(ctx, r)
}

// List pays one request per thousand keys: a listing page.
func (s Store) List(ctx context.Context, bucket, startAfter string) iter.Seq2[store.Object, error] {
	return func(yield func(store.Object, error) bool) {
		n := 0
		for o, err := range s.Store.List(ctx, bucket, startAfter) {
			if n%1000 == 0 && err == nil {
				if werr := s.request(ctx); werr != nil {
					yield(store.Object{}, werr)
					return
				}
			}
			n++
			if !yield(o, err) {
				return
			}
		}
	}
}

func (s Store) Get(ctx context.Context, bucket, key string, part int) (io.ReadCloser, store.ObjectMeta, error) {
	if err := s.request(ctx); err != nil {
		return nil, store.ObjectMeta{}, err
	}
	start := time.Now()
	body, m, err := s.Store.Get(ctx, bucket, key, part)
	s.observe("get", start, err) // the answer's headers: a round trip, whatever the size
	if err != nil || s.Throttle == nil {
		return body, m, err
	}
	return pacedCloser{Reader: s.Throttle.Reader(ctx, body), Closer: body}, m, nil
}

func (s Store) Stat(ctx context.Context, bucket, key string) (store.ObjectMeta, error) {
	if err := s.request(ctx); err != nil {
		return store.ObjectMeta{}, err
	}
	start := time.Now()
	m, err := s.Store.Stat(ctx, bucket, key)
	s.observe("head", start, err)
	return m, err
}

func (s Store) Tags(ctx context.Context, bucket, key string) (map[string]string, error) {
	if err := s.request(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	t, err := s.Store.Tags(ctx, bucket, key)
	s.observe("tag", start, err)
	return t, err
}

// smallBody is the size under which a PUT's time is mostly its round trip.
const smallBody = 64 << 10

func (s Store) Put(ctx context.Context, bucket, key string, body io.Reader, size int64, md5 []byte, h store.Header) (string, error) {
	if err := s.request(ctx); err != nil {
		return "", err
	}
	start := time.Now()
	etag, err := s.Store.Put(ctx, bucket, key, s.body(ctx, body), size, md5, h)
	if size <= smallBody || err != nil {
		s.observe("put", start, err)
	}
	return etag, err
}

func (s Store) CreateMultipart(ctx context.Context, bucket, key string, h store.Header, sum store.Checksum) (string, error) {
	if err := s.request(ctx); err != nil {
		return "", err
	}
	start := time.Now()
	id, err := s.Store.CreateMultipart(ctx, bucket, key, h, sum)
	s.observe("multipart", start, err)
	return id, err
}

func (s Store) UploadPart(ctx context.Context, bucket, key, uploadID string, number int, body io.Reader, size int64, md5 []byte, sum store.Checksum) (store.Part, error) {
	if err := s.request(ctx); err != nil {
		return store.Part{}, err
	}
	start := time.Now()
	part, err := s.Store.UploadPart(ctx, bucket, key, uploadID, number, s.body(ctx, body), size, md5, sum)
	if err != nil {
		s.observe("part", start, err) // failures count; a part's time is mostly its bytes
	}
	return part, err
}

func (s Store) CompleteMultipart(ctx context.Context, bucket, key, uploadID string, parts []store.Part) (string, error) {
	if err := s.request(ctx); err != nil {
		return "", err
	}
	return s.Store.CompleteMultipart(ctx, bucket, key, uploadID, parts)
}
