package caselog

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// TestAct walks the state machine: every action from every state.
func TestAct(t *testing.T) {
	for _, tc := range []struct {
		state, action, outcome string
		want                   string // the new state, or the error's text
	}{
		{Open, "ack", "", Acknowledged},
		{Open, "hold", "", OnHold},
		{Open, "resume", "", "cannot resume"},
		{Open, "resolve", "no_action", Resolved},
		{Open, "resolve", "", "outcome"},
		{Open, "resolve", "shrug", "outcome"},
		{Open, "close", "", "unknown action"},
		{Acknowledged, "ack", "", "already done"},
		{Acknowledged, "hold", "", OnHold},
		{Acknowledged, "resume", "", "already done"}, // resuming leads to acknowledged: there already
		{Acknowledged, "resolve", "compensated", Resolved},
		{OnHold, "ack", "", "cannot ack"}, // resume it instead
		{OnHold, "hold", "", "already done"},
		{OnHold, "resume", "", Acknowledged},
		{OnHold, "resolve", "replied_publicly", Resolved},
		{Resolved, "ack", "", "already done"},
		{Resolved, "hold", "", "cannot hold"},
		{Resolved, "resume", "", "cannot resume"},
		{Resolved, "resolve", "no_action", "already done"},
	} {
		c := State{CaseID: "case:1", MentionID: "m1", State: tc.state, Brand: "B", Severity: "high"}
		ev, err := Act(c, tc.action, "Ana", tc.outcome, "note", t0)
		got := ev.State
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s from %s: %q, want %q", tc.action, tc.state, got, tc.want)
		}
		if err == nil && (ev.CaseID != "case:1" || ev.Actor != "Ana" || ev.Brand != "B" || ev.At != t0 || ev.EventID == "") {
			t.Errorf("%s from %s: event %+v", tc.action, tc.state, ev)
		}
	}
	// Ack and resolve have one id per case (a double click collapses);
	// hold and resume may repeat.
	a1, _ := Act(State{CaseID: "c", State: Open}, "ack", "a", "", "", t0)
	a2, _ := Act(State{CaseID: "c", State: Open}, "ack", "b", "", "", t0.Add(time.Minute))
	h1, _ := Act(State{CaseID: "c", State: Open}, "hold", "a", "", "", t0)
	h2, _ := Act(State{CaseID: "c", State: Open}, "hold", "a", "", "", t0.Add(time.Minute))
	if a1.EventID != a2.EventID || h1.EventID == h2.EventID {
		t.Errorf("ids: ack %s %s, hold %s %s", a1.EventID, a2.EventID, h1.EventID, h2.EventID)
	}
	if _, err := Act(State{CaseID: "c", State: Open}, "ack", "", "", "", t0); err == nil {
		t.Error("an action without an actor was accepted")
	}
	if _, err := Act(State{CaseID: "c", State: Acknowledged}, "ack", "a", "", "", t0); !errors.Is(err, ErrAlready) {
		t.Errorf("second ack: %v, want ErrAlready", err)
	}
}

// TestCurrent: the state the events lead to, as storage derives it.
func TestCurrent(t *testing.T) {
	ev := func(event, state string, at time.Duration) Event {
		return Event{CaseID: "c", MentionID: "m", Event: event, State: state, At: t0.Add(at), Actor: "x-" + event, Severity: "low"}
	}
	for _, tc := range []struct {
		name  string
		evs   []Event
		want  string
		found bool
	}{
		{"nothing", nil, "", false},
		{"no opened event", []Event{ev("acknowledged", Acknowledged, 0)}, Acknowledged, false},
		{"opened", []Event{ev("opened", Open, 0), ev("queued", Open, time.Second)}, Open, true},
		{"acknowledged", []Event{ev("opened", Open, 0), ev("acknowledged", Acknowledged, time.Minute)}, Acknowledged, true},
		{"a late re-opening does not reopen", []Event{ev("opened", Open, 0), ev("acknowledged", Acknowledged, time.Minute), ev("opened", Open, time.Hour)}, Acknowledged, true},
		{"delivery events change nothing", []Event{ev("opened", Open, 0), ev("resolved", Resolved, time.Minute), ev("notified", Open, time.Hour)}, Resolved, true},
		{"same instant: further along wins", []Event{ev("opened", Open, 0), ev("resolved", Resolved, time.Minute), ev("acknowledged", Acknowledged, time.Minute)}, Resolved, true},
		{"same second: the later one wins", []Event{ev("opened", Open, 0), ev("held", OnHold, time.Minute), ev("resumed", Open, time.Minute+time.Millisecond)}, Open, true},
		{"under a microsecond apart: one instant", []Event{ev("opened", Open, 0), ev("resolved", Resolved, time.Minute), ev("acknowledged", Acknowledged, time.Minute+time.Nanosecond)}, Resolved, true},
		{"held then resumed", []Event{ev("opened", Open, 0), ev("held", OnHold, time.Minute), ev("resumed", Acknowledged, time.Hour)}, Acknowledged, true},
	} {
		s, found := Current(tc.evs)
		if s.State != tc.want || found != tc.found {
			t.Errorf("%s: %q %v, want %q %v", tc.name, s.State, found, tc.want, tc.found)
		}
	}
	evs := []Event{ev("opened", Open, 0), ev("escalated", Open, time.Hour), ev("acknowledged", Acknowledged, 2*time.Hour)}
	evs[1].Step, evs[2].Severity = 2, "critical"
	s, _ := Current(evs)
	if s.Escalated != 2 || s.Severity != "critical" || s.Actor != "x-acknowledged" || !s.OpenedAt.Equal(t0) || !s.UpdatedAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("current %+v", s)
	}
}

// TestMeasure: the SLA clocks over a case's events.
func TestMeasure(t *testing.T) {
	office, err := BusinessClock(nil, "09:00", "17:00", nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := func(event string, at time.Duration) Event { return Event{Event: event, At: t0.Add(at)} }
	for _, tc := range []struct {
		name              string
		clock             Clock
		evs               []Event
		now               time.Duration
		ack, resolve      time.Duration
		acked, resolved   bool
		overdue2h, onHold string
	}{
		{"open, wall clock", WallClock, []Event{ev("opened", 0)}, 3 * time.Hour, 3 * time.Hour, 3 * time.Hour, false, false, "not acknowledged within 2h", ""},
		{"acked in time", WallClock, []Event{ev("acknowledged", time.Hour), ev("opened", 0)}, 5 * time.Hour, time.Hour, 5 * time.Hour, true, false, "", ""},
		{"hold pauses resolution", WallClock, []Event{ev("opened", 0), ev("held", time.Hour), ev("resumed", 3*time.Hour), ev("resolved", 4*time.Hour)}, 10 * time.Hour, time.Hour, 2 * time.Hour, true, true, "", ""},
		{"business hours: Monday 09:00 to 20:00 is 8h", office, []Event{ev("opened", 0)}, 11 * time.Hour, 8 * time.Hour, 8 * time.Hour, false, false, "not acknowledged within 2h", ""},
		{"no opened event", WallClock, []Event{ev("acknowledged", time.Hour)}, 3 * time.Hour, 0, 0, false, false, "", ""},
	} {
		s := Measure(tc.evs, tc.clock, t0.Add(tc.now))
		if s.ToAck != tc.ack || s.ToResolve != tc.resolve || s.Acked != tc.acked || s.Resolved != tc.resolved {
			t.Errorf("%s: %+v", tc.name, s)
		}
		if got := s.Overdue(2*time.Hour, 0); got != tc.overdue2h {
			t.Errorf("%s: overdue %q, want %q", tc.name, got, tc.overdue2h)
		}
	}
	for _, bad := range [][3]string{{"9", "17:00", ""}, {"17:00", "09:00", ""}, {"09:00", "17:00", "funday"}} {
		var days []string
		if bad[2] != "" {
			days = []string{bad[2]}
		}
		if _, err := BusinessClock(days, bad[0], bad[1], nil); err == nil {
			t.Errorf("BusinessClock(%v) accepted", bad)
		}
	}
}

// TestIDs: machine events have deterministic, distinct ids.
func TestIDs(t *testing.T) {
	ids := []string{OpenedID("c"), RoutedID("c"), QueuedID("c", "r"), SendingID("c", "r"), NotifiedID("c", "r", 0), NotifiedID("c", "r", 1),
		EscalatedID("c", 1), DeferredID("c", "r"), InhibitedID("c", "r"), StormEventID("c")}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || !strings.HasPrefix(id, "c:") {
			t.Errorf("id %q repeated or not prefixed by its case", id)
		}
		seen[id] = true
	}
	if NotifiedID("case:x", "desk", 0) != "case:x:notified:desk:0" {
		t.Errorf("notified id changed: %s (stored rows carry the old form)", NotifiedID("case:x", "desk", 0))
	}
	q := Queued{CaseID: "c", MentionID: "m", Brand: "B", Severity: "high", Aspects: []string{"wait"}}
	if m := q.Mention(); m.ID != "m" || !m.Negative || m.Severity != "high" || m.Brand != "B" || len(m.Aspects) != 1 {
		t.Errorf("queued mention %+v", m)
	}
	if (StormKey{Brand: "B", Location: "Z"}).String() != "B|location=Z" || (StormKey{Brand: "B", Aspect: "wait"}).String() != "B|aspect=wait" {
		t.Error("storm key text changed (storm ids carry it)")
	}
}
