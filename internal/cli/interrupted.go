package cli

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
)

// ExitInterrupted: a copy or sync stopped by SIGTERM or Ctrl-C before its end. The
// checkpoint is written and the same command resumes; the status is not 0 so that a
// script (`migrator copy && migrator cutover`) or a Kubernetes Job does not take a
// partial copy for a finished one: the copy Job's pod is then run again (and a pod
// evicted by a drain is ignored by its podFailurePolicy), where exit 0 ended the Job.
const ExitInterrupted = 3

// interrupted tells whether a pass was stopped by ctx before every pair's end: a pair
// interrupted, or pairs never started.
func interrupted(ctx context.Context, results []copy.Result, pairs int) bool {
	for _, r := range results {
		if r.Interrupted {
			return true
		}
	}
	return ctx.Err() != nil && len(results) < pairs
}

// leftTally learns each bucket's size in objects from the listings, to say how many
// objects an interrupted run left for the next one.
type leftTally struct {
	copy.Observers // no-ops: only ListingDone matters
	order          []string
	mu             sync.Mutex
	known          map[string]int64
}

func newLeftTally(pairs []copy.Pair) *leftTally {
	t := &leftTally{known: map[string]int64{}}
	for _, p := range pairs {
		t.order = append(t.order, p.Source)
	}
	return t
}

func (t *leftTally) ListingDone(bucket string, objects, _ int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.known[bucket] = objects
}

// interrupted is the line an interrupted run ends its summary with.
func (t *leftTally) interrupted(results []copy.Result) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	done := map[string]int64{}
	for _, r := range results {
		done[r.Source] = r.Copied + r.Skipped + int64(len(r.Conflicts))
	}
	var left int64
	var unlisted []string
	for _, b := range t.order {
		n, ok := t.known[b]
		if !ok {
			unlisted = append(unlisted, b)
			continue
		}
		left += max(n-done[b], 0)
	}
	msg := fmt.Sprintf("interrupted: %d objects not copied yet", left)
	if len(unlisted) > 0 {
		msg += fmt.Sprintf(", and an unknown number in %s (not listed to the end)", strings.Join(unlisted, ", "))
	}
	return msg + "; the checkpoint is written: run the same command again to resume"
}
