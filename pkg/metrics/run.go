package metrics

import "time"

// RunFinished records a finished run of kind (copy, sync, verify, cutover): its duration
// always, and the time of success when ok.
func (m *Metrics) RunFinished(kind string, started time.Time, ok bool) {
	now := m.now()
	d := now.Sub(started)
	m.runDuration.WithLabelValues(kind).Set(d.Seconds())
	result := "failed"
	if ok {
		result = "ok"
		m.runSuccess.WithLabelValues(kind).Set(unixSeconds(now))
	}
	m.runs.WithLabelValues(kind, result).Inc()

	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.runStatus(kind)
	r.LastFinished, r.LastDurationSeconds, r.LastOK = now, d.Seconds(), ok
	if ok {
		r.LastSuccess = now
	}
}

// SetPhase makes phase the one whose gauge is 1 (copy, sync, verify, cutover, idle).
func (m *Metrics) SetPhase(phase string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seenPhases[phase] = true
	for p := range m.seenPhases {
		v := 0.0
		if p == phase {
			v = 1
		}
		m.phase.WithLabelValues(p).Set(v)
	}
	m.phaseName = phase
}

// SkippedOverlap counts a scheduled run skipped because the previous one still ran.
func (m *Metrics) SkippedOverlap() { m.overlap.Inc() }

// RestoreLastSuccess sets the last success of kind from before this process started
// (a checkpoint's record), so a restart does not look like a sync that never succeeded.
// A later success in this process wins.
func (m *Metrics) RestoreLastSuccess(kind string, at time.Time) {
	if at.IsZero() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.runStatus(kind)
	if at.After(r.LastSuccess) {
		r.LastSuccess = at
		m.runSuccess.WithLabelValues(kind).Set(unixSeconds(at))
	}
}

// runStatus returns kind's record, made on first use; m.mu must be held.
func (m *Metrics) runStatus(kind string) *RunStatus {
	r := m.lastRuns[kind]
	if r == nil {
		r = &RunStatus{Kind: kind}
		m.lastRuns[kind] = r
	}
	return r
}
