package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Dir stores each State as a JSON file in a folder.
type Dir string

var _ Store = Dir("")

func (d Dir) path(name string) string { return filepath.Join(string(d), safeName(name)+".json") }

func (d Dir) Load(_ context.Context, name string) (*State, error) {
	data, err := os.ReadFile(d.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return &State{Version: Version}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	s, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.path(name), err)
	}
	return s, nil
}

// Save writes a temporary file, syncs it, and renames it over the old one, so a reader
// (or a restart after SIGKILL) sees either the old State or the new one, whole.
func (d Dir) Save(_ context.Context, name string, s *State) error {
	data, err := Encode(s)
	if err != nil {
		return err
	}
	return WriteFileAtomic(d.path(name), data)
}

// WriteFileAtomic replaces path with data so that a crash leaves the old or new content.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state folder %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("state folder %s is not writable: %w", dir, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename itself durable
		d.Close()
	}
	return nil
}

// safeName keeps a file name to characters every file system accepts.
func safeName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
}

// Writable checks that States can be saved in the folder.
func (d Dir) Writable() error {
	return WriteFileAtomic(filepath.Join(string(d), ".probe"), []byte("ok"))
}
