package web

import (
	"context"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/storage"
)

// SLAPlan routes every combination of routing labels among the cases, as
// alerts.CaseSLA routes one case (the first matching route that sets a
// deadline, on its receiver's clock), so that the inbox can sort by due
// time and keep overdue cases in SQL with the same answer as each row's
// SLA text.
func (s *Service) SLAPlan(ctx context.Context, now time.Time) (*storage.SLAPlan, error) {
	labels := routeLabels(s.Config.Route)
	keys, err := s.Store.SLAKeys(ctx, labels)
	if err != nil {
		return nil, err
	}
	plan := &storage.SLAPlan{Now: now, Labels: labels, Keys: keys}
	type route struct {
		ack, resolve time.Duration
		receiver     string
	}
	index := map[route]int{}
	var clocks []alerts.Clock
	for i := range plan.Keys {
		k := &plan.Keys[i]
		l := alerts.Labels{Brand: k.Brand, Location: k.Location, Source: k.Source, Kind: k.Kind, Lang: k.Lang, Severity: k.Severity,
			Aspects: k.Aspects, Signals: k.Signals}
		for _, r := range s.Tree.Match(l) {
			if r.AckWithin <= 0 && r.ResolveWithin <= 0 {
				continue
			}
			key := route{r.AckWithin, r.ResolveWithin, r.Receiver}
			p, ok := index[key]
			if !ok {
				clock, found := s.Clocks[r.Receiver]
				if !found {
					clock = alerts.WallClock
				}
				plan.Policies = append(plan.Policies, policy(clock, r.AckWithin, r.ResolveWithin, now))
				clocks = append(clocks, clock)
				p = len(plan.Policies)
				index[key] = p
			}
			k.Policy = p
			break
		}
	}
	plan.Late = func(p int, evs []storage.CaseEvent) bool {
		if p < 1 || p > len(plan.Policies) {
			return false
		}
		pol := plan.Policies[p-1]
		return alerts.Measure(evs, clocks[p-1], now).Overdue(pol.AckWithin, pol.ResolveWithin) != ""
	}
	return plan, nil
}

// routeLabels lists the routing labels a route tree reads.
func routeLabels(r *config.Route) []string {
	seen := map[string]bool{}
	var walk func(r *config.Route)
	walk = func(r *config.Route) {
		if r == nil {
			return
		}
		for k := range r.Match {
			seen[k] = true
		}
		for k := range r.MatchRE {
			seen[k] = true
		}
		if r.MinSeverity != "" {
			seen["severity"] = true
		}
		if len(r.Aspects) > 0 {
			seen["aspect"] = true
		}
		if len(r.Signals) > 0 {
			seen["signal"] = true
		}
		for _, c := range r.Routes {
			walk(c)
		}
	}
	walk(r)
	var out []string
	for _, l := range storage.RouteLabels {
		if seen[l] {
			out = append(out, l)
		}
	}
	return out
}

// policy measures a route's deadlines on its clock at now.
func policy(clock alerts.Clock, ack, resolve time.Duration, now time.Time) storage.SLAPolicy {
	p := storage.SLAPolicy{AckWithin: ack, ResolveWithin: resolve, Business: clock != alerts.WallClock}
	if ack > 0 {
		p.AckCut = cutoff(clock, ack, now)
	}
	if resolve > 0 {
		p.ResolveCut = cutoff(clock, resolve, now)
	}
	if p.Business {
		// A 7 × 24 h window holds one week of business hours, give or
		// take the hour a DST change moves; sample both halves of a year.
		p.WeekMin = time.Duration(1<<62 - 1)
		for _, t := range []time.Time{now.AddDate(0, 0, -7), now.AddDate(0, -6, 0), now.AddDate(0, -3, 0).Add(13 * time.Hour)} {
			p.WeekMin = min(p.WeekMin, clock.Elapsed(t, t.Add(7*24*time.Hour)))
		}
		p.WeekMin = max(0, p.WeekMin-time.Hour)
	}
	return p
}

// cutoff is the latest whole second s such that a case opened at s has
// spent more than within on clock by now (zero: none within ten years).
// Elapsed only shrinks as the opening moves later, so a binary search
// finds it.
func cutoff(clock alerts.Clock, within time.Duration, now time.Time) time.Time {
	late := func(s int64) bool { return clock.Elapsed(time.Unix(s, 0), now) > within }
	hi := now.Unix() + 1
	if late(hi) {
		return time.Unix(hi, 0) // cannot be: within is positive
	}
	step := int64(within/time.Second) + 86400
	lo := hi - step
	for !late(lo) {
		step *= 2
		lo = hi - step
		if step > 10*366*86400 {
			return time.Time{}
		}
	}
	for hi-lo > 1 { // late(lo) && !late(hi)
		mid := lo + (hi-lo)/2
		if late(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return time.Unix(lo, 0).UTC()
}
