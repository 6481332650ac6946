package checkpoint

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzDecode(f *testing.F) {
	full, _ := Encode(&State{Source: "mobs", Dest: "openreplay-recordings", Shard: "0-of-2", Watermark: "123/dom.mobs",
		PassStarted: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Failed: map[string]string{"k": "get: SlowDown"},
		Uploads: map[string]string{"big": "upload-id", "new": ""}, Copied: 7, CopiedBytes: 8 << 20})
	for _, s := range [][]byte{full, full[:len(full)/2], []byte(`{"version":1}`), []byte(`{"version":2}`), []byte("null"),
		[]byte(`{"version":1,"passStarted":"2026-01-02T03:04:05+01:00","uploads":{"a":null}}`), []byte("\x00garbage{")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("a decode error that is not ErrCorrupt: %v", err)
			}
			return
		}
		// What decodes encodes, and decodes again to the same thing.
		a, err := Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := Decode(a)
		if err != nil {
			t.Fatalf("re-decode: %v\n%s", err, a)
		}
		if b, _ := Encode(s2); !bytes.Equal(a, b) {
			t.Fatalf("round trip differs:\n%s\n%s", a, b)
		}
	})
}

// FuzzETagMap: whatever the file beside the checkpoint holds (a torn line, garbage),
// it opens, and a mapping recorded after it is read back by the next run.
func FuzzETagMap(f *testing.F) {
	f.Add([]byte(""), "a/b.mob", "0123", "abcd")
	f.Add([]byte(`{"k":"x","s":"1","d":"2"}`+"\n"+`{"k":"x","s":"1"`), "x", "3", "4")
	f.Add([]byte("\x00\xff\n{not json\n{\"k\":1}\n"), "odd/with space", "e", "f")
	f.Fuzz(func(t *testing.T, garbage []byte, key, src, dst string) {
		if !utf8.ValidString(key) || !utf8.ValidString(src) || !utf8.ValidString(dst) {
			t.Skip("S3 keys and ETags are UTF-8")
		}
		dir := Dir(memDir(t))
		if err := os.WriteFile(filepath.Join(string(dir), "p.etags"), garbage, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := dir.OpenETagMap(t.Context(), "p")
		if err != nil {
			t.Fatalf("open over garbage: %v", err)
		}
		if err := m.Record(key, src, dst); err != nil {
			t.Fatal(err)
		}
		m.Close()
		m, err = dir.OpenETagMap(t.Context(), "p")
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if !m.Same(key, src, dst) {
			t.Fatalf("the mapping recorded after %q is lost", garbage)
		}
	})
}

// memDir is a fresh folder on tmpfs where there is one: every Record syncs, and a fuzzer
// on a disk would spend its time waiting for it.
func memDir(t *testing.T) string {
	if d, err := os.MkdirTemp("/dev/shm", "etagmap-fuzz-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return t.TempDir()
}
