// Package notify copies the objects a source announces (MinIO's bucket notifications)
// as they arrive, so that between scheduled syncs new recordings reach the destination
// within seconds; the scheduled sync stays the safety net for whatever a stream missed.
package notify

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Copier copies one announced key of a bucket pair (copy.Notified is one).
type Copier interface {
	// Owns tells whether this process copies key (its shard).
	Owns(key string) bool
	Copy(ctx context.Context, key string) (copy.Outcome, int64, error)
}

// Observer hears of the streams and of the copies they brought (pkg/metrics).
type Observer interface {
	NotifyConnected(bucket string, up bool)
	NotifyReconnect(bucket string)
	NotifyCopied(bucket string, lag time.Duration)
}

// Options are what Run works with.
type Options struct {
	Source  store.Notifier
	Copiers map[string]Copier // by source bucket
	// Workers copy announced objects at once (default 4). With a Gate each also waits
	// for one of the engine's slots, so a pass and the stream share the limit.
	Workers int
	Gate    copy.Gate
	// CatchUp is called after a stream was opened again: changes made while it was
	// down were never announced, and a sync lists them. It must not block.
	CatchUp  func()
	Observer Observer
	Log      *zap.Logger
	// Backoff bounds the waits between reconnection attempts (default 1s to 30s).
	MinBackoff, MaxBackoff time.Duration
	// Now is the clock the lag is measured with (default time.Now).
	Now func() time.Time
}

// queueLen bounds the announced objects waiting for a worker. A burst beyond it is
// dropped and left to the next sync rather than held in memory without bound.
const queueLen = 10000

type announced struct {
	bucket string
	key    string
	at     time.Time
}

// Run subscribes to every bucket in o.Copiers and copies what is announced until ctx
// ends. It returns store.ErrNoNotifications at once when the source has not shown it
// can announce changes; every other failure of a stream is logged, counted, and
// followed by a reconnection with backoff.
func Run(ctx context.Context, o Options) error {
	o = o.defaults()
	queue := make(chan announced, queueLen)
	var workers sync.WaitGroup
	for range o.Workers {
		workers.Go(func() {
			for a := range queue {
				o.copy(ctx, a)
			}
		})
	}
	g, gctx := errgroup.WithContext(ctx)
	var dropped dropLog
	for bucket := range o.Copiers {
		g.Go(func() error { return o.listen(gctx, bucket, queue, &dropped) })
	}
	err := g.Wait()
	close(queue)
	workers.Wait()
	return err
}

func (o Options) defaults() Options {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.CatchUp == nil {
		o.CatchUp = func() {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// listen keeps bucket's stream open, queueing what it announces.
func (o Options) listen(ctx context.Context, bucket string, queue chan<- announced, dropped *dropLog) error {
	log := o.Log.With(zap.String("bucket", bucket))
	cp := o.Copiers[bucket]
	wait := o.MinBackoff
	broke := false // a stream was open before: what happened since it broke is unknown
	for ctx.Err() == nil {
		var err error
		for ev, e := range o.Source.Notifications(ctx, bucket) {
			if err = e; err != nil {
				break
			}
			if ev.Key == "" { // subscribed
				o.Observer.NotifyConnected(bucket, true)
				wait = o.MinBackoff
				if broke {
					o.Observer.NotifyReconnect(bucket)
					log.Info("notification stream open again; a sync catches up with what changed while it was down")
					o.CatchUp()
				} else {
					log.Info("notification stream open: new objects are copied as the source announces them")
				}
				broke = true
				continue
			}
			// Deletions are not mirrored: a sync never deletes at the destination either.
			if ev.Deleted || !cp.Owns(ev.Key) {
				continue
			}
			select {
			case queue <- announced{bucket, ev.Key, ev.Time}:
			default:
				dropped.note(log)
			}
		}
		o.Observer.NotifyConnected(bucket, false)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, store.ErrNoNotifications) {
			return err
		}
		if c := store.ClassOf(err); c == store.ClassDenied || c == store.ClassCredentials ||
			c == store.ClassNoBucket || c == store.ClassUnsupported {
			log.Error("notification stream refused; the scheduled sync alone copies this bucket "+
				"(the source key needs s3:ListenBucketNotification on it)", zap.Error(err))
			return nil
		}
		log.Warn("notification stream down; reconnecting (objects written meanwhile come with the catch-up sync)",
			zap.Duration("in", wait), zap.Error(err))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil
		}
		wait = min(2*wait, o.MaxBackoff)
	}
	return nil
}

// copy copies one announced object, within the engine's limit when there is one.
func (o Options) copy(ctx context.Context, a announced) {
	if ctx.Err() != nil {
		return
	}
	if o.Gate != nil {
		if o.Gate.Acquire(ctx) != nil {
			return
		}
	}
	out, bytes, err := o.Copiers[a.bucket].Copy(ctx, a.key)
	if o.Gate != nil {
		o.Gate.Release(bytes, out == copy.Copied)
	}
	switch out {
	case copy.Copied:
		o.Observer.NotifyCopied(a.bucket, o.Now().Sub(a.at))
	case copy.Failed:
		if ctx.Err() == nil {
			o.Log.Warn("announced object not copied; the next sync tries again",
				zap.String("bucket", a.bucket), zap.String("key", a.key), zap.Error(err))
		}
	}
}

// dropLog says once per burst that the queue was full.
type dropLog struct {
	mu   sync.Mutex
	last time.Time
	n    int
}

func (d *dropLog) note(log *zap.Logger) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	if time.Since(d.last) < time.Minute {
		return
	}
	log.Warn("announced objects arrive faster than they are copied; those beyond the queue are left to the next sync",
		zap.Int("dropped", d.n), zap.Int("queue", queueLen))
	d.last, d.n = time.Now(), 0
}
