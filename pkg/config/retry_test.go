package config

import (
	"strings"
	"testing"
	"time"
)

func TestRetrySettings(t *testing.T) {
	base := "source: {endpoint: http://s:9000, accessKey: a, secretKey: b}\ndestination: {endpoint: https://d, accessKey: a, secretKey: b}\nbuckets: {mobs: r}\n"
	cfg, err := Parse([]byte(base + "retry: {attempts: 3, maxBackoff: 2s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Retry.Policy(); p.Attempts != 3 || p.Max != 2*time.Second {
		t.Errorf("policy %+v; want 3 attempts, 2s at most", p)
	}
	for extra, want := range map[string]string{
		"retry: {attempts: -1}\n":    "retry.attempts",
		"retry: {maxBackoff: 1ms}\n": "retry.maxBackoff",
		"retry: {attempts: 1000}\n":  "retry.attempts",
	} {
		cfg, err := Parse([]byte(base + extra))
		if err != nil {
			t.Fatal(err)
		}
		cfg.applyDefaults()
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one naming %s", extra, err, want)
		}
	}
}
