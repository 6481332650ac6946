package checkpoint

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Objects is what S3 needs of an S3 service. The migrator passes its destination client,
// with retries.
type Objects interface {
	List(ctx context.Context, bucket, startAfter string) iter.Seq2[store.Object, error]
	Get(ctx context.Context, bucket, key string, part int) (io.ReadCloser, store.ObjectMeta, error)
	Put(ctx context.Context, bucket, key string, body io.Reader, size int64, md5 []byte, h store.Header) (string, error)
	// Remove deletes an object; a missing one is not an error.
	Remove(ctx context.Context, bucket, key string) error
}

// S3 stores each State as an object <Prefix><name>.json in Bucket. A PUT replaces an
// object whole, so Save is atomic as Dir's rename is. The ETag map, which a file would
// grow by appending, is kept as numbered segments <Prefix><name>.etags/<n>.jsonl: each
// Flush writes the entries recorded since the last one.
type S3 struct {
	Objects Objects
	Bucket  string
	Prefix  string // "" or ending in "/"
}

var _ Store = S3{}

// compactAt is how many segments an ETag map may have before opening it merges them
// into one, so that a long-lived sync does not read thousands of small objects at start.
const compactAt = 32

func (s S3) String() string { return "state location s3://" + s.Bucket + "/" + s.Prefix }

func (s S3) key(name string) string { return s.Prefix + safeName(name) + ".json" }

func (s S3) Load(ctx context.Context, name string) (*State, error) {
	data, err := s.read(ctx, s.key(name))
	if errors.Is(err, store.ErrNotFound) {
		return &State{Version: Version}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint s3://%s/%s: %w", s.Bucket, s.key(name), err)
	}
	st, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", s.Bucket, s.key(name), err)
	}
	return st, nil
}

func (s S3) Save(ctx context.Context, name string, st *State) error {
	data, err := Encode(st)
	if err != nil {
		return err
	}
	return s.write(ctx, s.key(name), data)
}

func (s S3) LoadResolutions(ctx context.Context, name string) (*Resolutions, error) {
	key := s.Prefix + resolutionsName(name)
	data, err := s.read(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return &Resolutions{Version: Version}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read resolved conflicts s3://%s/%s: %w", s.Bucket, key, err)
	}
	r, err := decodeResolutions(data)
	if err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", s.Bucket, key, err)
	}
	return r, nil
}

func (s S3) SaveResolutions(ctx context.Context, name string, r *Resolutions) error {
	data, err := encodeResolutions(r)
	if err != nil {
		return err
	}
	return s.write(ctx, s.Prefix+resolutionsName(name), data)
}

func (s S3) read(ctx context.Context, key string) ([]byte, error) {
	body, _, err := s.Objects.Get(ctx, s.Bucket, key, 0)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(body)
}

// write PUTs data with its MD5, so the service refuses a State damaged on the way.
func (s S3) write(ctx context.Context, key string, data []byte) error {
	sum := md5.Sum(data)
	_, err := s.Objects.Put(ctx, s.Bucket, key, bytes.NewReader(data), int64(len(data)), sum[:],
		store.Header{ContentType: "application/json"})
	if err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", s.Bucket, key, err)
	}
	return nil
}

// Writable writes and removes a probe object.
func (s S3) Writable(ctx context.Context) error {
	key := s.Prefix + ".probe"
	if err := s.write(ctx, key, []byte("ok")); err != nil {
		return fmt.Errorf("%s is not writable with the destination's keys: %w", s, err)
	}
	if err := s.Objects.Remove(ctx, s.Bucket, key); err != nil {
		return fmt.Errorf("%s: the destination's keys may not delete objects there: %w", s, err)
	}
	return nil
}

func (s S3) segmentDir(name string) string { return s.Prefix + safeName(name) + ".etags/" }

// OpenETagMap reads every segment of the map, in order. With more than compactAt of
// them it writes their union as the next segment and removes the others; a crash in
// between leaves entries twice, which reads the same.
func (s S3) OpenETagMap(ctx context.Context, name string) (*ETagMap, error) {
	dir := s.segmentDir(name)
	sink := &s3Sink{s: s, dir: dir}
	m := newETagMap(sink)
	var segments []string
	for o, err := range s.Objects.List(ctx, s.Bucket, dir) {
		if err != nil {
			return nil, fmt.Errorf("list the ETag map s3://%s/%s: %w", s.Bucket, dir, err)
		}
		if !strings.HasPrefix(o.Key, dir) {
			break // the listing is sorted: past the map's segments
		}
		n, ok := segmentNumber(dir, o.Key)
		if !ok {
			continue
		}
		data, err := s.read(ctx, o.Key)
		if err != nil {
			return nil, fmt.Errorf("read the ETag map s3://%s/%s: %w", s.Bucket, o.Key, err)
		}
		if err := m.read(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("read the ETag map s3://%s/%s: %w", s.Bucket, o.Key, err)
		}
		segments = append(segments, o.Key)
		sink.next = n + 1
	}
	if len(segments) > compactAt {
		if err := sink.writeSegment(ctx, m.lines()); err != nil {
			return nil, err
		}
		for _, k := range segments {
			if err := s.Objects.Remove(ctx, s.Bucket, k); err != nil {
				return nil, fmt.Errorf("compact the ETag map: remove s3://%s/%s: %w", s.Bucket, k, err)
			}
		}
	}
	return m, nil
}

// segmentNumber parses <dir><n>.jsonl. Numbers are zero-padded, so the listing's byte
// order is their order.
func segmentNumber(dir, key string) (int64, bool) {
	rest, ok := strings.CutSuffix(strings.TrimPrefix(key, dir), ".jsonl")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil && n >= 0
}

// s3Sink buffers entries until flush writes them as one new segment.
type s3Sink struct {
	s       S3
	dir     string
	next    int64
	pending []byte
}

func (k *s3Sink) add(e etagEntry) error {
	k.pending = append(k.pending, encodeEntry(e)...)
	return nil
}

func (k *s3Sink) flush(ctx context.Context) error {
	if len(k.pending) == 0 {
		return nil
	}
	if err := k.writeSegment(ctx, k.pending); err != nil {
		return err
	}
	k.pending = nil
	return nil
}

func (k *s3Sink) writeSegment(ctx context.Context, data []byte) error {
	key := fmt.Sprintf("%s%016d.jsonl", k.dir, k.next)
	if err := k.s.write(ctx, key, data); err != nil {
		return fmt.Errorf("save the ETag map: %w", err)
	}
	k.next++
	return nil
}

func (k *s3Sink) close() error { return nil }
