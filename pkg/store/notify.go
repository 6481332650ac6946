package store

import (
	"context"
	"errors"
	"iter"
	"time"
)

// Event is one change a store announced in a bucket.
type Event struct {
	Bucket  string
	Key     string
	Deleted bool      // the object was removed; else created or overwritten
	Time    time.Time // when the store says the change happened
}

// ErrNoNotifications: the store has not shown that it announces changes (only MinIO
// does, and only a server that has said it is MinIO is asked).
var ErrNoNotifications = errors.New("the store does not announce changes (bucket notifications are MinIO's)")

// Notifier is a store that can announce the changes to a bucket as they happen: MinIO's
// bucket notifications. It is optional: a copy never needs it, and the stores that
// cannot are found with errors.Is(err, ErrNoNotifications).
type Notifier interface {
	// Notifications streams bucket's changes until ctx ends or the stream breaks. The
	// first value (before any event) is a zero Event with a nil error once the store
	// has accepted the subscription; a broken stream ends the sequence with its error,
	// ctx's end with none. Events that happen while no stream is open are lost.
	Notifications(ctx context.Context, bucket string) iter.Seq2[Event, error]
}
