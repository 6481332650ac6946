package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// progressBars draws one line per bucket on a terminal. A bucket's size is known only
// once a listing of it has reached the end (the count ahead of the copy, or the copy's
// own listing): until then its line says "listing..." and shows what is done, never a
// percentage of a total that is still growing. The rate shown is bytes actually
// copied over the pass's wall time, so a sync that only skips shows none.
type progressBars struct {
	out   io.Writer
	now   func() time.Time
	every time.Duration
	// columns is the terminal's width (0: unknown): a longer line would wrap, and the
	// redraw, which moves up one row per bar, would leave pieces of it behind.
	columns func() int

	mu    sync.Mutex
	order []string
	bars  map[string]*bucketBar
	drawn int // bar lines on screen below the cursor's last log line

	stop chan struct{}
	wg   sync.WaitGroup
}

type bucketBar struct {
	name    string
	started time.Time // zero while the bucket waits its turn
	ended   time.Time
	// size is what a finished listing found; sizeKnown says one has.
	size      int64
	sizeKnown bool
	done      int64 // bytes of objects handled: copied, skipped, conflicts, failed
	copied    int64 // bytes written to the destination
	complete  bool
	samples   []sample // done over time, for the ETA
}

type sample struct {
	at   time.Time
	done int64
}

// etaWindow is how far back the ETA's rate looks: long enough to smooth the swings
// between large and small objects, short enough to follow a slowdown.
const etaWindow = 30 * time.Second

func newProgressBars(w io.Writer, pairs []copy.Pair) *progressBars {
	pb := &progressBars{out: w, now: time.Now, every: 200 * time.Millisecond, bars: map[string]*bucketBar{},
		columns: func() int { return 0 }}
	if f, ok := w.(*os.File); ok {
		pb.columns = func() int {
			cols, _, err := term.GetSize(int(f.Fd()))
			if err != nil {
				return 0
			}
			return cols
		}
	}
	for _, pr := range pairs {
		pb.order = append(pb.order, pr.Source)
		pb.bars[pr.Source] = &bucketBar{name: pr.Source}
	}
	return pb
}

// start redraws the bars until wait.
func (pb *progressBars) start() {
	pb.stop = make(chan struct{})
	pb.wg.Add(1)
	go func() {
		defer pb.wg.Done()
		t := time.NewTicker(pb.every)
		defer t.Stop()
		for {
			select {
			case <-pb.stop:
				return
			case <-t.C:
				pb.draw()
			}
		}
	}()
}

// wait stops the redrawing and leaves the final state on screen.
func (pb *progressBars) wait() {
	if pb.stop != nil {
		close(pb.stop)
		pb.wg.Wait()
		pb.stop = nil
	}
	pb.draw()
}

// writer is where log lines go while bars are drawn: each line is printed above them.
func (pb *progressBars) writer() io.Writer { return logAboveBars{pb} }

type logAboveBars struct{ pb *progressBars }

func (l logAboveBars) Write(p []byte) (int, error) {
	pb := l.pb
	pb.mu.Lock()
	defer pb.mu.Unlock()
	pb.erase()
	n, err := pb.out.Write(p)
	pb.render()
	return n, err
}

func (pb *progressBars) draw() {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	pb.erase()
	pb.render()
}

// erase moves the cursor up over the bars and clears to the end of the screen.
func (pb *progressBars) erase() {
	if pb.drawn > 0 {
		fmt.Fprintf(pb.out, "\x1b[%dA\x1b[J", pb.drawn)
		pb.drawn = 0
	}
}

func (pb *progressBars) render() {
	now := pb.now()
	var b strings.Builder
	width := 0
	for _, name := range pb.order {
		width = max(width, len(name))
	}
	cols := pb.columns()
	for _, name := range pb.order {
		bar := pb.bars[name]
		bar.sample(now)
		l := fmt.Sprintf("%-*s  %s", width, name, bar.line(now))
		if cols > 1 && len(l) >= cols {
			l = l[:cols-1] // the line is ASCII but for bucket names, which S3 keeps ASCII
		}
		b.WriteString(l + "\n")
	}
	io.WriteString(pb.out, b.String())
	pb.drawn = len(pb.order)
}

// line is a bucket's state in words and numbers.
func (b *bucketBar) line(now time.Time) string {
	switch {
	case b.started.IsZero():
		return "waiting"
	case !b.ended.IsZero() && !b.complete && !b.sizeKnown:
		return fmt.Sprintf("stopped before the listing ended  %s done%s", human(b.done), b.rate(now))
	case !b.sizeKnown:
		return fmt.Sprintf("listing...  %s done%s", human(b.done), b.rate(now))
	}
	pct := 100.0
	if b.size > 0 {
		pct = min(100*float64(b.done)/float64(b.size), 100)
	}
	if b.complete && b.done >= b.size {
		pct = 100
	}
	s := fmt.Sprintf("%s %3.0f%%  %s / %s", gauge(pct, 30), pct, human(b.done), human(b.size))
	switch {
	case b.ended.IsZero():
		s += "  ETA " + b.eta(now)
	case !b.complete:
		s += "  not all in place (see the summary)"
	}
	return s + b.rate(now)
}

// rate is "  at N MiB/s" of bytes copied over the pass's wall time, or nothing when
// nothing was copied: skipped objects are not transferred, so they make no rate.
func (b *bucketBar) rate(now time.Time) string {
	end := now
	if !b.ended.IsZero() {
		end = b.ended
	}
	secs := end.Sub(b.started).Seconds()
	if b.copied == 0 || secs <= 0 {
		return ""
	}
	return fmt.Sprintf("  copied at %s/s", human(int64(float64(b.copied)/secs)))
}

// eta is the time left at the rate the bar moved over the last etaWindow, or "?" until
// that rate can be told.
func (b *bucketBar) eta(now time.Time) string {
	left := b.size - b.done
	if left <= 0 {
		return "0s"
	}
	if len(b.samples) == 0 {
		return "?"
	}
	base := b.samples[0]
	dt := now.Sub(base.at).Seconds()
	moved := b.done - base.done
	if dt < 1 || moved <= 0 {
		return "?"
	}
	secs := float64(left) / (float64(moved) / dt)
	return time.Duration(secs * float64(time.Second)).Round(time.Second).String()
}

// sample remembers done at now, keeping one sample at or before the window's start.
func (b *bucketBar) sample(now time.Time) {
	if b.started.IsZero() || !b.ended.IsZero() {
		return
	}
	b.samples = append(b.samples, sample{now, b.done})
	cut := now.Add(-etaWindow)
	i := 0
	for i+1 < len(b.samples) && !b.samples[i+1].at.After(cut) {
		i++
	}
	b.samples = b.samples[i:]
}

func gauge(pct float64, width int) string {
	n := int(pct / 100 * float64(width))
	return "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "]"
}

func (pb *progressBars) with(bucket string, f func(b *bucketBar)) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if b := pb.bars[bucket]; b != nil {
		f(b)
	}
}

// ListingDone tells the size of the pass over bucket: what a listing from the pass's
// starting point found, to its end.
func (pb *progressBars) ListingDone(bucket string, _, bytes int64) {
	pb.with(bucket, func(b *bucketBar) { b.size, b.sizeKnown = bytes, true })
}

func (pb *progressBars) PassStarted(bucket, _ string) {
	pb.with(bucket, func(b *bucketBar) {
		b.started = pb.now()
		b.samples = []sample{{b.started, 0}}
	})
}

func (pb *progressBars) Listed(string, store.Object) {}

// Finished moves the bar by the object's size whatever the outcome: skipped objects are
// done too, and failed ones are listed in the report.
func (pb *progressBars) Finished(bucket, _ string, out copy.Outcome, size int64, _ error) {
	pb.with(bucket, func(b *bucketBar) {
		b.done += size
		if out == copy.Copied {
			b.copied += size
		}
	})
}

func (pb *progressBars) InFlight(int)                   {}
func (pb *progressBars) Checkpointed(string, time.Time) {}

func (pb *progressBars) PassEnded(bucket string, complete bool) {
	pb.with(bucket, func(b *bucketBar) {
		b.ended, b.complete = pb.now(), complete
		if complete {
			// The pass saw every object: what it handled is the size.
			b.size, b.sizeKnown = max(b.size, b.done), true
		}
	})
}
