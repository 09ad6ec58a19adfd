package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/mention"
)

// EscalationStore is what escalation reads and writes; *storage.Store is one.
type EscalationStore interface {
	// Overdue lists open cases opened at or before `before` whose
	// escalation has not reached step `steps`, in case id order after
	// `after` (storage.Store.Overdue).
	Overdue(ctx context.Context, before time.Time, steps uint8, after string, limit int) ([]caselog.State, error)
	MentionReader
	EventLog
}

// Escalator is the escalation stage: it sends open cases nobody
// acknowledged in time up their route's chain, through the retry stage,
// and records each step in the case event log.
type Escalator struct {
	Tree      *Route
	Clocks    map[string]Clock // per receiver: SLA clock; default wall clock
	Receivers map[string]Receiver
	Sender    Sender
	Compose   Composer
	Now       func() time.Time
	Logger    *slog.Logger
}

// escalationPage is how many overdue cases one read returns.
const escalationPage = 1000

// Run sends open cases nobody acknowledged in time up their route's
// chain: step k goes to escalate_to[k-1] once k*ack_within has passed since
// the case opened. Each step is recorded (escalated and notified events with
// the step in their ids), so it happens once. Acknowledged, held and
// resolved cases do not escalate, nor do cases that never reached the
// route's own receiver (no "notified" event at step 0). It returns how many messages it sent.
//
// The clock is the route receiver's: business hours when it has them (a
// case opened on Friday evening escalates on Monday), else the wall clock.
// Holding a case counts as acting on it: held cases do not escalate.
//
// It reads only candidates: open cases older than the shortest ack_within
// (business time never runs faster than the wall clock) that have not been
// through the longest chain, by pages in case id order, with their
// mentions and step events read once per page. A store with years of
// handled cases costs what its overdue ones cost, and no case is dropped
// by a ceiling.
func (e Escalator) Run(ctx context.Context, store EscalationStore) (int, error) {
	ack, steps := e.Tree.escalation()
	if steps == 0 {
		return 0, nil // no route escalates: nothing to read
	}
	now := nowOf(e.Now)
	sent := 0
	var firstErr error
	for after := ""; ; {
		page, err := store.Overdue(ctx, now.Add(-ack), uint8(min(steps, 255)), after, escalationPage)
		if err != nil {
			return sent, fmt.Errorf("escalation: %w", err)
		}
		if len(page) == 0 {
			return sent, firstErr
		}
		after = page[len(page)-1].CaseID
		k, err := e.page(ctx, store, page, now)
		sent += k
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if len(page) < escalationPage || ctx.Err() != nil {
			return sent, firstErr
		}
	}
}

// page escalates one page of overdue cases.
func (e Escalator) page(ctx context.Context, store EscalationStore, page []caselog.State, now time.Time) (int, error) {
	ids := make([]string, 0, len(page))
	for _, c := range page {
		ids = append(ids, c.MentionID)
	}
	ms, err := store.Mentions(ctx, ids)
	if err != nil {
		return 0, err
	}
	type due struct {
		c    caselog.State
		m    mention.Mention
		r    *Route
		step int
	}
	// Which steps are due, then one read of which of them already happened
	// and which cases reached their route's first receiver: a case never
	// delivered there (deferred to a digest, waiting out quiet hours, or
	// failing) does not escalate over its head.
	var todo []due
	var evIDs []string
	for _, c := range page {
		m, found := ms[c.MentionID]
		if !found {
			continue
		}
		for _, r := range e.Tree.Match(LabelsOf(m)) {
			if r.AckWithin <= 0 || len(r.EscalateTo) == 0 {
				continue
			}
			steps := int(clockOf(e.Clocks, r.Receiver).Elapsed(c.OpenedAt, now) / r.AckWithin)
			for step := int(c.Escalated) + 1; step <= min(steps, len(r.EscalateTo)); step++ {
				todo = append(todo, due{c: c, m: m, r: r, step: step})
				evIDs = append(evIDs, caselog.EscalatedID(c.CaseID, step), caselog.NotifiedID(c.CaseID, r.Receiver, 0))
			}
		}
	}
	if len(todo) == 0 {
		return 0, nil
	}
	done, err := store.HasEvents(ctx, evIDs)
	if err != nil {
		return 0, err
	}
	sent := 0
	var firstErr error
	failed := map[string]bool{} // case ids whose step failed: later steps wait
	for _, d := range todo {
		c, m, r, step := d.c, d.m, d.r, d.step
		evID := caselog.EscalatedID(c.CaseID, step)
		if done[evID] || failed[c.CaseID] || !done[caselog.NotifiedID(c.CaseID, r.Receiver, 0)] {
			continue
		}
		recv := r.EscalateTo[step-1]
		rcv, ok := e.Receivers[recv]
		if !ok {
			continue
		}
		cs := e.Compose.Case(m)
		cs.ID = c.CaseID
		msg := Message{Receiver: recv, GroupKey: r.GroupKey(LabelsOf(m)), Step: step, Cases: []Case{cs}}
		msg.ID = MessageID(recv, step, msg.Cases)
		if _, err := e.Sender.Deliver(ctx, rcv, msg, false); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			failed[c.CaseID] = true // try this step again next time; do not skip ahead
			continue
		}
		sent++
		done[evID] = true
		base := caselog.Event{CaseID: c.CaseID, MentionID: m.ID, At: now, State: "open", Actor: "earshot", Receiver: recv,
			Step: uint8(step), Brand: m.Brand, Location: m.Location, Severity: m.Severity}
		esc, note := base, base
		esc.EventID, esc.Event = evID, "escalated"
		esc.Note = fmt.Sprintf("not acknowledged within %s", caselog.Short(time.Duration(step)*r.AckWithin))
		if clockOf(e.Clocks, r.Receiver).Business() {
			esc.Note += " (business hours)"
		}
		note.EventID, note.Event = caselog.NotifiedID(c.CaseID, recv, step), "notified"
		if err := store.AppendCaseEvents(ctx, []caselog.Event{esc, note}); err != nil {
			logger(e.Logger).Error("escalation not recorded; it may be sent again", "case", c.CaseID, "step", step, "err", err)
		}
	}
	return sent, firstErr
}

// clockOf is a receiver's SLA clock (the wall clock when it has none).
func clockOf(clocks map[string]Clock, receiver string) Clock {
	if c, ok := clocks[receiver]; ok {
		return c
	}
	return WallClock
}
