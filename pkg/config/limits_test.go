package config

import (
	"strings"
	"testing"
	"time"
)

func TestLimitsAndConcurrencySettings(t *testing.T) {
	base := "source: {endpoint: http://s:9000, accessKey: a, secretKey: b}\ndestination: {endpoint: https://d, accessKey: a, secretKey: b}\nbuckets: {mobs: r}\n"
	for _, c := range []struct {
		extra, wantErr string
	}{
		{"", ""},
		{"workers: 8\n", ""},
		{"maxWorkers: 64\nlimits: {bandwidth: 10M, requestsPerSecond: 100, sourceLatency: 250ms}\n", ""},
		{"limits: {schedule: [{from: \"08:00\", bandwidth: 10M}, {from: \"19:00\", bandwidth: \"off\"}]}\n", ""},
		{"limits: {bandwidth: fast}\n", "limits.bandwidth"},
		{"limits: {requestsPerSecond: -1}\n", "limits.requestsPerSecond"},
		{"limits: {schedule: [{from: \"8am\"}]}\n", "limits.schedule[0].from"},
		{"limits: {schedule: [{from: \"08:00\"}, {from: \"08:00\"}]}\n", "two windows start at 08:00"},
		{"limits: {bandwidth: 1M, schedule: [{from: \"08:00\"}]}\n", "not both"},
		{"workers: 8\nmaxWorkers: 64\n", "give one of them"},
		{"maxWorkers: 2\n", "maxWorkers: 2 is out of range"},
		{"workers: 2000\n", "workers: 2000 is out of range"},
	} {
		cfg, err := Parse([]byte(base + c.extra))
		if err != nil {
			t.Fatalf("%q: %v", c.extra, err)
		}
		cfg.applyDefaults()
		err = cfg.Validate()
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%q: %v", c.extra, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%q: error %v, want one naming %q", c.extra, err, c.wantErr)
		}
	}
	cfg, _ := Parse([]byte(base + "limits: {sourceLatency: 250ms}\n"))
	cfg.applyDefaults()
	if !cfg.Adaptive() || cfg.InFlightMax() != DefaultMaxWorkers || cfg.Limits.SourceLatency != 250*time.Millisecond {
		t.Errorf("no workers: adaptive %v, at most %d, guard %s", cfg.Adaptive(), cfg.InFlightMax(), cfg.Limits.SourceLatency)
	}
}
