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
		// Progress and ETA know each new bucket's size from the start.
		CountAhead: true,
		Workers:    p.cfg.Workers,
		Gate:       p.limits.engineGate(),
		Shard:      p.shard,
		Ranges:     p.cfg.Listing.Ranges,
		Grace:      p.cfg.GracePeriod,
		Retry:      p.retryPolicy(),
		Log:        p.log,
		Observer:   obs,
	}}
	stop := p.logProgress(kind, 10*time.Second)
	stopJudging := p.limits.run(ctx)
	results, err := eng.Run(ctx, p.pairs)
	stopJudging()
	stop()
	ok := err == nil
	for _, r := range results {
		ok = ok && r.OK()
	}
	p.metrics.RunFinished(kind, start, ok)
	return results, err
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
