package metrics

import (
	"maps"
	"slices"
	"time"
)

// maxFailedKeys bounds the failed keys a Snapshot lists per bucket; the count of all of
// them is in Failed, and the checkpoint holds every one.
const maxFailedKeys = 20

// Snapshot is the process's state for a JSON status endpoint. Unlike the metrics it
// names keys: the first failed ones of each bucket.
type Snapshot struct {
	Phase    string `json:"phase"`
	InFlight int64  `json:"inFlight"`
	// ConcurrencyLimit is how many objects may be in flight now (0 before a pass set it).
	ConcurrencyLimit int64          `json:"concurrencyLimit"`
	Buckets          []BucketStatus `json:"buckets"` // by name
	Runs             []RunStatus    `json:"runs"`    // by kind
	// Notifications: serve's stream of the source's bucket notifications; nil elsewhere.
	Notifications *NotificationStatus `json:"notifications,omitempty"`
}

// BucketStatus is one source bucket's current pass, or its last one when none runs.
type BucketStatus struct {
	Bucket      string    `json:"bucket"`
	Running     bool      `json:"running"`
	Complete    bool      `json:"complete"` // the last pass ended with every object in place
	Resumed     bool      `json:"resumed"`  // the pass began after a checkpoint's watermark
	PassStarted time.Time `json:"passStarted,omitzero"`

	ObjectsListed int64 `json:"objectsListed"` // what the listing yielded so far
	BytesListed   int64 `json:"bytesListed"`
	ObjectsKnown  int64 `json:"objectsKnown"` // listed, or expected while the listing runs if more
	BytesKnown    int64 `json:"bytesKnown"`
	ObjectsDone   int64 `json:"objectsDone"` // copied, skipped or left as conflicts
	BytesDone     int64 `json:"bytesDone"`

	Copied      int64 `json:"copied"`
	BytesCopied int64 `json:"bytesCopied"`
	Skipped     int64 `json:"skipped"`
	Failed      int64 `json:"failed"` // keys failed and not succeeded since
	Conflicts   int64 `json:"conflicts"`
	// TagsDropped: objects copied without their tags, the destination bucket keeping none.
	TagsDropped int64 `json:"tagsDropped"`

	Progress       float64  `json:"progress"`             // BytesDone / BytesKnown, 1 when complete
	ETASeconds     *float64 `json:"etaSeconds,omitempty"` // nil while unknown
	BytesPerSecond float64  `json:"bytesPerSecond"`       // bytes done per second, last few minutes

	LastCheckpoint time.Time   `json:"lastCheckpoint,omitzero"`
	FailedKeys     []FailedKey `json:"failedKeys,omitempty"` // the first few, in key order
}

// FailedKey is a key that failed after retries, with its last error.
type FailedKey struct {
	Key   string `json:"key"`
	Error string `json:"error"`
}

// RunStatus is the last finished run of one kind.
type RunStatus struct {
	Kind                string    `json:"kind"`
	LastFinished        time.Time `json:"lastFinished"`
	LastOK              bool      `json:"lastOk"`
	LastDurationSeconds float64   `json:"lastDurationSeconds"`
	LastSuccess         time.Time `json:"lastSuccess,omitzero"`
}

// Snapshot returns the numbers behind the metrics, per bucket, at this instant.
func (m *Metrics) Snapshot() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	s := Snapshot{Phase: m.phaseName, InFlight: m.inflightN, ConcurrencyLimit: m.limitN, Buckets: []BucketStatus{}, Runs: []RunStatus{}}
	for _, name := range slices.Sorted(maps.Keys(m.buckets)) {
		s.Buckets = append(s.Buckets, m.buckets[name].status(now))
	}
	for _, kind := range slices.Sorted(maps.Keys(m.lastRuns)) {
		s.Runs = append(s.Runs, *m.lastRuns[kind])
	}
	s.Notifications = m.notifyStatus()
	return s
}

func (b *bucket) status(now time.Time) BucketStatus {
	st := BucketStatus{
		Bucket: b.name, Running: b.running, Complete: b.complete, Resumed: b.resumed, PassStarted: b.started,
		ObjectsListed: b.listedObjects, BytesListed: b.listedBytes,
		ObjectsKnown: b.sizeObjects(), BytesKnown: b.size(),
		ObjectsDone: b.doneObjects, BytesDone: b.doneBytes,
		Copied: b.copied, BytesCopied: b.copiedBytes, Skipped: b.skipped,
		Failed: int64(len(b.failed)), Conflicts: b.conflicts, TagsDropped: b.tagsDropped,
		Progress: b.progress(), BytesPerSecond: b.rate(now), LastCheckpoint: b.checkpoint,
	}
	if eta, ok := b.eta(now); ok {
		st.ETASeconds = &eta
	}
	if len(b.failed) > 0 {
		keys := slices.Sorted(maps.Keys(b.failed))
		for _, k := range keys[:min(len(keys), maxFailedKeys)] {
			st.FailedKeys = append(st.FailedKeys, FailedKey{Key: k, Error: b.failed[k].err})
		}
	}
	return st
}

// SetConcurrencyLimit records the objects allowed in flight, for the status page.
func (m *Metrics) SetConcurrencyLimit(n int) {
	m.mu.Lock()
	m.limitN = int64(n)
	m.mu.Unlock()
}
