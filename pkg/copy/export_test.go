package copy

import (
	"context"
	"encoding/json"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
)

// The tests' buckets hold thousands of keys, not millions: split them as a large one
// would be, at a range per 100 keys the last pass listed.
func init() { keysPerRange = 100 }

// ClaimedRanges is what pass generation g of p shares out to shard s: the ranges its
// claim records give s, with their bounds from the pass's split.
func ClaimedRanges(ctx context.Context, c checkpoint.Claims, p Pair, s Shard, g int64) ([]checkpoint.Range, error) {
	sp := &sharedPass{claims: c, shard: s, base: sharedBase(p, s, g), generation: g}
	data, err := c.Read(ctx, sp.base)
	if err != nil || data == nil {
		return nil, err
	}
	var plan passPlan
	if err := json.Unmarshal(data, &plan); err != nil {
		return nil, err
	}
	sp.bounds = plan.Bounds
	var out []checkpoint.Range
	for j := range sp.ranges() {
		owner, err := c.Read(ctx, sp.claimName(j))
		if err != nil {
			return nil, err
		}
		if string(owner) != s.String() {
			continue
		}
		r := checkpoint.Range{Index: j}
		if j > 0 {
			r.After = sp.bounds[j-1]
		}
		if j < len(sp.bounds) {
			r.Through = sp.bounds[j]
		}
		out = append(out, r)
	}
	return out, nil
}

// SetSplitWait sets how long a shard waits for another's split, until the test ends.
func SetSplitWait(t interface{ Cleanup(func()) }, d time.Duration) {
	old := splitWait
	splitWait = d
	t.Cleanup(func() { splitWait = old })
}

// ClaimSplit records shard s as the one making pass g's split, as a shard killed while
// probing the bucket leaves it.
func ClaimSplit(ctx context.Context, c checkpoint.Claims, p Pair, s Shard, g int64) error {
	_, err := c.Create(ctx, sharedBase(p, s, g)+"--splitter", []byte(s.String()))
	return err
}
