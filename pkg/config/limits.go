package config

import (
	"errors"
	"fmt"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/limit"
)

// Limits keep the copy gentle with the live store: caps across all workers, by time of
// day if need be, and a guard on the source's latency.
type Limits struct {
	// Bandwidth is bytes per second, rclone's way: 10M (MiB/s), 512K, 1G, off.
	Bandwidth         string  `yaml:"bandwidth"`
	RequestsPerSecond float64 `yaml:"requestsPerSecond"`
	// SourceLatency: when the source's GETs take longer than this (p90 over a second),
	// fewer objects are copied at once until they no longer do.
	SourceLatency time.Duration `yaml:"sourceLatency"`
	// Schedule replaces Bandwidth and RequestsPerSecond with windows by time of day.
	Schedule []LimitWindow `yaml:"schedule"`
}

// LimitWindow is one window of the timetable: from its time until the next window's.
type LimitWindow struct {
	From              string  `yaml:"from"` // HH:MM, the process's time zone (UTC in the image)
	Bandwidth         string  `yaml:"bandwidth"`
	RequestsPerSecond float64 `yaml:"requestsPerSecond"`
}

// Defaults of the concurrency found while running.
const (
	DefaultMaxWorkers = 256 // a 100 ms link needs a few hundred objects in flight
	MinWorkers        = 4
)

// Adaptive tells whether the number of objects in flight is found while running (no
// workers: set).
func (c *Config) Adaptive() bool { return c.Workers == 0 }

// InFlightMax is the most objects ever in flight: workers, or maxWorkers when adaptive.
func (c *Config) InFlightMax() int {
	if c.Workers > 0 {
		return c.Workers
	}
	if c.MaxWorkers > 0 {
		return c.MaxWorkers
	}
	return DefaultMaxWorkers
}

// Plan is the caps the limits set over a day.
func (l Limits) Plan() (limit.Plan, error) {
	var p limit.Plan
	var errs []error
	bw, err := limit.ParseBandwidth(l.Bandwidth)
	if err != nil {
		errs = append(errs, fmt.Errorf("limits.bandwidth: %w", err))
	}
	if l.RequestsPerSecond < 0 {
		errs = append(errs, fmt.Errorf("limits.requestsPerSecond: %v is negative; 0 means no cap", l.RequestsPerSecond))
	}
	p.Base = limit.Rates{Bandwidth: bw, Requests: l.RequestsPerSecond}
	for i, w := range l.Schedule {
		from, err := limit.ParseTimeOfDay(w.From)
		if err != nil {
			errs = append(errs, fmt.Errorf("limits.schedule[%d].from: %w", i, err))
		}
		bw, err := limit.ParseBandwidth(w.Bandwidth)
		if err != nil {
			errs = append(errs, fmt.Errorf("limits.schedule[%d].bandwidth: %w", i, err))
		}
		if w.RequestsPerSecond < 0 {
			errs = append(errs, fmt.Errorf("limits.schedule[%d].requestsPerSecond: %v is negative", i, w.RequestsPerSecond))
		}
		p.Windows = append(p.Windows, limit.Window{From: from, Rates: limit.Rates{Bandwidth: bw, Requests: w.RequestsPerSecond}})
	}
	if len(l.Schedule) > 0 && (l.Bandwidth != "" || l.RequestsPerSecond != 0) {
		errs = append(errs, errors.New("limits: give bandwidth and requestsPerSecond either at the top or in schedule windows, not both"))
	}
	if err := p.Sort(); err != nil {
		errs = append(errs, fmt.Errorf("limits.schedule: %w", err))
	}
	return p, errors.Join(errs...)
}

func (c *Config) validateConcurrency() error {
	var errs []error
	if c.Workers < 0 || c.Workers > 1024 {
		errs = append(errs, fmt.Errorf("workers: %d is out of range 1..1024 (leave it out to let the migrator find it)", c.Workers))
	}
	if c.MaxWorkers != 0 && (c.MaxWorkers < MinWorkers || c.MaxWorkers > 1024) {
		errs = append(errs, fmt.Errorf("maxWorkers: %d is out of range %d..1024", c.MaxWorkers, MinWorkers))
	}
	if c.Workers > 0 && c.MaxWorkers > 0 {
		errs = append(errs, errors.New("maxWorkers is for the concurrency the migrator finds itself; with workers: set it is pinned, so give one of them"))
	}
	if c.Limits.SourceLatency < 0 {
		errs = append(errs, fmt.Errorf("limits.sourceLatency: %s is negative", c.Limits.SourceLatency))
	}
	if _, err := c.Limits.Plan(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
