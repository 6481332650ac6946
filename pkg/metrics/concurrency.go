package metrics

import "github.com/prometheus/client_golang/prometheus"

// Concurrency shows the number of objects allowed in flight and why it last moved.
type Concurrency struct {
	limit   prometheus.Gauge
	changes *prometheus.CounterVec
}

// NewConcurrency registers the collectors on reg; reasons get their series at zero, so a
// dashboard shows 0 rather than nothing for the reasons that never happened.
func NewConcurrency(reg prometheus.Registerer, reasons []string) *Concurrency {
	c := &Concurrency{
		limit: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "concurrency_limit",
			Help: "Objects that may be in flight now: workers when pinned, else the number found while running.",
		}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "concurrency_changes_total",
			Help: "Changes of the concurrency limit, by reason (throughput_rising, throttled, timeout, latency, source_latency, ...).",
		}, []string{"reason"}),
	}
	reg.MustRegister(c.limit, c.changes)
	for _, r := range reasons {
		c.changes.WithLabelValues(r)
	}
	return c
}

// Set records a new limit and its reason ("" for a pinned number, which is no change).
func (c *Concurrency) Set(limit int, reason string) {
	c.limit.Set(float64(limit))
	if reason != "" {
		c.changes.WithLabelValues(reason).Inc()
	}
}
