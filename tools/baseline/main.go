// Command baseline is the yardstick `make bench` holds the migrator against: the least a
// copy can do. It lists each source bucket and has N workers stream GET -> PUT, one PUT
// per object whatever its size, with no checksums, checkpoints, tags or retries. With
// --list-only it lists both sides of every pair and copies nothing.
//
// Keys come from the migrator's environment variables (MIGRATOR_SOURCE_ACCESS_KEY, ...),
// never from flags. It prints one line of JSON with its counts.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// counter counts the HTTP requests a client sends, by method (LIST for listings).
type counter struct {
	base                         http.RoundTripper
	list, get, put, head, others atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	switch {
	case r.Method == http.MethodGet && r.URL.Query().Has("list-type"):
		c.list.Add(1)
	case r.Method == http.MethodGet:
		c.get.Add(1)
	case r.Method == http.MethodPut:
		c.put.Add(1)
	case r.Method == http.MethodHead:
		c.head.Add(1)
	default:
		c.others.Add(1)
	}
	return c.base.RoundTrip(r)
}

type report struct {
	Objects  int64   `json:"objects"`
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	List     int64   `json:"list"`
	Get      int64   `json:"get"`
	Put      int64   `json:"put"`
	Head     int64   `json:"head"`
	Other    int64   `json:"other"`
	Listed   int64   `json:"listed"`
	ListOnly bool    `json:"listOnly"`
}

func main() {
	srcURL := flag.String("source", "", "source endpoint `URL`")
	dstURL := flag.String("destination", "", "destination endpoint `URL`")
	buckets := flag.String("buckets", "", "`src:dst,...` bucket pairs")
	workers := flag.Int("workers", 32, "objects copied at once")
	listOnly := flag.Bool("list-only", false, "list both sides of every pair; copy nothing")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to `file` (to hold against the migrator's --debug-addr profile)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	var cnt counter
	src := client(*srcURL, "SOURCE", *workers, &cnt)
	dst := client(*dstURL, "DESTINATION", *workers, &cnt)
	ctx := context.Background()
	var rep report
	rep.ListOnly = *listOnly
	start := time.Now()
	for _, p := range strings.Split(*buckets, ",") {
		sb, db, ok := strings.Cut(p, ":")
		if !ok {
			fail(fmt.Errorf("--buckets %q: want src:dst pairs", *buckets))
		}
		if *listOnly {
			rep.Listed += list(ctx, src, sb) + list(ctx, dst, db)
			continue
		}
		copyBucket(ctx, minio.Core{Client: src}, minio.Core{Client: dst}, sb, db, *workers, &rep)
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.List, rep.Get, rep.Put, rep.Head, rep.Other = cnt.list.Load(), cnt.get.Load(), cnt.put.Load(), cnt.head.Load(), cnt.others.Load()
	json.NewEncoder(os.Stdout).Encode(rep)
}

func client(endpoint, side string, workers int, cnt *counter) *minio.Client {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		fail(fmt.Errorf("endpoint %q: want http://host:port", endpoint))
	}
	// Idle connections as many as workers, as any tuned client would keep.
	t, err := minio.DefaultTransport(u.Scheme == "https")
	if err != nil {
		fail(err)
	}
	t.MaxIdleConnsPerHost = workers
	cnt.base = t
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(os.Getenv("MIGRATOR_"+side+"_ACCESS_KEY"), os.Getenv("MIGRATOR_"+side+"_SECRET_KEY"), ""),
		Secure:       u.Scheme == "https",
		Region:       "us-east-1",
		Transport:    cnt,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		fail(err)
	}
	return c
}

func list(ctx context.Context, c *minio.Client, bucket string) int64 {
	var n int64
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			fail(o.Err)
		}
		n++
	}
	return n
}

func copyBucket(ctx context.Context, src, dst minio.Core, sb, db string, workers int, rep *report) {
	objs := make(chan minio.ObjectInfo, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range objs {
				body, _, _, err := src.GetObject(ctx, sb, o.Key, minio.GetObjectOptions{})
				if err != nil {
					fail(fmt.Errorf("%s/%s: %w", sb, o.Key, err))
				}
				// The body streams straight into one PUT: UNSIGNED-PAYLOAD, no Content-MD5.
				_, err = dst.PutObject(ctx, db, o.Key, body, o.Size, "", "", minio.PutObjectOptions{DisableContentSha256: true})
				body.Close()
				if err != nil {
					fail(fmt.Errorf("%s/%s: %w", sb, o.Key, err))
				}
				atomic.AddInt64(&rep.Objects, 1)
				atomic.AddInt64(&rep.Bytes, o.Size)
			}
		}()
	}
	for o := range src.Client.ListObjects(ctx, sb, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			fail(o.Err)
		}
		objs <- o
	}
	close(objs)
	wg.Wait()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "baseline:", err)
	os.Exit(1)
}
