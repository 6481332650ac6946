package dashboards

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// promAPI is the part of Prometheus' HTTP API the dashboard test reads: instant queries
// at a chosen time, as a stat panel's last value is.
type promAPI struct{ base string }

type sample struct {
	labels map[string]string
	value  float64
}

// query evaluates q at the instant at.
func (p promAPI) query(q string, at time.Time) ([]sample, error) {
	v := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1e3, 'f', 3, 64)}}
	resp, err := http.Get(p.base + "/api/v1/query?" + v.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, r.Error)
	}
	var out []sample
	for _, s := range r.Data.Result {
		text, _ := s.Value[1].(string)
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v: %w", q, s.Value[1], err)
		}
		out = append(out, sample{labels: s.Metric, value: f})
	}
	return out, nil
}

// ingestMargin is how far behind the wall clock an evaluation time is taken: a scrape is
// stamped when it starts and stored when it ends (within the 1 s scrape timeout), so by
// then every sample up to that time is in, and later answers about it cannot change.
const ingestMargin = 5 * time.Second

// settle waits until cond, a PromQL expression, has a result at a time Prometheus has
// stored everything before, and returns that time. Panels evaluated there see the same
// samples however busy the machine is.
func (p promAPI) settle(t *testing.T, timeout time.Duration, what, cond string) time.Time {
	t.Helper()
	var at time.Time
	testenv.Eventually(t, timeout, what, func() bool {
		at = time.Now().Add(-ingestMargin)
		r, err := p.query(cond, at)
		return err == nil && len(r) > 0
	})
	return at
}

// scrapedTwiceWithin is the condition under which every series of the migrator has two
// samples in a rate() window of w ending now and its newest sample is a live one: the
// last scrape worked and at least two did within w.
func scrapedTwiceWithin(w string) string {
	return fmt.Sprintf(`up{job="openreplay-migrator"} == 1 and on() sum_over_time(up{job="openreplay-migrator"}[%s]) >= 2`, w)
}
