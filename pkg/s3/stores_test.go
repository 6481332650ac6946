package s3_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/metrics"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/stack"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store/storetest"
)

// starters are the stores the conformance suite runs on. The tagless proxy stands in
// for Cloudflare R2, which cannot run here (see testenv.TaglessProxy).
var starters = []struct {
	kind  string
	start func(t *testing.T) testenv.Server
}{
	{"minio", func(t *testing.T) testenv.Server { return testenv.StartMinIO(t) }},
	{"tagless-proxy", func(t *testing.T) testenv.Server { return testenv.StartTaglessProxy(t, testenv.StartMinIO(t)) }},
	{"versitygw", func(t *testing.T) testenv.Server { return testenv.StartVersitygw(t) }},
	{"seaweedfs", func(t *testing.T) testenv.Server { return testenv.StartSeaweedFS(t) }},
}

// Every store runs the suite twice: on the bare client, and on the stack the commands
// build (stack.Open: request metrics and retries around it), which must not change
// what the store does. What it measures must be the store's record in storetest.Known.
func TestConformance(t *testing.T) {
	for _, st := range starters {
		t.Run(st.kind, func(t *testing.T) {
			t.Parallel()
			srv := st.start(t)
			srv.MakeBuckets("bare", "stacked")
			c := srv.Conn()
			o := s3.Options{Endpoint: c.Endpoint, AccessKey: c.AccessKey, SecretKey: c.SecretKey, Region: "us-east-1"}
			bare, err := s3.New(o)
			if err != nil {
				t.Fatal(err)
			}
			var got [2]store.Traits
			t.Run("bare", func(t *testing.T) { got[0] = storetest.Run(t, bare, "bare") })
			stacked, _, err := stack.Open("destination", o, stack.Layers{Metrics: metrics.New(prometheus.NewRegistry()),
				Retry: retry.Policy{Attempts: 3, Base: 10 * time.Millisecond, Max: 100 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			t.Run("stacked", func(t *testing.T) { got[1] = storetest.Run(t, stacked, "stacked") })
			want, ok := storetest.Known[st.kind]
			if !ok {
				t.Fatalf("no record of %s's traits in storetest.Known; measured %+v", st.kind, got[0])
			}
			for i, g := range got {
				if g != want {
					t.Errorf("%s (%s) measured traits\n %+v\nwant the record in storetest.Known\n %+v", st.kind, []string{"bare", "stacked"}[i], g, want)
				}
			}
		})
	}
}
