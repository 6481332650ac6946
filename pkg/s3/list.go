package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// listBodies keeps the buffers listing answers are read into: a page of 1,000 keys is
// a few hundred KiB of XML, read once per request on both sides.
var listBodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// listPages lists through ListObjectsV2 requests of its own, read by parseListPage: the
// requests minio-go sends (keys URL-encoded, no owners, to the same host and path),
// without its XML decoder.
func (c *Client) listPages(ctx context.Context, bucket, startAfter string, maxKeys int) iter.Seq2[store.Object, error] {
	return func(yield func(store.Object, error) bool) {
		token := ""
		for {
			// No fetch-owner: S3's default is none, and minio-go sends it only to ask for owners.
			q := url.Values{"list-type": {"2"}, "encoding-type": {"url"}, "max-keys": {strconv.Itoa(maxKeys)}}
			if token != "" {
				q.Set("continuation-token", token)
			} else if startAfter != "" {
				q.Set("start-after", startAfter)
			}
			page, err := c.listRequest(ctx, bucket, s3utils.QueryEncode(q))
			if err != nil {
				yield(store.Object{}, err)
				return
			}
			for _, o := range page.objects {
				if page.encoding == "url" {
					if o.Key, err = url.QueryUnescape(o.Key); err != nil {
						yield(store.Object{}, &store.Error{Op: "list", Bucket: bucket, Err: fmt.Errorf("a key the service encoded badly: %w", err)})
						return
					}
				}
				o.ETag = trimETag(o.ETag)
				if !yield(o, nil) {
					return
				}
			}
			if !page.truncated {
				return
			}
			if page.next == "" || page.next == token {
				yield(store.Object{}, &store.Error{Op: "list", Bucket: bucket,
					Err: errors.New("the service said the listing goes on but gave no new continuation token")})
				return
			}
			token = page.next
		}
	}
}

// listTarget is where minio-go sends a bucket's listing requests and the region it
// signs them for: a path on the endpoint, or on AWS and GCS a virtual host (on AWS at
// the region's dual-stack endpoint).
type listTarget struct {
	url    url.URL // scheme, host and path; no query
	region string
}

// target asks minio-go, once per bucket, where it would list the bucket. Presign makes
// no request when the region is configured (the config always sets one); the presigned
// query, which carries a signature, is dropped.
func (c *Client) target(ctx context.Context, bucket string) (listTarget, error) {
	if t, ok := c.listTargets.Load(bucket); ok {
		return t.(listTarget), nil
	}
	mc := c.core.Client
	u, err := mc.Presign(ctx, http.MethodGet, bucket, "", time.Minute, nil)
	if err != nil {
		return listTarget{}, wrap("list", bucket, "", err)
	}
	region, err := mc.GetBucketLocation(ctx, bucket)
	if err != nil {
		return listTarget{}, wrap("list", bucket, "", err)
	}
	t := listTarget{url: url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}, region: region}
	c.listTargets.Store(bucket, t)
	return t, nil
}

// listRequest sends one listing request, signed as minio-go signs its own (V4, for the
// region it would use), and reads its answer.
func (c *Client) listRequest(ctx context.Context, bucket, query string) (listResult, error) {
	t, err := c.target(ctx, bucket)
	if err != nil {
		return listResult{}, err
	}
	u := t.url
	u.RawQuery = query
	resp, err := c.signedGet(ctx, "list", bucket, u, t.region)
	if err != nil {
		return listResult{}, err
	}
	defer resp.Body.Close()
	buf := listBodies.Get().(*bytes.Buffer)
	defer listBodies.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, 64<<20)); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return listResult{}, &store.Error{Op: "list", Bucket: bucket, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return listResult{}, answerError("list", bucket, resp, buf.Bytes())
	}
	page, err := parseListPage(buf.Bytes())
	if err != nil {
		return listResult{}, &store.Error{Op: "list", Bucket: bucket, Status: resp.StatusCode, Err: err}
	}
	return page, nil
}
