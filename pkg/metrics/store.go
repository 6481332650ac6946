package metrics

import (
	"context"
	"errors"
	"io"
	"iter"
	"strconv"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// WrapStore returns s with every request counted and timed under side ("source" or
// "destination"). Wrap the bare client and put retries around the result, so that every
// attempt is counted, not only the last.
//
// Each operation's "error" series (no answer came: refused, reset, timed out) exists at 0
// from the start. A healthy run then shows 0 request errors rather than no data, and the
// first failed request of an outage counts: increase() and rate() see a series' first
// sample as its start, not as a rise. Codes a service answers with are too many to
// create up front; each of those series starts at its first occurrence.
func (m *Metrics) WrapStore(side string, s store.Store) store.Store {
	for _, op := range requestOps {
		m.requests.WithLabelValues(side, op, noAnswer)
	}
	return measured{s: s, side: side, m: m}
}

// requestOps are the values of the op label of requests_total and request_duration_seconds.
var requestOps = []string{"list", "get", "head", "tag", "put", "multipart", "bucket"}

// noAnswer is the code of a request that got no answer from the service.
const noAnswer = "error"

type measured struct {
	s    store.Store
	side string
	m    *Metrics
}

var _ store.Store = measured{}

func (w measured) observe(op string, start time.Time, err error) {
	w.m.requests.WithLabelValues(w.side, op, code(err)).Inc()
	w.m.duration.WithLabelValues(w.side, op).Observe(time.Since(start).Seconds())
}

// listPage is the page size pkg/s3 asks ListObjectsV2 for, and the most AWS, MinIO, GCS
// and R2 return.
const listPage = 1000

// List counts one request when the listing starts and one before every listPage-th
// object after that: the store hides its pages, and since a full page holds listPage
// keys this is exact for every service that fills its pages, and off by a little for
// one that returns short pages. Each request is timed from the moment the consumer asked
// for more until the object (or error) arrived, which is where a page's round trip falls.
func (w measured) List(ctx context.Context, bucket, startAfter string) iter.Seq2[store.Object, error] {
	return func(yield func(store.Object, error) bool) {
		n := 0
		start := time.Now()
		for o, err := range w.s.List(ctx, bucket, startAfter) {
			switch {
			case err != nil:
				w.observe("list", start, err)
			case n%listPage == 0:
				w.observe("list", start, nil)
			}
			n++
			if !yield(o, err) {
				return
			}
			start = time.Now()
		}
		if n == 0 {
			w.observe("list", start, nil) // an empty bucket still costs a request
		}
	}
}

func (w measured) Probe(ctx context.Context, bucket string) error {
	start := time.Now()
	err := w.s.Probe(ctx, bucket)
	w.observe("list", start, err)
	return err
}

// Get counts the request when the response headers came; the body streams later and
// its errors surface in the copy's outcome.
func (w measured) Get(ctx context.Context, bucket, key string, part int) (io.ReadCloser, store.ObjectMeta, error) {
	start := time.Now()
	body, m, err := w.s.Get(ctx, bucket, key, part)
	w.observe("get", start, err)
	return body, m, err
}

func (w measured) Stat(ctx context.Context, bucket, key string) (store.ObjectMeta, error) {
	start := time.Now()
	m, err := w.s.Stat(ctx, bucket, key)
	w.observe("head", start, err)
	return m, err
}

func (w measured) Tags(ctx context.Context, bucket, key string) (map[string]string, error) {
	start := time.Now()
	t, err := w.s.Tags(ctx, bucket, key)
	w.observe("tag", start, err)
	return t, err
}

func (w measured) Put(ctx context.Context, bucket, key string, body io.Reader, size int64, md5 []byte, h store.Header) (string, error) {
	start := time.Now()
	etag, err := w.s.Put(ctx, bucket, key, body, size, md5, h)
	w.observe("put", start, err)
	return etag, err
}

func (w measured) CreateMultipart(ctx context.Context, bucket, key string, h store.Header, sum store.Checksum) (string, error) {
	start := time.Now()
	id, err := w.s.CreateMultipart(ctx, bucket, key, h, sum)
	w.observe("multipart", start, err)
	return id, err
}

func (w measured) UploadPart(ctx context.Context, bucket, key, uploadID string, number int, body io.Reader, size int64, md5 []byte, sum store.Checksum) (store.Part, error) {
	start := time.Now()
	part, err := w.s.UploadPart(ctx, bucket, key, uploadID, number, body, size, md5, sum)
	w.observe("multipart", start, err)
	return part, err
}

func (w measured) CompleteMultipart(ctx context.Context, bucket, key, uploadID string, parts []store.Part) (string, error) {
	start := time.Now()
	etag, err := w.s.CompleteMultipart(ctx, bucket, key, uploadID, parts)
	w.observe("multipart", start, err)
	return etag, err
}

func (w measured) AbortMultipart(ctx context.Context, bucket, key, uploadID string) error {
	start := time.Now()
	err := w.s.AbortMultipart(ctx, bucket, key, uploadID)
	w.observe("multipart", start, err)
	return err
}

func (w measured) ListUploads(ctx context.Context, bucket, prefix string) ([]store.Upload, error) {
	start := time.Now()
	u, err := w.s.ListUploads(ctx, bucket, prefix)
	w.observe("multipart", start, err)
	return u, err
}

func (w measured) BucketExists(ctx context.Context, bucket string) (bool, error) {
	start := time.Now()
	ok, err := w.s.BucketExists(ctx, bucket)
	w.observe("bucket", start, err)
	return ok, err
}

// code is the requests_total label for err. Services may send any error code, so only
// the S3 codes below are kept as they are; others become their HTTP status.
func code(err error) string {
	if err == nil {
		return "ok"
	}
	var se *store.Error
	if errors.As(err, &se) {
		if s3Codes[se.Code] {
			return se.Code
		}
		if se.Status >= 100 && se.Status <= 599 {
			return strconv.Itoa(se.Status)
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		// A shutdown cancels requests by the dozen; they are not the service's errors.
		return "canceled"
	case errors.Is(err, store.ErrNotFound):
		return "NoSuchKey"
	}
	return noAnswer
}

// s3Codes are the S3 error codes worth their own series: what a copy meets (auth,
// missing things, throttling, damaged bytes) plus the codes minio-go makes up for
// answers without a body (HEAD).
var s3Codes = setOf(
	"AccessDenied", "AccountProblem", "AllAccessDisabled", "AuthorizationHeaderMalformed",
	"BadDigest", "BadRequest", "BucketAlreadyExists", "BucketAlreadyOwnedByYou", "BucketNotEmpty",
	"Conflict", "EntityTooLarge", "EntityTooSmall", "ExpiredToken", "IncompleteBody",
	"InternalError", "InvalidAccessKeyId", "InvalidArgument", "InvalidBucketName", "InvalidDigest",
	"InvalidObjectState", "InvalidPart", "InvalidPartOrder", "InvalidRange", "InvalidRequest",
	"InvalidTag", "InvalidToken", "KeyTooLongError", "MalformedXML", "MethodNotAllowed",
	"MissingContentLength", "NoSuchBucket", "NoSuchKey", "NoSuchTagSet", "NoSuchUpload",
	"NotImplemented", "PermanentRedirect", "PreconditionFailed", "RequestTimeTooSkewed",
	"RequestTimeout", "ServiceUnavailable", "SignatureDoesNotMatch", "SlowDown",
	"TemporaryRedirect", "TooManyRequests", "XAmzContentSHA256Mismatch", "XMinioServerNotInitialized",
)

func setOf(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}
