package metrics

import (
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

var (
	_ copy.Observer            = (*Metrics)(nil)
	_ copy.TagsDroppedObserver = (*Metrics)(nil)
)

var outcomes = []copy.Outcome{copy.Copied, copy.Skipped, copy.Failed, copy.Conflict}

// PassStarted resets bucket's per-pass numbers. The counters get their series at 0 now,
// so that increase() in an alert sees the very first failure or conflict.
func (m *Metrics) PassStarted(bucket, resumeAfter string) {
	for _, o := range outcomes {
		m.objects.WithLabelValues(bucket, string(o))
	}
	m.bytesCopied.WithLabelValues(bucket)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bucketFor(bucket).start(resumeAfter, m.now())
}

// Listed adds obj to what the pass covers. Its size is kept until its outcome is
// known, so that a skip (which writes 0 bytes) still advances the progress by it.
func (m *Metrics) Listed(bucket string, obj store.Object) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.bucketFor(bucket)
	b.listedObjects++
	b.listedBytes += obj.Size
	b.pending[obj.Key] = obj.Size
}

// Finished counts an outcome. The key goes into the per-pass state only (for the
// JSON status), never into a label.
func (m *Metrics) Finished(bucket, key string, outcome copy.Outcome, bytes int64, err error) {
	switch outcome {
	case copy.Copied, copy.Skipped, copy.Failed, copy.Conflict:
	default:
		return // an outcome this package does not know would be an unbounded label value
	}
	m.objects.WithLabelValues(bucket, string(outcome)).Inc()
	if outcome == copy.Copied && bytes > 0 {
		m.bytesCopied.WithLabelValues(bucket).Add(float64(bytes))
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.bucketFor(bucket)
	size, listed := b.pending[key]
	delete(b.pending, key)
	if f, ok := b.failed[key]; ok && !listed {
		size, listed = f.size, f.known
	}
	switch outcome {
	case copy.Failed:
		msg := "unknown error"
		if err != nil {
			msg = truncate(err.Error(), maxErrorLen)
		}
		b.failed[key] = failure{size: size, known: listed, err: msg}
		return
	case copy.Copied:
		b.copied++
		b.copiedBytes += bytes
	case copy.Skipped:
		b.skipped++
	case copy.Conflict:
		// A conflict is left alone on purpose: nothing more is to be done about it in
		// this pass, so it counts as done for the progress (pass_complete stays 0).
		b.conflicts++
	}
	delete(b.failed, key)
	// Keys not listed in this pass (failures of an earlier run retried at its end) are
	// not in the pass's size either, so they do not move the progress.
	if listed {
		b.doneObjects++
		b.doneBytes += size
		b.note(m.now())
	}
}

// InFlight moves the in-flight gauge.
func (m *Metrics) InFlight(delta int) {
	m.inflight.Add(float64(delta))
	m.mu.Lock()
	m.inflightN += int64(delta)
	m.mu.Unlock()
}

// Checkpointed records when bucket's checkpoint was written.
func (m *Metrics) Checkpointed(bucket string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bucketFor(bucket).checkpoint = at
}

// PassEnded closes bucket's pass; a complete one shows a progress of 1.
func (m *Metrics) PassEnded(bucket string, complete bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bucketFor(bucket).end(complete)
}

// Expect announces how many objects and bytes the next pass over bucket (or the one
// running) will list, e.g. from a `plan` count; for a resumed pass, those after its
// watermark. The progress and ETA use it while the listing, which runs only a queue's
// length ahead of the copy, has not reached the end. Without it, a pass from the
// beginning expects what the previous full pass listed.
func (m *Metrics) Expect(bucket string, objects, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.bucketFor(bucket)
	b.expectObjects, b.expectBytes = objects, bytes
	b.explicit = !b.running
}

// TagsDropped counts an object copied without its tags (the destination keeps none).
func (m *Metrics) TagsDropped(bucket, key string) {
	m.tagsDropped.WithLabelValues(bucket).Inc()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bucketFor(bucket).tagsDropped++
}
