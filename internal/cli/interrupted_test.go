package cli

import (
	"strings"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
)

// What an interrupted run says it left: exact for buckets whose size a listing found,
// and naming the ones it could not count.
func TestInterruptedSaysWhatIsLeft(t *testing.T) {
	pairs := []copy.Pair{{Source: "mobs", Dest: "r"}, {Source: "sourcemaps", Dest: "s"}}
	left := newLeftTally(pairs)
	left.ListingDone("mobs", 100, 1<<30)
	results := []copy.Result{{Pair: pairs[0], Copied: 30, Skipped: 5, Conflicts: []string{"k"}, Interrupted: true}}
	if got := left.interrupted(results); !strings.HasPrefix(got, "interrupted: 64 objects not copied yet, and an unknown number in sourcemaps (not listed to the end); ") {
		t.Fatalf("got %q", got)
	}
	left.ListingDone("sourcemaps", 10, 1<<20)
	if got := left.interrupted(results); !strings.HasPrefix(got, "interrupted: 74 objects not copied yet; ") || !strings.Contains(got, "run the same command again") {
		t.Fatalf("got %q", got)
	}
}
