// Package verify proves that destination buckets hold what the source buckets hold.
package verify

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Problem kinds.
const (
	Missing   = "missing"   // in the source, not in the destination
	Different = "different" // both have the key with other content
	Extra     = "extra"     // only in the destination
	// TagsDropped: the same object, without its tags, in a destination that keeps
	// none (found by Deep). Not a difference: the copy said the tags could not be kept.
	TagsDropped = "tags-dropped"
)

// Difference is one key that is not the same on both sides.
type Difference struct {
	Bucket string // source bucket
	Kind   string
	Key    string
	Detail string
}

// Report is the outcome of verifying one pair.
type Report struct {
	copy.Pair
	Objects     int64 // source objects compared
	Bytes       int64
	ReadChecked int64 // objects proven by reading both bodies, not by ETag
	Differences []Difference
	TagsDropped []Difference // objects the destination holds without their tags (Deep only)
}

// Verifier compares pairs by their listings: equal size and ETag prove an object. Where
// the migrator recorded that the destination ETag differs by nature (ETag map), both
// bodies are read and hashed instead.
type Verifier struct {
	Src, Dst    store.Store
	Checkpoints checkpoint.Store
	Shard       copy.Shard
	// Deep also compares every object's headers, user metadata and tags, with a HEAD
	// (and a tagging request where there are tags) on each side; Workers of them at once.
	Deep    bool
	Workers int
}

// Pair verifies one bucket pair; onDiff (optional) hears of each difference as found.
func (v *Verifier) Pair(ctx context.Context, p copy.Pair, onDiff func(Difference)) (Report, error) {
	rep := Report{Pair: p}
	tags, err := v.Checkpoints.OpenETagMap(ctx, copy.CheckpointName(p, v.Shard))
	if err != nil {
		return rep, err
	}
	defer tags.Close()
	// A destination object the operator chose to keep (`migrator resolve --keep
	// destination`) stands for the source's by that choice, as it does for the copy.
	resolved, err := v.Checkpoints.LoadResolutions(ctx, copy.CheckpointName(p, copy.Shard{}))
	if err != nil {
		return rep, err
	}
	// The join and the deep checks (on their own goroutines) both report differences.
	var mu sync.Mutex
	add := func(d Difference) {
		mu.Lock()
		defer mu.Unlock()
		d.Bucket = p.Source
		if d.Kind == TagsDropped {
			rep.TagsDropped = append(rep.TagsDropped, d)
		} else {
			rep.Differences = append(rep.Differences, d)
		}
		if onDiff != nil {
			onDiff(d)
		}
	}
	var readErr error
	deep := v.deepChecker(ctx, p, add)
	same := func(s, d store.Object) bool {
		if copy.SameByListing(s, d) || resolved.Accepts(s.Key, s, d) {
			return true
		}
		if s.Size != d.Size || !tags.Same(s.Key, s.ETag, d.ETag) {
			return false
		}
		ok, err := v.sameBodies(ctx, p, s.Key)
		if err != nil {
			readErr = err
		}
		rep.ReadChecked++
		return ok
	}
	owned := func(seq func(func(store.Object, error) bool)) func(func(store.Object, error) bool) {
		return func(yield func(store.Object, error) bool) {
			for o, err := range seq {
				if err != nil || v.Shard.Owns(o.Key) {
					if !yield(o, err) {
						return
					}
				}
			}
		}
	}
	err = copy.Join(owned(v.Src.List(ctx, p.Source, "")), owned(v.Dst.List(ctx, p.Dest, "")), same,
		func(a copy.Action) error {
			rep.Objects++
			rep.Bytes += a.Src.Size
			switch {
			case readErr != nil:
				return readErr
			case !a.HasDst:
				add(Difference{Kind: Missing, Key: a.Src.Key, Detail: fmt.Sprintf("%d bytes", a.Src.Size)})
			case a.Kind != copy.ActSkip:
				add(Difference{Kind: Different, Key: a.Src.Key, Detail: fmt.Sprintf(
					"source %d bytes ETag %s, destination %d bytes ETag %s", a.Src.Size, a.Src.ETag, a.Dst.Size, a.Dst.ETag)})
			case resolved.Accepts(a.Src.Key, a.Src, a.Dst):
				// Kept by choice: its headers are the destination's own.
			default:
				deep.check(a.Src.Key)
			}
			return nil
		},
		func(d store.Object) error {
			if strings.HasPrefix(d.Key, store.ProbePrefix) {
				return nil // preflight's own probe, which a key without DeleteObject cannot remove
			}
			add(Difference{Kind: Extra, Key: d.Key, Detail: fmt.Sprintf("%d bytes", d.Size)})
			return nil
		})
	if derr := deep.wait(); err == nil {
		err = derr
	}
	return rep, err
}

// sameBodies reads both objects and compares their bytes.
func (v *Verifier) sameBodies(ctx context.Context, p copy.Pair, key string) (bool, error) {
	return copy.SameBodies(ctx, v.Src, p.Source, v.Dst, p.Dest, key)
}
