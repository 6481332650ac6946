package checkpoint

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// ETagMap remembers, for objects the migrator wrote whose destination ETag differs from
// the source's (SSE-KMS, services that do not use MD5 ETags), which destination ETag
// stands for which source ETag. The next run then recognises its own copies from the
// listings alone. Only such objects are kept, so it stays empty on MinIO-to-S3 copies.
type ETagMap struct {
	mu   sync.Mutex
	path string
	m    map[string][2]string // key -> {source ETag, destination ETag}
	f    *os.File
}

type etagEntry struct {
	Key  string `json:"k"`
	Src  string `json:"s"`
	Dest string `json:"d"`
}

// OpenETagMap loads the map kept beside the checkpoint named name. Lines are appended
// as objects are copied; a torn last line (a crash while appending) is ignored.
func (d Dir) OpenETagMap(name string) (*ETagMap, error) {
	path := filepath.Join(string(d), safeName(name)+".etags")
	m := &ETagMap{path: path, m: map[string][2]string{}}
	f, err := os.Open(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for sc.Scan() {
			var e etagEntry
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				m.m[e.Key] = [2]string{e.Src, e.Dest}
			}
		}
		f.Close()
	}
	return m, nil
}

// Same tells whether dest is the ETag the migrator got when it copied src to key.
func (m *ETagMap) Same(key, src, dest string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[key]
	return ok && v[0] == src && v[1] == dest
}

// Len is how many objects are mapped.
func (m *ETagMap) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// Record appends one mapping and syncs it before returning.
func (m *ETagMap) Record(key, src, dest string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.m[key]; ok && v == [2]string{src, dest} {
		return nil
	}
	if m.f == nil {
		if err := os.MkdirAll(filepath.Dir(m.path), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(m.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("open %s: %w", m.path, err)
		}
		m.f = f
	}
	line, _ := json.Marshal(etagEntry{key, src, dest})
	// A leading newline ends any line a crash left torn, so this one is read whole.
	if _, err := m.f.Write(append(append([]byte{'\n'}, line...), '\n')); err != nil {
		return fmt.Errorf("append %s: %w", m.path, err)
	}
	if err := m.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", m.path, err)
	}
	m.m[key] = [2]string{src, dest}
	return nil
}

// Close releases the file.
func (m *ETagMap) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.f == nil {
		return nil
	}
	err := m.f.Close()
	m.f = nil
	return err
}
