package metrics

import (
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The notification stream (MinIO's bucket notifications under `serve`): how far behind
// the source the copies it brings run, and whether it is open. The series carry no
// bucket label and exist from the start, so the dashboard shows 0 where no stream runs.
type notifyMetrics struct {
	lag        prometheus.Histogram
	copied     prometheus.Counter
	streams    *prometheus.GaugeVec
	reconnects prometheus.Counter
}

// Notification modes for the status: what serve does between its scheduled syncs.
const (
	NotifyOff       = "off"       // notifications: off in the configuration
	NotifyListening = "listening" // subscribed to the source's bucket notifications
	NotifySchedule  = "schedule"  // the source announces nothing: the schedule alone syncs
)

// NotificationStatus is the notification stream's part of the JSON status.
type NotificationStatus struct {
	Mode    string               `json:"mode"`
	Buckets []NotificationBucket `json:"buckets,omitempty"` // by name
}

// NotificationBucket is one source bucket's stream.
type NotificationBucket struct {
	Bucket     string `json:"bucket"`
	Connected  bool   `json:"connected"`
	Reconnects int64  `json:"reconnects"`
	Copied     int64  `json:"copied"` // objects copied because the stream announced them
	// LastLagSeconds: from the source's event time to the copy in place, for the last one.
	LastLagSeconds float64   `json:"lastLagSeconds"`
	LastCopied     time.Time `json:"lastCopied,omitzero"`
}

func newNotifyMetrics() *notifyMetrics {
	n := &notifyMetrics{
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "notification_lag_seconds",
			Help: "From the time the source announced a change to the object being in place at the destination, for objects copied from bucket notifications.",
			// Seconds are the goal (p99 <= 5 s); minutes mean the copy is queueing.
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 300},
		}),
		copied: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "notification_objects_total",
			Help: "Objects copied because the source's bucket notifications announced them (between the scheduled syncs).",
		}),
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "notification_streams",
			Help: "Source buckets whose notification stream is connected, or disconnected (waiting to reconnect).",
		}, []string{"state"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "notification_reconnects_total",
			Help: "Notification streams that broke and were opened again; what changed meanwhile waits for the catch-up sync.",
		}),
	}
	n.streams.WithLabelValues("connected").Set(0)
	n.streams.WithLabelValues("disconnected").Set(0)
	return n
}

func (n *notifyMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{n.lag, n.copied, n.streams, n.reconnects}
}

// NotifyMode records what serve does between syncs; buckets start disconnected.
func (m *Metrics) NotifyMode(mode string, buckets []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notifyMode = mode
	m.notifyBuckets = map[string]*NotificationBucket{}
	if mode != NotifyListening {
		return
	}
	for _, b := range buckets {
		m.notifyBuckets[b] = &NotificationBucket{Bucket: b}
	}
	m.notify.streams.WithLabelValues("disconnected").Set(float64(len(buckets)))
}

// NotifyConnected records that bucket's stream opened (up) or broke.
func (m *Metrics) NotifyConnected(bucket string, up bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.notifyBuckets[bucket]
	if b == nil || b.Connected == up {
		return
	}
	b.Connected = up
	from, to := "disconnected", "connected"
	if !up {
		from, to = to, from
	}
	m.notify.streams.WithLabelValues(from).Dec()
	m.notify.streams.WithLabelValues(to).Inc()
}

// NotifyReconnect counts a stream opened again after it broke.
func (m *Metrics) NotifyReconnect(bucket string) {
	m.notify.reconnects.Inc()
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.notifyBuckets[bucket]; b != nil {
		b.Reconnects++
	}
}

// NotifyCopied counts an object copied from a notification, lag after its event.
func (m *Metrics) NotifyCopied(bucket string, lag time.Duration) {
	m.notify.copied.Inc()
	m.notify.lag.Observe(max(lag.Seconds(), 0))
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.notifyBuckets[bucket]; b != nil {
		b.Copied++
		b.LastLagSeconds = max(lag.Seconds(), 0)
		b.LastCopied = m.now()
	}
}

// notifyStatus is the Snapshot's part; m.mu must be held. Nil before serve set a mode.
func (m *Metrics) notifyStatus() *NotificationStatus {
	if m.notifyMode == "" {
		return nil
	}
	s := &NotificationStatus{Mode: m.notifyMode}
	for _, name := range slices.Sorted(maps.Keys(m.notifyBuckets)) {
		s.Buckets = append(s.Buckets, *m.notifyBuckets[name])
	}
	return s
}
