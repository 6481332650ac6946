package s3_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// A MinIO server announces writes and deletions with their keys as written (a "+" stays
// a "+", a space a space); a client that has not yet seen the server call itself
// MinIO does not ask. The MinIO built here holds its stream in buffers until kilobytes
// of events pile up (see testenv.NotifyingProxy), so a writer keeps writing rounds of
// the same changes until one round has come through whole: this test is about what
// MinIO sends, not when (pkg/notify and cmd/migrator test the when).
func TestNotificationsFromMinIO(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBuckets("mobs")
	c := clientThrough(t, m, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, err := range c.Notifications(ctx, "mobs") {
		if !errors.Is(err, store.ErrNoNotifications) {
			t.Fatalf("before any answer from the server: %v; want ErrNoNotifications", err)
		}
	}
	if err := c.Probe(ctx, "mobs"); err != nil { // the server says it is MinIO
		t.Fatal(err)
	}
	rec, font := "1234567890123456/dom.mobs", "fonts/Open Sans+Bold é.woff2"
	writing, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		cl := m.Client()
		for i := 0; writing.Err() == nil; i++ {
			for _, k := range []string{rec, font, fmt.Sprintf("filler/%d", i)} {
				cl.PutObject(writing, "mobs", k, strings.NewReader("x"), 1, minio.PutObjectOptions{})
			}
			cl.RemoveObject(writing, "mobs", rec, minio.RemoveObjectOptions{})
		}
	}()
	subscribed := false
	var last []store.Event
	for ev, err := range c.Notifications(ctx, "mobs") {
		if err != nil {
			t.Fatalf("subscribed %v, last events %+v: %v", subscribed, last, err)
		}
		if ev.Key == "" {
			if subscribed || len(last) > 0 {
				t.Fatal("a second subscription value, or one after events")
			}
			subscribed = true
			continue
		}
		if ev.Bucket != "mobs" || time.Since(ev.Time) > time.Hour || ev.Time.After(time.Now().Add(time.Minute)) {
			t.Fatalf("event %+v: want bucket mobs and a recent time", ev)
		}
		last = append(last, ev)
		if n := len(last); n >= 4 && last[n-4].Key == rec && !last[n-4].Deleted && last[n-3].Key == font && !last[n-3].Deleted &&
			strings.HasPrefix(last[n-2].Key, "filler/") && last[n-1].Key == rec && last[n-1].Deleted {
			break // one round whole, in order, keys unescaped
		}
		if len(last) > 10000 {
			t.Fatalf("no round of events came through whole: %+v", last[len(last)-8:])
		}
	}
	if !subscribed {
		t.Fatal("no subscription value before the events")
	}
}
