package copy_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// A GET that fails every time is sent as often as the policy says, not once per try of
// the store wrapper for each try of the object (6 x 6 = 36 with the defaults), and a PUT
// that fails every time likewise: each request is retried at one layer only.
func TestAFailingRequestIsSentAsOftenAsThePolicySays(t *testing.T) {
	t.Parallel()
	r := newRig(t, seed.Spec{Assets: 3, Seed: 9})
	keys := []string{}
	for _, o := range seed.Plan(seed.Spec{Assets: 3, Seed: 9}) {
		keys = append(keys, o.Key)
	}
	badGet, badPut := keys[0], keys[1]
	var gets, puts atomic.Int64
	unavailable := func(op, key string) error {
		return &store.Error{Op: op, Bucket: "b", Key: key, Status: 503, Code: "ServiceUnavailable", Err: errors.New("down")}
	}
	src := &testenv.Faulty{Store: r.srcS, Fail: func(op, key string, n int) error {
		if op == "get" && key == badGet {
			gets.Add(1)
			return unavailable(op, key)
		}
		return nil
	}}
	dst := &testenv.Faulty{Store: r.dstS, Fail: func(op, key string, n int) error {
		if op == "put" && key == badPut {
			puts.Add(1)
			return unavailable(op, key)
		}
		return nil
	}}
	policy := retry.Policy{Attempts: 4, Base: time.Millisecond, Max: 5 * time.Millisecond}
	// The stack the commands build: retries wrap each side, and the engine retries objects.
	e := &copy.Engine{Src: retry.Wrap(src, policy), Dst: retry.Wrap(dst, policy), Checkpoints: r.state,
		Opt: copy.Options{Workers: 2, Retry: policy}}
	res, err := e.Run(context.Background(), []copy.Pair{{Source: seed.Assets, Dest: "openreplay-assets"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res[0].Failed) != 2 {
		t.Fatalf("failed keys %v; want the two that always fail", res[0].Failed)
	}
	// The run's final retry of failed keys is one more object attempt, as the policy's.
	if n := gets.Load(); n != 2*int64(policy.Attempts) {
		t.Errorf("the failing GET was sent %d times; want %d (the policy's %d attempts, in the pass and in its final retry)", n, 2*policy.Attempts, policy.Attempts)
	}
	if n := puts.Load(); n != 2*int64(policy.Attempts) {
		t.Errorf("the failing PUT was sent %d times; want %d", n, 2*policy.Attempts)
	}
}
