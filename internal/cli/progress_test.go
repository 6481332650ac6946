package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
)

// The bars as an operator reads them, frame by frame, on a fake terminal: the buffer
// receives exactly what a terminal would, and each frame is what follows the last
// "erase to the end of the screen".
type fakeTerminal struct {
	bytes.Buffer
	now time.Time
}

func (f *fakeTerminal) frame(t *testing.T, pb *progressBars) map[string]string {
	t.Helper()
	pb.draw()
	last := f.String()
	if i := strings.LastIndex(last, "\x1b[J"); i >= 0 {
		last = last[i+len("\x1b[J"):]
	}
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimRight(last, "\n"), "\n") {
		name, rest, _ := strings.Cut(l, " ")
		lines[name] = strings.TrimSpace(rest)
	}
	return lines
}

func newFakeBars(pairs ...string) (*progressBars, *fakeTerminal) {
	term := &fakeTerminal{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	var ps []copy.Pair
	for _, p := range pairs {
		ps = append(ps, copy.Pair{Source: p, Dest: "openreplay-" + p})
	}
	pb := newProgressBars(term, ps)
	pb.now = func() time.Time { return term.now }
	return pb, term
}

var (
	etaValue = regexp.MustCompile(`ETA (\d+m)?\d+s`)
	aRate    = regexp.MustCompile(`/s\b`)
)

func TestProgressSaysListingUntilTheSizeIsKnownThenShowsPercentAndETA(t *testing.T) {
	pb, term := newFakeBars("mobs", "sourcemaps")
	pb.PassStarted("mobs", "")
	for range 4 {
		term.now = term.now.Add(time.Second)
		pb.Finished("mobs", "k", copy.Copied, 1<<20, nil)
		f := term.frame(t, pb)
		if !strings.Contains(f["mobs"], "listing...") || strings.Contains(f["mobs"], "%") {
			t.Fatalf("before the listing ended the bar reads %q; want \"listing...\" and no percentage", f["mobs"])
		}
		if f["sourcemaps"] != "waiting" {
			t.Fatalf("a bucket whose turn has not come reads %q, want waiting", f["sourcemaps"])
		}
	}
	// The listing ends: 10 MiB in all, 4 done at 1 MiB/s, so 6 s to go.
	pb.ListingDone("mobs", 10, 10<<20)
	f := term.frame(t, pb)
	if !strings.Contains(f["mobs"], " 40%") || !strings.Contains(f["mobs"], "4.0 MiB / 10.0 MiB") {
		t.Fatalf("after the listing the bar reads %q; want 40%% of 10 MiB", f["mobs"])
	}
	if m := etaValue.FindString(f["mobs"]); m != "ETA 6s" {
		t.Fatalf("the bar reads %q; want ETA 6s", f["mobs"])
	}
	if !strings.Contains(f["mobs"], "copied at 1.0 MiB/s") {
		t.Fatalf("the bar reads %q; want the rate of bytes copied, 1.0 MiB/s", f["mobs"])
	}
	// Log lines go above the bars, which are drawn again below them.
	pb.writer().Write([]byte("a log line\n"))
	out := term.String()
	if i := strings.LastIndex(out, "a log line\n"); i < 0 || !strings.Contains(out[i:], "mobs ") {
		t.Fatalf("the bars were not drawn again below a log line:\n%q", out)
	}
}

func TestProgressShowsNoRateForASyncThatCopiedNothing(t *testing.T) {
	pb, term := newFakeBars("mobs")
	pb.PassStarted("mobs", "")
	for range 50 {
		pb.Finished("mobs", "k", copy.Skipped, 50<<20, nil)
	}
	pb.ListingDone("mobs", 50, 50*50<<20)
	term.now = term.now.Add(time.Second)
	pb.PassEnded("mobs", true)
	f := term.frame(t, pb)
	if !strings.Contains(f["mobs"], "100%") {
		t.Fatalf("a finished no-op sync reads %q; want 100%%", f["mobs"])
	}
	if aRate.MatchString(f["mobs"]) {
		t.Fatalf("a sync that copied nothing shows a rate: %q", f["mobs"])
	}
}

func TestProgressSaysStoppedWhenInterruptedBeforeTheListingEnded(t *testing.T) {
	pb, term := newFakeBars("mobs")
	pb.PassStarted("mobs", "")
	pb.Finished("mobs", "k", copy.Copied, 1<<20, nil)
	pb.PassEnded("mobs", false)
	if f := term.frame(t, pb); !strings.Contains(f["mobs"], "stopped") || strings.Contains(f["mobs"], "%") {
		t.Fatalf("an interrupted pass reads %q; want stopped, no percentage", f["mobs"])
	}
}

// A line longer than the terminal is cut, not wrapped: a wrapped line would break the
// redraw, which moves up one row per bucket.
func TestProgressLinesFitTheTerminal(t *testing.T) {
	pb, term := newFakeBars("sessions-mobile-assets")
	pb.columns = func() int { return 40 }
	pb.PassStarted("sessions-mobile-assets", "")
	pb.ListingDone("sessions-mobile-assets", 3, 3<<30)
	pb.Finished("sessions-mobile-assets", "k", copy.Copied, 1<<30, nil)
	term.now = term.now.Add(time.Minute)
	pb.draw()
	for _, l := range strings.Split(strings.TrimRight(term.String(), "\n"), "\n") {
		if len(l) >= 40 {
			t.Fatalf("a %d-character line on a 40-column terminal: %q", len(l), l)
		}
	}
}
