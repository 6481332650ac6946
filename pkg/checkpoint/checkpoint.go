// Package checkpoint keeps how far each bucket pair's copy has got, so a restart resumes.
package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version is the layout of State; a file of another version is not trusted.
const Version = 1

// State is one bucket pair's progress.
type State struct {
	Version int    `json:"version"`
	Source  string `json:"source"`      // source bucket
	Dest    string `json:"destination"` // destination bucket
	Shard   string `json:"shard,omitempty"`
	// Generation is the pass, shared by every shard of N, that this shard's pass
	// belongs to (the one in progress, or the last one): shards that own key ranges
	// agree on each pass's ranges through records in the store (see Claims).
	Generation int64 `json:"generation,omitempty"`

	// Watermark is the largest key below which (inclusive) every object of the current
	// pass is done; a restart lists from there. Empty: the pass starts at the beginning.
	// With Ranges it is the watermark of the first range not done, which keeps a
	// checkpoint readable, and still correct, by a version that knows no ranges.
	Watermark string `json:"watermark"`
	// Ranges are the key ranges the current pass lists at once, each with its own
	// watermark. A checkpoint written before ranges existed has none: its pass resumes
	// as one range from Watermark (see Resume).
	Ranges []Range `json:"ranges,omitempty"`
	// Quantiles are keys that cut what the last complete pass listed into even shares
	// (key i at share (i+1)/(len+1)): the next pass splits its ranges there, without
	// probing the bucket.
	Quantiles []string `json:"quantiles,omitempty"`
	// LastListed is how many source objects the last complete pass listed: a bucket
	// that small is split into no more ranges than make sense.
	LastListed int64 `json:"lastListed,omitempty"`
	// PassStarted is when the pass in progress began; zero when none is in progress.
	PassStarted time.Time `json:"passStarted,omitzero"`
	// LastComplete is when a pass last finished with every object in place.
	LastComplete time.Time `json:"lastComplete,omitzero"`

	// Failed holds keys that failed after retries, with the last error; they are retried
	// at the end of a pass and by the next run.
	Failed map[string]string `json:"failed,omitempty"`
	// Uploads are multipart uploads started on the destination and not yet completed
	// or aborted, by key: recorded before the first part, so a restart after a crash
	// aborts them instead of leaving them billed.
	Uploads map[string]string `json:"uploads,omitempty"`

	Copied      int64 `json:"copied"`
	CopiedBytes int64 `json:"copiedBytes"`
	Skipped     int64 `json:"skipped"`
	Conflicts   int64 `json:"conflicts"`

	SavedAt time.Time `json:"savedAt,omitzero"`
}

// Range is the keys k with After < k <= Through of a pass ("" Through: to the end),
// and how far the pass has got in them.
type Range struct {
	// Index is the range's place in a pass shared by shards; 0 otherwise.
	Index   int    `json:"index,omitempty"`
	After   string `json:"after"`
	Through string `json:"through"`
	// Watermark is the largest key of the range below which (inclusive) every object
	// is done; "" when none is yet.
	Watermark string `json:"watermark,omitempty"`
	// Done: every object of the range is.
	Done bool `json:"done,omitempty"`
}

// ResumeRanges returns the ranges of the pass in progress: its own, or, for a checkpoint
// written before ranges existed, one range over the whole bucket from its Watermark.
func (s *State) ResumeRanges() []Range {
	if len(s.Ranges) > 0 || s.PassStarted.IsZero() {
		return s.Ranges
	}
	return []Range{{Watermark: s.Watermark}}
}

// FirstUndone is the watermark a reader that knows no ranges may resume from: every key
// at or below it is done.
func FirstUndone(ranges []Range) string {
	for _, r := range ranges {
		if !r.Done {
			return max(r.After, r.Watermark)
		}
	}
	if len(ranges) == 0 {
		return ""
	}
	last := ranges[len(ranges)-1]
	return max(last.After, last.Watermark)
}

// Store keeps States by name: Dir in a folder (a volume), S3 in a bucket (so a pod
// rescheduled without its volume resumes). Implementations make Save atomic: a crash
// during Save leaves the previous State readable.
type Store interface {
	// Load returns the State saved under name, or a zero State when there is none.
	// A State that cannot be decoded is ErrCorrupt, with the reason.
	Load(ctx context.Context, name string) (*State, error)
	Save(ctx context.Context, name string, s *State) error
	// OpenETagMap loads the ETag map kept beside the State named name.
	OpenETagMap(ctx context.Context, name string) (*ETagMap, error)
	// LoadResolutions returns the resolved conflicts of the pair named name (a pair's
	// checkpoint name without a shard), empty when there are none; unreadable ones are
	// ErrCorrupt. SaveResolutions replaces them atomically.
	LoadResolutions(ctx context.Context, name string) (*Resolutions, error)
	SaveResolutions(ctx context.Context, name string, r *Resolutions) error
	// Writable checks that States can be saved, and says where they go when not.
	Writable(ctx context.Context) error
	// String says where the States are kept, for messages.
	String() string
}

// ErrCorrupt says a saved State could not be read back.
var ErrCorrupt = errors.New("checkpoint is unreadable")

// Decode parses a saved State.
func Decode(data []byte) (*State, error) {
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if s.Version != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrCorrupt, s.Version, Version)
	}
	return &s, nil
}

// Encode is the inverse of Decode.
func Encode(s *State) ([]byte, error) {
	c := *s
	c.Version = Version
	return json.MarshalIndent(&c, "", "  ")
}
