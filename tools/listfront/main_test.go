package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// The stand-in must list what MinIO lists, page for page, and pass every other request
// through with its signature intact, or the bench would measure a different bucket.
func TestListsWhatMinIOListsAndPassesTheRestThrough(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBuckets("mobs")
	ctx := context.Background()
	for i := range 2_345 {
		key := fmt.Sprintf("%019d/dom.mobs", uint64(i)*7_919_000_000_001)
		if i%5 == 0 {
			key = fmt.Sprintf("%019d/devtools.mob", uint64(i)*7_919_000_000_001)
		}
		body := bytes.Repeat([]byte{byte(i)}, i%300)
		if _, err := m.Client().PutObject(ctx, "mobs", key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	conn := m.Conn()
	upstream := strings.TrimPrefix(conn.Endpoint, "http://")
	entries, err := build(upstream, "mobs", conn.AccessKey, conn.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	index := filepath.Join(t.TempDir(), "index")
	if err := save(index, entries); err != nil {
		t.Fatal(err)
	}
	if entries, err = load(index); err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(handler(upstream, "mobs", entries))
	defer front.Close()
	fc, err := minio.New(strings.TrimPrefix(front.URL, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(conn.AccessKey, conn.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	direct, proxied := minio.Core{Client: m.Client()}, minio.Core{Client: fc}
	cases := []struct{ prefix, after string }{
		{}, {after: entries[999].key}, {after: entries[2_000].key}, {after: "0000000000"}, {after: entries[len(entries)-1].key},
		{prefix: entries[40].key[:3]},
	}
	for _, c := range cases {
		for _, maxKeys := range []int{1, 1000} {
			want, err := direct.ListObjectsV2("mobs", c.prefix, c.after, "", "", maxKeys)
			if err != nil {
				t.Fatal(err)
			}
			got, err := proxied.ListObjectsV2("mobs", c.prefix, c.after, "", "", maxKeys)
			if err != nil {
				t.Fatal(err)
			}
			if got.IsTruncated != want.IsTruncated || len(got.Contents) != len(want.Contents) {
				t.Fatalf("%+v max %d: %d keys, truncated %v; MinIO %d, %v", c, maxKeys,
					len(got.Contents), got.IsTruncated, len(want.Contents), want.IsTruncated)
			}
			for i, o := range want.Contents {
				g := got.Contents[i]
				if g.Key != o.Key || g.ETag != o.ETag || g.Size != o.Size || !g.LastModified.Equal(o.LastModified) {
					t.Fatalf("%+v max %d, key %d: %s %s %d %v; MinIO %s %s %d %v", c, maxKeys, i,
						g.Key, g.ETag, g.Size, g.LastModified, o.Key, o.ETag, o.Size, o.LastModified)
				}
			}
		}
	}
	n := 0
	for o := range fc.ListObjects(ctx, "mobs", minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	if n != len(entries) || n != 2_345 {
		t.Fatalf("a whole listing through the stand-in gave %d keys; MinIO holds %d", n, 2_345)
	}
	if _, err := fc.StatObject(ctx, "mobs", entries[7].key, minio.StatObjectOptions{}); err != nil {
		t.Fatalf("a HEAD through the stand-in: %v", err)
	}
}
