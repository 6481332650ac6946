package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"
)

// scale writes recordings from..from+n-1 of the scale benchmark's set: one small
// dom.mobs per session, under a 19-digit session ID drawn from the index, so any range
// of indexes can be written (or written again) alone, which makes seeding a million
// objects resumable and parallel. Objects are generated as they are written: memory
// does not grow with n.
func scale(ctx context.Context, c *minio.Client, from, n, workers int) error {
	const bucket = "mobs"
	if ok, err := c.BucketExists(ctx, bucket); err != nil {
		return err
	} else if !ok {
		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			return err
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for i := from; i < from+n; i++ {
		g.Go(func() error {
			h := mix(uint64(i))
			key := strconv.FormatUint(1_000_000_000_000_000_000+h%8_000_000_000_000_000_000, 10) + "/dom.mobs"
			body := bytes.Repeat([]byte{byte(h)}, 256)
			_, err := c.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)),
				minio.PutObjectOptions{ContentType: "application/octet-stream", DisableContentSha256: true})
			if err != nil {
				return fmt.Errorf("seed %s/%s: %w", bucket, key, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// mix is splitmix64: distinct indexes give well-spread, distinct-looking IDs.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
