package copy

// A pass learns where its keys are while it lists them, so the next pass splits the key
// space into even shares: each range keeps every stride-th key it lists, at most
// sampleCap of them (the stride doubles when the sample fills), which is memory flat in
// the bucket's size; at the end of the pass the samples give the key space's quantiles.

const (
	sampleCap = 512
	// Quantiles is how many keys a checkpoint keeps to split the next pass by: bounds
	// for up to that many ranges.
	Quantiles = 64
)

// sample keeps every stride-th key it is shown, in order.
type sample struct {
	keys   []string
	stride int64
	seen   int64
}

func (s *sample) add(key string) {
	if s.stride == 0 {
		s.stride = 1
	}
	if s.seen%s.stride == 0 {
		s.keys = append(s.keys, key)
		if len(s.keys) == sampleCap {
			// Keep every other key: the stride doubles.
			half := s.keys[:0]
			for i := 0; i < len(s.keys); i += 2 {
				half = append(half, s.keys[i])
			}
			s.keys, s.stride = half, s.stride*2
		}
	}
	s.seen++
}

// quantiles returns the n-1 keys that cut the samples (in key order, one per range)
// into n shares of about equal weight, each sample key standing for stride keys; key i
// is at share (i+1)/n.
func quantiles(samples []*sample, n int) []string {
	var total int64
	for _, s := range samples {
		total += s.seen
	}
	if total == 0 || n < 2 {
		return nil
	}
	out := make([]string, 0, n-1)
	var at int64
	for _, s := range samples {
		for _, k := range s.keys {
			at += s.stride
			for len(out) < n-1 && at >= total*int64(len(out)+1)/int64(n) {
				out = append(out, k)
			}
		}
	}
	return out
}

// boundsFrom picks the bounds of n even ranges out of quantile keys (as quantiles
// returns them), in increasing order.
func boundsFrom(q []string, n int) []string {
	shares := len(q) + 1
	var out []string
	for j := 1; j < n && len(q) > 0; j++ {
		k := q[min(max(j*shares/n-1, 0), len(q)-1)]
		if len(out) == 0 || out[len(out)-1] < k {
			out = append(out, k)
		}
	}
	return out
}
