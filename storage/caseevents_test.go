package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/caselog"
)

// TestCaseEventsOneReader: the one reader of case events gives each event
// id once, its latest write (what FINAL gives, without merging every
// partition), oldest first, for any number of cases.
func TestCaseEventsOneReader(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ev := func(c, id, event string, at time.Duration) CaseEvent {
		return CaseEvent{EventID: c + ":" + id, CaseID: c, MentionID: "m", At: t0.Add(at), Event: event, State: "open", Actor: "earshot",
			Receiver: "desk", Severity: "high"}
	}
	for _, tc := range []struct {
		name   string
		writes [][]CaseEvent // insert by insert
		want   []string      // the case's events, oldest first
	}{
		{"written twice (a retried insert)", [][]CaseEvent{
			{ev("a", "opened", "opened", 0), ev("a", "queued", "queued", time.Second)},
			{ev("a", "opened", "opened", 0), ev("a", "queued", "queued", time.Second)},
		}, []string{"opened", "queued"}},
		{"refused in the second of its intent", [][]CaseEvent{
			{ev("b", "opened", "opened", 0)}, {ev("b", "send", "sending", 5*time.Second)}, {ev("b", "send", "unsent", 5*time.Second)},
		}, []string{"opened", "unsent"}},
		{"refused, then sent again later", [][]CaseEvent{
			{ev("c", "send", "sending", time.Second)}, {ev("c", "send", "unsent", 2*time.Second)},
			{ev("c", "send", "sending", time.Minute)}, {ev("c", "notified", "notified", time.Minute+time.Second)},
		}, []string{"sending", "notified"}},
		{"a month apart: two partitions, in time order", [][]CaseEvent{
			{ev("d", "ack", "acknowledged", 40*24*time.Hour)}, {ev("d", "opened", "opened", 0)},
		}, []string{"opened", "acknowledged"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range tc.writes {
				if err := s.AppendCaseEvents(ctx, w); err != nil {
					t.Fatal(err)
				}
			}
			c := tc.writes[0][0].CaseID
			got, err := s.CaseEvents(ctx, []string{c})
			if err != nil {
				t.Fatal(err)
			}
			var events []string
			for _, e := range got[c] {
				events = append(events, e.Event)
			}
			if !slices.Equal(events, tc.want) || len(got) != 1 {
				t.Errorf("events %v (%d cases), want %v", events, len(got), tc.want)
			}
		})
	}
	// Many cases: chunked reads give every case its events.
	var many []CaseEvent
	var ids []string
	for i := range 1200 {
		c := fmt.Sprintf("many%d", i)
		ids = append(ids, c)
		many = append(many, ev(c, "opened", "opened", 0))
	}
	if err := s.AppendCaseEvents(ctx, many); err != nil {
		t.Fatal(err)
	}
	got, err := s.CaseEvents(ctx, ids)
	if err != nil || len(got) != len(ids) {
		t.Errorf("%d cases read of %d: %v", len(got), len(ids), err)
	}
}

// TestSameSecondActions: actions on one case within one second count in
// the order they were made (at_us, 0020_case_event_order.sql), in every
// reader: case_state (lists, escalation, the inbox), the case_current view,
// the pending-notification query's inline key and caselog.Current over the
// events read back. Before at_us a hold and a resume in one second read as
// on hold. Rows case_state holds from before the migration (keyed to the
// second) lose to the re-keyed ones.
func TestSameSecondActions(t *testing.T) {
	s, db := openTest(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 10, 0, 5, 0, time.UTC)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		name  string
		steps []string // event:state, one per 100 ms from t0+100ms
		same  bool     // all at one instant (the state rank decides)
		want  string
	}{
		{"hold then resume", []string{"held:on_hold", "resumed:open"}, false, "open"},
		{"hold, resume, hold", []string{"held:on_hold", "resumed:open", "held:on_hold"}, false, "on_hold"},
		{"acknowledge then hold", []string{"acknowledged:acknowledged", "held:on_hold"}, false, "on_hold"},
		{"acknowledge and resolve at one instant", []string{"acknowledged:acknowledged", "resolved:resolved"}, true, "resolved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := "case:same:" + tc.name
			evs := []CaseEvent{{EventID: c + ":opened", CaseID: c, MentionID: "m", At: t0, Event: "opened", State: "open", Brand: "Acme", Severity: "high"}}
			for i, st := range tc.steps {
				ev, state, _ := strings.Cut(st, ":")
				at := t0.Add(ms(100 * (i + 1)))
				if tc.same {
					at = t0.Add(ms(100))
				}
				evs = append(evs, CaseEvent{EventID: fmt.Sprintf("%s:%s:%d", c, ev, i), CaseID: c, At: at, Event: ev, State: state, Actor: "ana"})
			}
			if err := s.AppendCaseEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
			// What case_state held before 0020: the same events keyed to the
			// second (0012's key), where "on hold" outranks "open".
			if err := db.Conn.Exec(ctx, `INSERT INTO case_state (case_id, cur_state)
				SELECT case_id, argMaxIfState(toUInt8(state), toUInt64(event != 'opened') * 1099511627776 + toUInt64(toUInt32(at)) * 256 + toUInt8(state),
				toUInt8(event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))) FROM case_events WHERE case_id = ? GROUP BY case_id`, c); err != nil {
				t.Fatal(err)
			}
			got, err := s.CasesByID(ctx, []string{c})
			if err != nil || got[c].State != tc.want {
				t.Errorf("case_state: %q (%v), want %q", got[c].State, err, tc.want)
			}
			var view string
			if err := db.Conn.QueryRow(ctx, "SELECT state FROM case_current WHERE case_id = ?", c).Scan(&view); err != nil || view != tc.want {
				t.Errorf("case_current: %q (%v), want %q", view, err, tc.want)
			}
			var inline uint8
			if err := db.Conn.QueryRow(ctx, "SELECT "+currentState+" FROM case_events WHERE case_id = ?", c).Scan(&inline); err != nil ||
				caselog.States[inline] != tc.want {
				t.Errorf("pending's inline key: %d (%v), want %q", inline, err, tc.want)
			}
			read, err := s.CaseEvents(ctx, []string{c})
			if err != nil {
				t.Fatal(err)
			}
			if cur, _ := caselog.Current(read[c]); cur.State != tc.want {
				t.Errorf("caselog.Current over the events read back: %q, want %q", cur.State, tc.want)
			}
			if !tc.same && !read[c][len(read[c])-1].At.Equal(evs[len(evs)-1].At) {
				t.Errorf("last event read back at %v, written at %v", read[c][len(read[c])-1].At, evs[len(evs)-1].At)
			}
		})
	}
	// Two assignments in one second: the later one is the assignee, for
	// the inbox's column and its "assigned to" filter.
	c := "case:same:assigned"
	evs := []CaseEvent{{EventID: c + ":opened", CaseID: c, MentionID: "m", At: t0, Event: "opened", State: "open", Brand: "Acme", Severity: "high"}}
	for i, who := range []string{"zoran", "ana", "maria"} {
		evs = append(evs, CaseEvent{EventID: fmt.Sprintf("%s:assigned:%d", c, i), CaseID: c, At: t0.Add(ms(100 * (3 - i))), Event: "assigned",
			State: "open", Actor: "admin", Note: who})
	}
	evs[1].At, evs[2].At, evs[3].At = t0.Add(ms(100)), t0.Add(ms(300)), t0.Add(ms(200)) // zoran, then maria, then ana
	if err := s.AppendCaseEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Assignees(ctx, []string{c})
	if err != nil || got[c] != "ana" {
		t.Errorf("assignee %q (%v), want ana, assigned last", got[c], err)
	}
	var n uint64
	if err := db.Conn.QueryRow(ctx, "SELECT count() FROM (SELECT case_id FROM case_assignee_us GROUP BY case_id HAVING argMaxMerge(assignee) = 'ana')").Scan(&n); err != nil || n != 1 {
		t.Errorf("cases assigned to ana: %d (%v), want 1", n, err)
	}
}
