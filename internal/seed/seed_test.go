package seed

import "testing"

// The sets are what bench/README.md and bench/results.md describe;
// a change here changes what every published number means.
func TestSetsMatchTheirDescription(t *testing.T) {
	for _, c := range []struct {
		name                 string
		spec                 Spec
		objects              int64
		minMiB, maxMiB       float64
		minMultip, maxMultip int64
	}{
		{"mixed", Mixed(), 9000, 700, 900, 20, 40},
		{"tiny", Tiny(), 10000, 19.5, 19.6, 0, 0},
		{"demo", Demo(), 1500, 400, 550, 5, 20},
	} {
		var objects, bytes, multipart int64
		buckets := map[string]int64{}
		for _, o := range Plan(c.spec) {
			objects++
			bytes += o.Size
			buckets[o.Bucket]++
			if o.Size > PartSize {
				multipart++
			}
		}
		mib := float64(bytes) / (1 << 20)
		t.Logf("%s: %d objects, %.1f MiB, %d multipart, per bucket %v", c.name, objects, mib, multipart, buckets)
		if objects != c.objects || mib < c.minMiB || mib > c.maxMiB || multipart < c.minMultip || multipart > c.maxMultip {
			t.Errorf("%s: %d objects, %.1f MiB, %d multipart; want %d objects, %.0f-%.0f MiB, %d-%d multipart",
				c.name, objects, mib, multipart, c.objects, c.minMiB, c.maxMiB, c.minMultip, c.maxMultip)
		}
	}
}

// Plan is deterministic: the bench's source is the same data in every run.
func TestPlanIsRepeatable(t *testing.T) {
	a, b := Plan(Mixed()), Plan(Mixed())
	if len(a) != len(b) {
		t.Fatalf("%d vs %d objects", len(a), len(b))
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Size != b[i].Size || a[i].seed != b[i].seed {
			t.Fatalf("object %d differs: %s/%d vs %s/%d", i, a[i].Key, a[i].Size, b[i].Key, b[i].Size)
		}
	}
}
