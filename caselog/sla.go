package caselog

import (
	"fmt"
	"slices"
	"strings"
	"time"
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

// Weekdays are the day names business hours take, by time.Weekday.
var Weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// BusinessClock counts only the hours from start to end (HH:MM, end after
// start) on the given days (Weekdays, any case; none: mon-fri) in loc (nil:
// UTC).
func BusinessClock(days []string, start, end string, loc *time.Location) (Clock, error) {
	c := Clock{business: true, loc: cmpLoc(loc)}
	var err error
	if c.start, err = HHMM(start); err != nil {
		return c, fmt.Errorf("start: %w", err)
	}
	if c.end, err = HHMM(end); err != nil {
		return c, fmt.Errorf("end: %w", err)
	}
	if c.end <= c.start {
		return c, fmt.Errorf("end %s is not after start %s", end, start)
	}
	if len(days) == 0 {
		days = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	for _, d := range days {
		i := slices.Index(Weekdays, strings.ToLower(d))
		if i < 0 {
			return c, fmt.Errorf("days: unknown day %q", d)
		}
		c.days[i] = true
	}
	return c, nil
}

func cmpLoc(l *time.Location) *time.Location {
	if l == nil {
		return time.UTC
	}
	return l
}

// Business reports whether the clock counts business hours only.
func (c Clock) Business() bool { return c.business }

// HHMM reads "22:00" as minutes after midnight.
func HHMM(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("want HH:MM, got %q", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Elapsed is the SLA time between two instants: all of it on the wall
// clock, the part inside business hours otherwise. Days are built in the
// clock's zone, so DST changes shorten or lengthen nothing but the night.
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
func Measure(evs []Event, clock Clock, now time.Time) SLA {
	evs = slices.Clone(evs)
	slices.SortStableFunc(evs, func(a, b Event) int { return a.At.Compare(b.At) })
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
		return fmt.Sprintf("not acknowledged within %s", Short(ackWithin))
	case !s.Resolved && !s.OnHold && resolveWithin > 0 && s.ToResolve > resolveWithin:
		return fmt.Sprintf("not resolved within %s", Short(resolveWithin))
	}
	return ""
}

// Short writes a duration without zero units: 1h, 30m, 24h.
func Short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
