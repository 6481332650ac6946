// Package s3 implements store.Store over minio-go for any S3-compatible service.
package s3

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/tags"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Options says how to reach one service.
type Options struct {
	Endpoint  string // scheme://host[:port]; the scheme decides TLS
	Region    string
	AccessKey string
	SecretKey string
	// SessionToken goes with temporary keys (STS AssumeRole); empty for long-lived ones.
	SessionToken string
	CAFile       string // extra PEM roots for a service with a private certificate
	// StallTimeout gives up a connection that moved no byte either way for this long
	// (a peer silent in the middle of a body); the request fails as a timeout and is
	// retried. Default DefaultStallTimeout.
	StallTimeout time.Duration
	// MaxConns is the number of workers; the transport keeps enough idle connections
	// per host for each of them to reuse warm ones (see transport).
	MaxConns int
	// WrapTransport, if set, wraps the HTTP transport (tests count requests with it).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// SSE, if set, asks the service to encrypt every object this client writes.
	SSE *SSE
}

// Client is a store.Store backed by minio-go.
type Client struct {
	core   minio.Core
	region string // requests signed by hand (admin.go) use it
	google bool   // Google Cloud Storage, which lacks some S3 features
	// ownListing: listing requests are sent and read here (listPages), to where minio-go
	// would send them; not on S3 on Outposts, which signs for another service.
	ownListing  bool
	listTargets sync.Map // bucket -> listTarget
	// isMinIO is set once any response said "Server: MinIO" (the bucket check before a
	// copy is the first); from then on a GET asks for the object's tags with its body
	// (see Get).
	isMinIO *atomic.Bool
	sse     encrypt.ServerSide // sent on every PUT and CreateMultipartUpload; nil: none
	// tagsNotWithGet is set once a GET that asked for the tags brought none of an object
	// that has some: a server that calls itself MinIO without MinIO's extension (a
	// proxy, a look-alike). Plain GetObjectTagging requests do from then on.
	tagsNotWithGet atomic.Bool
}

var _ store.Store = (*Client)(nil)

// New returns a client; it makes no request.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("endpoint %q: want http://host[:port] or https://host[:port]", o.Endpoint)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("endpoint %q: must not have a path (bucket names go in buckets:)", o.Endpoint)
	}
	var rt http.RoundTripper
	rt, err = transport(o)
	if err != nil {
		return nil, err
	}
	sse, err := o.SSE.serverSide()
	if err != nil {
		return nil, err
	}
	isMinIO := new(atomic.Bool)
	rt = serverSniffer{rt, isMinIO}
	if o.WrapTransport != nil {
		rt = o.WrapTransport(rt)
	}
	mc, err := minio.New(u.Host, &minio.Options{
		Creds:     credentials.NewStaticV4(o.AccessKey, o.SecretKey, o.SessionToken),
		Secure:    u.Scheme == "https",
		Region:    o.Region,
		Transport: rt,
		// Retries belong to pkg/retry, which knows which calls are safe to repeat.
		MaxRetries: 1,
		// Path style works everywhere, including MinIO behind a plain Service name.
		BucketLookup: bucketLookup(u.Host),
	})
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", o.Endpoint, err)
	}
	return &Client{core: minio.Core{Client: mc}, region: o.Region, google: strings.HasSuffix(u.Hostname(), "googleapis.com"),
		ownListing: !s3utils.IsAmazonOutpostsEndpoint(*u), isMinIO: isMinIO, sse: sse}, nil
}

// serverSniffer notes whether the service is MinIO from the Server header of its answers.
type serverSniffer struct {
	http.RoundTripper
	isMinIO *atomic.Bool
}

func (s serverSniffer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.RoundTripper.RoundTrip(r)
	if err == nil && !s.isMinIO.Load() && strings.HasPrefix(resp.Header.Get("Server"), "MinIO") {
		s.isMinIO.Store(true)
	}
	return resp, err
}

// bucketLookup keeps minio-go's automatic choice (virtual host for AWS and GCS) and
// path style elsewhere, where virtual hosts rarely resolve.
func bucketLookup(host string) minio.BucketLookupType {
	if strings.HasSuffix(host, "amazonaws.com") || strings.HasSuffix(host, "googleapis.com") {
		return minio.BucketLookupAuto
	}
	return minio.BucketLookupPath
}

func transport(o Options) (*http.Transport, error) {
	// A worker holds its GET's body open while it asks for the object's tags, so it
	// may use two connections to the source at once; idle slots for fewer than that
	// made the pool close and redial a connection for about every other object
	// (`make bench`: ~1,200 dials per 9,000 objects). The listing needs one more.
	conns := 2*max(o.MaxConns, 16) + 2
	dial := stallDialer((&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext, cmp.Or(o.StallTimeout, DefaultStallTimeout))
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dial,
		MaxIdleConns:          2 * conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		ExpectContinueTimeout: time.Second,
		// Objects are copied byte for byte; transparent gzip would change what we read.
		DisableCompression: true,
		// Resumed sessions: a connection opened as the limit rises skips the
		// certificate's signature and its chain's checks, on both ends (a few hundred
		// connections open in the first seconds of a copy over a long link).
		// Records of full size from a connection's first byte: sizing the first ones to a
		// TCP segment speeds up a web page's first paint, and only costs a bulk copy
		// records and system calls.
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(2 * conns),
			DynamicRecordSizingDisabled: true},
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("caFile: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caFile %s: no PEM certificate in it", o.CAFile)
		}
		t.TLSClientConfig.RootCAs = pool
	}
	t.DialTLSContext = tlsDialer(dial, t.TLSClientConfig, t.TLSHandshakeTimeout)
	return t, nil
}

const listPage = 1000

// List pages through ListObjectsV2; S3 returns keys in ascending UTF-8 byte order.
func (c *Client) List(ctx context.Context, bucket, startAfter string) iter.Seq2[store.Object, error] {
	return c.list(ctx, bucket, startAfter, listPage)
}

// Probe asks for a listing page of one key: a page of listPage would cost the service
// a thousand keys' work to answer a yes or no.
func (c *Client) Probe(ctx context.Context, bucket string) error {
	for _, err := range c.list(ctx, bucket, "", 1) {
		return err
	}
	return nil
}

// list lists in pages of maxKeys. It asks for no owners (fetch-owner=false, also S3's
// own default): minio-go asks for them unless told otherwise, and they are a third of
// each entry's XML, which the service writes and this client parses for every object of
// every listing, on both sides.
func (c *Client) list(ctx context.Context, bucket, startAfter string, maxKeys int) iter.Seq2[store.Object, error] {
	if c.ownListing {
		return c.listPages(ctx, bucket, startAfter, maxKeys)
	}
	return func(yield func(store.Object, error) bool) {
		opts := minio.ListObjectsOptions{Recursive: true, StartAfter: startAfter, MaxKeys: maxKeys, FetchOwner: new(bool)}
		for o := range c.core.Client.ListObjectsIter(ctx, bucket, opts) {
			if o.Err != nil {
				yield(store.Object{}, wrap("list", bucket, "", o.Err))
				return
			}
			if !yield(store.Object{Key: o.Key, Size: o.Size, ETag: trimETag(o.ETag), LastModified: o.LastModified}, nil) {
				return
			}
		}
		// minio-go ends a cancelled listing without a word; the consumer must not take
		// that for the end of the bucket.
		if err := ctx.Err(); err != nil {
			yield(store.Object{}, err)
		}
	}
}

func (c *Client) Get(ctx context.Context, bucket, key string, part int) (io.ReadCloser, store.ObjectMeta, error) {
	opts := minio.GetObjectOptions{PartNumber: part}
	askTags := c.isMinIO.Load() && !c.tagsNotWithGet.Load()
	if askTags {
		// MinIO's own extension (its replication uses it): the tags come back in an
		// X-Amz-Tagging header with the body, which spares the copier a GetObjectTagging
		// request per tagged object (every OpenReplay recording is tagged). Sent to
		// MinIO only: other services have no such header and might refuse it.
		opts.Set("X-Amz-Tagging-Directive", "ACCESS")
	}
	body, info, h, err := c.core.GetObject(ctx, bucket, key, opts)
	if err != nil {
		return nil, store.ObjectMeta{}, wrap("get", bucket, key, err)
	}
	m := meta(info, h)
	if askTags && m.TagCount > 0 && m.Tags == nil {
		c.tagsNotWithGet.Store(true) // the extension is not there: positive evidence only
	}
	if part > 0 {
		m.PartSize = info.Size
		// With partNumber the listing size is the part's; the whole object's size is in Content-Range.
		if total, ok := totalFromContentRange(h.Get("Content-Range")); ok {
			m.Size = total
		}
	}
	return body, m, nil
}

func (c *Client) Stat(ctx context.Context, bucket, key string) (store.ObjectMeta, error) {
	info, err := c.core.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return store.ObjectMeta{}, wrap("head", bucket, key, err)
	}
	return meta(info, http.Header(info.Metadata)), nil
}

func (c *Client) Tags(ctx context.Context, bucket, key string) (map[string]string, error) {
	t, err := c.core.GetObjectTagging(ctx, bucket, key, minio.GetObjectTaggingOptions{})
	if err != nil {
		return nil, wrap("tag", bucket, key, err)
	}
	return t.ToMap(), nil
}

func (c *Client) Put(ctx context.Context, bucket, key string, body io.Reader, size int64, md5 []byte, h store.Header) (string, error) {
	opts, err := c.putOptions(h)
	if err != nil {
		return "", &store.Error{Op: "put", Bucket: bucket, Key: key, Err: err}
	}
	if len(md5) == 0 && !c.google {
		// No MD5 to prove the body by: send a CRC32C computed while streaming as a
		// trailer, which the service checks before storing and keeps with the object.
		// (GCS's XML API takes no x-amz-checksum trailers.)
		opts.Checksum = minio.ChecksumCRC32C
	}
	info, err := c.core.PutObject(ctx, bucket, key, body, size, b64(md5), "", opts)
	if err != nil {
		return "", wrap("put", bucket, key, err)
	}
	return trimETag(info.ETag), nil
}

// PutIfAbsent stores data under key only if no object is there (If-None-Match: *, which
// AWS and MinIO honour); an object already there is a store.ClassExists error.
func (c *Client) PutIfAbsent(ctx context.Context, bucket, key string, data []byte) error {
	sum := md5.Sum(data)
	opts := minio.PutObjectOptions{ContentType: "application/json"}
	opts.SetMatchETagExcept("*")
	if _, err := c.core.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), b64(sum[:]), "", opts); err != nil {
		return wrap("put", bucket, key, err)
	}
	return nil
}

func (c *Client) CreateMultipart(ctx context.Context, bucket, key string, h store.Header, sum store.Checksum) (string, error) {
	opts, err := c.putOptions(h)
	if err != nil {
		return "", &store.Error{Op: "multipart", Bucket: bucket, Key: key, Err: err}
	}
	if sum != store.NoChecksum {
		opts.UserMetadata = withChecksumAlgorithm(opts.UserMetadata, sum)
	}
	id, err := c.core.NewMultipartUpload(ctx, bucket, key, opts)
	if err != nil {
		return "", wrap("multipart", bucket, key, err)
	}
	return id, nil
}

func (c *Client) UploadPart(ctx context.Context, bucket, key, uploadID string, number int, body io.Reader, size int64, md5 []byte, sum store.Checksum) (store.Part, error) {
	opts := minio.PutObjectPartOptions{Md5Base64: b64(md5), DisableContentSha256: true}
	var tr *trailingChecksum
	if sum != store.NoChecksum {
		tr, body = newTrailingChecksum(body, sum)
		opts.Trailer = tr.trailer
	}
	p, err := c.core.PutObjectPart(ctx, bucket, key, uploadID, number, body, size, opts)
	if err != nil {
		return store.Part{}, wrap("multipart", bucket, key, err)
	}
	part := store.Part{Number: number, ETag: trimETag(p.ETag)}
	if tr != nil {
		part.Checksum, err = tr.confirmed(p)
		if err != nil {
			return store.Part{}, &store.Error{Op: "multipart", Bucket: bucket, Key: key, Err: fmt.Errorf("part %d: %w", number, err)}
		}
	}
	return part, nil
}

func (c *Client) CompleteMultipart(ctx context.Context, bucket, key, uploadID string, parts []store.Part) (string, error) {
	cp := make([]minio.CompletePart, len(parts))
	for i, p := range parts {
		// Only CRC32C is ever asked for (store.Checksum).
		cp[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag, ChecksumCRC32C: p.Checksum}
	}
	info, err := c.core.CompleteMultipartUpload(ctx, bucket, key, uploadID, cp, minio.PutObjectOptions{})
	if err != nil {
		return "", wrap("multipart", bucket, key, err)
	}
	return trimETag(info.ETag), nil
}

func (c *Client) AbortMultipart(ctx context.Context, bucket, key, uploadID string) error {
	err := c.core.AbortMultipartUpload(ctx, bucket, key, uploadID)
	if err != nil && minio.ToErrorResponse(err).Code == "NoSuchUpload" {
		return nil
	}
	if err != nil {
		return wrap("multipart", bucket, key, err)
	}
	return nil
}

func (c *Client) ListUploads(ctx context.Context, bucket, prefix string) ([]store.Upload, error) {
	var out []store.Upload
	keyMarker, idMarker := "", ""
	for {
		res, err := c.core.ListMultipartUploads(ctx, bucket, prefix, keyMarker, idMarker, "", 1000)
		if err != nil {
			return nil, wrap("multipart", bucket, "", err)
		}
		for _, u := range res.Uploads {
			out = append(out, store.Upload{Key: u.Key, UploadID: u.UploadID})
		}
		if !res.IsTruncated {
			return out, nil
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

func (c *Client) BucketExists(ctx context.Context, bucket string) (bool, error) {
	ok, err := c.core.BucketExists(ctx, bucket)
	if err != nil {
		return false, wrap("bucket", bucket, "", err)
	}
	return ok, nil
}

func (c *Client) putOptions(h store.Header) (minio.PutObjectOptions, error) {
	o := minio.PutObjectOptions{
		ContentType:        h.ContentType,
		ContentEncoding:    h.ContentEncoding,
		CacheControl:       h.CacheControl,
		ContentDisposition: h.ContentDisposition,
		ContentLanguage:    h.ContentLanguage,
		UserMetadata:       h.UserMetadata,
		UserTags:           h.Tags,
		// Content-MD5 already proves the body; a SHA-256 of it would cost a second hash pass.
		DisableContentSha256: true,
		ServerSideEncryption: c.sse,
	}
	if o.ContentType == "" {
		// minio-go would otherwise send application/octet-stream, which is what S3 assumes anyway.
		o.ContentType = "application/octet-stream"
	}
	if len(h.Tags) > 0 {
		if _, err := tags.NewTags(h.Tags, true); err != nil {
			return o, fmt.Errorf("tags: %w", err)
		}
	}
	return o, nil
}

func meta(info minio.ObjectInfo, h http.Header) store.ObjectMeta {
	m := store.ObjectMeta{
		Object: store.Object{Key: info.Key, Size: info.Size, ETag: trimETag(info.ETag), LastModified: info.LastModified},
		Header: store.Header{
			ContentType:        h.Get("Content-Type"),
			ContentEncoding:    h.Get("Content-Encoding"),
			CacheControl:       h.Get("Cache-Control"),
			ContentDisposition: h.Get("Content-Disposition"),
			ContentLanguage:    h.Get("Content-Language"),
		},
		TagCount: info.UserTagCount,
	}
	if len(info.UserTags) > 0 && len(info.UserTags) == info.UserTagCount {
		m.Tags = info.UserTags // all of them came with the response (MinIO, see Get)
	}
	if n := h.Get("X-Amz-Mp-Parts-Count"); n != "" {
		fmt.Sscan(n, &m.PartsCount)
	}
	const metaPrefix = "x-amz-meta-"
	for k, v := range h {
		// Most headers are not user metadata: lower-cased (a new string) only if they are.
		if len(k) > len(metaPrefix) && strings.EqualFold(k[:len(metaPrefix)], metaPrefix) && len(v) > 0 {
			if m.UserMetadata == nil {
				m.UserMetadata = map[string]string{}
			}
			m.UserMetadata[strings.ToLower(k[len(metaPrefix):])] = v[0]
		}
	}
	return m
}

func totalFromContentRange(cr string) (int64, bool) {
	// bytes 0-5242879/12582912
	i := strings.LastIndexByte(cr, '/')
	if i < 0 || cr[i+1:] == "*" {
		return 0, false
	}
	// Strictly digits: Sscan would take " 5", "+5", "-5" or "5x" as a size.
	n, err := strconv.ParseInt(cr[i+1:], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != cr[i+1:] {
		return 0, false
	}
	return n, true
}

func trimETag(e string) string { return strings.Trim(e, `"`) }

func b64(md5 []byte) string {
	if len(md5) == 0 {
		return ""
	}
	return base64.StdEncoding.EncodeToString(md5)
}

// wrap turns a minio-go error into a store.Error that keeps the service's status and code.
func wrap(op, bucket, key string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &store.Error{Op: op, Bucket: bucket, Key: key, Err: err}
	}
	r := minio.ToErrorResponse(err)
	e := &store.Error{Op: op, Bucket: bucket, Key: key, Status: r.StatusCode, Code: r.Code, Err: err}
	if r.Code == "NoSuchKey" {
		e.Err = fmt.Errorf("%w: %s", store.ErrNotFound, r.Message)
	} else if r.Message != "" {
		e.Err = errors.New(r.Message)
	}
	if r.StatusCode == 0 {
		e.Err = err
	}
	return e
}
