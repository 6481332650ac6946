package checkpoint

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"sync"
)

// ETagMap remembers, for objects the migrator wrote whose destination ETag differs from
// the source's (SSE-KMS, services that do not use MD5 ETags), which destination ETag
// stands for which source ETag. The next run then recognises its own copies from the
// listings alone. Only such objects are kept, so it stays empty on MinIO-to-S3 copies.
type ETagMap struct {
	mu   sync.Mutex
	m    map[string][2]string // key -> {source ETag, destination ETag}
	sink etagSink
}

// etagSink keeps the map's entries where its Store keeps States.
type etagSink interface {
	// add keeps one entry; it is durable when add returns, or at the next flush.
	add(e etagEntry) error
	// flush makes every entry added so far durable.
	flush(ctx context.Context) error
	close() error
}

type etagEntry struct {
	Key  string `json:"k"`
	Src  string `json:"s"`
	Dest string `json:"d"`
}

func newETagMap(sink etagSink) *ETagMap {
	return &ETagMap{m: map[string][2]string{}, sink: sink}
}

// read adds the entries of r, one JSON object a line. A torn line (a crash while
// appending) is skipped; later lines win over earlier ones.
func (m *ETagMap) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var e etagEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			m.m[e.Key] = [2]string{e.Src, e.Dest}
		}
	}
	return sc.Err()
}

// lines renders the whole map, for a compacted copy.
func (m *ETagMap) lines() []byte {
	var out []byte
	for k, v := range m.m {
		out = append(out, encodeEntry(etagEntry{k, v[0], v[1]})...)
	}
	return out
}

// encodeEntry is one line of the map.
func encodeEntry(e etagEntry) []byte {
	line, _ := json.Marshal(e)
	return append(line, '\n')
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

// Record keeps one mapping. It is durable after the next Flush: the engine flushes
// before every checkpoint, so each key below a saved watermark has its mapping saved.
func (m *ETagMap) Record(key, src, dest string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.m[key]; ok && v == [2]string{src, dest} {
		return nil
	}
	if err := m.sink.add(etagEntry{key, src, dest}); err != nil {
		return err
	}
	m.m[key] = [2]string{src, dest}
	return nil
}

// Flush makes every recorded mapping durable.
func (m *ETagMap) Flush(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sink.flush(ctx)
}

// Close releases what the map holds open; it does not flush.
func (m *ETagMap) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sink.close()
}
