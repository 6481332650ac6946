package testenv

import (
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// ObjectState is everything a user would check of one object.
type ObjectState struct {
	Size                                                    int64
	ETag, MD5                                               string
	ContentType, ContentEncoding, CacheControl, Disposition string
	Meta, Tags                                              map[string]string
	LastModified                                            time.Time
}

// sourceLastModified is the user metadata key the migrator's copies carry their source
// object's Last-Modified under (spelled out here, not imported: these checks share no
// code with the migrator).
const sourceLastModified = "openreplay-migrator-source-last-modified"

// Snapshot reads every object of bucket in full, with its headers, metadata and tags,
// using its own client: it shares no code with the migrator.
func (m *MinIO) Snapshot(bucket string) map[string]ObjectState { return Snapshot(m.t, m, bucket) }

// Snapshot reads every object of s's bucket as (*MinIO).Snapshot does.
func Snapshot(t testing.TB, s Server, bucket string) map[string]ObjectState {
	t.Helper()
	ctx := context.Background()
	c := s.Client()
	out := map[string]ObjectState{}
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list %s: %v", bucket, o.Err)
		}
		obj, err := c.GetObject(ctx, bucket, o.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("get %s/%s: %v", bucket, o.Key, err)
		}
		h := md5.New()
		n, err := io.Copy(h, obj)
		if err != nil {
			t.Fatalf("read %s/%s: %v", bucket, o.Key, err)
		}
		st, err := obj.Stat()
		obj.Close()
		if err != nil {
			t.Fatalf("stat %s/%s: %v", bucket, o.Key, err)
		}
		tags, err := c.GetObjectTagging(ctx, bucket, o.Key, minio.GetObjectTaggingOptions{})
		if err != nil {
			t.Fatalf("tags %s/%s: %v", bucket, o.Key, err)
		}
		meta := map[string]string{}
		for k, v := range st.UserMetadata {
			meta[strings.ToLower(k)] = v
		}
		out[o.Key] = ObjectState{
			Size: n, ETag: strings.Trim(st.ETag, `"`), MD5: fmt.Sprintf("%x", h.Sum(nil)),
			ContentType: st.ContentType, ContentEncoding: st.Metadata.Get("Content-Encoding"),
			CacheControl: st.Metadata.Get("Cache-Control"), Disposition: st.Metadata.Get("Content-Disposition"),
			Meta: meta, Tags: tags.ToMap(), LastModified: st.LastModified,
		}
	}
	return out
}

// AssertSame fails the test unless dst/dstBucket holds exactly what src/srcBucket holds:
// same keys, bytes, ETags (when sameETag), headers, user metadata and tags.
func AssertSame(t testing.TB, src Server, srcBucket string, dst Server, dstBucket string, sameETag bool) {
	t.Helper()
	a, b := Snapshot(t, src, srcBucket), Snapshot(t, dst, dstBucket)
	var problems []string
	for k, sa := range a {
		sb, ok := b[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("missing %q", k))
			continue
		}
		if !sameETag {
			sa.ETag, sb.ETag = "", ""
		}
		if p := CopyProblem(sa, sb); p != "" {
			problems = append(problems, fmt.Sprintf("differs %q: %s", k, p))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			problems = append(problems, fmt.Sprintf("extra %q", k))
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		if len(problems) > 20 {
			problems = append(problems[:20], fmt.Sprintf("... and %d more", len(problems)-20))
		}
		t.Fatalf("%s/%s != %s/%s (%d objects):\n%s", src, srcBucket, dst, dstBucket, len(a), strings.Join(problems, "\n"))
	}
	if len(a) == 0 {
		t.Fatalf("%s/%s is empty: nothing was compared", src, srcBucket)
	}
}

// CopyProblem says how dst is not a faithful copy of src ("" when it is): bytes,
// headers, user metadata and tags equal, plus the source's Last-Modified recorded.
func CopyProblem(src, dst ObjectState) string {
	if p := checkSourceAge(&src, &dst); p != "" {
		return p
	}
	if !equalState(src, dst) {
		return fmt.Sprintf("\n  source      %+v\n  destination %+v", src, dst)
	}
	return ""
}

// checkSourceAge says what is wrong with the copy's record of the source's
// Last-Modified, and takes it (and the dates) out of both for the rest of the comparison.
func checkSourceAge(src, dst *ObjectState) string {
	want, ok := src.Meta[sourceLastModified]
	if !ok {
		want = src.LastModified.UTC().Format(time.RFC3339)
	}
	got, has := dst.Meta[sourceLastModified]
	src.Meta, dst.Meta = maps.Clone(src.Meta), maps.Clone(dst.Meta)
	delete(src.Meta, sourceLastModified)
	delete(dst.Meta, sourceLastModified)
	src.LastModified, dst.LastModified = time.Time{}, time.Time{}
	switch {
	case !has:
		return "the copy does not carry its source Last-Modified (x-amz-meta-" + sourceLastModified + ")"
	case got != want:
		return fmt.Sprintf("the copy says its source was last modified %s; the source says %s", got, want)
	}
	return ""
}

func equalState(a, b ObjectState) bool {
	return a.Size == b.Size && a.ETag == b.ETag && a.MD5 == b.MD5 && a.ContentType == b.ContentType &&
		a.ContentEncoding == b.ContentEncoding && a.CacheControl == b.CacheControl && a.Disposition == b.Disposition &&
		maps.Equal(a.Meta, b.Meta) && maps.Equal(a.Tags, b.Tags)
}

// AssertNoUploads fails if the bucket holds multipart uploads that were never finished.
func AssertNoUploads(t testing.TB, m Server, bucket string) {
	t.Helper()
	for u := range m.Client().ListIncompleteUploads(context.Background(), bucket, "", true) {
		if u.Err != nil {
			t.Fatalf("list uploads %s: %v", bucket, u.Err)
		}
		t.Errorf("%s/%s: multipart upload %s left behind", bucket, u.Key, u.UploadID)
	}
}
