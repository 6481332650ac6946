package copy_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store/storetest"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/verify"
)

// notMinIO are the S3 implementations besides MinIO that run here as processes.
var notMinIO = []struct {
	kind  string
	start func(*testing.T) testenv.Server
}{
	{"versitygw", func(t *testing.T) testenv.Server { return testenv.StartVersitygw(t) }},
	{"seaweedfs", func(t *testing.T) testenv.Server { return testenv.StartSeaweedFS(t) }},
}

// mixedSmall has multipart recordings (three 5 MiB parts at most), tags, headers and
// odd keys, kept small: every direction of every store runs it.
var mixedSmall = seed.Spec{Sessions: 12, Assets: 10, Sourcemaps: 3, LargeEvery: 6, LargeMax: 11 << 20, Odd: true, Seed: 7}

// cancelAfter cancels a run once n objects have been copied: a stop in the middle.
type cancelAfter struct {
	copy.Observers
	n      int64
	done   atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Finished(_, _ string, out copy.Outcome, _ int64, _ error) {
	if out == copy.Copied && c.done.Add(1) == c.n {
		c.cancel()
	}
}

// The engine copies from a store that is not MinIO and to one, through plain S3 calls:
// a copy stopped in the middle resumes, everything arrives with its bytes, ETags,
// headers and tags, a re-run sends no object request, and verify proves it. Where the
// destination keeps something differently (versitygw's folder keys), verify --deep
// names exactly those objects.
func TestCopyResumeVerifyBothWaysWithStoresThatAreNotMinIO(t *testing.T) {
	for _, other := range notMinIO {
		for _, way := range []string{"from", "to"} {
			t.Run(way+"-"+other.kind, func(t *testing.T) {
				t.Parallel()
				var src, dst testenv.Server = other.start(t), testenv.StartMinIO(t)
				if way == "to" {
					src, dst = dst, src
				}
				src.MakeBuckets(seed.Recordings, seed.Assets, seed.Sourcemaps)
				for _, p := range pairs {
					dst.MakeBuckets(p.Dest)
				}
				if _, err := seed.Write(context.Background(), src.Client(), seed.Plan(mixedSmall), 4); err != nil {
					t.Fatal(err)
				}
				srcReq, dstReq := testenv.NewRequests(), testenv.NewRequests()
				r := &rig{srcReq: srcReq, dstReq: dstReq, srcS: client(t, src, srcReq), dstS: client(t, dst, dstReq), state: checkpoint.Dir(t.TempDir())}

				ctx, cancel := context.WithCancel(context.Background())
				stop := &cancelAfter{n: 10, cancel: cancel}
				first, err := r.engine(copy.Options{Workers: 4, Observer: stop}).Run(ctx, pairs)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				if !first[len(first)-1].Interrupted {
					t.Fatalf("the first run was not stopped in the middle: %+v", first)
				}
				res := run(t, r.engine(copy.Options{Workers: 4}))
				for _, x := range res {
					if !x.OK() {
						t.Fatalf("%s after the resume: failed %v conflicts %v", x.Source, x.Failed, x.Conflicts)
					}
				}

				folderKeysChange := !storetest.Known[dst.Kind()].FolderKeysKeepHeaders
				changed := assertArrived(t, src, dst, folderKeysChange)

				srcReq.Reset()
				dstReq.Reset()
				if c, _ := total(run(t, r.engine(copy.Options{}))); c != 0 {
					t.Errorf("a re-run copied %d objects; want 0", c)
				}
				for _, kind := range []string{"GET", "PUT", "HEAD", "POST"} {
					if n := srcReq.Count(kind) + dstReq.Count(kind); n != 0 {
						t.Errorf("%d %s requests on a re-run with nothing to copy; want 0", n, kind)
					}
				}

				var named []string
				for _, p := range pairs {
					v := &verify.Verifier{Src: r.srcS, Dst: r.dstS, Checkpoints: r.state}
					if rep, err := v.Pair(context.Background(), p, nil); err != nil || len(rep.Differences) != 0 {
						t.Fatalf("verify %s: %v %v", p.Source, rep.Differences, err)
					}
					v.Deep, v.Workers = true, 4
					rep, err := v.Pair(context.Background(), p, nil)
					if err != nil {
						t.Fatal(err)
					}
					for _, d := range rep.Differences {
						// It must say what was dropped, and no more: SeaweedFS keeps the
						// Content-Type that versitygw loses.
						want := "as a folder and dropped its " + changed[p.Source+"/"+d.Key] + " ("
						if !strings.Contains(d.Detail, want) {
							t.Errorf("verify --deep: %s %q: %s\nwant it to say %q", d.Kind, d.Key, d.Detail, want)
						}
						named = append(named, p.Source+"/"+d.Key)
					}
				}
				sort.Strings(named)
				if keys := slices.Sorted(maps.Keys(changed)); fmt.Sprint(named) != fmt.Sprint(keys) {
					t.Errorf("verify --deep named %q; the destination changed %q", named, keys)
				}
			})
		}
	}
}

// assertArrived compares every object of every pair as a user would, with independent
// clients. Where folderKeysChange, objects under keys ending in "/" may differ only in
// their headers; those are returned as bucket/key with what they lost (as deep verify
// must name it), and there must be some. Multipart recordings must be among the objects.
func assertArrived(t *testing.T, src, dst testenv.Server, folderKeysChange bool) map[string]string {
	t.Helper()
	changed := map[string]string{}
	multipart := 0
	for _, p := range pairs {
		a, b := testenv.Snapshot(t, src, p.Source), testenv.Snapshot(t, dst, p.Dest)
		if len(a) != len(b) {
			t.Fatalf("%s: %d objects, %s: %d", p.Source, len(a), p.Dest, len(b))
		}
		for k, sa := range a {
			sb, ok := b[k]
			if ok && folderKeysChange && strings.HasSuffix(k, "/") && sa.MD5 == sb.MD5 {
				changed[p.Source+"/"+k] = droppedHeaders(sa, sb)
				continue
			}
			if !ok {
				t.Errorf("%s/%s: missing at the destination", p.Source, k)
			} else if prob := testenv.CopyProblem(sa, sb); prob != "" {
				t.Errorf("%s/%s: %s", p.Source, k, prob)
			} else if strings.Contains(sa.ETag, "-") {
				multipart++ // its ETag is the source's: the same parts arrived
			}
		}
	}
	if folderKeysChange && len(changed) == 0 {
		t.Fatal("no folder key in the data set: the destination's folder quirk went untested")
	}
	if multipart == 0 {
		t.Fatal("no multipart object in the data set: the part proof went untested")
	}
	return changed
}

// droppedHeaders lists the headers src had that dst lacks (a changed Content-Type counts).
func droppedHeaders(src, dst testenv.ObjectState) string {
	var lost []string
	if src.ContentType != dst.ContentType {
		lost = append(lost, "Content-Type")
	}
	for _, h := range [][3]string{{"Content-Encoding", src.ContentEncoding, dst.ContentEncoding},
		{"Cache-Control", src.CacheControl, dst.CacheControl}, {"Content-Disposition", src.Disposition, dst.Disposition}} {
		if h[1] != "" && h[2] == "" {
			lost = append(lost, h[0])
		}
	}
	if len(src.Tags) > 0 && len(dst.Tags) == 0 {
		lost = append(lost, "tags")
	}
	return strings.Join(lost, ", ")
}
