package preflight_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/preflight"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
)

// A destination that answers every request with 503 is asked each question as often as
// the policy says: the config's retry where it sets one, else preflight's own four
// tries, and no layer below multiplies them. (The server is a test's handler: a service
// that is down answers nothing more.)
func TestPreflightAsksAsOftenAsTheRetryPolicySays(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy retry.Policy
		want   int
	}{
		{"config", retry.Policy{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond}, 2},
		{"default", retry.Policy{}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			sent := map[string]int{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				sent[r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery]++
				mu.Unlock()
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte(`<Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>`))
			}))
			defer srv.Close()
			c, err := s3.New(s3.Options{Endpoint: srv.URL, Region: "us-east-1", AccessKey: "k", SecretKey: "secret-key-for-test"})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = preflight.Run(context.Background(), c, c, preflight.Options{Endpoint: srv.URL, Region: "us-east-1",
				Buckets: pairs, DryRun: true, Retry: tc.policy})
			mu.Lock()
			defer mu.Unlock()
			if len(sent) == 0 {
				t.Fatal("preflight sent no request")
			}
			for req, n := range sent {
				if n != tc.want {
					t.Errorf("%s was sent %d times; want %d", req, n, tc.want)
				}
			}
		})
	}
}
