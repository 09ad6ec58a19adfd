package alerts

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/config"
)

// StormStore is what the storm check reads and writes; *storage.Store is one.
type StormStore interface {
	NegativeBuckets(ctx context.Context, end time.Time, window time.Duration, n int) (map[caselog.StormKey][]int, error)
	StormMentions(ctx context.Context, k caselog.StormKey, from, to time.Time, limit int) ([]string, error)
	RecordStorm(ctx context.Context, st caselog.Storm) error
	StormsSince(ctx context.Context, since time.Time) ([]caselog.Storm, error)
}

// Spike is a window's negative count against its baseline.
type Spike struct {
	Count        int
	Mean, Stddev float64 // of the baseline windows
}

// Ratio is how many times the usual volume the window holds.
func (s Spike) Ratio() float64 {
	if s.Mean == 0 {
		return math.Inf(1)
	}
	return float64(s.Count) / s.Mean
}

// Detect decides whether counts[0] (the current window) is a storm against
// counts[1:] (the windows before). All three must hold, so that neither a
// flat baseline (stddev 0: one extra mention is "infinitely" unusual) nor a
// noisy one (a big stddev) nor a tiny count raises one:
//
//	count >= min_count
//	count >  mean + k*stddev
//	count >= ratio*mean
func Detect(counts []int, o config.Storms) (Spike, bool) {
	if len(counts) < 2 {
		return Spike{}, false
	}
	s := Spike{Count: counts[0]}
	base := counts[1:]
	for _, c := range base {
		s.Mean += float64(c)
	}
	s.Mean /= float64(len(base))
	for _, c := range base {
		d := float64(c) - s.Mean
		s.Stddev += d * d
	}
	s.Stddev = math.Sqrt(s.Stddev / float64(len(base)))
	c := float64(s.Count)
	return s, s.Count >= o.MinCount && c > s.Mean+o.K*s.Stddev && c >= o.Ratio*s.Mean
}

// maxStormCases bounds the cases a storm message lists; the count in its
// title is the whole storm.
const maxStormCases = 50

// StormWatch is the storm stage: it runs every configured detector,
// negative volume per brand and location, and per brand and aspect, far
// above its trailing baseline (see Detect). Each storm is one message to
// the detector's receiver, listing its cases. A key alerts once per
// cooldown and detector (window). A storm whose cases an active storm
// already lists (mostly) is not sent: a burst about waiting at one
// location is one location storm, not also a "wait" storm, and a day-long
// storm already reported hour by hour is not reported again. Detectors
// run in config order, locations before aspects. While a storm is in its
// cooldown, the Inhibitor holds back the per-mention alerts it covers,
// except critical ones.
type StormWatch struct {
	Detectors []config.Storms
	Store     StormStore
	Mentions  MentionReader
	Events    EventWriter         // the "storm" event of each case listed
	Receivers map[string]Receiver // the detectors' receivers
	Sender    Sender              // the retry stage
	Compose   Composer
	Logger    *slog.Logger
}

// Check runs the detectors at now given the storms still active (Active),
// and returns the storms it sent.
func (w StormWatch) Check(ctx context.Context, now time.Time, active []caselog.Storm) ([]caselog.Storm, error) {
	covered := map[string]bool{} // cases an active storm already lists
	for _, st := range active {
		for _, id := range st.CaseIDs {
			covered[id] = true
		}
	}
	var sent []caselog.Storm
	var firstErr error
	for i := range w.Detectors {
		s, err := w.detect(ctx, &w.Detectors[i], now, active, covered)
		sent = append(sent, s...)
		firstErr = cmp.Or(firstErr, err)
	}
	return sent, firstErr
}

// Active returns the storms still in their detector's cooldown at now:
// what the Inhibitor decides by.
func (w StormWatch) Active(ctx context.Context, now time.Time) ([]caselog.Storm, error) {
	cooldown := map[time.Duration]time.Duration{}
	longest := time.Duration(0)
	for _, o := range w.Detectors {
		cooldown[o.Window] = o.Cooldown
		longest = max(longest, o.Cooldown)
	}
	recent, err := w.Store.StormsSince(ctx, now.Add(-longest))
	if err != nil {
		return nil, fmt.Errorf("active storms: %w", err)
	}
	var out []caselog.Storm
	for _, st := range recent {
		cd, ok := cooldown[st.WindowEnd.Sub(st.WindowStart)]
		if !ok {
			cd = longest // a detector since removed or changed
		}
		if !st.At.Before(now.Add(-cd)) {
			out = append(out, st)
		}
	}
	return out, nil
}

func (w StormWatch) detect(ctx context.Context, o *config.Storms, now time.Time, active []caselog.Storm, covered map[string]bool) ([]caselog.Storm, error) {
	rcv, ok := w.Receivers[o.Receiver]
	if !ok {
		return nil, fmt.Errorf("storms: no receiver %q", o.Receiver)
	}
	// The window ends with the current minute: the id is the same for every
	// check within a minute, so a re-run check collapses.
	end := now.Truncate(time.Minute).Add(time.Minute)
	buckets, err := w.Store.NegativeBuckets(ctx, end, o.Window, o.Baselines)
	if err != nil {
		return nil, err
	}
	cooling := map[caselog.StormKey]bool{}
	for _, st := range active {
		if st.WindowEnd.Sub(st.WindowStart) == o.Window {
			cooling[st.Key] = true
		}
	}
	keys := make([]caselog.StormKey, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	// Locations before aspects, then by name: deterministic, and an aspect
	// storm can see which cases a location storm already covers.
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if (a.Aspect == "") != (b.Aspect == "") {
			return a.Aspect == ""
		}
		return a.String() < b.String()
	})
	var sent []caselog.Storm
	var firstErr error
	for _, k := range keys {
		spike, fire := Detect(buckets[k], *o)
		if !fire || cooling[k] {
			continue
		}
		from := end.Add(-o.Window)
		ids, err := w.Store.StormMentions(ctx, k, from, end, maxStormCases)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		var cases []Case
		fresh := 0
		ms, err := w.Mentions.Mentions(ctx, ids)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		for _, id := range ids {
			m, found := ms[id]
			if !found || !m.Negative {
				continue // re-scored as not negative since it was counted
			}
			c := w.Compose.Case(m)
			if !covered[c.ID] {
				fresh++
			}
			cases = append(cases, c)
		}
		if fresh*5 < len(cases) {
			continue // at least 80% already listed by an active storm: same news
		}
		st := caselog.Storm{ID: fmt.Sprintf("storm:%s:%s:%s", k, caselog.Short(o.Window), end.UTC().Format("20060102T1504")), At: now,
			WindowStart: from, WindowEnd: end, Key: k, Count: spike.Count, Mean: spike.Mean, Stddev: spike.Stddev, Receiver: o.Receiver}
		for _, c := range cases {
			st.CaseIDs = append(st.CaseIDs, c.ID)
		}
		msg := stormMessage(st, spike, *o, cases)
		msg.ID = st.ID
		if _, err := w.Sender.Deliver(ctx, rcv, msg, false); err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		// Recorded after the send: a crash in between sends the storm again
		// (at-least-once, like every other message).
		if err := w.Store.RecordStorm(ctx, st); err != nil {
			logger(w.Logger).Error("storm not recorded; it may be sent again", "storm", st.ID, "err", err)
		}
		var evs []caselog.Event
		for _, c := range cases {
			covered[c.ID] = true
			m := c.Mention
			evs = append(evs, caselog.Event{EventID: caselog.StormEventID(c.ID), CaseID: c.ID, MentionID: m.ID, At: now, Event: "storm",
				State: "open", Actor: "earshot", Brand: m.Brand, Location: m.Location, Severity: m.Severity, Note: st.ID})
		}
		if err := w.Events.AppendCaseEvents(ctx, evs); err != nil {
			logger(w.Logger).Error("storm cases not recorded", "storm", st.ID, "err", err)
		}
		logger(w.Logger).Warn("storm", "key", k.String(), "window", o.Window, "count", spike.Count, "mean", spike.Mean, "stddev", spike.Stddev,
			"receiver", o.Receiver)
		sent = append(sent, st)
	}
	return sent, firstErr
}

// stormMessage says what the storm is, with the figures, and lists its cases.
func stormMessage(st caselog.Storm, s Spike, o config.Storms, cases []Case) Message {
	what := st.Key.Brand + at(st.Key.Location)
	if st.Key.Aspect != "" {
		what = fmt.Sprintf("%s about %s", st.Key.Brand, st.Key.Aspect)
	}
	ratio := "no negative mentions before"
	if s.Mean > 0 {
		ratio = fmt.Sprintf("%.1f× the usual", s.Ratio())
	}
	title := fmt.Sprintf("Storm: %d negative mentions of %s in the last %s (%s)", s.Count, what, caselog.Short(o.Window), ratio)
	summary := []string{
		fmt.Sprintf("%d negative mentions from %s to %s UTC; in the %d windows of %s before: %.1f on average (standard deviation %.1f).",
			s.Count, st.WindowStart.UTC().Format("2006-01-02 15:04"), st.WindowEnd.UTC().Format("15:04"), o.Baselines, caselog.Short(o.Window), s.Mean, s.Stddev),
		fmt.Sprintf("Rule: at least %d, more than mean + %g × stddev (%.1f) and at least %g × the mean.", o.MinCount, o.K, s.Mean+o.K*s.Stddev, o.Ratio),
	}
	if top := topAspects(cases, 3); top != "" {
		summary = append(summary, "Mostly about: "+top+".")
	}
	if len(cases) < s.Count {
		summary = append(summary, fmt.Sprintf("The %d newest cases are listed below.", len(cases)))
	}
	summary = append(summary, fmt.Sprintf("Until %s UTC, per-mention alerts about this are held back (critical ones still go out); the cases stay open in the inbox and the digest.",
		st.At.Add(o.Cooldown).UTC().Format("2006-01-02 15:04")))
	return Message{Receiver: st.Receiver, GroupKey: "storm:" + st.Key.String(), Title: title, Summary: summary, Compact: true, Cases: cases}
}

// topAspects names the most frequent aspects of the cases with counts.
func topAspects(cases []Case, n int) string {
	count := map[string]int{}
	for _, c := range cases {
		for _, a := range c.Mention.Aspects {
			count[a]++
		}
	}
	return top(count, n, "", "%s (%d)")
}
