package checkpoint_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
)

// Of many shards creating the same record at once, exactly one wins, and every one
// reads back the winner's: in a folder (link) and on real MinIO (If-None-Match: *).
func TestRecordsAreCreatedOnceWhoeverRacesForThem(t *testing.T) {
	_, c := startS3(t, "state")
	for name, claims := range map[string]checkpoint.Claims{
		"dir": checkpoint.Dir(t.TempDir()),
		"s3":  checkpoint.S3{Objects: c, Bucket: "state", Prefix: "or/"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := claims.CreateWorks(context.Background()); err != nil {
				t.Fatalf("CreateWorks: %v", err)
			}
			if got, err := claims.Read(context.Background(), "pass-1--range-0003"); err != nil || got != nil {
				t.Fatalf("a record never created reads %q, %v; want nothing", got, err)
			}
			const racers = 8
			got := make([]string, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					data, err := claims.Create(context.Background(), "pass-1--range-0003", fmt.Appendf(nil, "shard %d", i))
					if err != nil {
						t.Error(err)
					}
					got[i] = string(data)
				})
			}
			wg.Wait()
			for i := range got {
				if got[i] != got[0] || got[0] == "" {
					t.Fatalf("the racers read back %q; want one winner's record for all", got)
				}
			}
			again, err := claims.Read(context.Background(), "pass-1--range-0003")
			if err != nil || string(again) != got[0] {
				t.Fatalf("read %q, %v; want the winner's %q", again, err, got[0])
			}
		})
	}
}

// plainObjects is a state bucket's client that cannot make a write conditional.
type plainObjects struct{ checkpoint.Objects }

// Where the state bucket's client cannot create only if absent, the store says so, and
// shards fall back to hashing keys rather than trusting claims.
func TestStoreWithoutConditionalWritesSaysSo(t *testing.T) {
	_, c := startS3(t, "state")
	s := checkpoint.S3{Objects: plainObjects{c}, Bucket: "state"}
	if err := s.CreateWorks(context.Background()); !errors.Is(err, checkpoint.ErrNoCreateOnce) {
		t.Fatalf("CreateWorks: %v; want ErrNoCreateOnce", err)
	}
	if _, err := s.Create(context.Background(), "x", []byte("a")); !errors.Is(err, checkpoint.ErrNoCreateOnce) {
		t.Fatalf("Create: %v; want ErrNoCreateOnce", err)
	}
}
