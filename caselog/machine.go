package caselog

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/earshot/earshot/mention"
)

// States a case can be in.
const (
	Open         = "open"
	Acknowledged = "acknowledged"
	OnHold       = "on_hold"
	Resolved     = "resolved"
)

// States lists them in workflow order (case_events.state's enum order).
var States = []string{Open, Acknowledged, OnHold, Resolved}

// StateEvents are the events that change a case's state; the others
// (queued, notified, deferred, escalated ...) record delivery and must not
// reopen a case that someone acknowledged meanwhile.
var StateEvents = []string{"opened", "acknowledged", "held", "resumed", "resolved"}

// NotAComplaint is the outcome of a case that was no complaint at all: the
// scorer was wrong, and resolving with it labels the mention for the
// learning scorer (alerts.Act).
const NotAComplaint = "not_a_complaint"

// Outcomes a resolved case records.
var Outcomes = []string{"replied_publicly", "contacted_privately", "compensated", "no_action", NotAComplaint}

// Actions staff take on a case.
var Actions = []string{"ack", "hold", "resume", "resolve"}

// ErrNoCase and ErrAlready are the workflow's expected refusals.
var (
	ErrNoCase  = errors.New("no such case")
	ErrAlready = errors.New("already done")
)

// transition is what an action does: the states it applies in, the state
// it leads to and the event it records.
type transition struct {
	from  []string
	to    string
	event string
}

func transitionOf(action string) (transition, bool) {
	switch action {
	case "ack":
		return transition{[]string{Open}, Acknowledged, "acknowledged"}, true
	case "hold":
		return transition{[]string{Open, Acknowledged}, OnHold, "held"}, true
	case "resume":
		return transition{[]string{OnHold}, Acknowledged, "resumed"}, true
	case "resolve":
		return transition{[]string{Open, Acknowledged, OnHold}, Resolved, "resolved"}, true
	}
	return transition{}, false
}

// CheckAction reports an unknown action, or a resolve without a known
// outcome, before anything is read.
func CheckAction(action, outcome string) error {
	if _, ok := transitionOf(action); !ok {
		return fmt.Errorf("unknown action %q", action)
	}
	if action == "resolve" && !slices.Contains(Outcomes, outcome) {
		return fmt.Errorf("outcome %q: want one of %s", outcome, strings.Join(Outcomes, ", "))
	}
	return nil
}

// Act applies an action (ack, hold, resume, resolve) by actor to a case in
// state c and returns the event to record. Acknowledging and resolving
// happen once: their events have fixed ids, so a double click or a repeated
// command records nothing new; ErrAlready says the case is there already.
// actor must be non-empty and one line (the caller cleans it).
func Act(c State, action, actor, outcome, note string, now time.Time) (Event, error) {
	if err := CheckAction(action, outcome); err != nil {
		return Event{}, err
	}
	t, _ := transitionOf(action)
	if actor == "" {
		return Event{}, errors.New("who acts? (--by)")
	}
	if c.State == t.to || (action == "ack" && c.State != Open && c.State != OnHold) {
		return Event{}, fmt.Errorf("case %s is %s: %w", c.CaseID, c.State, ErrAlready)
	}
	if !slices.Contains(t.from, c.State) {
		return Event{}, fmt.Errorf("case %s is %s: cannot %s it", c.CaseID, c.State, action)
	}
	id := c.CaseID + ":" + t.event
	if action == "hold" || action == "resume" {
		id += ":" + now.UTC().Format(time.RFC3339Nano) // these may repeat
	}
	return Event{EventID: id, CaseID: c.CaseID, MentionID: c.MentionID, At: now, Event: t.event, State: t.to,
		Actor: actor, Outcome: outcome, Note: note, Brand: c.Brand, Location: c.Location, Severity: c.Severity}, nil
}

// Current is the state a case's events lead to, as storage computes it in
// SQL (case_state): the latest state event wins, "opened" ranks below every
// other (a routing retried later must not reopen a case someone
// acknowledged), and events in the same microsecond order by how far along the
// workflow their state is. Severity is the highest any event carries and
// UpdatedAt the latest event. found is false without an "opened" event.
func Current(evs []Event) (s State, found bool) {
	var best *Event
	for i := range evs {
		e := &evs[i]
		if e.Event == "opened" {
			if !found || e.At.Before(s.OpenedAt) {
				s.OpenedAt = e.At
			}
			if !found {
				s.CaseID, s.MentionID, s.Brand, s.Location = e.CaseID, e.MentionID, e.Brand, e.Location
			}
			found = true
		}
		if mention.SeverityRank(e.Severity) > mention.SeverityRank(s.Severity) {
			s.Severity = e.Severity
		}
		if e.At.After(s.UpdatedAt) {
			s.UpdatedAt = e.At
		}
		if e.Event == "escalated" {
			s.Escalated = max(s.Escalated, e.Step)
		}
		if !slices.Contains(StateEvents, e.Event) {
			continue
		}
		if best == nil || stateLess(*best, *e) {
			best = e
		}
	}
	if best != nil {
		s.State = best.State
		if best.Event != "opened" {
			s.Actor, s.Outcome = best.Actor, best.Outcome
		}
	}
	return s, found
}

// stateLess orders state events as storage's stateKey does:
// (event != 'opened', at truncated to the microsecond, state rank).
func stateLess(a, b Event) bool {
	ao, bo := a.Event != "opened", b.Event != "opened"
	if ao != bo {
		return !ao
	}
	at, bt := a.At.Truncate(time.Microsecond), b.At.Truncate(time.Microsecond)
	if !at.Equal(bt) {
		return at.Before(bt)
	}
	return slices.Index(States, a.State) < slices.Index(States, b.State)
}
