package storage

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/earshot/earshot/mention"
)

// serverNow is the ClickHouse server's clock, to the second.
func serverNow(t *testing.T, s *Store) time.Time {
	t.Helper()
	var now time.Time
	if err := s.conn.QueryRow(context.Background(), "SELECT now()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	return now.UTC()
}

func queueRow(t *testing.T, s *Store, at time.Time, caseID, mentionID string) {
	t.Helper()
	if err := s.insertRow(context.Background(), "INSERT INTO case_queue (opened_at, case_id, mention_id)", at.UTC(), caseID, mentionID); err != nil {
		t.Fatal(err)
	}
}

type queued struct{ caseID, mentionID string }

func queueRows(t *testing.T, s *Store) []queued {
	t.Helper()
	rows, err := s.conn.Query(context.Background(), "SELECT case_id, mention_id FROM case_queue ORDER BY case_id, mention_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []queued
	for rows.Next() {
		var q queued
		if err := rows.Scan(&q.caseID, &q.mentionID); err != nil {
			t.Fatal(err)
		}
		out = append(out, q)
	}
	return out
}

func qm(id, story string, negative bool) mention.Mention {
	m := mention.Mention{ID: id, StoryID: story, Source: "demo", Brand: "Acme", Location: "Zagreb", Author: "a-" + id,
		Text: "review " + id, PublishedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), Version: 100}
	m.Negative = negative
	if negative {
		m.Severity = "high"
	}
	return m
}

// TestCaseQueueFilledByInsert: the INSERT of negative mentions queues their
// cases itself, with alerts.CaseID's ids ('case:' + story_id when set,
// else 'case:' + id); positive mentions queue nothing.
func TestCaseQueueFilledByInsert(t *testing.T) {
	tests := []struct {
		name string
		ms   []mention.Mention
		want []queued
	}{
		{"no story: case of the id", []mention.Mention{qm("q:1", "", true)}, []queued{{"case:q:1", "q:1"}}},
		{"story: case of the story", []mention.Mention{qm("q:2", "story:x", true)}, []queued{{"case:story:x", "q:2"}}},
		{"a cross-post joins its story", []mention.Mention{qm("q:2", "story:x", true), qm("q:3", "story:x", true)},
			[]queued{{"case:story:x", "q:2"}, {"case:story:x", "q:3"}}},
		{"normalised: story_id is the id", []mention.Mention{qm("q:5", "q:5", true)}, []queued{{"case:q:5", "q:5"}}},
		{"positive: nothing", []mention.Mention{qm("q:4", "", false), qm("q:6", "story:y", false)}, nil},
		{"a batch of both", []mention.Mention{qm("q:1", "", true), qm("q:4", "", false), qm("q:2", "story:x", true)},
			[]queued{{"case:q:1", "q:1"}, {"case:story:x", "q:2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t)
			ctx := context.Background()
			before := serverNow(t, s)
			if err := s.InsertMentions(ctx, tt.ms); err != nil {
				t.Fatal(err)
			}
			if got := queueRows(t, s); !slices.Equal(got, tt.want) {
				t.Errorf("case_queue %v, want %v", got, tt.want)
			}
			qs, now, err := s.Unrouted(ctx, before.Add(-time.Minute), "", 100)
			if err != nil {
				t.Fatal(err)
			}
			var cases []string
			for _, q := range qs {
				cases = append(cases, q.CaseID)
				// The queue row carries the routing labels (migration 0013).
				if !q.Labelled || q.Brand != "Acme" || q.Source == "" || q.Severity == "" {
					t.Errorf("%s: labels %+v", q.CaseID, q)
				}
				if q.OpenedAt.Before(before) || q.OpenedAt.After(now) {
					t.Errorf("%s opened at %v, want the insert's time (between %v and %v)", q.CaseID, q.OpenedAt, before, now)
				}
			}
			var want []string
			for _, q := range tt.want {
				if !slices.Contains(want, q.caseID) {
					want = append(want, q.caseID)
				}
			}
			slices.Sort(want)
			if !slices.Equal(cases, want) {
				t.Errorf("Unrouted lists %q, want %q (one row per case)", cases, want)
			}
		})
	}
}

// TestUnrouted: queued cases without a "routed" event, opened at or after
// since (by the rows in that window), oldest first, at most limit.
func TestUnrouted(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	base := serverNow(t, s)
	at := func(d time.Duration) time.Time { return base.Add(d) }
	for _, r := range []struct {
		at       time.Time
		caseID   string
		mention  string
		routedAt time.Time
	}{
		{at(-50 * time.Minute), "case:t1", "t1", time.Time{}},
		{at(-40 * time.Minute), "case:t2", "t2", time.Time{}},
		{at(-5 * time.Minute), "case:t2", "t2", time.Time{}}, // the same case queued again (replay, rescore)
		{at(-30 * time.Minute), "case:t3", "t3", at(-29 * time.Minute)},
		{at(-2 * time.Hour), "case:t4", "t4", time.Time{}},
		{at(-20 * time.Minute), "case:t5", "t5", time.Time{}},
		{at(-20 * time.Minute), "case:t0", "t0", time.Time{}}, // same second as t5: by case id
	} {
		queueRow(t, s, r.at, r.caseID, r.mention)
		if !r.routedAt.IsZero() {
			if err := s.AppendCaseEvents(ctx, []CaseEvent{{EventID: r.caseID + ":routed", CaseID: r.caseID, At: r.routedAt, Event: "routed", State: "open"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name  string
		since time.Duration
		after string
		limit int
		want  []string // case@minutes before base
	}{
		{"the last hour", -time.Hour, "", 100, []string{"case:t1@-50", "case:t2@-40", "case:t0@-20", "case:t5@-20"}},
		{"limit", -time.Hour, "", 2, []string{"case:t1@-50", "case:t2@-40"}},
		{"limit 0 means 1", -time.Hour, "", 0, []string{"case:t1@-50"}},
		{"since cuts rows, not cases", -10 * time.Minute, "", 100, []string{"case:t2@-5"}},
		{"since between", -45 * time.Minute, "", 100, []string{"case:t2@-40", "case:t0@-20", "case:t5@-20"}},
		{"three hours", -3 * time.Hour, "", 100, []string{"case:t4@-120", "case:t1@-50", "case:t2@-40", "case:t0@-20", "case:t5@-20"}},
		{"nothing after", time.Minute, "", 100, nil},
		{"from a key: later cases of its second, then later seconds", -20 * time.Minute, "case:t0", 100, []string{"case:t5@-20", "case:t2@-5"}},
		{"from the last key", -20 * time.Minute, "case:t5", 100, []string{"case:t2@-5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qs, now, err := s.Unrouted(ctx, base.Add(tt.since), tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if now.Before(base) || now.Sub(base) > time.Minute {
				t.Errorf("server clock %v, want about %v", now, base)
			}
			var got []string
			for _, q := range qs {
				got = append(got, fmt.Sprintf("%s@%d", q.CaseID, int(q.OpenedAt.Sub(base).Minutes())))
				if q.MentionID != q.CaseID[len("case:"):] {
					t.Errorf("%s: mention %q", q.CaseID, q.MentionID)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Unrouted = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMentionsNewestVersion: Mentions reads the newest stored version of
// each id found, in chunks of 1,000 ids.
func TestMentionsNewestVersion(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	v1 := qm("v:1", "story:v", true)
	v1.Severity, v1.ScorerVersion, v1.Signals, v1.Reasons = "low", "lex-1.0+nohistory", []string{"churn"}, []string{"first"}
	v2 := v1
	v2.Severity, v2.ScorerVersion, v2.Signals, v2.Reasons, v2.Version = "critical", "lex-1.0", []string{"churn", "repeat_customer"}, []string{"rescored"}, 101
	stale := v1
	stale.Severity, stale.Version = "medium", 99 // a late spool replay of an older version
	for _, batch := range [][]mention.Mention{{v1}, {v2}, {stale}} {
		if err := s.InsertMentions(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	many := sample(1001, "mm")
	if err := s.InsertMentions(ctx, many); err != nil {
		t.Fatal(err)
	}
	ids := []string{"v:1", "nope"}
	for _, m := range many {
		ids = append(ids, m.ID)
	}
	got, err := s.Mentions(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1002 {
		t.Errorf("%d mentions found, want 1002 (all but nope)", len(got))
	}
	if _, ok := got["nope"]; ok {
		t.Error("found an id never stored")
	}
	m := got["v:1"]
	if m.Version != 101 || m.Severity != "critical" || m.ScorerVersion != "lex-1.0" || !slices.Equal(m.Signals, v2.Signals) ||
		!slices.Equal(m.Reasons, v2.Reasons) || m.StoryID != "story:v" || !m.Negative || m.Author != "a-v:1" || !m.PublishedAt.Equal(v1.PublishedAt) {
		t.Errorf("v:1 = %+v; want version 101 (critical, rescored)", m)
	}
	if last := got[many[1000].ID]; last.Text != many[1000].Text {
		t.Errorf("the 1001st id (second chunk) read back as %+v", last)
	}
}

func caseEvent(caseID, event, state string, at time.Time) CaseEvent {
	return CaseEvent{EventID: caseID + ":" + event, CaseID: caseID, At: at, Event: event, State: state, Actor: "earshot"}
}

// TestOldestOpen: the oldest case of the window that is still open;
// acknowledged, held and resolved cases do not count, nor cases queued
// before since.
func TestOldestOpen(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	base := serverNow(t, s)
	at := func(d time.Duration) time.Time { return base.Add(d) }
	var evs []CaseEvent
	for _, c := range []struct {
		id     string
		opened time.Duration
		then   string // state event after opening, if any
	}{
		{"case:acked", -4 * time.Hour, "acknowledged"},
		{"case:held", -4 * time.Hour, "held"},
		{"case:resolved", -4 * time.Hour, "resolved"},
		{"case:outside", -6 * time.Hour, ""}, // queued before since
		{"case:old", -2 * time.Hour, ""},
		{"case:new", -time.Hour, ""},
	} {
		queueRow(t, s, at(c.opened), c.id, c.id[len("case:"):])
		evs = append(evs, caseEvent(c.id, "opened", "open", at(c.opened)), caseEvent(c.id, "routed", "open", at(c.opened+time.Second)))
		switch c.then {
		case "acknowledged":
			evs = append(evs, caseEvent(c.id, "acknowledged", "acknowledged", at(c.opened+time.Minute)))
		case "held":
			evs = append(evs, caseEvent(c.id, "held", "on_hold", at(c.opened+time.Minute)))
		case "resolved":
			evs = append(evs, caseEvent(c.id, "resolved", "resolved", at(c.opened+time.Minute)))
		}
	}
	// Delivery events do not reopen the acknowledged case.
	evs = append(evs, caseEvent("case:acked", "notified", "open", at(-3*time.Hour)))
	if err := s.AppendCaseEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	since := at(-5 * time.Hour)
	check := func(want time.Time, wantOK bool) {
		t.Helper()
		got, ok, err := s.OldestOpen(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		if ok != wantOK || ok && !got.Equal(want) {
			t.Errorf("OldestOpen = %v, %v; want %v, %v", got, ok, want, wantOK)
		}
	}
	check(at(-2*time.Hour), true)
	if err := s.AppendCaseEvents(ctx, []CaseEvent{caseEvent("case:old", "acknowledged", "acknowledged", base)}); err != nil {
		t.Fatal(err)
	}
	check(at(-time.Hour), true)
	if err := s.AppendCaseEvents(ctx, []CaseEvent{caseEvent("case:new", "resolved", "resolved", base)}); err != nil {
		t.Fatal(err)
	}
	check(time.Time{}, false)
}

// TestReinsertDoesNotReopenAcknowledgedCase: a new version of a mention
// (rescore, replay) queues its case again, but a routed case is not
// listed again, and one someone acknowledged stays acknowledged, even if
// a retried routing writes "opened" again.
func TestReinsertDoesNotReopenAcknowledgedCase(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	base := serverNow(t, s)
	m := qm("re:1", "", true)
	if err := s.InsertMentions(ctx, []mention.Mention{m}); err != nil {
		t.Fatal(err)
	}
	qs, _, err := s.Unrouted(ctx, base.Add(-time.Minute), "", 10)
	if err != nil || len(qs) != 1 || qs[0].CaseID != "case:re:1" {
		t.Fatalf("Unrouted = %+v, %v; want case:re:1", qs, err)
	}
	opened := qs[0].OpenedAt
	// Routed, then acknowledged.
	if err := s.AppendCaseEvents(ctx, []CaseEvent{
		caseEvent("case:re:1", "opened", "open", opened),
		caseEvent("case:re:1", "routed", "open", opened),
		{EventID: "case:re:1:acknowledged", CaseID: "case:re:1", At: opened.Add(time.Minute), Event: "acknowledged", State: "acknowledged", Actor: "ana"},
	}); err != nil {
		t.Fatal(err)
	}
	re := m
	re.Version, re.Signals = m.Version+1, []string{"repeat_customer"}
	if err := s.InsertMentions(ctx, []mention.Mention{re}); err != nil {
		t.Fatal(err)
	}
	if n := len(queueRows(t, s)); n != 2 {
		t.Errorf("case_queue holds %d rows, want 2 (the re-insert queues again)", n)
	}
	if qs, _, err := s.Unrouted(ctx, base.Add(-time.Minute), "", 10); err != nil || len(qs) != 0 {
		t.Errorf("Unrouted after the re-insert = %+v, %v; want nothing (routed already)", qs, err)
	}
	// A retried routing writes "opened" again, later.
	if err := s.AppendCaseEvents(ctx, []CaseEvent{caseEvent("case:re:1", "opened", "open", opened.Add(2*time.Minute))}); err != nil {
		t.Fatal(err)
	}
	c, ok, err := s.Case(ctx, "case:re:1")
	if err != nil || !ok || c.State != "acknowledged" || c.Actor != "ana" {
		t.Errorf("case %+v, %v, %v; want still acknowledged by ana", c, ok, err)
	}
	if _, open, err := s.OldestOpen(ctx, base.Add(-time.Hour)); err != nil || open {
		t.Errorf("OldestOpen reports an open case (%v, %v): the acknowledged case reopened", open, err)
	}
	if got, _, _ := s.Mention(ctx, "re:1"); got.Version != re.Version {
		t.Errorf("mention version %d, want the re-inserted %d", got.Version, re.Version)
	}
}

// TestPendingAttemptedIntent: a "sending" intent without "notified" makes
// a pending case Attempted, with the message id of that attempt; the
// notifier's "unsent" row (same event id: a send the receiver refused
// every time) replaces the intent, wherever its time falls; a later
// attempt's intent counts again.
func TestPendingAttemptedIntent(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	base := serverNow(t, s)
	monthEnd := time.Date(2026, 10, 31, 23, 59, 50, 0, time.UTC)
	sec := base.Add(-time.Second).Truncate(time.Second)
	type ev struct {
		event, note string
		at          time.Time
	}
	tests := []struct {
		name      string
		intent    []ev // written in order, all with the intent's event id
		notified  bool
		pending   bool
		attempted bool
		attemptID string
	}{
		{"no intent", nil, false, true, false, ""},
		{"intent", []ev{{"sending", "msg-1", base}}, false, true, true, "msg-1"},
		{"intent, then notified", []ev{{"sending", "msg-1", base}}, true, false, false, ""},
		{"refused: unsent at the same time", []ev{{"sending", "msg-1", base}, {"unsent", "refused", base}}, false, true, false, ""},
		{"refused: unsent a minute later", []ev{{"sending", "msg-1", base.Add(-time.Minute)}, {"unsent", "refused", base}}, false, true, false, ""},
		{"refused: unsent in the next month", []ev{{"sending", "msg-1", monthEnd}, {"unsent", "refused", monthEnd.Add(20 * time.Second)}}, false, true, false, ""},
		{"refused, then a new attempt", []ev{{"sending", "msg-1", base.Add(-2 * time.Minute)}, {"unsent", "refused", base.Add(-time.Minute)}, {"sending", "msg-1", base}}, false, true, true, "msg-1"},
		{"refused, then a new attempt in the same second", []ev{{"sending", "msg-1", sec.Add(100 * time.Millisecond)}, {"unsent", "refused", sec.Add(200 * time.Millisecond)}, {"sending", "msg-1", sec.Add(700 * time.Millisecond)}}, false, true, true, "msg-1"},
	}
	// Merges would fold a refused intent's two rows into one at their own
	// pace; stopped, the query must fold them itself (under a loaded CI
	// run they often had not merged yet).
	if err := s.conn.Exec(ctx, "SYSTEM STOP MERGES case_events"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.conn.Exec(context.Background(), "SYSTEM START MERGES case_events") })
	for i, tt := range tests {
		c := fmt.Sprintf("case:p%d", i)
		queueRow(t, s, base, c, fmt.Sprintf("p%d", i))
		evs := []CaseEvent{caseEvent(c, "opened", "open", base.Add(-time.Hour)),
			{EventID: c + ":queued:desk", CaseID: c, MentionID: fmt.Sprintf("p%d", i), At: base.Add(-time.Hour), Event: "queued", State: "open", Receiver: "desk", Note: "desk"}}
		if err := s.AppendCaseEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		for _, e := range tt.intent { // one insert each, as the notifier writes them
			if err := s.AppendCaseEvents(ctx, []CaseEvent{{EventID: c + ":sending:desk:0", CaseID: c, At: e.at, Event: e.event, State: "open", Receiver: "desk", Note: e.note}}); err != nil {
				t.Fatal(err)
			}
		}
		if tt.notified {
			if err := s.AppendCaseEvents(ctx, []CaseEvent{{EventID: c + ":notified:desk:0", CaseID: c, At: base, Event: "notified", State: "open", Receiver: "desk"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	pend, err := s.PendingNotifications(ctx, base.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	byCase := map[string]Pending{}
	for _, p := range pend {
		byCase[p.CaseID] = p
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := byCase[fmt.Sprintf("case:p%d", i)]
			if ok != tt.pending {
				t.Fatalf("pending %v, want %v", ok, tt.pending)
			}
			if ok && (p.Attempted != tt.attempted || p.AttemptID != tt.attemptID) {
				t.Errorf("attempted %v (%q), want %v (%q)", p.Attempted, p.AttemptID, tt.attempted, tt.attemptID)
			}
		})
	}
}
