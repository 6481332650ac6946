package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
)

// The Helm chart's scale-out: N processes copy the same buckets at once, shard i of N
// each (as an Indexed Job's pods do), into a versioned destination. Together they leave
// the destination identical to the source, and no object is written twice: each key has
// exactly one version.
func TestShardsCopyEveryObjectOnce(t *testing.T) {
	t.Parallel()
	const shards = 3
	s := newSite(t, seed.Spec{Sessions: 60, Assets: 60, Sourcemaps: 6, LargeEvery: 15, LargeMax: 12 << 20, Odd: true, Seed: 11}, 4)
	ctx := context.Background()
	dc := s.Dst.Client()
	for _, d := range destBuckets {
		// Every PUT makes a version: an object copied twice shows as two versions.
		if err := dc.EnableVersioning(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	copied := runShards(t, s, shards)
	s.AssertIdentical()
	total := 0
	for src, dst := range destBuckets {
		total += len(s.Src.Snapshot(src))
		for key, n := range keyVersions(t, dc, dst) {
			if n != 1 {
				t.Errorf("%s/%s has %d versions: copied by more than one shard", dst, key, n)
			}
		}
	}
	sum := 0
	for i, n := range copied {
		if n == 0 || n == total {
			t.Errorf("shard %d copied %d of %d objects: the keys are not shared out", i, n, total)
		}
		sum += n
	}
	t.Logf("%d shards copied %v objects of %d", shards, copied, total)
	if sum != total {
		t.Errorf("the shards copied %v objects, %d in all; the source holds %d", copied, sum, total)
	}
	for i := range shards {
		name := fmt.Sprintf("mobs--openreplay-recordings--shard-%d-of-%d.json", i, shards)
		if _, err := os.Stat(filepath.Join(s.Dir, "state", name)); err != nil {
			t.Errorf("shard %d has no checkpoint of its own: %v", i, err)
		}
	}

	// Run again: every shard finds its share in place and copies nothing.
	for i, n := range runShards(t, s, shards) {
		if n != 0 {
			t.Errorf("second run: shard %d copied %d objects", i, n)
		}
	}
	if code, out := s.Run("verify", "--config", s.Config); code != 0 {
		t.Fatalf("verify after the shards exited %d:\n%s", code, out)
	}
}

var copyTotalLine = regexp.MustCompile(`(?m)^total: (\d+) objects`)

// runShards runs shards copies at once and returns how many objects each copied. Shard 0
// takes its place from the environment, as a pod of an Indexed Job does
// (JOB_COMPLETION_INDEX, set by Kubernetes, and MIGRATOR_SHARDS, set by the chart); the
// others from --shard.
func runShards(t *testing.T, s *site, shards int) []int {
	t.Helper()
	copied := make([]int, shards)
	errs := make([]error, shards)
	var wg sync.WaitGroup
	for i := range shards {
		args := []string{"copy", "--config", s.Config, "--progress", "off"}
		if i != 0 {
			args = append(args, "--shard", fmt.Sprintf("%d/%d", i, shards))
		}
		cmd, out := s.Command(args...)
		if i == 0 {
			cmd.Env = append(cmd.Env, "JOB_COMPLETION_INDEX=0", "MIGRATOR_SHARDS="+strconv.Itoa(shards))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("shard %d: %v\n%s", i, err, out)
				return
			}
			m := copyTotalLine.FindStringSubmatch(out.String())
			if m == nil {
				errs[i] = fmt.Errorf("shard %d printed no total:\n%s", i, out)
				return
			}
			copied[i], _ = strconv.Atoi(m[1])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return copied
}

// keyVersions counts the versions of every key in a versioned bucket.
func keyVersions(t *testing.T, c *minio.Client, bucket string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		seen[o.Key]++
	}
	return seen
}
