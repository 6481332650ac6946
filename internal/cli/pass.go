package cli

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
)

// runPass runs one copy or sync pass over every pair, with metrics, phase and run
// records, and periodic progress lines in the log (the progress bars' counterpart
// where there is no terminal).
func (p *parts) runPass(ctx context.Context, kind string, extra ...copy.Observer) ([]copy.Result, error) {
	obs := append(copy.Observers{p.metrics}, extra...)
	p.metrics.SetPhase(kind)
	defer p.metrics.SetPhase("idle")
	start := time.Now()
	eng := &copy.Engine{Src: p.src, Dst: p.dst, Checkpoints: p.state, Opt: copy.Options{
		Workers:  p.cfg.Workers,
		Shard:    p.shard,
		Grace:    p.cfg.GracePeriod,
		Retry:    p.retryPolicy(),
		Log:      p.log,
		Observer: obs,
	}}
	stop := p.logProgress(kind, 10*time.Second)
	stopCount := p.countAhead(ctx)
	results, err := eng.Run(ctx, p.pairs)
	stopCount()
	stop()
	ok := err == nil
	for _, r := range results {
		ok = ok && r.OK()
	}
	p.metrics.RunFinished(kind, start, ok)
	return results, err
}

// countAhead lists, beside the copy, the source buckets that never completed a pass, so
// progress and ETA know the total from the start: the copy's own listing runs only a
// queue's length ahead of the workers. Buckets that completed a pass before are expected
// to hold what that pass listed, at no cost.
func (p *parts) countAhead(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, pr := range p.pairs {
		after := ""
		if st, err := p.state.Load(ctx, copy.CheckpointName(pr, p.shard)); err == nil {
			if !st.LastComplete.IsZero() {
				continue
			}
			after = st.Watermark
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n, bytes int64
			for o, err := range p.src.List(ctx, pr.Source, after) {
				if err != nil {
					return // the copy's own listing reports it
				}
				if p.shard.Owns(o.Key) {
					n++
					bytes += o.Size
				}
			}
			p.metrics.Expect(pr.Source, n, bytes)
		}()
	}
	return func() { cancel(); wg.Wait() }
}

// logProgress logs each running bucket's progress every interval until stopped.
func (p *parts) logProgress(kind string, every time.Duration) (stop func()) {
	if p.quietProgress {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, b := range p.metrics.Snapshot().Buckets {
					if !b.Running {
						continue
					}
					f := []zap.Field{zap.String("kind", kind), zap.String("bucket", b.Bucket),
						zap.Int64("objectsDone", b.ObjectsDone), zap.Int64("objectsKnown", b.ObjectsKnown),
						zap.Int64("bytesDone", b.BytesDone), zap.Int64("bytesKnown", b.BytesKnown),
						zap.Int64("failed", b.Failed), zap.Float64("bytesPerSecond", b.BytesPerSecond)}
					if b.ETASeconds != nil {
						f = append(f, zap.Float64("etaSeconds", *b.ETASeconds))
					}
					p.log.Info("progress", f...)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
