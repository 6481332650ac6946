// Package storetest is the suite of S3 behaviours the copier relies on; every store.Store
// implementation runs it against a real server, and so does the wrapped stack the
// commands build. What every store must do is asserted; where stores differ, what this
// one does is measured and returned as a store.Traits record, which the engine reads.
package storetest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Run checks s against the behaviours in this file and returns the traits it measured;
// bucket must exist and be empty.
func Run(t *testing.T, s store.Store, bucket string) store.Traits {
	ctx := context.Background()
	var tr store.Traits
	put := func(t *testing.T, key string, body []byte, h store.Header) string {
		t.Helper()
		sum := md5.Sum(body)
		etag, err := s.Put(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), sum[:], h)
		if err != nil {
			t.Fatalf("put %q: %v", key, err)
		}
		return etag
	}

	t.Run("ListingIsInByteOrderAndResumesAfterAKey", func(t *testing.T) {
		// No "a" beside "a/b": MinIO keeps objects as folders and cannot hold both.
		keys := []string{"a", "b/c", "a b", "a+b", "a%b", "a?b", "a#b", "a&b", "a<b>", "é", "Z", "z", "漢字", "dir/", "0"}
		for _, k := range keys {
			body := []byte(k)
			if strings.HasSuffix(k, "/") {
				body = nil // a "folder" key, as S3 consoles make them (FolderKeyWithABody tests a body)
			}
			put(t, "order/"+k, body, store.Header{})
		}
		var got []string
		for o, err := range s.List(ctx, bucket, "") {
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(o.Key, "order/") {
				got = append(got, strings.TrimPrefix(o.Key, "order/"))
			}
		}
		want := slices.Clone(keys)
		slices.Sort(want) // Go compares strings bytewise, as S3 orders keys
		if !slices.Equal(got, want) {
			t.Fatalf("listing order\n got %q\nwant %q", got, want)
		}
		var after []string
		for o, err := range s.List(ctx, bucket, "order/a+b") {
			if err != nil {
				t.Fatal(err)
			}
			after = append(after, strings.TrimPrefix(o.Key, "order/"))
		}
		if len(after) == 0 || after[0] <= "a+b" {
			t.Fatalf("listing after %q starts at %q", "a+b", after)
		}
	})

	t.Run("SinglePartETagIsTheMD5AndContentMD5IsEnforced", func(t *testing.T) {
		body := []byte("hello recordings")
		etag := put(t, "md5/ok", body, store.Header{})
		if etag != fmt.Sprintf("%x", md5.Sum(body)) {
			t.Fatalf("ETag %s is not the MD5 of the body", etag)
		}
		wrong := md5.Sum([]byte("other"))
		_, err := s.Put(ctx, bucket, "md5/bad", bytes.NewReader(body), int64(len(body)), wrong[:], store.Header{})
		var se *store.Error
		if !errors.As(err, &se) || se.Code != "BadDigest" {
			t.Fatalf("a wrong Content-MD5 gave %v; want BadDigest", err)
		}
		if _, err := s.Stat(ctx, bucket, "md5/bad"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the refused object is visible: %v", err)
		}
	})

	t.Run("StreamingChecksumIsAccepted", func(t *testing.T) {
		// Without an MD5 (a source with no MD5 ETags) the body goes with a CRC32C
		// trailer; every store must take it, or such objects could not be proven.
		body := []byte("no md5 to send")
		if _, err := s.Put(ctx, bucket, "crc/ok", bytes.NewReader(body), int64(len(body)), nil, store.Header{}); err != nil {
			t.Fatalf("put with a streaming checksum: %v", err)
		}
	})

	t.Run("MultipartUploadWithThePartBoundaries", func(t *testing.T) {
		const part = 5 << 20
		body := make([]byte, 2*part+1234)
		rand.NewChaCha8([32]byte{1}).Read(body)
		id, err := s.CreateMultipart(ctx, bucket, "mp/obj", store.Header{ContentType: "application/x-mob"}, store.NoChecksum)
		if err != nil {
			t.Fatal(err)
		}
		var parts []store.Part
		sums := md5.New()
		tr.PartETagsAreMD5 = true
		for i, off := 1, 0; off < len(body); i, off = i+1, off+part {
			chunk := body[off:min(off+part, len(body))]
			sum := md5.Sum(chunk)
			sums.Write(sum[:])
			p, err := s.UploadPart(ctx, bucket, "mp/obj", id, i, bytes.NewReader(chunk), int64(len(chunk)), sum[:], store.NoChecksum)
			if err != nil {
				t.Fatal(err)
			}
			tr.PartETagsAreMD5 = tr.PartETagsAreMD5 && p.ETag == fmt.Sprintf("%x", sum)
			parts = append(parts, p)
		}
		etag, err := s.CompleteMultipart(ctx, bucket, "mp/obj", id, parts)
		if err != nil {
			t.Fatal(err)
		}
		tr.MultipartETagsAreS3Style = etag == fmt.Sprintf("%x-3", sums.Sum(nil))
		rc, m, err := s.Get(ctx, bucket, "mp/obj", 2)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		tr.GetsPartsByNumber = m.PartsCount == 3 && m.PartSize == part && m.Size == int64(len(body)) && bytes.Equal(got, body[part:2*part])
		// Whatever the parts, the object must be whole.
		rc, m, err = s.Get(ctx, bucket, "mp/obj", 0)
		if err != nil {
			t.Fatal(err)
		}
		whole, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(whole, body) || m.ContentType != "application/x-mob" {
			t.Fatalf("completed upload: %d bytes (want %d), type %q", len(whole), len(body), m.ContentType)
		}
	})

	t.Run("PartChecksumsAreVerifiedAndAnswered", func(t *testing.T) {
		// Where ETags are no MD5s (SSE-KMS), a part is proven by the CRC32C the
		// service verified on receipt and answers.
		const part = 5 << 20
		body := make([]byte, part+77)
		rand.NewChaCha8([32]byte{2}).Read(body)
		id, err := s.CreateMultipart(ctx, bucket, "mp/crc", store.Header{}, store.CRC32C)
		if err != nil {
			t.Fatal(err)
		}
		var parts []store.Part
		for i, off := 1, 0; off < len(body); i, off = i+1, off+part {
			chunk := body[off:min(off+part, len(body))]
			p, err := s.UploadPart(ctx, bucket, "mp/crc", id, i, bytes.NewReader(chunk), int64(len(chunk)), nil, store.CRC32C)
			if err != nil {
				t.Fatal(err)
			}
			want := binary.BigEndian.AppendUint32(nil, crc32.Checksum(chunk, crc32.MakeTable(crc32.Castagnoli)))
			if p.Checksum != base64.StdEncoding.EncodeToString(want) {
				t.Fatalf("part %d: service answered CRC32C %q; want %s", i, p.Checksum, base64.StdEncoding.EncodeToString(want))
			}
			parts = append(parts, p)
		}
		if _, err := s.CompleteMultipart(ctx, bucket, "mp/crc", id, parts); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("AbortedUploadLeavesNothing", func(t *testing.T) {
		id, err := s.CreateMultipart(ctx, bucket, "mp/aborted", store.Header{}, store.NoChecksum)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UploadPart(ctx, bucket, "mp/aborted", id, 1, strings.NewReader("x"), 1, nil, store.NoChecksum); err != nil {
			t.Fatal(err)
		}
		// MinIO lists uploads by a prefix only when it is a whole key, which is how
		// the copier asks.
		ups, err := s.ListUploads(ctx, bucket, "mp/aborted")
		if err != nil || !slices.Contains(ups, store.Upload{Key: "mp/aborted", UploadID: id}) {
			t.Fatalf("upload in progress not listed: %v %v", ups, err)
		}
		if err := s.AbortMultipart(ctx, bucket, "mp/aborted", id); err != nil {
			t.Fatal(err)
		}
		if err := s.AbortMultipart(ctx, bucket, "mp/aborted", id); err != nil {
			t.Fatalf("aborting twice: %v", err)
		}
		if ups, _ := s.ListUploads(ctx, bucket, ""); len(ups) != 0 {
			t.Fatalf("uploads left: %v", ups)
		}
	})

	t.Run("HeadersMetadataAndTagsRoundTrip", func(t *testing.T) {
		h := store.Header{
			ContentType: "text/css", ContentEncoding: "gzip", CacheControl: "max-age=2628000, immutable, private",
			ContentDisposition: `attachment; filename="a.css"`, UserMetadata: map[string]string{"project-id": "7"},
			Tags: map[string]string{"retention": "default", "to_delete_in_days": "30"},
		}
		// Not gzip data, on purpose: the store must pass bytes through untouched.
		body := []byte("not really gzip")
		sum := md5.Sum(body)
		_, err := s.Put(ctx, bucket, "hdr/a.css", bytes.NewReader(body), int64(len(body)), sum[:], h)
		tr.KeepsTags = err == nil
		if refusedTags(err) {
			// R2's answer: the object is stored only without its tags.
			noTags := h
			noTags.Tags = nil
			put(t, "hdr/a.css", body, noTags)
		} else if err != nil {
			t.Fatalf("put with tags: %v", err)
		}
		rc, m, err := s.Get(ctx, bucket, "hdr/a.css", 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != "not really gzip" {
			t.Fatalf("body %q, %v: bytes were changed on the way", got, err)
		}
		var tags map[string]string
		if m.TagCount > 0 {
			if tags, err = s.Tags(ctx, bucket, "hdr/a.css"); err != nil {
				t.Fatal(err)
			}
		}
		// A store may bring the tags with the body; then they must be all of them.
		if m.Header.Tags != nil && fmt.Sprint(m.Header.Tags) != fmt.Sprint(tags) {
			t.Fatalf("Get brought tags %v; the object has %v", m.Header.Tags, tags)
		}
		tr.GetBringsTags = len(m.Header.Tags) == 2
		tr.KeepsTags = tr.KeepsTags && fmt.Sprint(tags) == fmt.Sprint(h.Tags) && m.TagCount == 2
		m.Header.Tags, h.Tags = nil, nil
		if fmt.Sprint(m.Header) != fmt.Sprint(h) {
			t.Fatalf("header\n got %+v\nwant %+v", m.Header, h)
		}
	})

	t.Run("FolderKeys", func(t *testing.T) {
		// S3 and MinIO keep a key ending in "/" as any object. versitygw's posix
		// backend makes it a folder: it refuses a body there (400
		// DirectoryObjectContainsData) and keeps no Content-Type, Content-Encoding or
		// Cache-Control of an empty one. SeaweedFS takes bodies there but keeps only
		// the Content-Type. verify --deep names what was lost.
		h := store.Header{ContentType: "text/plain", ContentEncoding: "gzip", CacheControl: "max-age=60",
			ContentDisposition: "inline", UserMetadata: map[string]string{"project-id": "7"}}
		put(t, "folder/empty/", nil, h)
		m, err := s.Stat(ctx, bucket, "folder/empty/")
		if err != nil {
			t.Fatal(err)
		}
		m.Header.Tags = nil
		tr.FolderKeysKeepHeaders = fmt.Sprint(m.Header) == fmt.Sprint(h)
		body := []byte("a folder's body")
		sum := md5.Sum(body)
		_, err = s.Put(ctx, bucket, "folder/with-body/", bytes.NewReader(body), int64(len(body)), sum[:], h)
		var se *store.Error
		switch {
		case err == nil:
			if m, err := s.Stat(ctx, bucket, "folder/with-body/"); err != nil || m.Size != int64(len(body)) {
				t.Fatalf("a folder key's body was accepted and not kept: %+v, %v", m, err)
			}
			tr.FolderKeysTakeBodies = true
		case !errors.As(err, &se) || se.Status/100 != 4:
			t.Fatalf("a folder key's body: %v; want it kept, or refused with a 4xx the copy can report", err)
		}
	})

	t.Run("ErrorsCarryTheServiceCode", func(t *testing.T) {
		if _, _, err := s.Get(ctx, bucket, "no/such/key", 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing key: %v; want ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, bucket, "no/such/key"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("HEAD of a missing key: %v; want ErrNotFound", err)
		}
		var se *store.Error
		for _, err := range s.List(ctx, "no-such-bucket-here", "") {
			if !errors.As(err, &se) || se.Code != "NoSuchBucket" || se.Status != 404 {
				t.Fatalf("missing bucket: %v; want NoSuchBucket", err)
			}
		}
		if err := s.Probe(ctx, "no-such-bucket-here"); !errors.As(err, &se) || se.Code != "NoSuchBucket" {
			t.Fatalf("probe of a missing bucket: %v; want NoSuchBucket", err)
		}
		if err := s.Probe(ctx, bucket); err != nil {
			t.Fatalf("probe of %s: %v", bucket, err)
		}
		if ok, err := s.BucketExists(ctx, "no-such-bucket-here"); ok || err != nil {
			t.Fatalf("BucketExists of a missing bucket: %v, %v", ok, err)
		}
	})
	return tr
}

func refusedTags(err error) bool {
	var se *store.Error
	return errors.As(err, &se) && (se.Code == "NotImplemented" || se.Status == http.StatusNotImplemented)
}
