package copy

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is this process's share of every bucket when N processes copy together.
// Keys are split by a hash of the key, so shards get even shares whatever the key
// layout, never overlap, and together cover every key.
type Shard struct {
	Index, Count int
}

// ParseShard reads "i/N" (0 <= i < N).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/N with 0 <= i < N, e.g. 0/4", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// Owns tells whether key belongs to this shard.
func (s Shard) Owns(key string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32()%uint32(s.Count)) == s.Index
}

func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d-of-%d", s.Index, s.Count)
}
