package cli

import (
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// progressBars draws one bar per bucket on a terminal: bytes done of bytes listed so far
// (the total grows while the listing runs ahead of the copy).
type progressBars struct {
	p    *mpb.Progress
	mu   sync.Mutex
	bars map[string]*bucketBar
}

type bucketBar struct {
	bar         *mpb.Bar
	known, done int64
}

func newProgressBars(w io.Writer, pairs []copy.Pair) *progressBars {
	pb := &progressBars{p: mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithWidth(40)),
		bars: map[string]*bucketBar{}}
	for _, pr := range pairs {
		b := &bucketBar{}
		b.bar = pb.p.New(0, mpb.BarStyle(),
			mpb.PrependDecorators(decor.Name(pr.Source, decor.WCSyncSpaceR), decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace)),
			mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace), decor.Name(" "), decor.AverageSpeed(decor.SizeB1024(0), "% .1f", decor.WCSyncSpace)),
		)
		pb.bars[pr.Source] = b
	}
	return pb
}

// writer is where log lines go while bars are drawn, so they print above the bars.
func (pb *progressBars) writer() io.Writer { return pb.p }

func (pb *progressBars) wait() {
	pb.mu.Lock()
	for _, b := range pb.bars {
		if !b.bar.Completed() {
			b.bar.SetTotal(b.known, true)
		}
	}
	pb.mu.Unlock()
	pb.p.Wait()
}

func (pb *progressBars) PassStarted(bucket, _ string) {}

func (pb *progressBars) Listed(bucket string, o store.Object) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if b := pb.bars[bucket]; b != nil {
		b.known += o.Size
		b.bar.SetTotal(b.known, false)
	}
}

// Finished moves the bar by the object's size whatever the outcome: skipped objects are
// done too, and failed ones are listed in the report.
func (pb *progressBars) Finished(bucket, _ string, _ copy.Outcome, size int64, _ error) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if b := pb.bars[bucket]; b != nil {
		b.done += size
		b.bar.SetCurrent(b.done)
	}
}

func (pb *progressBars) InFlight(int)                   {}
func (pb *progressBars) Checkpointed(string, time.Time) {}
func (pb *progressBars) PassEnded(bucket string, _ bool) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if b := pb.bars[bucket]; b != nil {
		b.bar.SetCurrent(b.known)
		b.bar.SetTotal(b.known, true)
	}
}
