package storage

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage/chtest"
)

func TestMain(m *testing.M) { os.Exit(chtest.Main(m)) }

func openTest(t *testing.T) (*Store, *chtest.DB) {
	t.Helper()
	db := chtest.New(t)
	s, err := Open(context.Background(), db.DSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, db
}

func sample(n int, prefix string) []mention.Mention {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	out := make([]mention.Mention, n)
	for i := range out {
		m := mention.Mention{
			Source: "demo", Brand: "Acme", Location: fmt.Sprintf("loc%d", i%3),
			Author: fmt.Sprintf("user%d", i), Text: fmt.Sprintf("%s review number %d", prefix, i),
			Rating: float64(1 + i%5), RatingMax: 5, PublishedAt: now.Add(-time.Duration(i) * time.Hour),
			Lang: "en",
		}
		m.ID = fmt.Sprintf("%s:%d", prefix, i)
		if i%4 == 0 {
			m.Negative, m.Severity, m.Aspects = true, "high", []string{"staff", "wait"}
		}
		if err := m.Normalize(now); err != nil {
			panic(err)
		}
		out[i] = m
	}
	return out
}

func TestMigrateIdempotent(t *testing.T) {
	db := chtest.New(t)
	ctx := context.Background()
	s, err := Open(ctx, db.DSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) < 4 {
		t.Fatalf("first migrate applied %v, want all migrations", first)
	}
	tablesBefore := tables(t, db)
	second, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 0 {
		t.Errorf("second migrate applied %v, want nothing", second)
	}
	if after := tables(t, db); fmt.Sprint(after) != fmt.Sprint(tablesBefore) {
		t.Errorf("tables changed: %v -> %v", tablesBefore, after)
	}
	if n := db.Count(t, "SELECT count() FROM schema_migrations"); n != uint64(len(first)) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(first))
	}
	for _, want := range []string{"mentions", "collection_runs", "source_state", "case_events", "alert_deliveries",
		"trend_daily", "trend_daily_mv", "trend_daily_aspect", "trend_daily_aspect_mv", "schema_migrations"} {
		found := false
		for _, tb := range tablesBefore {
			found = found || tb == want
		}
		if !found {
			t.Errorf("table %s missing; have %v", want, tablesBefore)
		}
	}
}

func tables(t *testing.T, db *chtest.DB) []string {
	rows, err := db.Conn.Query(context.Background(), "SELECT name FROM system.tables WHERE database = ?", db.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func TestInsertTwiceOneRowPerID(t *testing.T) {
	s, db := openTest(t)
	ctx := context.Background()
	ms := sample(50, "a")
	for i := 0; i < 2; i++ {
		if err := s.InsertMentions(ctx, ms); err != nil {
			t.Fatal(err)
		}
	}
	if n := db.Count(t, "SELECT count() FROM mentions FINAL"); n != 50 {
		t.Errorf("mentions FINAL = %d, want 50", n)
	}
	// The trend views count each id once however often it was inserted.
	if n := db.Count(t, "SELECT toUInt64(uniqExactMerge(mentions)) FROM trend_daily"); n != 50 {
		t.Errorf("trend mentions = %d, want 50", n)
	}
	if n := db.Count(t, "SELECT toUInt64(uniqExactIfMerge(negatives)) FROM trend_daily"); n != 13 {
		t.Errorf("trend negatives = %d, want 13", n)
	}
	if n := db.Count(t, "SELECT toUInt64(uniqExactMerge(negatives)) FROM trend_daily_aspect WHERE aspect = 'staff'"); n != 13 {
		t.Errorf("trend staff negatives = %d, want 13", n)
	}
}

func TestRescoreKeepsNewestVersion(t *testing.T) {
	s, db := openTest(t)
	ctx := context.Background()
	ms := sample(1, "r")
	if err := s.InsertMentions(ctx, ms); err != nil {
		t.Fatal(err)
	}
	re := ms[0]
	re.Severity, re.Negative, re.Version = "critical", true, ms[0].Version+1
	stale := ms[0]
	stale.Severity, stale.Version = "low", ms[0].Version-1 // e.g. a late spool replay
	if err := s.InsertMentions(ctx, []mention.Mention{re, stale}); err != nil {
		t.Fatal(err)
	}
	var sev string
	if err := db.Conn.QueryRow(ctx, "SELECT toString(severity) FROM mentions FINAL WHERE id = ?", re.ID).Scan(&sev); err != nil {
		t.Fatal(err)
	}
	if sev != "critical" {
		t.Errorf("severity after FINAL = %q, want critical (highest version)", sev)
	}
}

func TestSeen(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	ms := sample(1200, "s") // more than one query chunk
	if err := s.InsertMentions(ctx, ms[:1100]); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	seen, err := s.Seen(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1100 || !seen["s:0"] || !seen["s:1099"] || seen["s:1100"] {
		t.Errorf("seen %d ids (s:0=%v s:1099=%v s:1100=%v), want the first 1100", len(seen), seen["s:0"], seen["s:1099"], seen["s:1100"])
	}
}

func TestSourceStateAndRuns(t *testing.T) {
	s, db := openTest(t)
	ctx := context.Background()
	st, err := s.LoadState(ctx, "demo")
	if err != nil || st.Cursor != "" {
		t.Fatalf("empty state = %+v, %v", st, err)
	}
	for _, c := range []string{"c1", "c2", "c3"} {
		if err := s.SaveState(ctx, SourceState{Source: "demo", Cursor: c, ETag: "e-" + c}); err != nil {
			t.Fatal(err)
		}
	}
	st, err = s.LoadState(ctx, "demo")
	if err != nil || st.Cursor != "c3" || st.ETag != "e-c3" {
		t.Errorf("state = %+v, %v; want cursor c3", st, err)
	}
	now := time.Now()
	if err := s.RecordRun(ctx, Run{ID: "r1", Source: "demo", Kind: "schemaorg", StartedAt: now, FinishedAt: now, Fetched: 3, New: 2, Status: "ok"}); err != nil {
		t.Fatal(err)
	}
	if n := db.Count(t, "SELECT count() FROM collection_runs WHERE source = 'demo' AND new = 2"); n != 1 {
		t.Errorf("collection_runs rows = %d, want 1", n)
	}
}

func TestOpenBadDSN(t *testing.T) {
	tests := []string{"clickhouse://127.0.0.1:1/bad-name", "::not a url"}
	for _, dsn := range tests {
		if _, err := Open(context.Background(), dsn, nil); err == nil {
			t.Errorf("Open(%q) succeeded, want error", dsn)
		}
	}
}

func TestRedact(t *testing.T) {
	if got := redact("clickhouse://u:secret@h:9000/db"); got != "clickhouse://u:xxxxx@h:9000/db" {
		t.Errorf("redact = %q", got)
	}
}

// TestMigrateRerunsAfterLostRecord: if migrations ran but were not recorded
// (a crash between the two), running them again succeeds, ADD COLUMN
// included, which ClickHouse 18.16 cannot guard with IF NOT EXISTS.
func TestMigrateRerunsAfterLostRecord(t *testing.T) {
	s, db := openTest(t)
	ctx := context.Background()
	if err := db.Conn.Exec(ctx, "DROP TABLE schema_migrations"); err != nil {
		t.Fatal(err)
	}
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatalf("re-running migrations: %v", err)
	}
	if len(applied) < 5 {
		t.Errorf("applied %v", applied)
	}
	if n := db.Count(t, "SELECT count() FROM system.columns WHERE database = ? AND table = 'mentions' AND name = 'story_id'", db.Name); n != 1 {
		t.Errorf("story_id columns: %d", n)
	}
}

func TestMentionAndCases(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	ms := sample(2, "m")
	ms[0].StoryID, ms[0].AppVersion = "story:x", "1.2.3"
	if err := s.InsertMentions(ctx, ms); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Mention(ctx, ms[0].ID)
	if err != nil || !ok || got.Text != ms[0].Text || got.Severity != "high" || !got.Negative || len(got.Aspects) != 2 ||
		got.StoryID != "story:x" || got.AppVersion != "1.2.3" || got.Rating != ms[0].Rating {
		t.Errorf("Mention = %+v, %v, %v", got, ok, err)
	}
	if _, ok, _ := s.Mention(ctx, "nope"); ok {
		t.Error("found a mention that does not exist")
	}
	now := time.Now().UTC().Truncate(time.Second)
	if err := s.AppendCaseEvents(ctx, []CaseEvent{
		{EventID: "c1:opened", CaseID: "c1", MentionID: ms[0].ID, At: now, Event: "opened", State: "open", Severity: "high"},
		{EventID: "c1:acknowledged", CaseID: "c1", At: now.Add(time.Minute), Event: "acknowledged", State: "acknowledged", Actor: "ana"},
		{EventID: "c2:opened", CaseID: "c2", At: now, Event: "opened", State: "open"},
	}); err != nil {
		t.Fatal(err)
	}
	open, err := s.Cases(ctx, "open", 10)
	if err != nil || len(open) != 1 || open[0].CaseID != "c2" {
		t.Errorf("open cases %+v %v", open, err)
	}
	c, ok, err := s.Case(ctx, "c1")
	if err != nil || !ok || c.State != "acknowledged" || c.Actor != "ana" || c.MentionID != ms[0].ID {
		t.Errorf("case c1 %+v %v", c, err)
	}
	has, err := s.HasEvents(ctx, []string{"c1:opened", "c9:opened"})
	if err != nil || !has["c1:opened"] || has["c9:opened"] {
		t.Errorf("HasEvents %v %v", has, err)
	}
	if err := s.RecordDelivery(ctx, Delivery{ID: "d1", CaseIDs: []string{"c1"}, GroupKey: "desk|location=Zagreb", Receiver: "desk", Attempt: 1, At: now, Status: "sent", HTTPStatus: 202}); err != nil {
		t.Error(err)
	}

	// Delivery events do not change state; in one second a resolve wins
	// over an acknowledge; pending lists queued, open, unsent cases.
	later := now.Add(2 * time.Minute)
	if err := s.AppendCaseEvents(ctx, []CaseEvent{
		{EventID: "c1:queued:boss", CaseID: "c1", MentionID: ms[0].ID, At: later, Event: "queued", State: "open", Receiver: "boss", Note: "boss"},
		{EventID: "c3:opened", CaseID: "c3", At: later, Event: "opened", State: "open"},
		{EventID: "c3:acknowledged", CaseID: "c3", At: later, Event: "acknowledged", State: "acknowledged"},
		{EventID: "c3:resolved", CaseID: "c3", At: later, Event: "resolved", State: "resolved", Outcome: "no_action"},
		{EventID: "c2:queued:desk", CaseID: "c2", MentionID: "m:2", At: later, Event: "queued", State: "open", Receiver: "desk", Note: "desk|location=Zagreb", Severity: "medium"},
		{EventID: "c2:queued:boss", CaseID: "c2", MentionID: "m:2", At: later, Event: "queued", State: "open", Receiver: "boss", Note: "boss"},
		{EventID: "c2:notified:boss:0", CaseID: "c2", At: later, Event: "notified", State: "open", Receiver: "boss"},
		// Queued long ago and never sent: past PendingLookback, not retried.
		{EventID: "c5:opened", CaseID: "c5", At: now.Add(-PendingLookback - time.Hour), Event: "opened", State: "open"},
		{EventID: "c5:queued:desk", CaseID: "c5", MentionID: "m:5", At: now.Add(-PendingLookback - time.Hour), Event: "queued", State: "open", Receiver: "desk", Note: "desk"},
	}); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := s.Case(ctx, "c1"); c.State != "acknowledged" {
		t.Errorf("a queued event reopened c1: %s", c.State)
	}
	if c, _, _ := s.Case(ctx, "c3"); c.State != "resolved" || c.Outcome != "no_action" {
		t.Errorf("c3 acknowledged and resolved in one second is %s (%q)", c.State, c.Outcome)
	}
	// Cases come to the notifier through the case queue (filled by the
	// view on negative mentions; written here directly for these ids).
	for _, q := range []struct {
		id string
		at time.Time
	}{{"c1", now}, {"c2", later}, {"c3", later}, {"c5", now.Add(-PendingLookback - time.Hour)}} {
		if err := s.insertRow(ctx, "INSERT INTO case_queue (opened_at, case_id, mention_id)", q.at.UTC(), q.id, ""); err != nil {
			t.Fatal(err)
		}
	}
	pend, err := s.PendingNotifications(ctx, now.Add(-PendingLookback-2*time.Hour))
	if err != nil || len(pend) != 1 || pend[0].CaseID != "c2" || pend[0].Receiver != "desk" || pend[0].GroupKey != "desk|location=Zagreb" || pend[0].Severity != "medium" {
		t.Errorf("pending %+v %v; want c2 for desk only", pend, err)
	}
	h, err := s.SendHistory(ctx, now.Add(-time.Hour), now.Add(-time.Minute))
	if err != nil || h.SentSince["desk"] != 1 || !h.LastSent["desk\x00desk|location=Zagreb"].Equal(now) {
		t.Errorf("history %+v %v", h, err)
	}
}

func TestStorms(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	end := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	var ms []mention.Mention
	add := func(id, loc string, published time.Time, negative bool, aspects ...string) {
		m := mention.Mention{ID: id, Source: "demo", Brand: "Acme", Location: loc, Text: id, PublishedAt: published}
		m.Negative, m.Aspects = negative, aspects
		if err := m.Normalize(end); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	// Current window (11:00-12:00): 3 at Zagreb about wait, 1 positive.
	add("z1", "Zagreb", end.Add(-time.Minute), true, "wait")
	add("z2", "Zagreb", end.Add(-30*time.Minute), true, "wait", "staff")
	add("z3", "Zagreb", end.Add(-time.Hour), true, "wait") // 11:00:00 is inside
	add("z4", "Zagreb", end.Add(-10*time.Minute), false)
	// Before: one in the window before, one in the last baseline window, one
	// too old and one in the future (both outside).
	add("z5", "Zagreb", end.Add(-90*time.Minute), true)
	add("z6", "Zagreb", end.Add(-3*time.Hour+time.Second), true)
	add("z7", "Zagreb", end.Add(-5*time.Hour), true)
	add("z8", "Zagreb", end.Add(time.Minute), true)
	add("s1", "Split", end.Add(-2*time.Minute), true, "billing")
	if err := s.InsertMentions(ctx, ms); err != nil {
		t.Fatal(err)
	}
	b, err := s.NegativeBuckets(ctx, end, time.Hour, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := map[StormKey][]int{
		{Brand: "Acme", Location: "Zagreb"}: {3, 1, 1},
		{Brand: "Acme", Location: "Split"}:  {1, 0, 0},
		{Brand: "Acme", Aspect: "wait"}:     {3, 0, 0},
		{Brand: "Acme", Aspect: "staff"}:    {1, 0, 0},
		{Brand: "Acme", Aspect: "billing"}:  {1, 0, 0},
	}
	if fmt.Sprint(b) != fmt.Sprint(want) {
		t.Errorf("buckets\n%v\nwant\n%v", b, want)
	}
	ids, err := s.StormMentions(ctx, StormKey{Brand: "Acme", Location: "Zagreb"}, end.Add(-time.Hour), end, 2)
	if err != nil || fmt.Sprint(ids) != "[z1 z2]" {
		t.Errorf("storm mentions %v %v, want newest two", ids, err)
	}
	ids, err = s.StormMentions(ctx, StormKey{Brand: "Acme", Aspect: "wait"}, end.Add(-time.Hour), end, 10)
	if err != nil || fmt.Sprint(ids) != "[z1 z2 z3]" {
		t.Errorf("storm mentions by aspect %v %v", ids, err)
	}
	st := Storm{ID: "storm:Acme|location=Zagreb:x", At: end, WindowStart: end.Add(-time.Hour), WindowEnd: end,
		Key: StormKey{Brand: "Acme", Location: "Zagreb"}, Count: 3, Mean: 1, Stddev: 0.5, Receiver: "managers", CaseIDs: []string{"case:z1"}}
	for range 2 { // a re-run check writes the same id again
		if err := s.RecordStorm(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.StormsSince(ctx, end.Add(-time.Hour))
	if err != nil || len(got) != 1 || got[0].Key != st.Key || got[0].Count != 3 || got[0].Stddev != 0.5 || fmt.Sprint(got[0].CaseIDs) != "[case:z1]" {
		t.Errorf("storms since %+v %v", got, err)
	}
	if got, _ := s.StormsSince(ctx, end.Add(time.Second)); len(got) != 0 {
		t.Errorf("storms after the last one: %+v", got)
	}
}

func TestDigestQueries(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	end := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) // a Monday
	var ms []mention.Mention
	add := func(id, brand, loc string, at time.Time, negative bool, severity string, aspects ...string) {
		m := mention.Mention{ID: id, Source: "demo", Brand: brand, Location: loc, Text: id, PublishedAt: at}
		m.Negative, m.Severity, m.Aspects = negative, severity, aspects
		if err := m.Normalize(end); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	add("a1", "Acme", "Zagreb", end.Add(-time.Hour), true, "high", "wait", "staff")
	add("a2", "Acme", "Zagreb", end.Add(-2*time.Hour), true, "low", "wait")
	add("a3", "Acme", "Split", end.Add(-3*time.Hour), false, "")
	add("a4", "Acme", "", end.Add(-4*time.Hour), true, "critical")
	add("a5", "Acme", "Split", end.Add(-30*time.Hour), true, "medium") // the day before
	add("a6", "Acme", "Split", end.Add(-9*24*time.Hour), true, "low")  // the week before
	add("b1", "Other", "X", end.Add(-time.Hour), true, "low", "billing")
	if err := s.InsertMentions(ctx, ms); err != nil {
		t.Fatal(err)
	}
	v, err := s.PeriodVolume(ctx, "Acme", end.Add(-24*time.Hour), end)
	if err != nil {
		t.Fatal(err)
	}
	if v.Mentions != 4 || v.Negative != 3 || v.Severe != 2 || fmt.Sprint(v.NegativeByLocation) != "map[:1 Zagreb:2]" || fmt.Sprint(v.Aspects) != "map[staff:1 wait:2]" {
		t.Errorf("volume %+v", v)
	}
	if v, _ := s.PeriodVolume(ctx, "", end.Add(-24*time.Hour), end); v.Mentions != 5 || v.Aspects["billing"] != 1 {
		t.Errorf("volume of all brands %+v", v)
	}
	days, err := s.Series(ctx, "Acme", end.Add(-3*24*time.Hour), end, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range days {
		got = append(got, fmt.Sprintf("%s:%d/%d", b.Start.Format("01-02"), b.Negative, b.Mentions))
	}
	if want := "[11-20:0/0 11-21:0/0 11-22:1/1 11-23:3/4]"; fmt.Sprint(got) != want {
		t.Errorf("days %v, want %s", got, want)
	}
	weeks, err := s.Series(ctx, "Acme", end.Add(-14*24*time.Hour), end, true)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, b := range weeks {
		got = append(got, fmt.Sprintf("%s:%d/%d", b.Start.Format("01-02"), b.Negative, b.Mentions))
	}
	if want := "[11-09:1/1 11-16:1/1 11-23:3/4]"; fmt.Sprint(got) != want {
		t.Errorf("weeks %v, want %s", got, want)
	}

	now := end
	if err := s.AppendCaseEvents(ctx, []CaseEvent{
		{EventID: "c1:opened", CaseID: "c1", MentionID: "a1", At: now, Event: "opened", State: "open", Brand: "Acme", Severity: "high"},
		{EventID: "c1:queued:desk", CaseID: "c1", MentionID: "a1", At: now, Event: "queued", State: "open", Receiver: "desk", Brand: "Acme"},
		{EventID: "c2:opened", CaseID: "c2", MentionID: "a2", At: now, Event: "opened", State: "open", Brand: "Acme"},
		{EventID: "c2:queued:boss", CaseID: "c2", At: now, Event: "queued", State: "open", Receiver: "boss"},
		{EventID: "c3:opened", CaseID: "c3", MentionID: "a4", At: now, Event: "opened", State: "open", Brand: "Acme"},
		{EventID: "c3:deferred:desk", CaseID: "c3", At: now.Add(time.Second), Event: "deferred", State: "open", Receiver: "desk"},
		{EventID: "c3:resolved", CaseID: "c3", At: now.Add(time.Minute), Event: "resolved", State: "resolved"},
		{EventID: "c4:opened", CaseID: "c4", MentionID: "b1", At: now, Event: "opened", State: "open", Brand: "Other"},
		{EventID: "c4:queued:desk", CaseID: "c4", At: now, Event: "queued", State: "open", Receiver: "desk"},
	}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.CasesFor(ctx, "desk", "", 10)
	if err != nil || len(cs) != 2 || cs[0].CaseID != "c1" || cs[1].CaseID != "c4" {
		t.Errorf("cases for desk %+v %v; want c1, c4 (c2 is boss's, c3 resolved)", cs, err)
	}
	if cs, _ := s.CasesFor(ctx, "desk", "Acme", 10); len(cs) != 1 || cs[0].CaseID != "c1" {
		t.Errorf("cases for desk about Acme %+v", cs)
	}
	evs, err := s.CaseEvents(ctx, []string{"c3", "c9"})
	if err != nil || len(evs) != 1 || len(evs["c3"]) != 3 || evs["c3"][2].Event != "resolved" {
		t.Errorf("events %+v %v", evs, err)
	}
	if err := s.RecordDelivery(ctx, Delivery{ID: "d1", GroupKey: "digest:desk:daily:all:x", Receiver: "desk", Attempt: 1, At: now, Status: "failed"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Delivered(ctx, "desk", "digest:desk:daily:all:x"); err != nil || ok {
		t.Errorf("a failed attempt counts as delivered: %v %v", ok, err)
	}
	if err := s.RecordDelivery(ctx, Delivery{ID: "d2", GroupKey: "digest:desk:daily:all:x", Receiver: "desk", Attempt: 2, At: now, Status: "sent"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Delivered(ctx, "desk", "digest:desk:daily:all:x"); err != nil || !ok {
		t.Errorf("delivered: %v %v", ok, err)
	}
}
