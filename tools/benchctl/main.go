// Command benchctl does the small chores of `make bench` on a test server: counting a
// bucket's objects, turning versioning on, and counting keys written more than once.
// Keys come from MIGRATOR_<SIDE>_ACCESS_KEY and MIGRATOR_<SIDE>_SECRET_KEY.
//
//	benchctl count      ENDPOINT SIDE BUCKET...   objects in the buckets
//	benchctl size       ENDPOINT SIDE BUCKET...   objects and bytes in the buckets
//	benchctl versioning ENDPOINT SIDE BUCKET...   turn versioning on
//	benchctl versions   ENDPOINT SIDE BUCKET...   keys with more than one version
//	benchctl sse-kms    ENDPOINT SIDE BUCKET...   default SSE-KMS encryption with key bench-key
//	benchctl pages      ENDPOINT SIDE BUCKET      20 listing pages as one listing (continued)
//	benchctl fresh      ENDPOINT SIDE BUCKET      the same 20 pages, each a listing of its own
//
// pages and fresh list the same keys: fresh starts each page after the last key of the one
// before, as a range's first request or a split probe does, where pages continues one
// listing by its token. The script weighs the server's CPU around each.
package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/sse"
)

func main() {
	if len(os.Args) < 5 {
		fail(fmt.Errorf("usage: benchctl count|size|versioning|versions|sse-kms ENDPOINT source|destination BUCKET..."))
	}
	cmd, endpoint, side, buckets := os.Args[1], os.Args[2], strings.ToUpper(os.Args[3]), os.Args[4:]
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		fail(fmt.Errorf("endpoint %q: want http://host:port", endpoint))
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv("MIGRATOR_"+side+"_ACCESS_KEY"), os.Getenv("MIGRATOR_"+side+"_SECRET_KEY"), ""),
		Secure: u.Scheme == "https",
		Region: "us-east-1",
	})
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	total, bytes := 0, int64(0)
	for _, b := range buckets {
		switch cmd {
		case "count", "size":
			for o := range c.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true}) {
				if o.Err != nil {
					fail(o.Err)
				}
				total++
				bytes += o.Size
			}
		case "versioning":
			if err := c.EnableVersioning(ctx, b); err != nil {
				fail(err)
			}
		case "sse-kms":
			// The key scripts/bench.sh gives the destination servers of a -kms set.
			if err := c.SetBucketEncryption(ctx, b, sse.NewConfigurationSSEKMS("bench-key")); err != nil {
				fail(err)
			}
		case "pages", "fresh":
			listPages(minio.Core{Client: c}, b, cmd == "fresh")
		case "versions":
			seen := map[string]int{}
			for o := range c.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
				if o.Err != nil {
					fail(o.Err)
				}
				seen[o.Key]++
			}
			for k, n := range seen {
				if n > 1 {
					fmt.Fprintf(os.Stderr, "%s/%s: %d versions\n", b, k, n)
					total++
				}
			}
		default:
			fail(fmt.Errorf("unknown command %q", cmd))
		}
	}
	switch cmd {
	case "size":
		fmt.Println(total, bytes)
	case "count", "versions":
		fmt.Println(total)
	}
}

// listPages lists 20 pages of the bucket from its start, by continuation token or, fresh,
// each by start-after the last key of the page before.
func listPages(c minio.Core, bucket string, fresh bool) {
	token, after := "", ""
	for range 20 {
		if fresh {
			token = ""
		} else {
			after = ""
		}
		r, err := c.ListObjectsV2(bucket, "", after, token, "", 1000)
		if err != nil {
			fail(err)
		}
		if len(r.Contents) == 0 {
			return
		}
		token, after = r.NextContinuationToken, r.Contents[len(r.Contents)-1].Key
		if !r.IsTruncated {
			return
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchctl:", err)
	os.Exit(1)
}
