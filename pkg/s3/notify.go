package s3

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/notification"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

var _ store.Notifier = (*Client)(nil)

// notifyPing is how often MinIO is asked to send a byte on an idle stream, and
// notifySilence how long a stream may stay silent before it is taken for dead: a
// connection cut without a reset (a NAT forgetting it) would otherwise wait for the
// stall timeout, minutes during which every change is missed.
const (
	notifyPing    = 10 * time.Second
	notifySilence = 35 * time.Second
)

// Notifications subscribes to MinIO's bucket notifications (GET /bucket?events=...,
// the API behind minio-go's ListenBucketNotification). It asks only a server that has
// said it is MinIO (its Server header, seen by the first requests): RustFS and other
// S3 services are never assumed to have the extension, and get ErrNoNotifications.
//
// The request is made here rather than through minio-go, whose listener reconnects by
// itself and so cannot say whether a stream is open: the caller reconnects, and counts.
func (c *Client) Notifications(ctx context.Context, bucket string) iter.Seq2[store.Event, error] {
	return func(yield func(store.Event, error) bool) {
		if !c.isMinIO.Load() {
			yield(store.Event{}, store.ErrNoNotifications)
			return
		}
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		resp, err := c.listen(ctx, bucket)
		if err != nil {
			yield(store.Event{}, err)
			return
		}
		defer resp.Body.Close()
		if !yield(store.Event{}, nil) { // subscribed
			return
		}
		errSilent := fmt.Errorf("nothing heard for %s (MinIO pings every %s)", notifySilence, notifyPing)
		watchdog := time.AfterFunc(notifySilence, func() { cancel(errSilent) })
		defer watchdog.Stop()
		dec := json.NewDecoder(aliveReader{resp.Body, func() { watchdog.Reset(notifySilence) }})
		for {
			var info notification.Info
			if err := dec.Decode(&info); err != nil {
				switch cause := context.Cause(ctx); {
				case cause == errSilent:
					err = cause
				case cause != nil:
					return // the caller stopped
				case errors.Is(err, io.EOF):
					err = io.ErrUnexpectedEOF // MinIO never ends a stream on its own
				}
				yield(store.Event{}, &store.Error{Op: "notify", Bucket: bucket, Err: fmt.Errorf("notification stream broke: %w", err)})
				return
			}
			for _, r := range info.Records {
				ev, ok := eventOf(bucket, r)
				if ok && !yield(ev, nil) {
					return
				}
			}
		}
	}
}

// listen opens the stream: a signed GET (signedBucketGet).
func (c *Client) listen(ctx context.Context, bucket string) (*http.Response, error) {
	q := url.Values{}
	q["events"] = []string{"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}
	q.Set("ping", fmt.Sprint(int(notifyPing.Seconds())))
	resp, err := c.signedBucketGet(ctx, "notify", bucket, q.Encode())
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, answerError("notify", bucket, resp, body)
	}
	return resp, nil
}

// eventOf reads one record. The listen API sends keys as they are (MinIO query-escapes
// them only for its notification targets: ToEvent(escape) is false for listeners).
func eventOf(bucket string, r notification.Event) (store.Event, bool) {
	key := r.S3.Object.Key
	if key == "" {
		return store.Event{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, r.EventTime)
	if err != nil {
		at = time.Now()
	}
	return store.Event{Bucket: bucket, Key: key, Time: at,
		Deleted: strings.HasPrefix(r.EventName, "s3:ObjectRemoved:")}, true
}

// aliveReader calls alive whenever bytes arrive (events or MinIO's pings).
type aliveReader struct {
	r     io.Reader
	alive func()
}

func (a aliveReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.alive()
	}
	return n, err
}
