package alerts

import (
	"context"
	"testing"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// escStore adds the reads escalation needs to memCases.
type escStore struct {
	*memCases
	state    string
	openedAt time.Time
	m        mention.Mention
}

// Overdue applies storage.Store.Overdue's filter to the one case: open,
// opened at or before `before`, escalation below `steps` (read from the
// recorded escalated events, as case_state does), after the cursor.
func (e *escStore) Overdue(_ context.Context, before time.Time, steps uint8, after string, _ int) ([]caselog.State, error) {
	id := CaseID(e.m)
	var escalated uint8
	for _, ev := range e.events {
		if ev.CaseID == id && ev.Event == "escalated" && ev.Step > escalated {
			escalated = ev.Step
		}
	}
	if e.state != "open" || e.openedAt.After(before) || escalated >= steps || id <= after {
		return nil, nil
	}
	return []caselog.State{{CaseID: id, MentionID: e.m.ID, State: e.state, OpenedAt: e.openedAt, Escalated: escalated}}, nil
}

func (e *escStore) Mentions(_ context.Context, ids []string) (map[string]mention.Mention, error) {
	out := map[string]mention.Mention{}
	for _, id := range ids {
		if id == e.m.ID {
			out[id] = e.m
		}
	}
	return out, nil
}

func TestEscalation(t *testing.T) {
	cfg, err := config.Parse("e.yaml", []byte(`
receivers: [{name: desk, kind: outbox}, {name: lead, kind: outbox}, {name: manager, kind: outbox}]
route:
  receiver: desk
  ack_within: 1h
  escalate_to: [lead, manager]
`), config.Schema{})
	if err != nil {
		t.Fatal(err)
	}
	tree, _ := Tree(cfg)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	now := t0
	lead, manager := &scripted{name: "lead"}, &scripted{name: "manager"}
	m := mention.Mention{ID: "x:1", Text: "Nobody came to fix the heating.", Location: "Zagreb", Score: mention.Score{Negative: true, Severity: "high"}}
	if err := m.Normalize(t0); err != nil {
		t.Fatal(err)
	}
	store := &escStore{memCases: newMem(), state: "open", openedAt: t0, m: m}
	n := &Notifier{Tree: tree, Receivers: map[string]Receiver{"desk": &scripted{name: "desk"}, "lead": lead, "manager": manager},
		Store: store, Now: func() time.Time { return now }}
	check := func(at time.Duration, wantSent, wantLead, wantManager int) {
		t.Helper()
		now = t0.Add(at)
		sent, err := n.Escalate(context.Background(), store)
		if err != nil || sent != wantSent || len(lead.sent) != wantLead || len(manager.sent) != wantManager {
			t.Errorf("at +%s: sent %d (want %d), lead %d (want %d), manager %d (want %d), err %v",
				at, sent, wantSent, len(lead.sent), wantLead, len(manager.sent), wantManager, err)
		}
	}
	// Never delivered to desk (quiet hours, throttled, failing): nobody
	// was told, so nobody is escalated over.
	check(65*time.Minute, 0, 0, 0)
	id := CaseID(m)
	store.events[notifiedID(id, "desk", 0)] = caselog.Event{EventID: notifiedID(id, "desk", 0), CaseID: id, Event: "notified", Receiver: "desk"}
	check(30*time.Minute, 0, 0, 0)
	check(65*time.Minute, 1, 1, 0)
	check(70*time.Minute, 0, 1, 0) // recorded: not again
	check(130*time.Minute, 1, 1, 1)
	check(10*time.Hour, 0, 1, 1) // the chain has two steps
	if lead.sent[0].Step != 1 || manager.sent[0].Step != 2 || Subject(manager.sent[0])[:15] != "[Escalation 2] " {
		t.Errorf("steps %d %d, subject %q", lead.sent[0].Step, manager.sent[0].Step, Subject(manager.sent[0]))
	}
	if _, ok := store.events[CaseID(m)+":escalated:2"]; !ok {
		t.Error("escalation step 2 not recorded")
	}
	// An acknowledged case is not escalated.
	store.state, lead.sent = "acknowledged", nil
	store.events = map[string]caselog.Event{notifiedID(id, "desk", 0): {EventID: notifiedID(id, "desk", 0), CaseID: id, Event: "notified"}}
	check(3*time.Hour, 0, 0, 1)
}
