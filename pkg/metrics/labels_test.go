package metrics

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Keys are unbounded and may be personal (OpenReplay's keys carry session ids): they must
// never become label values, whatever path they take.
func TestNoLabelValueCarriesAKey(t *testing.T) {
	const weird = `sessions/Ünïcode "quoted" {braces}=1,2\n` + "\x00tab\there/../mob-9f86d081884c7d65"
	m, reg := newTestMetrics(nil)
	m.PassStarted("recordings", "")
	m.Listed("recordings", store.Object{Key: weird, Size: 10})
	m.Finished("recordings", weird, copy.Failed, 0, &store.Error{Op: "put", Bucket: "recordings", Key: weird, Status: 500, Code: weird, Err: errors.New(weird)})
	m.Finished("recordings", weird, copy.Conflict, 0, nil)
	m.Finished("recordings", weird, copy.Copied, 10, nil)
	m.Finished("recordings", weird, copy.Outcome(weird), 10, errors.New(weird))
	m.RetryHook("destination")(&store.Error{Op: "get", Key: weird, Code: weird, Err: errors.New(weird)})
	m.Checkpointed("recordings", time.Now())
	m.PassEnded("recordings", false)

	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Fatalf("gathered %d series, err %v", n, err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	// What Prometheus would scrape, as text: no trace of the key anywhere.
	var text bytes.Buffer
	enc := expfmt.NewEncoder(&text, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	for _, part := range []string{"sessions/", "mob-9f86", "quoted", "braces"} {
		if strings.Contains(text.String(), part) {
			t.Errorf("the scrape contains %q from a key:\n%s", part, text.String())
		}
	}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if strings.Contains(l.GetValue(), "sessions/") || strings.Contains(l.GetValue(), "mob-9f86") {
					t.Errorf("%s has label %s=%q, a key", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	// The snapshot, by contrast, names the failed key for the status page.
	if fk := m.Snapshot().Buckets[0].FailedKeys; len(fk) != 0 {
		t.Errorf("the key succeeded after failing, yet the snapshot lists it: %v", fk)
	}
}
