// Package store defines the small object-storage interface the copy engine consumes.
package store

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// Object is one entry of a bucket listing.
type Object struct {
	Key          string
	Size         int64
	ETag         string // without quotes; "<hex>-N" for a multipart object
	LastModified time.Time
}

// Header is what is copied with every object besides its bytes.
type Header struct {
	ContentType        string
	ContentEncoding    string
	CacheControl       string
	ContentDisposition string
	ContentLanguage    string
	UserMetadata       map[string]string // keys without the x-amz-meta- prefix, lower case
	Tags               map[string]string // object tags; they carry OpenReplay's retention
}

// ObjectMeta is what a GET answers besides the body.
type ObjectMeta struct {
	Object
	Header
	TagCount   int   // tags the object has; Get may bring them in Header.Tags, else ask Tags
	PartsCount int   // parts of a multipart object; 0 or 1 for a single-part one
	PartSize   int64 // length of the part that was read, when a part was asked for
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number int
	ETag   string
	// Checksum is the part's checksum (base64, of the upload's Checksum kind) that the
	// service verified on receipt; CompleteMultipart lists it, as S3 requires of an
	// upload created with a checksum.
	Checksum string
}

// Checksum is a kind of checksum a service computes over a body it receives and
// compares with the one sent, refusing the body if they differ. Where ETags are no MD5s
// (SSE-KMS, SSE-C, some S3-compatibles) it is what proves each part arrived intact.
type Checksum string

const (
	NoChecksum Checksum = ""
	CRC32C     Checksum = "CRC32C" // x-amz-checksum-crc32c
)

// Upload is a multipart upload that was started and not completed.
type Upload struct {
	Key      string
	UploadID string
}

// Store is one S3-compatible service. Bucket and key names are passed as they are;
// implementations escape them.
type Store interface {
	// List yields the bucket's objects in ascending byte order of key, starting after
	// startAfter ("" for the beginning). A failing page ends the sequence with its error.
	List(ctx context.Context, bucket, startAfter string) iter.Seq2[Object, error]
	// Probe reads the first entry of the bucket's listing and nothing more: the cheapest
	// request that shows the bucket exists and the key may list it.
	Probe(ctx context.Context, bucket string) error
	// Get opens the object's body; with part > 0 only that part of a multipart object.
	// A missing object is ErrNotFound.
	Get(ctx context.Context, bucket, key string, part int) (io.ReadCloser, ObjectMeta, error)
	// Stat returns the object's metadata without its body. A missing object is ErrNotFound.
	Stat(ctx context.Context, bucket, key string) (ObjectMeta, error)
	// Tags returns the object's tags.
	Tags(ctx context.Context, bucket, key string) (map[string]string, error)
	// Put stores size bytes of body in one request. md5 (16 bytes, may be nil) is sent as
	// Content-MD5 so the service rejects any corrupted byte. It returns the new ETag.
	Put(ctx context.Context, bucket, key string, body io.Reader, size int64, md5 []byte, h Header) (etag string, err error)
	// CreateMultipart starts a multipart upload carrying h. With a Checksum, every part
	// of the upload must be sent with that checksum (UploadPart's sum).
	CreateMultipart(ctx context.Context, bucket, key string, h Header, sum Checksum) (uploadID string, err error)
	// UploadPart stores one part; md5 as for Put. With sum, a checksum of that kind is
	// computed while the body streams and sent after it (a trailer): the service refuses
	// the part if any byte differs, and nothing is buffered. It returns the part's ETag
	// and, with sum, the checksum, for CompleteMultipart.
	UploadPart(ctx context.Context, bucket, key, uploadID string, number int, body io.Reader, size int64, md5 []byte, sum Checksum) (Part, error)
	// CompleteMultipart makes the upload visible as one object and returns its ETag.
	CompleteMultipart(ctx context.Context, bucket, key, uploadID string, parts []Part) (etag string, err error)
	// AbortMultipart discards an upload; aborting one that is gone is not an error.
	AbortMultipart(ctx context.Context, bucket, key, uploadID string) error
	// ListUploads returns the multipart uploads in progress in the bucket whose keys
	// start with prefix.
	ListUploads(ctx context.Context, bucket, prefix string) ([]Upload, error)
	// BucketExists tells whether the bucket exists and is reachable with these credentials.
	BucketExists(ctx context.Context, bucket string) (bool, error)
}

// ErrNotFound is returned for a missing object.
var ErrNotFound = errors.New("object not found")

// Error is a request the service refused or could not answer, with what was being done.
type Error struct {
	Op     string // list, get, put, head, tag, multipart, bucket
	Bucket string
	Key    string
	Status int    // HTTP status; 0 when no answer came
	Code   string // S3 error code, e.g. AccessDenied, NoSuchBucket, SlowDown
	Err    error
}

func (e *Error) Error() string {
	where := e.Bucket
	if e.Key != "" {
		where += "/" + e.Key
	}
	if e.Code != "" {
		return e.Op + " " + where + ": " + e.Code + ": " + e.Err.Error()
	}
	return e.Op + " " + where + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ProbePrefix is where preflight writes its probe objects in destination buckets, and
// what verify leaves out of its count. No OpenReplay key starts with it, so no copy ever
// meets it in a source. A key with only the guide's permissions has no s3:DeleteObject,
// so a probe object may stay there.
const ProbePrefix = ".openreplay-migrator/"
