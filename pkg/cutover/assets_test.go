package cutover

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// The asset check runs after the reinstall, once, with the time the cutover started;
// its failure rolls back like a failed reinstall, and an interruption during it does not.
func TestCutoverAssetCheckFailureRollsBack(t *testing.T) {
	b := newBench(t)
	co := b.cutover()
	var calls []time.Time
	co.CheckAssets = func(_ context.Context, copiedBefore time.Time) error {
		calls = append(calls, copiedBefore)
		return errors.New("2 of 5 old asset URLs do not answer with their asset")
	}
	_, err := co.Run(context.Background())
	if !errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), "old asset URLs") {
		t.Fatalf("cutover with a failing asset check: %v\n%s", err, b.out.String())
	}
	if len(calls) != 1 || b.varsNow() != varsFixture || len(b.reinstalls()) != 2 {
		t.Fatalf("checks %d, reinstalls %d, vars.yaml restored %v", len(calls), len(b.reinstalls()), b.varsNow() == varsFixture)
	}
	st, err := LoadState(b.state)
	if err != nil || !calls[0].Equal(st.Started) {
		t.Fatalf("checked with %v, the cutover started %v (%v)", calls[0], st.Started, err)
	}

	// Interrupted while checking: it stops, and the next run reinstalls and checks again.
	ctx, cancel := context.WithCancel(context.Background())
	co = b.cutover()
	co.CheckAssets = func(context.Context, time.Time) error { cancel(); return context.Canceled }
	if _, err := co.Run(ctx); errors.Is(err, ErrRolledBack) || b.step() != Written {
		t.Fatalf("interrupted check: step %s, %v", b.step(), err)
	}
	co = b.cutover()
	co.CheckAssets = func(context.Context, time.Time) error { return nil }
	if _, err := co.Run(context.Background()); err != nil || b.step() != Done || len(b.reinstalls()) != 4 { // switch, rollback; switch (interrupted), again
		t.Fatalf("resumed: step %s, %d reinstalls, %v", b.step(), len(b.reinstalls()), err)
	}
}
