package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/earshot/earshot/storage"
)

// Outcomes a resolved case records.
var Outcomes = []string{"replied_publicly", "contacted_privately", "compensated", "no_action"}

// ErrNoCase and ErrAlready are the workflow's expected refusals.
var (
	ErrNoCase  = errors.New("no such case")
	ErrAlready = errors.New("already done")
)

// CaseBook is what the workflow needs from storage; *storage.Store is one.
type CaseBook interface {
	Case(ctx context.Context, id string) (storage.CaseState, bool, error)
	AppendCaseEvents(ctx context.Context, evs []storage.CaseEvent) error
}

// Actions on a case and the states they come from and lead to.
var transitions = map[string]struct {
	from  []string
	to    string
	event string
}{
	"ack":     {[]string{"open"}, "acknowledged", "acknowledged"},
	"hold":    {[]string{"open", "acknowledged"}, "on_hold", "held"},
	"resume":  {[]string{"on_hold"}, "acknowledged", "resumed"},
	"resolve": {[]string{"open", "acknowledged", "on_hold"}, "resolved", "resolved"},
}

// Act applies an action (ack, hold, resume, resolve) to a case for actor.
// Acknowledging and resolving happen once: their events have fixed ids, so
// a double click or a repeated command records nothing new.
func Act(ctx context.Context, book CaseBook, caseID, action, actor, outcome, note string, now time.Time) (storage.CaseState, error) {
	t, ok := transitions[action]
	if !ok {
		return storage.CaseState{}, fmt.Errorf("unknown action %q", action)
	}
	if action == "resolve" && !slices.Contains(Outcomes, outcome) {
		return storage.CaseState{}, fmt.Errorf("outcome %q: want one of %s", outcome, strings.Join(Outcomes, ", "))
	}
	actor = oneLine(actor, 100)
	if actor == "" {
		return storage.CaseState{}, errors.New("who acts? (--by)")
	}
	c, found, err := book.Case(ctx, caseID)
	if err != nil {
		return c, err
	}
	if !found {
		return c, fmt.Errorf("case %s: %w", caseID, ErrNoCase)
	}
	if c.State == t.to || (action == "ack" && c.State != "open" && c.State != "on_hold") {
		return c, fmt.Errorf("case %s is %s: %w", caseID, c.State, ErrAlready)
	}
	if !slices.Contains(t.from, c.State) {
		return c, fmt.Errorf("case %s is %s: cannot %s it", caseID, c.State, action)
	}
	id := caseID + ":" + t.event
	if action == "hold" || action == "resume" {
		id += ":" + now.UTC().Format(time.RFC3339Nano) // these may repeat
	}
	ev := storage.CaseEvent{EventID: id, CaseID: caseID, MentionID: c.MentionID, At: now, Event: t.event, State: t.to,
		Actor: actor, Outcome: outcome, Note: oneLine(note, 500), Brand: c.Brand, Location: c.Location, Severity: c.Severity}
	if err := book.AppendCaseEvents(ctx, []storage.CaseEvent{ev}); err != nil {
		return c, err
	}
	c.State, c.Actor, c.Outcome, c.UpdatedAt = t.to, actor, outcome, now
	return c, nil
}
