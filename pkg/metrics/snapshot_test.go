package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
)

func TestSnapshot(t *testing.T) {
	c := newClock()
	m, _ := newTestMetrics(c)
	start := c.t
	m.PassStarted("recordings", "")
	m.PassStarted("assets", "")
	c.advance(4 * time.Second)
	for i := range 30 {
		k := fmt.Sprintf("%02d", 29-i)
		m.Listed("recordings", obj(k, 10))
		m.Finished("recordings", k, copy.Failed, 0, errors.New(strings.Repeat("x", 2000)))
	}
	m.Listed("recordings", obj("ok", 90))
	m.Finished("recordings", "ok", copy.Copied, 90, nil)
	m.Listed("assets", obj("a", 5))
	m.Finished("assets", "a", copy.Skipped, 0, nil)
	m.PassEnded("assets", true)
	m.SetPhase("sync")
	m.InFlight(2)
	m.RunFinished("copy", start.Add(-time.Hour), true)

	s := m.Snapshot()
	if s.Phase != "sync" || s.InFlight != 2 || len(s.Buckets) != 2 || s.Buckets[0].Bucket != "assets" {
		t.Fatalf("snapshot = %+v", s)
	}
	a, r := s.Buckets[0], s.Buckets[1]
	if !a.Complete || a.Running || a.Progress != 1 || a.Skipped != 1 || a.ETASeconds == nil || *a.ETASeconds != 0 {
		t.Errorf("assets = %+v; want a complete pass", a)
	}
	if r.ObjectsListed != 31 || r.BytesListed != 390 || r.BytesDone != 90 || r.Copied != 1 || r.Failed != 30 {
		t.Errorf("recordings = %+v", r)
	}
	if r.BytesPerSecond != 90.0/4 || r.ETASeconds == nil || *r.ETASeconds != 300/(90.0/4) {
		t.Errorf("recordings rate %v B/s, eta %v; want 22.5 and %v", r.BytesPerSecond, r.ETASeconds, 300/(90.0/4))
	}
	if len(r.FailedKeys) != maxFailedKeys || r.FailedKeys[0].Key != "00" || r.FailedKeys[19].Key != "19" {
		t.Errorf("failed keys = %v; want the first %d in key order", r.FailedKeys, maxFailedKeys)
	}
	if n := len(r.FailedKeys[0].Error); n > maxErrorLen+len("…") {
		t.Errorf("an error of %d bytes was kept whole", n)
	}
	if len(s.Runs) != 1 || s.Runs[0].Kind != "copy" || !s.Runs[0].LastOK || s.Runs[0].LastDurationSeconds != 3604 {
		t.Errorf("runs = %+v", s.Runs)
	}

	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"phase":"sync"`, `"bucket":"assets"`, `"bytesKnown":390`, `"failedKeys":[{"key":"00"`,
		`"etaSeconds":0`, `"bytesPerSecond":22.5`, `"lastDurationSeconds":3604`, `"inFlight":2`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("JSON lacks %s: %s", field, b)
		}
	}
}
