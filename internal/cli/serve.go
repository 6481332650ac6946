package cli

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// serveCmd is `migrator serve`: the long-running process the Helm chart deploys. It
// finishes the bulk copy if it has not completed, then syncs on the config's schedule,
// never two runs at once, and serves metrics and health the whole time.
type serveCmd struct {
	common common
}

func (c *serveCmd) Summary() string {
	return "run the bulk copy if needed, then sync on the schedule; serve /metrics, /healthz, /readyz"
}

func (c *serveCmd) Flags(fs *flag.FlagSet) {
	c.common.register(fs)
	c.common.registerShard(fs)
	c.common.writesState = true
	c.common.metricsAddr = ":9090"
	fs.Lookup("metrics-addr").DefValue = ":9090"
}

func (c *serveCmd) Run(ctx context.Context, env *Env) int {
	p, err := c.common.open(ctx, env)
	if err != nil {
		return fail(env.Stderr, "serve", err)
	}
	defer p.close()
	sched, err := cron.ParseStandard(p.cfg.Schedule)
	if err != nil {
		return fail(env.Stderr, "serve", usageError{fmt.Errorf("schedule %q: %w (want five cron fields, e.g. \"*/15 * * * *\", or @every 5m)", p.cfg.Schedule, err)})
	}
	r := &runner{p: p, flags: &c.common}
	// The streams open first, so nothing written during the first run goes unannounced.
	stopNotify := p.startNotifications(ctx, r.catchUp(ctx))
	// The bulk copy first, unless every pair has completed a pass before.
	kind := "sync"
	if !p.allCompleted(ctx) {
		kind = "copy"
	}
	r.run(ctx, kind)

	cr := cron.New(cron.WithLogger(cron.DiscardLogger))
	cr.Schedule(sched, cron.FuncJob(func() { r.run(ctx, "sync") }))
	cr.Start()
	p.log.Info("serving; next sync", zap.String("schedule", p.cfg.Schedule), zap.Time("at", sched.Next(time.Now())))
	<-ctx.Done()
	// cron's Stop waits for a running job, which stops taking work on ctx and lets its
	// in-flight objects finish within the grace period.
	<-cr.Stop().Done()
	stopNotify()
	r.wait()
	p.log.Info("stopped; checkpoints are written")
	return ExitOK
}

// runner runs passes one at a time: a scheduled run that finds one still running is
// skipped and counted, as cron's SkipIfStillRunning would, but visibly.
type runner struct {
	p     *parts
	flags *common // for the commands that resolve conflicts
	mu    sync.Mutex
	wg    sync.WaitGroup
}

func (r *runner) run(ctx context.Context, kind string) {
	if !r.mu.TryLock() {
		r.p.metrics.SkippedOverlap()
		r.p.log.Warn("the previous run is still going; this scheduled sync is skipped", zap.String("kind", kind))
		return
	}
	defer r.mu.Unlock()
	r.pass(ctx, kind)
}

// catchUp returns a trigger for a sync after the run in progress, if any: a
// notification stream that was down missed what changed meanwhile, which a run that
// began before may have listed past already. Triggers while one waits are one sync.
func (r *runner) catchUp(ctx context.Context) func() {
	wanted := make(chan struct{}, 1)
	r.wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-wanted:
				r.mu.Lock()
				r.pass(ctx, "sync")
				r.mu.Unlock()
			}
		}
	})
	return func() {
		select {
		case wanted <- struct{}{}:
		default:
		}
	}
}

// pass runs one pass; r.mu is held.
func (r *runner) pass(ctx context.Context, kind string) {
	if ctx.Err() != nil {
		return
	}
	r.wg.Add(1)
	defer r.wg.Done()
	start := time.Now()
	results, err := r.p.runPass(ctx, kind)
	if err != nil {
		r.p.log.Error("run failed", zap.String("kind", kind), zap.Error(err))
		return
	}
	var copied, failed, conflicts int
	for _, x := range results {
		copied += int(x.Copied)
		failed += len(x.Failed)
		conflicts += len(x.Conflicts)
	}
	for _, x := range results {
		if len(x.Conflicts) > 0 {
			r.p.log.Warn("conflicts left alone: pick a side for each with one of these commands",
				zap.String("bucket", x.Source), zap.Int("conflicts", len(x.Conflicts)),
				zap.String("keepDestination", r.flags.resolveHint(x.Source, "destination", x.Conflicts)),
				zap.String("keepSource", r.flags.resolveHint(x.Source, "source", x.Conflicts)))
		}
	}
	r.p.log.Info("run finished", zap.String("kind", kind), zap.Int("copied", copied), zap.Int("failed", failed),
		zap.Int("conflicts", conflicts), zap.Duration("took", time.Since(start)))
}

func (r *runner) wait() { r.wg.Wait() }

// allCompleted tells whether every pair's checkpoint records a completed pass, and
// restores the time of the oldest of them as the last successful sync, so a restarted
// process does not look stale (or fresh) to the alerts.
func (p *parts) allCompleted(ctx context.Context) bool {
	var oldest time.Time
	for _, pr := range p.pairs {
		st, err := p.state.Load(ctx, copy.CheckpointName(pr, p.shard))
		if err != nil || st.LastComplete.IsZero() {
			return false
		}
		if oldest.IsZero() || st.LastComplete.Before(oldest) {
			oldest = st.LastComplete
		}
	}
	p.metrics.RestoreLastSuccess("sync", oldest)
	return true
}
