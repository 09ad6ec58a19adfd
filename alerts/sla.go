package alerts

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

// Clock measures SLA time: around the clock, or only within business hours.
type Clock struct {
	days       [7]bool // by time.Weekday
	start, end int     // minutes after local midnight
	loc        *time.Location
	business   bool
}

// WallClock counts every hour.
var WallClock = Clock{}

// NewClock builds a receiver's SLA clock from its business hours (nil:
// wall clock).
func NewClock(b *config.BusinessHours) (Clock, error) {
	if b == nil {
		return WallClock, nil
	}
	c := Clock{business: true, loc: time.UTC}
	var err error
	if c.start, err = hhmm(b.Start); err != nil {
		return c, fmt.Errorf("business_hours.start: %w", err)
	}
	if c.end, err = hhmm(b.End); err != nil {
		return c, fmt.Errorf("business_hours.end: %w", err)
	}
	if c.end <= c.start {
		return c, fmt.Errorf("business_hours: end %s is not after start %s", b.End, b.Start)
	}
	if b.Timezone != "" {
		if c.loc, err = time.LoadLocation(b.Timezone); err != nil {
			return c, fmt.Errorf("business_hours.timezone: %w", err)
		}
	}
	days := b.Days
	if len(days) == 0 {
		days = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	for _, d := range days {
		i := slices.Index(config.Weekdays, strings.ToLower(d))
		if i < 0 {
			return c, fmt.Errorf("business_hours.days: unknown day %q", d)
		}
		c.days[i] = true
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

// Elapsed is the SLA time between two instants: all of it on the wall
// clock, the part inside business hours otherwise. Days are built in the
// receiver's zone, so DST changes shorten or lengthen nothing but the night.
func (c Clock) Elapsed(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	if !c.business {
		return to.Sub(from)
	}
	var sum time.Duration
	lf := from.In(c.loc)
	day := time.Date(lf.Year(), lf.Month(), lf.Day(), 0, 0, 0, 0, c.loc)
	for ; day.Before(to); day = day.AddDate(0, 0, 1) {
		if !c.days[day.Weekday()] {
			continue
		}
		open := time.Date(day.Year(), day.Month(), day.Day(), c.start/60, c.start%60, 0, 0, c.loc)
		shut := time.Date(day.Year(), day.Month(), day.Day(), c.end/60, c.end%60, 0, 0, c.loc)
		if open.Before(from) {
			open = from
		}
		if shut.After(to) {
			shut = to
		}
		if shut.After(open) {
			sum += shut.Sub(open)
		}
	}
	return sum
}

// SLA is where a case stands against its clocks.
type SLA struct {
	ToAck     time.Duration // SLA time until acknowledged (or so far)
	ToResolve time.Duration // SLA time until resolved (or so far), holds excluded
	Acked     bool
	Resolved  bool
	OnHold    bool
}

// Measure runs a case's clocks over its events (any order) up to now.
// Acknowledging, holding or resolving stops the acknowledge clock (each
// means someone acted); time on hold does not count toward resolution.
func Measure(evs []storage.CaseEvent, clock Clock, now time.Time) SLA {
	evs = slices.Clone(evs)
	slices.SortStableFunc(evs, func(a, b storage.CaseEvent) int { return a.At.Compare(b.At) })
	var s SLA
	var opened, holdStart time.Time
	var held time.Duration
	for _, e := range evs {
		switch e.Event {
		case "opened":
			if opened.IsZero() {
				opened = e.At
			}
		case "acknowledged", "held", "resolved":
			if !s.Acked && !opened.IsZero() {
				s.ToAck, s.Acked = clock.Elapsed(opened, e.At), true
			}
		}
		switch e.Event {
		case "held":
			if !s.OnHold {
				s.OnHold, holdStart = true, e.At
			}
		case "resumed":
			if s.OnHold {
				held += clock.Elapsed(holdStart, e.At)
				s.OnHold = false
			}
		case "resolved":
			if s.OnHold {
				held += clock.Elapsed(holdStart, e.At)
				s.OnHold = false
			}
			if !s.Resolved && !opened.IsZero() {
				s.ToResolve, s.Resolved = clock.Elapsed(opened, e.At)-held, true
			}
		}
	}
	if opened.IsZero() {
		return s
	}
	if !s.Acked {
		s.ToAck = clock.Elapsed(opened, now)
	}
	if !s.Resolved {
		if s.OnHold {
			held += clock.Elapsed(holdStart, now)
		}
		s.ToResolve = clock.Elapsed(opened, now) - held
	}
	return s
}

// Overdue says which of a route's deadlines a case has missed ("" if none).
func (s SLA) Overdue(ackWithin, resolveWithin time.Duration) string {
	switch {
	case !s.Acked && ackWithin > 0 && s.ToAck > ackWithin:
		return fmt.Sprintf("not acknowledged within %s", short(ackWithin))
	case !s.Resolved && !s.OnHold && resolveWithin > 0 && s.ToResolve > resolveWithin:
		return fmt.Sprintf("not resolved within %s", short(resolveWithin))
	}
	return ""
}

// CaseSLA measures a case against the first of its routes that sets a
// deadline, on that route's receiver's clock, and says where it stands:
// "ack in 35m", "resolve in 20h 5m", "OVERDUE 1h 5m: not acknowledged
// within 2h",
// or "" when no route sets one (or the case is resolved).
func CaseSLA(tree *Route, clocks map[string]Clock, m mention.Mention, evs []storage.CaseEvent, now time.Time) string {
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
