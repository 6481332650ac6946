package checkpoint

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Resolutions are the conflicts an operator resolved (`migrator resolve`) for one
// bucket pair, by key. Each accepts one destination object as standing for one source
// object, named by their ETags and sizes: while both stay as they were, a pass takes
// the pair for the same object and no longer reports a conflict. A new write on either
// side is a new object the operator has not seen, and is judged afresh.
//
// They are kept once per bucket pair, beside its checkpoints and not in them: shards
// share them, and `resolve` can write them while a `serve` holds the checkpoints.
type Resolutions struct {
	Version int                   `json:"version"`
	Keys    map[string]Resolution `json:"keys"`
}

// Resolution is one resolved conflict.
type Resolution struct {
	Kept       string    `json:"kept"` // "source" (copied over) or "destination"
	SourceETag string    `json:"sourceETag"`
	SourceSize int64     `json:"sourceSize"`
	DestETag   string    `json:"destinationETag"`
	DestSize   int64     `json:"destinationSize"`
	At         time.Time `json:"at"`
}

// Accepts tells whether dst was accepted as standing for src under key.
func (r *Resolutions) Accepts(key string, src, dst store.Object) bool {
	if r == nil {
		return false
	}
	x, ok := r.Keys[key]
	return ok && x.SourceETag == src.ETag && x.SourceSize == src.Size && x.DestETag == dst.ETag && x.DestSize == dst.Size
}

// Accept records that dst stands for src under key, replacing an earlier record.
func (r *Resolutions) Accept(key, kept string, src, dst store.Object, at time.Time) {
	if r.Keys == nil {
		r.Keys = map[string]Resolution{}
	}
	r.Keys[key] = Resolution{Kept: kept, SourceETag: src.ETag, SourceSize: src.Size,
		DestETag: dst.ETag, DestSize: dst.Size, At: at.UTC()}
}

// resolutionsName is the stored name of a pair's resolutions, in a folder of their own
// beside the checkpoints: a checkpoint's name never holds a slash, so none can collide.
func resolutionsName(name string) string { return "resolved/" + safeName(name) + ".json" }

func decodeResolutions(data []byte) (*Resolutions, error) {
	var r Resolutions
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if r.Version != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrCorrupt, r.Version, Version)
	}
	return &r, nil
}

func encodeResolutions(r *Resolutions) ([]byte, error) {
	c := *r
	c.Version = Version
	return json.MarshalIndent(&c, "", "  ")
}
