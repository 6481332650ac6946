package copy_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
)

// A copy costs one GET and one PUT per object (per part for a multipart one, plus its
// create and complete), no HEAD, and no GetObjectTagging per tagged recording: MinIO
// sends the tags with the body once the client knows it is MinIO, so only the first
// objects in flight may ask for them separately.
func TestCopyRequestsPerObject(t *testing.T) {
	t.Parallel()
	r := newRig(t, small)
	const workers = 8
	res := run(t, r.engine(copy.Options{Workers: workers}))
	var objects, parts, multipart int
	for _, p := range pairs {
		for _, s := range r.src.Snapshot(p.Source) {
			objects++
			n := 1
			if i := strings.LastIndexByte(s.ETag, '-'); i >= 0 {
				n, _ = strconv.Atoi(s.ETag[i+1:])
				multipart++
			}
			parts += n
		}
	}
	if copied, _ := total(res); int(copied) != objects || multipart == 0 {
		t.Fatalf("copied %d of %d objects (%d multipart); want all, some multipart", copied, objects, multipart)
	}
	gets := r.srcReq.Count("GET")
	if gets < parts || gets > parts+workers {
		t.Fatalf("%d GETs at the source for %d parts of %d objects; want %d plus at most %d tag requests", gets, parts, objects, parts, workers)
	}
	if n := r.dstReq.Count("PUT"); n != parts {
		t.Fatalf("%d PUTs at the destination; want one per part: %d", n, parts)
	}
	if n := r.dstReq.Count("POST"); n != 2*multipart {
		t.Fatalf("%d POSTs at the destination; want a create and a complete per multipart object: %d", n, 2*multipart)
	}
	if n := r.srcReq.Count("HEAD") + r.dstReq.Count("HEAD"); n != 0 {
		t.Fatalf("%d HEAD requests; want none", n)
	}
}
