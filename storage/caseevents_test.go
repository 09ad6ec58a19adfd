package storage

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
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
