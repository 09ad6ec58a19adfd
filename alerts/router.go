package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/mention"
)

// Router is the routing stage (Alertmanager's dispatcher matching alerts
// to routes): it opens cases and queues each for the receivers its routes
// name, over the case event log only. Whether a case was routed is an
// event ("routed") in that log, so routing twice is a no-op.
type Router struct {
	Tree      *Route
	Receivers map[string]Receiver // the receivers routes may name
	Log       EventLog
	Now       func() time.Time
	Logger    *slog.Logger
	Metrics   *metrics.Metrics
}

// Unrouted returns the negative mentions' cases the log has no "routed"
// event for, opened now, with their mentions by id.
func (r Router) Unrouted(ctx context.Context, ms []mention.Mention) ([]caselog.Queued, map[string]mention.Mention, error) {
	var ids []string
	for _, m := range ms {
		if m.Negative {
			ids = append(ids, caselog.RoutedID(CaseID(m)))
		}
	}
	done, err := r.Log.HasEvents(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("routed cases: %w", err)
	}
	var qs []caselog.Queued
	byID := map[string]mention.Mention{}
	for _, m := range ms {
		if m.Negative && !done[caselog.RoutedID(CaseID(m))] {
			qs = append(qs, caselog.Queued{CaseID: CaseID(m), MentionID: m.ID, OpenedAt: r.now()})
			byID[m.ID] = m
		}
	}
	return qs, byID, nil
}

// Route opens the given cases and queues each for the receivers its
// routes name, in one insert: per case an "opened" event (at the time its
// mention was stored), a "queued" event per receiver carrying the group
// key, and a "routed" event that tells the router it is done. Ids are
// deterministic, so routing a case twice (a crash before the router saw
// its insert succeed) collapses. A case whose mention is not in ms (not
// readable yet) is left for the next round.
func (r Router) Route(ctx context.Context, qs []caselog.Queued, ms map[string]mention.Mention) error {
	if len(qs) == 0 {
		return nil
	}
	now := r.now()
	var evs, done []caselog.Event
	routed := 0
	seen := map[string]bool{}
	for _, q := range qs {
		m, ok := ms[q.MentionID]
		if !ok || seen[q.CaseID] {
			continue
		}
		seen[q.CaseID] = true
		at := q.OpenedAt
		if at.IsZero() {
			at = now
		}
		labels := LabelsOf(m)
		base := caselog.Event{CaseID: q.CaseID, MentionID: m.ID, Brand: m.Brand, Location: m.Location, Severity: m.Severity,
			State: "open", At: at, Actor: "earshot"}
		ev := base
		ev.EventID, ev.Event = caselog.OpenedID(q.CaseID), "opened"
		evs = append(evs, ev)
		var to []string
		for _, rt := range r.Tree.Match(labels) {
			if slices.Contains(to, rt.Receiver) {
				continue // a second route to the same receiver queues once
			}
			if _, ok := r.Receivers[rt.Receiver]; !ok {
				return fmt.Errorf("case %s: no receiver %q", q.CaseID, rt.Receiver)
			}
			to = append(to, rt.Receiver)
			ev := base
			ev.EventID, ev.Event, ev.Receiver, ev.Note = caselog.QueuedID(q.CaseID, rt.Receiver), "queued", rt.Receiver, rt.GroupKey(labels)
			evs = append(evs, ev)
		}
		ev = base
		ev.EventID, ev.Event, ev.At, ev.Note = caselog.RoutedID(q.CaseID), "routed", now, strings.Join(to, ",")
		done = append(done, ev)
		routed++
	}
	// The "routed" marks go in a second insert, after the cases are opened
	// and queued: an insert spanning two months is one part per month, not
	// atomic, and a mark without its queued rows would lose the case.
	if err := r.Log.AppendCaseEvents(ctx, evs); err != nil {
		return fmt.Errorf("route %d cases: %w", routed, err)
	}
	if err := r.Log.AppendCaseEvents(ctx, done); err != nil {
		return fmt.Errorf("route %d cases: mark routed: %w", routed, err)
	}
	r.Metrics.CasesOpened(routed)
	if routed > 0 {
		logger(r.Logger).Info("cases opened", "cases", routed)
	}
	return nil
}

func (r Router) now() time.Time { return nowOf(r.Now) }

// nowOf is now by the given clock, the wall clock when nil.
func nowOf(now func() time.Time) time.Time {
	if now != nil {
		return now()
	}
	return time.Now()
}

// logger is l, or one that discards.
func logger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}
