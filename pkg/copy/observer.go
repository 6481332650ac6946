package copy

import (
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Outcome is what happened to one source object.
type Outcome string

const (
	Copied   Outcome = "copied"
	Skipped  Outcome = "skipped"
	Failed   Outcome = "failed"
	Conflict Outcome = "conflict"
)

// Observer hears of the engine's progress: metrics, the progress bars and logs implement
// it. Calls come from many goroutines; bucket is the source bucket's name.
type Observer interface {
	// PassStarted: a pass over bucket begins at resumeAfter ("" for the beginning).
	PassStarted(bucket, resumeAfter string)
	// Listed: the source listing reached obj (every object of the pass, once).
	Listed(bucket string, obj store.Object)
	// Finished: the object's handling ended with outcome. bytes is the object's size
	// whatever the outcome (written for copied; already there for skipped).
	Finished(bucket, key string, outcome Outcome, bytes int64, err error)
	// InFlight: objects being copied right now went up or down by delta.
	InFlight(delta int)
	// Checkpointed: bucket's checkpoint was written.
	Checkpointed(bucket string, at time.Time)
	// PassEnded: the pass over bucket ended; complete when every object is in place.
	PassEnded(bucket string, complete bool)
}

// Observers fans every call out to each of its members.
type Observers []Observer

func (o Observers) PassStarted(b, after string) {
	for _, x := range o {
		x.PassStarted(b, after)
	}
}
func (o Observers) Listed(b string, obj store.Object) {
	for _, x := range o {
		x.Listed(b, obj)
	}
}
func (o Observers) Finished(b, k string, out Outcome, n int64, err error) {
	for _, x := range o {
		x.Finished(b, k, out, n, err)
	}
}
func (o Observers) InFlight(d int) {
	for _, x := range o {
		x.InFlight(d)
	}
}
func (o Observers) Checkpointed(b string, t time.Time) {
	for _, x := range o {
		x.Checkpointed(b, t)
	}
}
func (o Observers) PassEnded(b string, complete bool) {
	for _, x := range o {
		x.PassEnded(b, complete)
	}
}

// ListingObserver is an Observer that also hears the size of a pass as soon as its
// listing has found it: the objects and bytes listed from where the pass started.
type ListingObserver interface {
	ListingDone(bucket string, objects, bytes int64)
}

func (o Observers) ListingDone(b string, objects, bytes int64) {
	for _, x := range o {
		if l, ok := x.(ListingObserver); ok {
			l.ListingDone(b, objects, bytes)
		}
	}
}
