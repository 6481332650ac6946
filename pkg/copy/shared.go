package copy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
)

// Shards that own key ranges. Shard i of N takes the ranges of a pass that all N share:
// one shard splits a pass's key space while the others wait for it, and saves the split
// (a record created once in the checkpoint store); every shard claims ranges one at a time, its own share first
// (range j is shard j mod N's), then any range no one has started, so a shard that ends
// early takes over rather than idling. A claim is a record created once, so two shards
// never list, and never copy, the same range; together they list each bucket about once.

// sharedPass is one pass of a bucket pair shared by N shards.
type sharedPass struct {
	claims     checkpoint.Claims
	shard      Shard
	base       string // the records' common name: the pair, N and the generation
	generation int64
	bounds     []string

	mu    sync.Mutex
	tried map[int]bool // ranges this shard holds or found taken
}

type passPlan struct {
	Bounds []string `json:"bounds"`
}

func sharedBase(p Pair, s Shard, generation int64) string {
	return fmt.Sprintf("%s--of-%d--pass-%08d", CheckpointName(p, Shard{}), s.Count, generation)
}

func (sp *sharedPass) claimName(j int) string { return fmt.Sprintf("%s--range-%04d", sp.base, j) }
func (sp *sharedPass) doneName(j int) string  { return fmt.Sprintf("%s--done-%04d", sp.base, j) }
func (sp *sharedPass) ranges() int            { return len(sp.bounds) + 1 }

// joinPass finds the pass this shard takes part in: the one after the last it took part
// in, or a later one if that is over (every range done); it saves the split of a pass
// no shard has begun. split makes a fresh split, given the previous pass's bounds.
func joinPass(ctx context.Context, c checkpoint.Claims, p Pair, s Shard, last int64,
	split func(prev []string) ([]string, error)) (*sharedPass, error) {
	var prev []string
	if last > 0 {
		// The split of the last pass this shard took part in, for the next one.
		data, err := c.Read(ctx, sharedBase(p, s, last))
		if err != nil {
			return nil, err
		}
		var plan passPlan
		if data != nil && json.Unmarshal(data, &plan) == nil {
			prev = plan.Bounds
		}
	}
	for g := last + 1; ; g++ {
		sp := &sharedPass{claims: c, shard: s, base: sharedBase(p, s, g), generation: g, tried: map[int]bool{}}
		data, err := c.Read(ctx, sp.base)
		if err != nil {
			return nil, err
		}
		if data == nil && len(prev) == 0 {
			// A fresh split costs dozens of probes, each a listing request a large bucket
			// makes dear: one shard makes it while the others wait for it.
			if data, err = sp.awaitSplit(ctx); err != nil {
				return nil, err
			}
		}
		if data == nil {
			bounds, err := split(prev)
			if err != nil {
				return nil, err
			}
			mine, _ := json.Marshal(passPlan{Bounds: bounds})
			if data, err = c.Create(ctx, sp.base, mine); err != nil {
				return nil, err
			}
		}
		var plan passPlan
		if err := json.Unmarshal(data, &plan); err != nil {
			return nil, fmt.Errorf("the split of %s: %w: %v", sp.base, checkpoint.ErrCorrupt, err)
		}
		sp.bounds = plan.Bounds
		open, done, err := sp.survey(ctx)
		if err != nil {
			return nil, err
		}
		// A pass whose every range is done is over: a new one is due. One with ranges
		// still running but none to take is this shard's to sit out.
		if open > 0 || done < sp.ranges() {
			return sp, nil
		}
		prev = plan.Bounds
	}
}

// splitWait is how long a shard waits for another's split of a pass before it makes its
// own: longer than probing a bucket takes, short enough that a shard killed mid-split
// costs the others little.
var splitWait = 5 * time.Minute

// awaitSplit claims the making of the pass's split. It returns nil if this shard is to
// make it (it won the claim, or the shard that did has not saved a split in splitWait),
// or else the split that shard saved.
func (sp *sharedPass) awaitSplit(ctx context.Context) ([]byte, error) {
	me := []byte(sp.shard.String())
	owner, err := sp.claims.Create(ctx, sp.base+"--splitter", me)
	if err != nil || string(owner) == string(me) {
		return nil, err
	}
	deadline := time.Now().Add(splitWait)
	for pause := 50 * time.Millisecond; time.Now().Before(deadline); pause = min(2*pause, time.Second) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		data, err := sp.claims.Read(ctx, sp.base)
		if err != nil || data != nil {
			return data, err
		}
	}
	return nil, nil
}

// survey counts the pass's ranges no shard has claimed, and those done.
func (sp *sharedPass) survey(ctx context.Context) (open, done int, err error) {
	for j := range sp.ranges() {
		c, err := sp.claims.Read(ctx, sp.claimName(j))
		if err != nil {
			return 0, 0, err
		}
		if c == nil {
			open++
			continue
		}
		d, err := sp.claims.Read(ctx, sp.doneName(j))
		if err != nil {
			return 0, 0, err
		}
		if d != nil {
			done++
		}
	}
	return open, done, nil
}

// hold notes ranges this shard holds already (a resumed pass's).
func (sp *sharedPass) hold(ranges []checkpoint.Range) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, r := range ranges {
		sp.tried[r.Index] = true
	}
}

// claim takes the next range no shard has: this shard's own share first, then the
// others'. ok is false when none is left.
func (sp *sharedPass) claim(ctx context.Context) (checkpoint.Range, bool, error) {
	n := sp.ranges()
	order := make([]int, 0, n)
	for j := range n {
		if j%sp.shard.Count == sp.shard.Index {
			order = append(order, j)
		}
	}
	for j := range n {
		if j%sp.shard.Count != sp.shard.Index {
			order = append(order, j)
		}
	}
	me := []byte(sp.shard.String())
	for _, j := range order {
		sp.mu.Lock()
		skip := sp.tried[j]
		sp.tried[j] = true
		sp.mu.Unlock()
		if skip {
			continue
		}
		owner, err := sp.claims.Create(ctx, sp.claimName(j), me)
		if err != nil {
			return checkpoint.Range{}, false, err
		}
		if string(owner) == string(me) {
			r := checkpoint.Range{Index: j}
			if j > 0 {
				r.After = sp.bounds[j-1]
			}
			if j < len(sp.bounds) {
				r.Through = sp.bounds[j]
			}
			return r, true, nil
		}
	}
	return checkpoint.Range{}, false, nil
}

// finished records the ranges this shard completed, so a shard that starts after every
// range of the pass is done begins the next pass instead of sitting this one out.
func (sp *sharedPass) finished(ctx context.Context, ranges []checkpoint.Range) error {
	for _, r := range ranges {
		if _, err := sp.claims.Create(ctx, sp.doneName(r.Index), []byte(sp.shard.String())); err != nil {
			return err
		}
	}
	return nil
}

// shareRanges decides how this shard takes part in a pass of p: with a shared pass when
// the checkpoint store can create records once, or, where it cannot, by hashing keys
// as before (every shard lists every bucket), which it says once.
func (e *Engine) shareRanges(ctx context.Context, p Pair, state *checkpoint.State, o Options) (*sharedPass, error) {
	if o.Shard.Count <= 1 {
		return nil, nil
	}
	c, ok := e.Checkpoints.(checkpoint.Claims)
	if !ok {
		return nil, nil
	}
	if err := e.claimsWork(ctx, c); err != nil {
		if !errors.Is(err, checkpoint.ErrNoCreateOnce) {
			return nil, err
		}
		if e.claimsWarned.CompareAndSwap(false, true) {
			o.Log.Warn("shards cannot share key ranges through this checkpoint store: each shard lists every bucket and copies the keys that hash to it",
				zap.Error(err))
		}
		return nil, nil
	}
	if !state.PassStarted.IsZero() && state.Generation > 0 {
		sp := &sharedPass{claims: c, shard: o.Shard, base: sharedBase(p, o.Shard, state.Generation),
			generation: state.Generation, tried: map[int]bool{}}
		data, err := c.Read(ctx, sp.base)
		if err != nil {
			return nil, err
		}
		var plan passPlan
		if err := json.Unmarshal(data, &plan); err != nil {
			return nil, fmt.Errorf("the split of %s: %w: %v", sp.base, checkpoint.ErrCorrupt, err)
		}
		sp.bounds = plan.Bounds
		sp.hold(state.Ranges)
		return sp, nil
	}
	return joinPass(ctx, c, p, o.Shard, state.Generation, func(prev []string) ([]string, error) {
		if len(prev) > 0 {
			return prev, nil // the last pass's split, which found keys where they were
		}
		n := o.Shard.Count * o.Ranges
		first, last, page, ok, err := bucketEnds(ctx, e.Src, p.Source)
		if err != nil {
			return nil, err
		}
		if !ok {
			return boundsAmong(page, n), nil // a small bucket: split among its keys, seen whole
		}
		return splitBounds(first, last, n), nil
	})
}

// claimsWork asks the store once per engine whether records are created only once.
func (e *Engine) claimsWork(ctx context.Context, c checkpoint.Claims) error {
	e.claimsOnce.Do(func() { e.claimsErr = c.CreateWorks(ctx) })
	return e.claimsErr
}
