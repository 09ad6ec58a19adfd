package storage

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestReportCountBy: reviews published a year before they were found are
// missing from last week's report by publication date and present in it by
// collection date, with the same figures as a report reaching back a year;
// digests' period counts follow the same choice. A mention stored twice
// counts once either way.
func TestReportCountBy(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	ms := sample(12, "old") // collected 2026-11-20 10:00; 3 negative (staff, wait), all high
	found := ms[0].CollectedAt
	for i := range ms {
		ms[i].PublishedAt = ms[i].PublishedAt.AddDate(-1, 0, 0)
	}
	for range 2 {
		if err := s.InsertMentions(ctx, ms); err != nil {
			t.Fatal(err)
		}
	}
	lastWeek := found.AddDate(0, 0, -7)
	total := func(r *Report) (n, neg, sev uint64) {
		for _, l := range r.Locations {
			n, neg, sev = n+l.Mentions, neg+l.Negatives, sev+l.Severe
		}
		return
	}
	for _, tc := range []struct {
		name          string
		since         time.Time
		by            CountBy
		n, neg, sev   uint64
		langs, aspect int
	}{
		{"published, last week", lastWeek, ByPublished, 0, 0, 0, 0, 0},
		{"collected, last week", lastWeek, ByCollected, 12, 3, 3, 1, 2},
		{"published, since a year and more", found.AddDate(-1, 0, -7), ByPublished, 12, 3, 3, 1, 2},
		{"collected, from tomorrow", found.AddDate(0, 0, 1), ByCollected, 0, 0, 0, 0, 0},
		{"default is published", lastWeek, "", 0, 0, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Report(ctx, tc.since, tc.by)
			if err != nil {
				t.Fatal(err)
			}
			n, neg, sev := total(r)
			if n != tc.n || neg != tc.neg || sev != tc.sev || len(r.Languages) != tc.langs || len(r.Aspects) != tc.aspect {
				t.Errorf("mentions %d negative %d severe %d, %d languages, %d aspects; want %d %d %d, %d, %d\n%+v",
					n, neg, sev, len(r.Languages), len(r.Aspects), tc.n, tc.neg, tc.sev, tc.langs, tc.aspect, r)
			}
			if want := cmpOr(tc.by, ByPublished); r.CountBy != want {
				t.Errorf("CountBy %q, want %q", r.CountBy, want)
			}
			if tc.n > 0 && (r.Aspects[0].Negatives != 3 || len(r.Locations) != 3) {
				t.Errorf("aspects %+v, locations %+v", r.Aspects, r.Locations)
			}
		})
	}
	if _, err := s.Report(ctx, lastWeek, "bogus"); err == nil {
		t.Error("count by bogus: no error")
	}

	from, to := found.Add(-24*time.Hour), found.Add(time.Hour)
	for _, tc := range []struct {
		by     CountBy
		n, neg int
	}{{ByPublished, 0, 0}, {ByCollected, 12, 3}} {
		v, err := s.PeriodVolumeBy(ctx, tc.by, "Acme", from, to)
		if err != nil {
			t.Fatal(err)
		}
		if v.Mentions != tc.n || v.Negative != tc.neg || v.Severe != tc.neg || v.Aspects["staff"] != tc.neg {
			t.Errorf("%s: period volume %+v, want %d mentions, %d negative", tc.by, v, tc.n, tc.neg)
		}
		series, err := s.SeriesBy(ctx, tc.by, "", from, to, false)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0
		for _, b := range series {
			sum += b.Mentions
		}
		if len(series) != 2 || sum != tc.n {
			t.Errorf("%s: series %+v, want 2 days and %d mentions", tc.by, series, tc.n)
		}
	}
}

func cmpOr(a, b CountBy) CountBy {
	if a == "" {
		return b
	}
	return a
}

// TestCaseCurrentView: the case_current view analysts select from says
// what `earshot cases` and the inbox say about every case (storage.Cases
// reads the same case_state), including the ties the state order settles.
func TestCaseCurrentView(t *testing.T) {
	s, db := openTest(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	b, err := db.Conn.PrepareBatch(ctx, "INSERT INTO case_events (event_id, case_id, mention_id, at, event, state, actor, receiver, step, outcome, note, brand, location, severity)")
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range []struct {
		c, event, state, actor, receiver, outcome string
		min                                       int
		step                                      uint8
	}{
		{"case:a", "opened", "open", "", "", "", 0, 0},
		{"case:a", "queued", "open", "", "outbox", "", 0, 0},
		{"case:a", "acknowledged", "acknowledged", "ana", "", "", 10, 0},
		{"case:a", "opened", "open", "", "", "", 30, 0}, // written again (a replay): never outranks
		{"case:b", "opened", "open", "", "", "", 0, 0},
		{"case:b", "acknowledged", "acknowledged", "ivo", "", "", 5, 0},
		{"case:b", "held", "on_hold", "ivo", "", "", 5, 0}, // same second: the later state wins
		{"case:c", "opened", "open", "", "", "", 0, 0},
		{"case:c", "escalated", "open", "", "boss", "", 60, 1},
		{"case:d", "opened", "open", "", "", "", 0, 0},
		{"case:d", "acknowledged", "acknowledged", "ana", "", "", 1, 0},
		{"case:d", "resolved", "resolved", "ana", "", "contacted_privately", 90, 0},
	} {
		if err := b.Append(fmt.Sprintf("e%d", i), ev.c, "m"+ev.c, t0.Add(time.Duration(ev.min)*time.Minute), ev.event, ev.state,
			ev.actor, ev.receiver, ev.step, ev.outcome, "", "Acme", "Zagreb", "high"); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"case:a": "acknowledged", "case:b": "on_hold", "case:c": "open", "case:d": "resolved"}
	cs, err := s.Cases(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Conn.Query(ctx, `SELECT case_id, mention_id, state, brand, location, severity, opened_at, acknowledged_at,
		actor, outcome, escalation_step, receivers FROM case_current ORDER BY case_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, mid, state, brand, loc, sev, actor, outcome string
		var opened time.Time
		var acked *time.Time
		var step uint8
		var receivers []string
		if err := rows.Scan(&id, &mid, &state, &brand, &loc, &sev, &opened, &acked, &actor, &outcome, &step, &receivers); err != nil {
			t.Fatal(err)
		}
		n++
		if state != want[id] {
			t.Errorf("%s: view says %s, want %s", id, state, want[id])
		}
		for _, c := range cs {
			if c.CaseID != id {
				continue
			}
			if c.State != state || c.Brand != brand || c.Location != loc || c.Severity != sev || !c.OpenedAt.Equal(opened) ||
				c.Actor != actor || c.Outcome != outcome || c.MentionID != mid || int(c.Escalated) != int(step) {
				t.Errorf("%s: view %s %s %s %s %s %s %s %s step %d; cases list %+v", id, mid, state, brand, loc, sev, opened, actor, outcome, step, c)
			}
		}
		if (acked == nil) != (id == "case:c") {
			t.Errorf("%s: acknowledged_at %v", id, acked)
		}
		if id == "case:a" && (len(receivers) != 1 || receivers[0] != "outbox") {
			t.Errorf("case:a receivers %v", receivers)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(want) || len(cs) != len(want) {
		t.Errorf("view has %d cases, cases list %d, want %d", n, len(cs), len(want))
	}
}
