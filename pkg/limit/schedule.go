package limit

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Rates are the caps in force at one time; 0 means no cap.
type Rates struct {
	Bandwidth float64 // bytes per second, all workers together
	Requests  float64 // requests per second, both sides together
}

// Window is a time of day from which its rates apply, until the next window begins.
type Window struct {
	From time.Duration // since midnight, in the process's time zone
	Rates
}

// Plan is the caps over a day: Base when there is no timetable, else the window whose
// start last passed (the last window of the day runs on past midnight to the first).
type Plan struct {
	Base    Rates
	Windows []Window // sorted by From
}

// Unlimited tells whether the plan never caps anything, so no wrapper is needed.
func (p Plan) Unlimited() bool {
	if p.Base != (Rates{}) {
		return false
	}
	for _, w := range p.Windows {
		if w.Rates != (Rates{}) {
			return false
		}
	}
	return true
}

// At returns the rates in force at t.
func (p Plan) At(t time.Time) Rates {
	if len(p.Windows) == 0 {
		return p.Base
	}
	y, m, d := t.Date()
	since := t.Sub(time.Date(y, m, d, 0, 0, 0, 0, t.Location()))
	cur := p.Windows[len(p.Windows)-1] // before the first window: yesterday's last one
	for _, w := range p.Windows {
		if w.From <= since {
			cur = w
		}
	}
	return cur.Rates
}

// Sort orders the windows and refuses two that start at the same time.
func (p *Plan) Sort() error {
	sort.Slice(p.Windows, func(i, j int) bool { return p.Windows[i].From < p.Windows[j].From })
	for i := 1; i < len(p.Windows); i++ {
		if p.Windows[i].From == p.Windows[i-1].From {
			return fmt.Errorf("two windows start at %s", clockTime(p.Windows[i].From))
		}
	}
	return nil
}

// ParseTimeOfDay reads "HH:MM" (24-hour).
func ParseTimeOfDay(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not a time of day like 08:00 or 19:30", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

func clockTime(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60)
}

// ParseBandwidth reads a rate in bytes per second the way rclone's --bwlimit does:
// "10M" or "10MiB" is 10 MiB/s (K, M, G are powers of 1024), a bare number is bytes,
// and "off", "0" or "" is no cap.
func ParseBandwidth(s string) (float64, error) {
	v := strings.TrimSpace(s)
	v = strings.TrimSuffix(strings.TrimSuffix(v, "/s"), "B")
	v = strings.TrimSuffix(v, "i")
	if v == "" || strings.EqualFold(v, "off") {
		return 0, nil
	}
	mult := 1.0
	switch v[len(v)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	}
	if mult != 1 {
		v = v[:len(v)-1]
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a bandwidth like 10M (MiB/s), 512K, 1G or off", s)
	}
	return n * mult, nil
}
