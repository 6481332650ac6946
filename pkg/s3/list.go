package s3

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// listBodies keeps the buffers listing answers are read into: a page of 1,000 keys is
// a few hundred KiB of XML, read once per request on both sides.
var listBodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// listPages lists through ListObjectsV2 requests of its own, read by parseListPage: the
// same requests minio-go sends (keys URL-encoded, no owners), without its XML decoder.
func (c *Client) listPages(ctx context.Context, bucket, startAfter string, maxKeys int) iter.Seq2[store.Object, error] {
	return func(yield func(store.Object, error) bool) {
		token := ""
		for {
			q := url.Values{"list-type": {"2"}, "encoding-type": {"url"}, "fetch-owner": {"false"},
				"max-keys": {strconv.Itoa(maxKeys)}}
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

// listRequest sends one listing request and reads its answer.
func (c *Client) listRequest(ctx context.Context, bucket, query string) (listResult, error) {
	resp, err := c.signedBucketGet(ctx, "list", bucket, query)
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
		var e struct{ Code, Message string }
		_ = xml.Unmarshal(buf.Bytes(), &e)
		if e.Message == "" {
			e.Message = resp.Status
		}
		return listResult{}, wrapCode("list", bucket, resp.StatusCode, e.Code, errors.New(e.Message))
	}
	page, err := parseListPage(buf.Bytes())
	if err != nil {
		return listResult{}, &store.Error{Op: "list", Bucket: bucket, Status: resp.StatusCode, Err: err}
	}
	return page, nil
}
