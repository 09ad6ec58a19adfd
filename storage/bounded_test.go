package storage

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/schemas"
)

// hashID is an id spread over the key range like real story and case ids
// (hashes), so a window's cases are not neighbours in the key.
func hashID(prefix string, i int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s%d", prefix, i)
	return fmt.Sprintf("%016x", h.Sum64())
}

// history stores n old mentions (two years before now, 1 in 50 negative,
// authors repeating) in one part per table, and a few recent negative ones.
func history(t *testing.T, s *Store, n int, now time.Time) []mention.Mention {
	t.Helper()
	ctx := context.Background()
	const block = 100000
	for start := 0; start < n; start += block {
		ms := make([]mention.Mention, 0, block)
		for i := start; i < min(start+block, n); i++ {
			m := mention.Mention{ID: fmt.Sprintf("old:%07d", i), Source: "archive", Brand: "Acme", Location: fmt.Sprintf("L%d", i%40),
				Author: fmt.Sprintf("author %d", i%5000), Text: fmt.Sprintf("old review %d", i), Lang: "en",
				PublishedAt: now.Add(-2*365*24*time.Hour + time.Duration(i)*time.Minute), CollectedAt: now.Add(-365 * 24 * time.Hour),
				Version: 1, StoryID: fmt.Sprintf("s%d", i)}
			if i%50 == 0 {
				m.Negative, m.Severity, m.Aspects = true, "high", []string{"staff"}
			}
			ms = append(ms, m)
		}
		if err := s.InsertMentions(ctx, ms); err != nil {
			t.Fatal(err)
		}
	}
	// The queue view stamps rows with the insert time; a store that grew
	// over years has its old cases' rows at their own times.
	for _, q := range []string{"TRUNCATE TABLE case_queue",
		"INSERT INTO case_queue (opened_at, case_id, mention_id) SELECT collected_at, concat('case:', story_id), id FROM mentions WHERE negative = 1"} {
		if err := s.conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var recent []mention.Mention
	for i := 0; i < 5; i++ {
		m := mention.Mention{ID: fmt.Sprintf("new:%d", i), Source: "demo", Brand: "Acme", Location: "L1", Author: "author 7",
			Text: "rude staff", Lang: "en", PublishedAt: now.Add(-time.Duration(i+1) * time.Minute), CollectedAt: now, Version: 1,
			StoryID: hashID("new", i)}
		m.Negative, m.Severity, m.Aspects = true, "high", []string{"staff"}
		recent = append(recent, m)
	}
	if err := s.InsertMentions(ctx, recent); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{"mentions", "negatives", "complaints", "trend_hourly", "case_queue"} {
		if err := s.conn.Exec(ctx, "OPTIMIZE TABLE "+tbl+" FINAL"); err != nil {
			t.Fatalf("optimize %s: %v", tbl, err)
		}
	}
	return recent
}

// Every recurring query of the collection pass and the daemon reads a key
// range or a window, not the history: each reads a small fraction of a
// large store (server progress counts), and fails the day it scans the
// history again.
func TestRecurringQueriesReadAWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 300,000 mentions")
	}
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	const n = 300000
	recent := history(t, s, n, now)
	var total uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM mentions").Scan(&total); err != nil || total != n+5 {
		t.Fatalf("mentions %d, %v", total, err)
	}
	// A case per recent mention, opened, routed and one escalated.
	var evs []CaseEvent
	for i, m := range recent {
		id := "case:" + m.StoryID
		evs = append(evs, CaseEvent{EventID: id + ":opened", CaseID: id, MentionID: m.ID, At: now.Add(-2 * time.Hour), Event: "opened",
			State: "open", Brand: "Acme", Location: "L1", Severity: "high"},
			CaseEvent{EventID: id + ":queued:desk", CaseID: id, MentionID: m.ID, At: now.Add(-2 * time.Hour), Event: "queued",
				State: "open", Receiver: "desk", Note: "L1", Brand: "Acme", Location: "L1", Severity: "high"})
		if i == 0 {
			evs = append(evs, CaseEvent{EventID: id + ":escalated:1", CaseID: id, At: now, Event: "escalated", State: "open", Step: 1})
		}
	}
	// Two years of handled cases before them: opened and resolved, spread
	// over every month (case_events is partitioned by month, case_state
	// holds one row per case), more than the budget in either table.
	const oldCases = 80000
	for i := 0; i < oldCases; i++ {
		id := "case:" + hashID("old", i)
		at := now.Add(-2*365*24*time.Hour + time.Duration(i)*(2*365*24*time.Hour/oldCases))
		evs = append(evs,
			CaseEvent{EventID: id + ":opened", CaseID: id, MentionID: fmt.Sprintf("old:%07d", i), At: at, Event: "opened", State: "open",
				Brand: "Acme", Location: "L2", Severity: "medium"},
			CaseEvent{EventID: id + ":resolved", CaseID: id, At: at.Add(3 * time.Hour), Event: "resolved", State: "resolved", Actor: "ana"})
	}
	if err := s.AppendCaseEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{"case_events", "case_state", "case_event_ids"} {
		if err := s.conn.Exec(ctx, "OPTIMIZE TABLE "+tbl+" FINAL"); err != nil {
			t.Fatalf("optimize %s: %v", tbl, err)
		}
	}

	// 8,192-row granules: a handful per lookup, far below the history.
	// The server reports rows read in its progress packets. (18.16 does
	// not enforce max_rows_to_read on these reads, so the test counts.)
	const budget = 60000
	var read atomic.Uint64
	counted := clickhouse.Context(ctx, clickhouse.WithProgress(func(p *clickhouse.Progress) { read.Add(p.Rows) }))
	if err := s.conn.QueryRow(counted, "SELECT count() FROM mentions FINAL WHERE text != ''").Scan(&total); err != nil {
		t.Fatal(err)
	}
	if read.Load() < n {
		t.Fatalf("a full scan reports %d rows read: the test proves nothing", read.Load())
	}
	// Which cases are open is an aggregate of their events, so no key can
	// skip the closed ones: listing open cases and finding overdue ones read
	// case_state, one row per case ever opened (about one mention in a
	// hundred), and nothing else: never the events or the mentions.
	const cases = oldCases + 5
	for _, q := range []struct {
		name    string
		run     func(context.Context) error
		perCase bool
	}{
		{"seen", func(c context.Context) error {
			got, err := s.Seen(c, []string{"old:0000001", "old:0123456", "new:1", "absent"})
			if err == nil && len(got) != 3 {
				err = fmt.Errorf("seen %v", got)
			}
			return err
		}, false},
		{"prior negatives", func(c context.Context) error {
			got, err := s.PriorNegatives(c, "Acme", []string{"author 7", "author 50"}, now)
			// author 50: i = 50 + 5000k, negative when i%50 == 0: every one.
			if err == nil && (got["author 7"] != 5 || got["author 50"] != n/5000) {
				err = fmt.Errorf("prior negatives %v", got)
			}
			return err
		}, false},
		{"storm buckets", func(c context.Context) error {
			b, err := s.NegativeBuckets(c, now, time.Hour, 24)
			if err == nil && b[StormKey{Brand: "Acme", Location: "L1"}][0] != 5 {
				err = fmt.Errorf("buckets %v", b)
			}
			return err
		}, false},
		{"storm mentions", func(c context.Context) error {
			ids, err := s.StormMentions(c, StormKey{Brand: "Acme", Aspect: "staff"}, now.Add(-time.Hour), now, 10)
			if err == nil && len(ids) != 5 {
				err = fmt.Errorf("storm mentions %v", ids)
			}
			return err
		}, false},
		{"period volume", func(c context.Context) error {
			v, err := s.PeriodVolume(c, "Acme", now.Add(-24*time.Hour).Truncate(time.Hour), now.Add(time.Hour).Truncate(time.Hour))
			if err == nil && (v.Negative != 5 || v.Aspects["staff"] != 5) {
				err = fmt.Errorf("volume %+v", v)
			}
			return err
		}, false},
		{"series", func(c context.Context) error {
			_, err := s.Series(c, "Acme", now.Add(-14*24*time.Hour), now, false)
			return err
		}, false},
		{"mentions by id", func(c context.Context) error {
			ms, err := s.Mentions(c, []string{"new:0", "old:0200000"})
			if err == nil && len(ms) != 2 {
				err = fmt.Errorf("mentions %d", len(ms))
			}
			return err
		}, false},
		{"mention heads", func(c context.Context) error {
			ms, err := s.MentionHeads(c, []string{"new:0", "old:0200000"})
			if m := ms["new:0"]; err == nil && (len(ms) != 2 || m.Text != "" || m.Brand != "Acme" || m.Severity != "high" ||
				!slices.Equal(m.Aspects, []string{"staff"}) || !m.Negative || m.PublishedAt.IsZero()) {
				err = fmt.Errorf("heads %+v", ms)
			}
			return err
		}, false},
		{"has events", func(c context.Context) error {
			id := "case:" + recent[0].StoryID
			got, err := s.HasEvents(c, []string{id + ":opened", id + ":routed", "case:" + hashID("old", 7) + ":resolved"})
			if err == nil && (len(got) != 2 || !got[id+":opened"]) {
				err = fmt.Errorf("has events %v", got)
			}
			return err
		}, false},
		{"unrouted", func(c context.Context) error {
			_, _, err := s.Unrouted(c, now.Add(-time.Hour), "", 100)
			return err
		}, false},
		{"pending", func(c context.Context) error {
			p, err := s.PendingNotifications(c, now.Add(-time.Hour))
			if err == nil && len(p) != 5 {
				err = fmt.Errorf("pending %d, want 5", len(p))
			}
			return err
		}, false},
		{"oldest open", func(c context.Context) error {
			at, ok, err := s.OldestOpen(c, now.Add(-3*time.Hour))
			if err == nil && (!ok || !at.Equal(now.Add(-2*time.Hour))) {
				err = fmt.Errorf("oldest open %v %v", at, ok)
			}
			return err
		}, false},
		{"overdue", func(c context.Context) error {
			cs, err := s.Overdue(c, now.Add(-time.Hour), 2, "", 3)
			if err == nil && len(cs) != 3 {
				err = fmt.Errorf("overdue page %d", len(cs))
			}
			return err
		}, true},
		{"cases list", func(c context.Context) error {
			cs, err := s.Cases(c, "open", 50)
			if err == nil && len(cs) != 5 {
				err = fmt.Errorf("open cases %d, want 5", len(cs))
			}
			return err
		}, true},
	} {
		read.Store(0)
		if err := q.run(counted); err != nil {
			t.Errorf("%s: %v", q.name, err)
		}
		limit := uint64(budget)
		if q.perCase {
			limit = cases + 8192
		}
		if r := read.Load(); r > limit {
			t.Errorf("%s read %d rows of a %d-mention, %d-case history; want at most %d", q.name, r, n, cases, limit)
		} else {
			t.Logf("%s: %d rows read", q.name, r)
		}
	}
}

// Overdue returns only open cases old enough whose escalation has steps
// left, in case id order from the cursor, and pages through all of them.
func TestOverdue(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ev := func(c, event, state string, at time.Time, step uint8) CaseEvent {
		return CaseEvent{EventID: fmt.Sprintf("%s:%s:%d:%d", c, event, at.Unix(), step), CaseID: c, MentionID: "m-" + c, At: at,
			Event: event, State: state, Step: step, Brand: "Acme", Severity: "high"}
	}
	evs := []CaseEvent{
		ev("c1", "opened", "open", t0, 0),
		ev("c2", "opened", "open", t0, 0), ev("c2", "acknowledged", "acknowledged", t0.Add(time.Minute), 0),
		ev("c3", "opened", "open", t0.Add(3*time.Hour), 0), // too young
		ev("c4", "opened", "open", t0, 0), ev("c4", "escalated", "open", t0.Add(2*time.Hour), 1), ev("c4", "escalated", "open", t0.Add(3*time.Hour), 2),
		ev("c5", "opened", "open", t0, 0), ev("c5", "escalated", "open", t0.Add(2*time.Hour), 1),
		// Opened written again after the acknowledgement (a retried route)
		// must not reopen the case.
		ev("c6", "opened", "open", t0, 0), ev("c6", "acknowledged", "acknowledged", t0.Add(time.Minute), 0), ev("c6", "opened", "open", t0.Add(time.Hour), 0),
		ev("c7", "opened", "open", t0, 0),
	}
	if err := s.AppendCaseEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for after := ""; ; {
		page, err := s.Overdue(ctx, t0.Add(time.Hour), 2, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			got = append(got, fmt.Sprintf("%s/%d", c.CaseID, c.Escalated))
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].CaseID
	}
	if want := "c1/0 c5/1 c7/0"; strings.Join(got, " ") != want {
		t.Errorf("overdue %q, want %q", strings.Join(got, " "), want)
	}
}

// The migration's back-fill statements rebuild the derived tables from
// rows stored before it: run them again over emptied tables and compare.
func TestBoundedReadsBackfill(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	ms := sample(40, "bf")
	if err := s.InsertMentions(ctx, ms); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendCaseEvents(ctx, []CaseEvent{
		{EventID: "e1", CaseID: "case:x", MentionID: ms[0].ID, At: time.Now(), Event: "opened", State: "open", Brand: "Acme", Severity: "high"},
		{EventID: "e2", CaseID: "case:x", At: time.Now(), Event: "acknowledged", State: "acknowledged", Actor: "ana"},
	}); err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		var b strings.Builder
		for _, q := range []string{
			"SELECT count(), uniqExact(id) FROM negatives",
			"SELECT count(), uniqExact(author) FROM complaints",
			"SELECT uniqExactMerge(mentions), uniqExactIfMerge(negatives), uniqExactIfMerge(severe) FROM trend_hourly",
		} {
			var x, y uint64
			var z uint64
			row := s.conn.QueryRow(ctx, q)
			var err error
			if strings.Contains(q, "severe") {
				err = row.Scan(&x, &y, &z)
			} else {
				err = row.Scan(&x, &y)
			}
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			fmt.Fprintf(&b, "%d/%d/%d ", x, y, z)
		}
		c, ok, err := s.Case(ctx, "case:x")
		if err != nil || !ok {
			t.Fatalf("case: %v %v", ok, err)
		}
		fmt.Fprintf(&b, "%s/%s/%s", c.State, c.Actor, c.Severity)
		return b.String()
	}
	before := snapshot()
	if !strings.HasPrefix(before, "10/10/0 10/10/0 40/10/10 acknowledged/ana/high") {
		t.Errorf("views filled %q", before)
	}
	migs, err := schemas.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{"case_state", "negatives", "complaints", "trend_hourly"} {
		if err := s.conn.Exec(ctx, "TRUNCATE TABLE "+tbl); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, m := range migs {
		if m.Version != 12 {
			continue
		}
		for _, st := range m.Statements {
			if strings.HasPrefix(st, "INSERT") {
				if err := s.conn.Exec(ctx, st); err != nil {
					t.Fatalf("%s: %v", st, err)
				}
				n++
			}
		}
	}
	if n != 4 {
		t.Fatalf("%d back-fill statements, want 4", n)
	}
	if after := snapshot(); after != before {
		t.Errorf("back-fill gives %q, the views gave %q", after, before)
	}
}

// MessageCases finds the cases a message's "sending" events name, worst
// first.
func TestMessageCases(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	var evs []CaseEvent
	for i, c := range []struct{ id, msg, sev string }{{"c1", "msg-1", "low"}, {"c2", "msg-1", "critical"}, {"c3", "msg-2", "high"}} {
		evs = append(evs, CaseEvent{EventID: c.id + ":opened", CaseID: c.id, At: now, Event: "opened", State: "open", Severity: c.sev},
			CaseEvent{EventID: fmt.Sprintf("%s:sending:%d", c.id, i), CaseID: c.id, At: now, Event: "sending", State: "open", Note: c.msg,
				Severity: c.sev})
	}
	if err := s.AppendCaseEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	cs, err := s.MessageCases(ctx, "msg-1", now.Add(-time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, c.CaseID+"/"+c.Severity)
	}
	if want := "c2/critical c1/low"; strings.Join(got, " ") != want {
		t.Errorf("message cases %q, want %q", strings.Join(got, " "), want)
	}
}
