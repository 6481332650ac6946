// Package metrics holds the Prometheus collectors for the migrator's copies, syncs and requests.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "openreplay_migrator"

// knownPhases are the values SetPhase expects; each gets a series from the start so that a
// dashboard shows 0 rather than nothing for the phases not running.
var knownPhases = []string{"copy", "sync", "verify", "cutover", "idle"}

// runKinds and runResults are the label values of runs_total, known up front: each pair
// has a series at 0 from the start, so that increase() counts a process's first run too.
var (
	runKinds   = []string{"copy", "sync", "verify", "cutover"}
	runResults = []string{"ok", "failed"}
)

// Metrics holds every collector of one process. All methods are safe for concurrent use.
type Metrics struct {
	objects     *prometheus.CounterVec
	bytesCopied *prometheus.CounterVec
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	inflight    prometheus.Gauge
	runSuccess  *prometheus.GaugeVec
	runDuration *prometheus.GaugeVec
	runs        *prometheus.CounterVec
	overlap     prometheus.Counter
	tagsDropped *prometheus.CounterVec
	phase       *prometheus.GaugeVec
	notify      *notifyMetrics

	now func() time.Time // replaced in tests to make rates and ETAs exact

	mu         sync.Mutex // guards everything below
	buckets    map[string]*bucket
	phaseName  string
	seenPhases map[string]bool // every phase that has a series
	inflightN  int64
	limitN     int64 // objects allowed in flight (SetConcurrencyLimit)
	lastRuns   map[string]*RunStatus
	// The notification stream's state for the status (notify.go).
	notifyMode    string
	notifyBuckets map[string]*NotificationBucket
}

// New creates the collectors and registers them on reg; it panics if reg already holds
// collectors of the same names, as prometheus.MustRegister does.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "objects_total",
			Help: "Source objects handled, by outcome (copied, skipped, failed, conflict). A key that fails and is retried counts once per failure.",
		}, []string{"bucket", "result"}),
		bytesCopied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "bytes_copied_total",
			Help: "Bytes written to the destination by finished copies.",
		}, []string{"bucket"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "requests_total",
			Help: "S3 requests by side, operation and answer: ok, an S3 error code, an HTTP status, canceled, or error when no answer came.",
		}, []string{"side", "op", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "request_duration_seconds",
			Help: "S3 request latency by side and operation; for get, until the response headers; for put, including the body.",
			// From a HEAD on a LAN to a large part's PUT across the internet.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"side", "op"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "retries_total",
			Help: "Retried failures by side and reason (slowdown, 5xx, timeout, reset, checksum, other).",
		}, []string{"side", "reason"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "inflight_objects",
			Help: "Objects being copied right now.",
		}),
		runSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "last_run_success_timestamp_seconds",
			Help: "When a run of this kind (copy, sync, verify, cutover) last finished successfully, as a Unix time.",
		}, []string{"kind"}),
		runDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "last_run_duration_seconds",
			Help: "How long the last finished run of this kind took, successful or not.",
		}, []string{"kind"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "runs_total",
			Help: "Finished runs by kind and result (ok, failed).",
		}, []string{"kind", "result"}),
		overlap: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "sync_skipped_overlap_total",
			Help: "Scheduled syncs skipped because the previous one was still running.",
		}),
		tagsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "objects_tags_dropped_total",
			Help: "Objects copied without their tags because the destination bucket keeps none (it refused x-amz-tagging, as Cloudflare R2 does): OpenReplay's retention tags are lost there.",
		}, []string{"bucket"}),
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "phase",
			Help: "1 for the phase the process is in (copy, sync, verify, cutover, idle), 0 for the others.",
		}, []string{"phase"}),
		notify:     newNotifyMetrics(),
		now:        time.Now,
		buckets:    map[string]*bucket{},
		seenPhases: map[string]bool{},
		lastRuns:   map[string]*RunStatus{},
	}
	for _, p := range knownPhases {
		m.seenPhases[p] = true
		m.phase.WithLabelValues(p).Set(0)
	}
	for _, k := range runKinds {
		for _, r := range runResults {
			m.runs.WithLabelValues(k, r)
		}
	}
	m.phaseName = "idle"
	m.phase.WithLabelValues("idle").Set(1)
	reg.MustRegister(m.objects, m.bytesCopied, m.requests, m.duration, m.retries, m.inflight,
		m.runSuccess, m.runDuration, m.runs, m.overlap, m.tagsDropped, m.phase, bucketCollector{m})
	reg.MustRegister(m.notify.collectors()...)
	return m
}

// bucketFor returns bucket b's state, creating it; m.mu must be held.
func (m *Metrics) bucketFor(name string) *bucket {
	b := m.buckets[name]
	if b == nil {
		b = newBucket(name)
		m.buckets[name] = b
	}
	return b
}

var (
	descSourceObjects = desc("source_objects", "Objects the source listing has yielded so far in the current pass (after the watermark when the pass resumed).")
	descSourceBytes   = desc("source_bytes", "Bytes of the objects the source listing has yielded so far in the current pass.")
	descPassSize      = desc("pass_size_bytes", "Bytes the current pass covers: what was listed, or what the previous full pass (or a plan) announced if larger while the listing runs or before the pass starts.")
	descPassDone      = desc("pass_done_bytes", "Bytes of the current pass that are in place: copied, skipped as equal, or left alone as conflicts.")
	descProgress      = desc("progress_ratio", "pass_done_bytes / pass_size_bytes; 1 once a pass ended complete.")
	descETA           = desc("eta_seconds", "Bytes still to do in the current pass divided by the rate of the last few minutes; absent while unknown.")
	descCheckpoint    = desc("checkpoint_timestamp_seconds", "When the bucket's checkpoint was last written, as a Unix time.")
	descComplete      = desc("pass_complete", "1 when the last pass over the bucket ended with every object in place.")
	descRunning       = desc("pass_running", "1 while a pass over the bucket is running.")
)

func desc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, []string{"bucket"}, nil)
}

// bucketCollector computes the per-bucket gauges at scrape time, so the ETA's rate is
// as fresh as the scrape without a goroutine updating it.
type bucketCollector struct{ m *Metrics }

func (c bucketCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSourceObjects, descSourceBytes, descPassSize, descPassDone,
		descProgress, descETA, descCheckpoint, descComplete, descRunning} {
		ch <- d
	}
}

func (c bucketCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	gauge := func(d *prometheus.Desc, v float64, bucket string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, bucket)
	}
	for name, b := range m.buckets {
		gauge(descSourceObjects, float64(b.listedObjects), name)
		gauge(descSourceBytes, float64(b.listedBytes), name)
		gauge(descPassSize, float64(b.size()), name)
		gauge(descPassDone, float64(b.doneBytes), name)
		gauge(descProgress, b.progress(), name)
		if eta, ok := b.eta(now); ok {
			gauge(descETA, eta, name)
		}
		if !b.checkpoint.IsZero() {
			gauge(descCheckpoint, unixSeconds(b.checkpoint), name)
		}
		gauge(descComplete, boolValue(b.complete), name)
		gauge(descRunning, boolValue(b.running), name)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
