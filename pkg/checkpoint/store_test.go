package checkpoint_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
)

// stores are the two places checkpoints live: a folder (a volume) and a bucket on a
// real MinIO. Each case returns a fresh, empty store, and how to damage a saved State.
func stores(t *testing.T) map[string]func(t *testing.T) (checkpoint.Store, func(name string, data []byte)) {
	m, c := startS3(t, "migrator-state")
	n := 0
	return map[string]func(t *testing.T) (checkpoint.Store, func(string, []byte)){
		"dir": func(t *testing.T) (checkpoint.Store, func(string, []byte)) {
			d := t.TempDir()
			return checkpoint.Dir(d), func(name string, data []byte) {
				if err := os.WriteFile(filepath.Join(d, name+".json"), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		},
		"s3": func(t *testing.T) (checkpoint.Store, func(string, []byte)) {
			n++
			prefix := fmt.Sprintf("test-%d/", n)
			return checkpoint.S3{Objects: c, Bucket: "migrator-state", Prefix: prefix}, func(name string, data []byte) {
				_, err := m.Client().PutObject(t.Context(), "migrator-state", prefix+name+".json", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
				if err != nil {
					t.Fatal(err)
				}
			}
		},
	}
}

// startS3 starts a MinIO with the buckets, and the migrator's client for it.
func startS3(t *testing.T, buckets ...string) (*testenv.MinIO, *s3.Client) {
	m := testenv.StartMinIO(t)
	m.MakeBuckets(buckets...)
	c, err := s3.New(s3.Options{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

func TestStoreKeepsStatesAndETagMaps(t *testing.T) {
	for kind, open := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := t.Context()
			st, damage := open(t)
			if err := st.Writable(ctx); err != nil {
				t.Fatalf("Writable: %v", err)
			}
			got, err := st.Load(ctx, "mobs--recordings")
			if err != nil || got.Watermark != "" || got.Copied != 0 || got.Version != checkpoint.Version {
				t.Fatalf("nothing saved yet: Load = %+v, %v; want an empty State", got, err)
			}
			want := &checkpoint.State{Version: checkpoint.Version, Source: "mobs", Dest: "recordings", Watermark: "1234/dom.mobs",
				PassStarted: time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC), Failed: map[string]string{"9/devtools.mob": "get: SlowDown"},
				Uploads: map[string]string{"big.mob": "upload-1"}, Copied: 42, CopiedBytes: 42 << 20}
			if err := st.Save(ctx, "mobs--recordings", want); err != nil {
				t.Fatal(err)
			}
			// Another pair's State is another object: saving it leaves the first alone.
			if err := st.Save(ctx, "sourcemaps--maps", &checkpoint.State{Watermark: "z"}); err != nil {
				t.Fatal(err)
			}
			got, err = st.Load(ctx, "mobs--recordings")
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("Load after Save = %+v, %v; want %+v", got, err, want)
			}

			m, err := st.OpenETagMap(ctx, "mobs--recordings")
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				if err := m.Record(fmt.Sprintf("%d/dom.mobs", i), "src", fmt.Sprintf("kms-%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			m.Close()
			m, err = st.OpenETagMap(ctx, "mobs--recordings")
			if err != nil {
				t.Fatal(err)
			}
			if m.Len() != 5 || !m.Same("3/dom.mobs", "src", "kms-3") || m.Same("3/dom.mobs", "src", "kms-4") {
				t.Fatalf("reopened ETag map has %d entries and does not hold what was recorded", m.Len())
			}
			if other, err := st.OpenETagMap(ctx, "sourcemaps--maps"); err != nil || other.Len() != 0 {
				t.Fatalf("another pair's ETag map: %v, %v entries; want an empty one", err, other.Len())
			}

			damage("mobs--recordings", []byte(`{"version":1,"watermark":"12`))
			_, err = st.Load(ctx, "mobs--recordings")
			if !errors.Is(err, checkpoint.ErrCorrupt) || !strings.Contains(err.Error(), "mobs--recordings.json") {
				t.Fatalf("Load of a torn State: %v; want ErrCorrupt naming the checkpoint", err)
			}
		})
	}
}

// A long sync writes an ETag-map segment per checkpoint: opening the map merges them, so
// a restart reads a few objects, not thousands, and loses no entry.
func TestS3ETagMapCompacts(t *testing.T) {
	m, c := startS3(t, "state")
	ctx := t.Context()
	st := checkpoint.S3{Objects: c, Bucket: "state", Prefix: "or/"}
	segments := func() int {
		n := 0
		for o := range m.Client().ListObjects(ctx, "state", minio.ListObjectsOptions{Prefix: "or/p.etags/", Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			n++
		}
		return n
	}
	const runs = 40
	for i := range runs {
		em, err := st.OpenETagMap(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		if err := em.Record(fmt.Sprintf("key-%02d", i), "s", "d"); err != nil {
			t.Fatal(err)
		}
		if err := em.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		// Nothing new: no empty segment.
		if err := em.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := segments(); n > 33 {
		t.Fatalf("%d segments after %d runs; opening the map should have merged them", n, runs)
	}
	em, err := st.OpenETagMap(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	for i := range runs {
		if !em.Same(fmt.Sprintf("key-%02d", i), "s", "d") {
			t.Fatalf("key-%02d lost in compaction (map has %d entries)", i, em.Len())
		}
	}
}

func TestS3StoreErrorsNameTheLocation(t *testing.T) {
	_, c := startS3(t)
	st := checkpoint.S3{Objects: c, Bucket: "no-such-state", Prefix: "or/"}
	err := st.Writable(t.Context())
	if err == nil || !strings.Contains(err.Error(), "s3://no-such-state/or/") || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Fatalf("Writable on a missing bucket: %v; want an error naming s3://no-such-state/or/ and NoSuchBucket", err)
	}
	if err := st.Save(t.Context(), "p", &checkpoint.State{}); err == nil || !strings.Contains(err.Error(), "s3://no-such-state/or/p.json") {
		t.Fatalf("Save into a missing bucket: %v; want an error naming the object", err)
	}
}

// Writable leaves nothing behind in the state bucket.
func TestS3WritableCleansUp(t *testing.T) {
	m, c := startS3(t, "state")
	if err := (checkpoint.S3{Objects: c, Bucket: "state"}).Writable(context.Background()); err != nil {
		t.Fatal(err)
	}
	for o := range m.Client().ListObjects(t.Context(), "state", minio.ListObjectsOptions{Recursive: true}) {
		t.Fatalf("Writable left %q (err %v) in the bucket", o.Key, o.Err)
	}
}
