// Command listfront stands in, for `make bench-scale`, for a store whose listing is served
// by a fleet (AWS S3, GCS): a reverse proxy in front of a MinIO that answers
// ListObjectsV2 from memory and passes every other request to MinIO. A listing page then
// costs the proxy a binary search and the page's XML, the same at any bucket size,
// where a single-drive MinIO reads and sorts the bucket's top folder for every request
// (bench/results.md): on a 2-core machine that CPU, not the link, bounds a no-op sync.
//
// The index is taken from MinIO's own listing of the bucket once and kept in a file;
// listings are answered without checking their signatures (a bench tool, on loopback).
// GET /_listings returns how many listing requests it has answered.
//
//	listfront -upstream 127.0.0.1:Q -bucket mobs -index FILE -side source
package main

import (
	"bufio"
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

type entry struct {
	key, etag string
	size      int64
	modified  time.Time
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "`address` to listen on")
	upstream := flag.String("upstream", "", "`address` of the MinIO behind it")
	bucket := flag.String("bucket", "mobs", "the `bucket` whose listing is served from memory")
	index := flag.String("index", "", "`file` the index is kept in (built from MinIO's listing if missing)")
	side := flag.String("side", "source", "whose keys (MIGRATOR_<SIDE>_ACCESS_KEY, _SECRET_KEY) list MinIO")
	flag.Parse()
	if *upstream == "" || *index == "" {
		fail(fmt.Errorf("-upstream and -index are required"))
	}
	entries, err := load(*index)
	if os.IsNotExist(err) {
		up := strings.ToUpper(*side)
		entries, err = build(*upstream, *bucket, os.Getenv("MIGRATOR_"+up+"_ACCESS_KEY"), os.Getenv("MIGRATOR_"+up+"_SECRET_KEY"))
		if err == nil {
			err = save(*index, entries)
		}
	}
	if err != nil {
		fail(err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fail(err)
	}
	fmt.Println(ln.Addr()) // the address, for the script that started it
	err = http.Serve(ln, handler(*upstream, *bucket, entries))
	fail(err)
}

// handler answers the bucket's listings from entries (sorted by key) and passes every
// other request to upstream, its Host header kept, so signatures still hold.
func handler(upstream, bucket string, entries []entry) http.Handler {
	var listings atomic.Int64
	pass := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: upstream})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.URL.Path == "/_listings":
			fmt.Fprintln(w, listings.Load())
		case r.Method == http.MethodGet && q.Get("list-type") == "2" && strings.Trim(r.URL.Path, "/") == bucket:
			listings.Add(1)
			serveList(w, q, bucket, entries)
		default:
			pass.ServeHTTP(w, r)
		}
	})
}

// serveList answers one ListObjectsV2 request: the page after the continuation token
// (the last key of the page before) or start-after, of keys with the prefix. It writes
// the XML itself: encoding/xml's encoder would make the stand-in cost what it stands in
// for not costing.
func serveList(w http.ResponseWriter, q url.Values, bucket string, entries []entry) {
	maxKeys := 1000
	if n, err := strconv.Atoi(q.Get("max-keys")); err == nil && n >= 0 && n < maxKeys {
		maxKeys = n
	}
	prefix, after, token := q.Get("prefix"), q.Get("start-after"), q.Get("continuation-token")
	if token != "" {
		after = token
	}
	from := sort.Search(len(entries), func(i int) bool { return entries[i].key > after && entries[i].key >= prefix })
	to := from
	for to < len(entries) && to-from < maxKeys && strings.HasPrefix(entries[to].key, prefix) {
		to++
	}
	truncated := to < len(entries) && strings.HasPrefix(entries[to].key, prefix) && to > from
	urlKeys := q.Get("encoding-type") == "url"
	bw := bufio.NewWriterSize(w, 64<<10)
	text := func(s string) { xml.EscapeText(bw, []byte(s)) }
	w.Header().Set("Content-Type", "application/xml")
	bw.WriteString(xml.Header + `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>`)
	text(bucket)
	bw.WriteString("</Name><Prefix>")
	text(prefix)
	fmt.Fprintf(bw, "</Prefix><KeyCount>%d</KeyCount><MaxKeys>%d</MaxKeys><IsTruncated>%t</IsTruncated>", to-from, maxKeys, truncated)
	for _, f := range [][2]string{{"StartAfter", q.Get("start-after")}, {"ContinuationToken", token}} {
		if f[1] != "" {
			bw.WriteString("<" + f[0] + ">")
			text(f[1])
			bw.WriteString("</" + f[0] + ">")
		}
	}
	if truncated {
		bw.WriteString("<NextContinuationToken>")
		text(entries[to-1].key)
		bw.WriteString("</NextContinuationToken>")
	}
	if urlKeys {
		bw.WriteString("<EncodingType>url</EncodingType>")
	}
	for _, e := range entries[from:to] {
		key := e.key
		if urlKeys {
			key = strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
		}
		bw.WriteString("<Contents><Key>")
		text(key)
		fmt.Fprintf(bw, "</Key><LastModified>%s</LastModified><ETag>&#34;%s&#34;</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>",
			e.modified.UTC().Format("2006-01-02T15:04:05.000Z"), e.etag, e.size)
	}
	bw.WriteString("</ListBucketResult>")
	bw.Flush()
}

// build lists the bucket from MinIO, in key order.
func build(upstream, bucket, accessKey, secretKey string) ([]entry, error) {
	c, err := minio.New(upstream, &minio.Options{
		Creds:  credentials.NewStaticV4(accessKey, secretKey, ""),
		Region: "us-east-1",
	})
	if err != nil {
		return nil, err
	}
	var out []entry
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list %s: %w", bucket, o.Err)
		}
		out = append(out, entry{key: o.Key, etag: strings.Trim(o.ETag, `"`), size: o.Size, modified: o.LastModified})
	}
	return out, nil
}

// The index file: one line per key, tab-separated: key, ETag, size, Unix nanoseconds.
func save(path string, entries []entry) error {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	for _, e := range entries {
		fmt.Fprintf(bw, "%s\t%s\t%d\t%d\n", e.key, e.etag, e.size, e.modified.UnixNano())
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

func load(path string) ([]entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		if len(p) != 4 {
			return nil, fmt.Errorf("%s: line %d: want 4 fields", path, len(out)+1)
		}
		size, err1 := strconv.ParseInt(p[2], 10, 64)
		ns, err2 := strconv.ParseInt(p[3], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: line %d: bad size or time", path, len(out)+1)
		}
		out = append(out, entry{key: p[0], etag: p[1], size: size, modified: time.Unix(0, ns)})
	}
	return out, sc.Err()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "listfront:", err)
	os.Exit(1)
}
