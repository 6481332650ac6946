// Command seed fills an S3 service with OpenReplay-like data for the demo and benchmarks.
// Keys come from SEED_ACCESS_KEY and SEED_SECRET_KEY, never from flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:9000", "service `URL`")
	set := flag.String("set", "demo", "data set: demo, mixed (~9,000 objects, ~800 MiB) tiny (10,000 x 2 KiB) or wan (~3,000 small)")
	workers := flag.Int("workers", 16, "uploads at once")
	buckets := flag.String("buckets", "", "comma-separated buckets to create (with -set none)")
	objects := flag.Int("objects", 0, "with -set scale: how many small recordings to write")
	from := flag.Int("from", 0, "with -set scale: the index of the first one (to resume)")
	flag.Parse()
	u, err := url.Parse(*endpoint)
	if err != nil {
		fail(err)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv("SEED_ACCESS_KEY"), os.Getenv("SEED_SECRET_KEY"), ""),
		Secure: u.Scheme == "https",
	})
	if err != nil {
		fail(err)
	}
	if *buckets != "" {
		for _, b := range strings.Split(*buckets, ",") {
			if err := c.MakeBucket(context.Background(), b, minio.MakeBucketOptions{}); err != nil {
				fail(err)
			}
		}
	}
	if *set == "none" {
		return
	}
	if *set == "scale" {
		start := time.Now()
		if err := scale(context.Background(), c, *from, *objects, *workers); err != nil {
			fail(err)
		}
		fmt.Printf("seeded recordings %d..%d in %.1fs\n", *from, *from+*objects-1, time.Since(start).Seconds())
		return
	}
	spec, ok := map[string]seed.Spec{"demo": seed.Demo(), "mixed": seed.Mixed(), "tiny": seed.Tiny(), "wan": seed.WAN()}[*set]
	if !ok {
		fail(fmt.Errorf("unknown data set %q", *set))
	}
	start := time.Now()
	st, err := seed.Write(context.Background(), c, seed.Plan(spec), *workers)
	if err != nil {
		fail(err)
	}
	fmt.Printf("seeded %d objects (%d multipart), %.1f MiB in %.1fs\n", st.Objects, st.Multipart, float64(st.Bytes)/(1<<20), time.Since(start).Seconds())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "seed:", err)
	os.Exit(1)
}
