package cli

import (
	"context"
	"errors"
	"sync"

	"go.uber.org/zap"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/metrics"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/notify"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// startNotifications has serve copy, between its syncs, what the source announces
// (MinIO's bucket notifications; docs/notifications.md). catchUp asks for a sync after
// a stream was down. The returned func stops the streams and waits for their copies.
func (p *parts) startNotifications(ctx context.Context, catchUp func()) (stop func()) {
	var buckets []string
	for _, pr := range p.pairs {
		buckets = append(buckets, pr.Source)
	}
	if p.cfg.Notifications == config.NotificationsOff {
		p.metrics.NotifyMode(metrics.NotifyOff, nil)
		p.log.Info("notifications: off; the schedule alone syncs")
		return func() {}
	}
	eng := &copy.Engine{Src: p.src, Dst: p.dst, Checkpoints: p.state, Opt: copy.Options{
		Shard: p.shard, Grace: p.cfg.GracePeriod, Retry: p.retryPolicy(), Log: p.log, Observer: p.metrics,
	}}
	copiers := map[string]notify.Copier{}
	var opened []*copy.Notified
	for _, pr := range p.pairs {
		n, err := eng.Notified(ctx, pr)
		if err != nil {
			p.log.Error("announced objects of this bucket are not copied; the schedule alone syncs it",
				zap.String("bucket", pr.Source), zap.Error(err))
			continue
		}
		copiers[pr.Source] = n
		opened = append(opened, n)
	}
	p.metrics.NotifyMode(metrics.NotifyListening, buckets)
	// As many copies at once as a pass makes: with the adaptive concurrency, its gate
	// decides how many of them run, for passes and announced objects together.
	workers := p.cfg.Workers
	if g := p.limits.engineGate(); g != nil {
		workers = g.Max()
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer func() {
			for _, n := range opened {
				n.Close()
			}
		}()
		err := notify.Run(ctx, notify.Options{Source: p.srcNotifier, Copiers: copiers, Workers: workers,
			Gate: p.limits.engineGate(), CatchUp: catchUp, Observer: p.metrics, Log: p.log})
		if errors.Is(err, store.ErrNoNotifications) {
			p.metrics.NotifyMode(metrics.NotifySchedule, nil)
			p.log.Info("the source has not shown it is MinIO, so it is not asked for bucket notifications; the schedule alone syncs")
		}
	})
	return func() { cancel(); wg.Wait() }
}
