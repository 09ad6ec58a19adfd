package alerts

import (
	"fmt"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/config"
)

// Policy is a receiver's delivery policy: a throttle and quiet hours.
type Policy struct {
	MaxPerHour int
	quiet      bool
	start, end int // minutes after local midnight
	loc        *time.Location
}

// Policies builds the policy of every configured receiver.
func Policies(cfg *config.Config) (map[string]Policy, error) {
	out := map[string]Policy{}
	for _, r := range cfg.Receivers {
		p := Policy{MaxPerHour: r.MaxPerHour}
		if q := r.QuietHours; q != nil {
			var err error
			if p.start, err = hhmm(q.Start); err != nil {
				return nil, fmt.Errorf("receiver %s: quiet_hours.start: %w", r.Name, err)
			}
			if p.end, err = hhmm(q.End); err != nil {
				return nil, fmt.Errorf("receiver %s: quiet_hours.end: %w", r.Name, err)
			}
			p.loc = time.UTC
			if q.Timezone != "" {
				if p.loc, err = time.LoadLocation(q.Timezone); err != nil {
					return nil, fmt.Errorf("receiver %s: quiet_hours.timezone: %w", r.Name, err)
				}
			}
			p.quiet = p.start != p.end
		}
		out[r.Name] = p
	}
	return out, nil
}

// NewQuietHours is a policy with quiet hours from start to end (HH:MM) in loc.
func NewQuietHours(start, end string, loc *time.Location, maxPerHour int) (Policy, error) {
	s, err := hhmm(start)
	if err != nil {
		return Policy{}, err
	}
	e, err := hhmm(end)
	if err != nil {
		return Policy{}, err
	}
	return Policy{MaxPerHour: maxPerHour, quiet: s != e, start: s, end: e, loc: loc}, nil
}

// Quiet reports whether t falls in the quiet hours; the span may cross
// midnight (22:00-07:00).
func (p Policy) Quiet(t time.Time) bool {
	if !p.quiet {
		return false
	}
	lt := t.In(p.loc)
	m := lt.Hour()*60 + lt.Minute()
	if p.start < p.end {
		return m >= p.start && m < p.end
	}
	return m >= p.start || m < p.end
}

func hhmm(s string) (int, error) { return caselog.HHMM(s) }
