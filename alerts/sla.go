package alerts

import (
	"fmt"
	"strings"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// Clock measures SLA time (caselog.Clock): around the clock, or only within
// a receiver's business hours.
type Clock = caselog.Clock

// SLA is where a case stands against its clocks (caselog.SLA).
type SLA = caselog.SLA

// WallClock counts every hour.
var WallClock = caselog.WallClock

// NewClock builds a receiver's SLA clock from its business hours (nil:
// wall clock).
func NewClock(b *config.BusinessHours) (Clock, error) {
	if b == nil {
		return WallClock, nil
	}
	loc := time.UTC
	if b.Timezone != "" {
		var err error
		if loc, err = time.LoadLocation(b.Timezone); err != nil {
			return WallClock, fmt.Errorf("business_hours.timezone: %w", err)
		}
	}
	c, err := caselog.BusinessClock(b.Days, b.Start, b.End, loc)
	if err != nil {
		return WallClock, fmt.Errorf("business_hours: %w", err)
	}
	return c, nil
}

// Clocks builds every receiver's SLA clock.
func Clocks(cfg *config.Config) (map[string]Clock, error) {
	out := map[string]Clock{}
	for _, r := range cfg.Receivers {
		c, err := NewClock(r.BusinessHours)
		if err != nil {
			return nil, fmt.Errorf("receiver %s: %w", r.Name, err)
		}
		out[r.Name] = c
	}
	return out, nil
}

// Measure runs a case's clocks over its events up to now (caselog.Measure).
func Measure(evs []caselog.Event, clock Clock, now time.Time) SLA {
	return caselog.Measure(evs, clock, now)
}

// CaseSLA measures a case against the first of its routes that sets a
// deadline, on that route's receiver's clock, and says where it stands:
// "ack in 35m", "resolve in 20h 5m", "OVERDUE 1h 5m: not acknowledged
// within 2h",
// or "" when no route sets one (or the case is resolved).
func CaseSLA(tree *Route, clocks map[string]Clock, m mention.Mention, evs []caselog.Event, now time.Time) string {
	for _, r := range tree.Match(LabelsOf(m)) {
		if r.AckWithin <= 0 && r.ResolveWithin <= 0 {
			continue
		}
		clock, ok := clocks[r.Receiver]
		if !ok {
			clock = WallClock
		}
		s := Measure(evs, clock, now)
		if late := s.Overdue(r.AckWithin, r.ResolveWithin); late != "" {
			by := s.ToResolve - r.ResolveWithin
			if !s.Acked && r.AckWithin > 0 && s.ToAck > r.AckWithin {
				by = s.ToAck - r.AckWithin
			}
			return "OVERDUE " + strings.TrimSuffix(age(by), " 0m") + ": " + late // how late first: what staff scan for
		}
		switch {
		case s.Resolved:
			return ""
		case s.OnHold:
			return "paused (on hold)"
		case !s.Acked && r.AckWithin > 0:
			return "ack in " + age(r.AckWithin-s.ToAck)
		case r.ResolveWithin > 0:
			return "resolve in " + age(r.ResolveWithin-s.ToResolve)
		}
		return ""
	}
	return ""
}
