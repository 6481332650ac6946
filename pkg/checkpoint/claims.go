package checkpoint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Records created once: how shards that share a pass's key ranges agree, through the
// checkpoint store alone, on the ranges (the first shard to save a split wins) and on
// who lists each one (the first claim wins), so two shards never copy the same range.

// Claims is what a Store offers shards that share ranges.
type Claims interface {
	// Create saves data under name unless something is saved there already, atomically
	// (of two callers at once, one wins), and returns what is saved there afterwards:
	// data itself if this call created it.
	Create(ctx context.Context, name string, data []byte) ([]byte, error)
	// Read returns what is saved under name; nil when nothing is.
	Read(ctx context.Context, name string) ([]byte, error)
	// CreateWorks checks that the store really creates only once; where it does not,
	// shards fall back to hashing keys (each lists every bucket).
	CreateWorks(ctx context.Context) error
}

// ErrNoCreateOnce says the store overwrites a record that Create should have kept.
var ErrNoCreateOnce = errors.New("the checkpoint store cannot create a record only if it is absent")

var (
	_ Claims = Dir("")
	_ Claims = S3{}
)

func (d Dir) claimPath(name string) string {
	return filepath.Join(string(d), "claims", safeName(name))
}

// Create writes a temporary file and links it to the name: link fails if the name
// exists, on every POSIX file system, so the first writer wins and readers never see a
// part-written record.
func (d Dir) Create(_ context.Context, name string, data []byte) ([]byte, error) {
	path := d.claimPath(name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state folder %s: %w", filepath.Dir(path), err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-claim-*")
	if err != nil {
		return nil, fmt.Errorf("state folder %s is not writable: %w", filepath.Dir(path), err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err == nil {
		return data, nil
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return d.Read(context.Background(), name)
}

func (d Dir) Read(_ context.Context, name string) ([]byte, error) {
	data, err := os.ReadFile(d.claimPath(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", d.claimPath(name), err)
	}
	return data, nil
}

// CreateWorks: link is atomic on every file system a volume here can be.
func (d Dir) CreateWorks(context.Context) error { return nil }

// createOnce is what S3 needs of its Objects to create records once: a PUT with
// If-None-Match: *, refused with store.ClassExists when the key is taken.
type createOnce interface {
	PutIfAbsent(ctx context.Context, bucket, key string, data []byte) error
}

func (s S3) claimKey(name string) string { return s.Prefix + "claims/" + safeName(name) }

func (s S3) Create(ctx context.Context, name string, data []byte) ([]byte, error) {
	c, ok := s.Objects.(createOnce)
	if !ok {
		return nil, ErrNoCreateOnce
	}
	key := s.claimKey(name)
	err := c.PutIfAbsent(ctx, s.Bucket, key, data)
	if err == nil {
		return data, nil
	}
	if store.ClassOf(err) != store.ClassExists {
		return nil, fmt.Errorf("create s3://%s/%s: %w", s.Bucket, key, err)
	}
	return s.Read(ctx, name)
}

func (s S3) Read(ctx context.Context, name string) ([]byte, error) {
	key := s.claimKey(name)
	data, err := s.read(ctx, key)
	if errors.Is(err, store.ErrNotFound) || store.ClassOf(err) == store.ClassNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", s.Bucket, key, err)
	}
	return data, nil
}

// CreateWorks creates a probe record twice with different contents: a store that
// ignores If-None-Match keeps the second.
func (s S3) CreateWorks(ctx context.Context) error {
	c, ok := s.Objects.(createOnce)
	if !ok {
		return ErrNoCreateOnce
	}
	key := s.claimKey(".probe")
	defer s.Objects.Remove(context.WithoutCancel(ctx), s.Bucket, key)
	if err := s.Objects.Remove(ctx, s.Bucket, key); err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	if err := c.PutIfAbsent(ctx, s.Bucket, key, []byte("first")); err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	err := c.PutIfAbsent(ctx, s.Bucket, key, []byte("second"))
	if store.ClassOf(err) == store.ClassExists {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	body, _, err := s.Objects.Get(ctx, s.Bucket, key, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	defer body.Close()
	got, _ := io.ReadAll(body)
	if !bytes.Equal(got, []byte("first")) {
		return fmt.Errorf("%s: %w (it ignores If-None-Match: *)", s, ErrNoCreateOnce)
	}
	return nil
}
