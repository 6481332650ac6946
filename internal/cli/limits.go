package cli

import (
	"context"
	"sync"

	"go.uber.org/zap"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/limit"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/metrics"
)

// limits are the caps and the concurrency one process applies to both sides.
type limits struct {
	throttle *limit.Throttle // nil: no caps
	gate     *limit.Adaptive // nil: workers pinned
}

func newLimits(cfg *config.Config, m *metrics.Concurrency, status *metrics.Metrics, log *zap.Logger) (limits, error) {
	var l limits
	plan, err := cfg.Limits.Plan()
	if err != nil {
		return l, err
	}
	if !plan.Unlimited() {
		l.throttle = limit.NewThrottle(plan, limit.Real)
	}
	if !cfg.Adaptive() {
		m.Set(cfg.Workers, "")
		status.SetConcurrencyLimit(cfg.Workers)
		return l, nil
	}
	l.gate = limit.NewAdaptive(limit.AdaptiveOptions{
		Min: config.MinWorkers, Max: cfg.InFlightMax(), SourceLatency: cfg.Limits.SourceLatency,
		OnChange: func(n int, reason string) {
			m.Set(n, reason)
			status.SetConcurrencyLimit(n)
			// Cuts say why the copy slowed down; growth is routine.
			lvl := zap.DebugLevel
			if reason != limit.ReasonRising && reason != limit.ReasonProbe && reason != limit.ReasonStart {
				lvl = zap.InfoLevel
			}
			log.Log(lvl, "objects in flight changed", zap.Int("limit", n), zap.String("reason", reason))
		},
	})
	return l, nil
}

// observer is what the side's store wrapper reports requests to.
func (l limits) observer() limit.Observer {
	if l.gate == nil {
		return nil
	}
	return l.gate
}

// engineGate is the engine's Gate, or nil when workers are pinned.
func (l limits) engineGate() copy.Gate {
	if l.gate == nil {
		return nil
	}
	return l.gate
}

// run judges the concurrency while a pass runs; the returned func stops it and waits.
func (l limits) run(ctx context.Context) (stop func()) {
	if l.gate == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { l.gate.Run(ctx) })
	return func() { cancel(); wg.Wait() }
}
