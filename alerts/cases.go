package alerts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/earshot/earshot/caselog"
)

// Outcomes a resolved case records.
var Outcomes = caselog.Outcomes

// ErrNoCase and ErrAlready are the workflow's expected refusals.
var (
	ErrNoCase  = caselog.ErrNoCase
	ErrAlready = caselog.ErrAlready
)

// CaseBook is what the workflow needs from storage; *storage.Store is one.
type CaseBook interface {
	Case(ctx context.Context, id string) (caselog.State, bool, error)
	AppendCaseEvents(ctx context.Context, evs []caselog.Event) error
}

// CaseLabeller records staff's label for a case's mention (the labels
// table the learning scorer trains on); *storage.Store is one.
type CaseLabeller interface {
	LabelCaseMention(ctx context.Context, c caselog.State, label, who, note string, at time.Time) error
}

// CaseLabellerMany labels several cases' mentions at once; *storage.Store
// is one.
type CaseLabellerMany interface {
	LabelCaseMentions(ctx context.Context, cs []caselog.State, label, who, note string, at time.Time) error
}

// ActMany applies one action to cases already read, as Act would to each
// (the same refusals, the same label for not_a_complaint, written before
// the events), in one insert for the labels and one for the events. moved
// holds, per case, its event or why it was not moved (ErrAlready, "cannot
// ..."); err is a failed write, after which none was moved.
func ActMany(ctx context.Context, book CaseBook, cases []caselog.State, action, actor, outcome, note string, now time.Time) (moved []Moved, err error) {
	if err := caselog.CheckAction(action, outcome); err != nil {
		return nil, err
	}
	actor = oneLine(actor, 100)
	if actor == "" {
		return nil, errors.New("who acts? (--by)")
	}
	note = oneLine(note, 500)
	moved = make([]Moved, len(cases))
	var evs []caselog.Event
	var toLabel []caselog.State
	for i, c := range cases {
		ev, err := caselog.Act(c, action, actor, outcome, note, now)
		if moved[i] = (Moved{Event: ev, Err: err}); err != nil {
			continue
		}
		evs = append(evs, ev)
		if action == "resolve" && outcome == caselog.NotAComplaint {
			toLabel = append(toLabel, c)
		}
	}
	// Labels first, as Act: a resolve recorded means its label is. (A
	// failed event write below leaves the labels: as a retried Act, the
	// next attempt writes them again, one row per mention and person.)
	if len(toLabel) > 0 {
		switch lb := book.(type) {
		case CaseLabellerMany:
			if err := lb.LabelCaseMentions(ctx, toLabel, NotAComplaintLabel, actor, note, now); err != nil {
				return moved, fmt.Errorf("label the mentions: %w", err)
			}
		case CaseLabeller:
			for _, c := range toLabel {
				if err := lb.LabelCaseMention(ctx, c, NotAComplaintLabel, actor, note, now); err != nil {
					return moved, fmt.Errorf("case %s: label its mention: %w", c.CaseID, err)
				}
			}
		}
	}
	if len(evs) > 0 {
		if err := book.AppendCaseEvents(ctx, evs); err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// Moved is one case's part in ActMany: its event, or why there is none.
type Moved struct {
	Event caselog.Event
	Err   error
}

// NotAComplaintLabel is the label a case resolved as not a complaint gives
// its mention.
const NotAComplaintLabel = "neutral"

// Act applies an action (ack, hold, resume, resolve) to a case for actor,
// following caselog's state machine (caselog.Act), and records its event.
// Acknowledging and resolving happen once: their events have fixed ids, so
// a double click or a repeated command records nothing new. Resolving with
// outcome not_a_complaint also labels the case's mention neutral by actor
// when book is a CaseLabeller: every way to resolve (CLI, inbox, API, the
// mail link) comes through here.
func Act(ctx context.Context, book CaseBook, caseID, action, actor, outcome, note string, now time.Time) (caselog.State, error) {
	// Refused before the case is read, as ActMany refuses them.
	if err := caselog.CheckAction(action, outcome); err != nil {
		return caselog.State{}, err
	}
	if oneLine(actor, 100) == "" {
		return caselog.State{}, errors.New("who acts? (--by)")
	}
	c, found, err := book.Case(ctx, caseID)
	if err != nil {
		return c, err
	}
	if !found {
		return c, fmt.Errorf("case %s: %w", caseID, ErrNoCase)
	}
	moved, err := ActMany(ctx, book, []caselog.State{c}, action, actor, outcome, note, now)
	if err != nil {
		return c, err
	}
	if err := moved[0].Err; err != nil {
		return c, err
	}
	ev := moved[0].Event
	c.State, c.Actor, c.Outcome, c.UpdatedAt = ev.State, ev.Actor, outcome, now
	return c, nil
}
