package testenv_test

import (
	"context"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/lifecycle"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// MinIO loads its buckets' settings in the background after it starts answering; a
// setting made in those first moments was overwritten by the load (a CI failure: a
// lifecycle rule set by a test was gone when the preflight read it). Every test server
// must keep what is set the moment Start returns, on a fresh start and a restart.
func TestSettingsMadeRightAfterStartStay(t *testing.T) {
	t.Parallel()
	m := testenv.StartMinIO(t)
	ctx := context.Background()
	buckets := []string{"bucket-1", "bucket-2", "bucket-3", "bucket-4", "bucket-5", "bucket-6", "bucket-7", "bucket-8"}
	m.MakeBuckets(buckets...)
	for round := range 5 {
		m.Stop()
		m.Start()
		lc := lifecycle.NewConfiguration()
		lc.Rules = []lifecycle.Rule{{ID: "r", Status: "Enabled",
			RuleFilter: lifecycle.Filter{Tag: lifecycle.Tag{Key: "round", Value: string(rune('0' + round))}},
			Expiration: lifecycle.Expiration{Days: 30}}}
		for _, b := range buckets {
			if err := m.Client().SetBucketLifecycle(ctx, b, lc); err != nil {
				t.Fatal(err)
			}
		}
		// The one fixed wait in the tests, on purpose: it is the time given to the bug.
		// MinIO's background loader, when there is one, overwrites settings within its
		// stagger (up to 125 ms) and says nothing when it has: there is no state to wait
		// for. With sync boot there is no loader, nothing can change the setting, and a
		// busy machine can only make this wait too short to catch a regression (a
		// false pass), never make the test fail.
		time.Sleep(300 * time.Millisecond)
		for _, b := range buckets {
			got, err := m.Client().GetBucketLifecycle(ctx, b)
			if err != nil {
				t.Fatalf("round %d: bucket %s: lifecycle set right after start is gone: %v", round, b, err)
			}
			if v := got.Rules[0].RuleFilter.Tag.Value; v != lc.Rules[0].RuleFilter.Tag.Value {
				t.Fatalf("round %d: bucket %s: lifecycle is round %s's, want round %d's", round, b, v, round)
			}
		}
	}
}
