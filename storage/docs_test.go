package storage

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/earshot/earshot/mention"
)

// TestDocumentedQueries runs every SQL block of docs/queries.md against
// seeded data: the queries analysts copy must work, and return rows.
func TestDocumentedQueries(t *testing.T) {
	doc, err := os.ReadFile("../docs/queries.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 3 {
		t.Fatalf("found %d SQL blocks in docs/queries.md", len(blocks))
	}
	// section returns the SQL under a heading, for checks of its figures.
	section := func(heading string) string {
		t.Helper()
		m := regexp.MustCompile("(?s)\n## " + regexp.QuoteMeta(heading) + "\n[^#]*?```sql\n(.*?)```").FindStringSubmatch(string(doc))
		if m == nil {
			t.Fatalf("docs/queries.md has no SQL under %q", heading)
		}
		return m[1]
	}
	s, db := openTest(t)
	ctx := context.Background()
	// Mentions published in the last days, so "this month" and "last 84
	// days" filters find them whatever the date the test runs on.
	ms := sample(40, "d")
	now := time.Now().UTC().Truncate(time.Second)
	for i := range ms {
		ms[i].PublishedAt = now.Add(-time.Duration(i%3) * time.Hour)
		ms[i].CollectedAt = now
	}
	// A long Hindi complaint: its excerpt must stay whole letters.
	hindi := ms[0]
	hindi.ID, hindi.Lang, hindi.Severity = "d:hindi", "hi", "critical"
	hindi.Text = strings.Repeat("कमरा गंदा था और स्टाफ ने बहुत बदतमीज़ी से बात की। ", 6)
	ms = append(ms, hindi)
	if err := s.InsertMentions(ctx, ms); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertRatings(ctx, []mention.ItemRating{{Source: "demo", Item: "Hotel", Rating: 4.2, Best: 5, RatingCount: 10, ObservedAt: now},
		{Source: "demo", Item: "Hotel", Rating: 8, Best: 10, RatingCount: 12, ObservedAt: now.Add(-7 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordRun(ctx, Run{ID: "r", Source: "demo", Kind: "demo", StartedAt: now, FinishedAt: now, Status: "ok", New: 3}); err != nil {
		t.Fatal(err)
	}
	b, err := db.Conn.PrepareBatch(ctx, "INSERT INTO case_events (event_id, case_id, mention_id, at, event, state, actor, receiver, step, outcome, note, brand, location, severity)")
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range []struct {
		c, event, state string
		min             int
		outcome         string
		step            uint8
	}{{"c1", "opened", "open", 0, "", 0}, {"c1", "acknowledged", "acknowledged", 10, "", 0}, {"c2", "opened", "open", 0, "", 0}, {"c2", "acknowledged", "acknowledged", 30, "", 0},
		{"c3", "opened", "open", 0, "", 0}, {"c3", "acknowledged", "acknowledged", 20, "", 0}, {"c4", "opened", "open", 0, "", 0},
		{"c1", "resolved", "resolved", 60, "replied_publicly", 0}, {"c2", "resolved", "resolved", 120, "contacted_privately", 0},
		{"c4", "escalated", "open", 16, "", 1}} {
		// Opened an hour ago: "now" in the queries is the server's.
		at := now.Add(time.Duration(ev.min-60) * time.Minute)
		if err := b.Append("e"+string(rune('a'+i)), ev.c, "m", at, ev.event, ev.state, "ana", "outbox", ev.step, ev.outcome, "", "Acme", "loc1", "high"); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordStorm(ctx, Storm{ID: "storm:Acme|location=loc1:x", At: now, WindowStart: now.Add(-time.Hour), WindowEnd: now,
		Key: StormKey{Brand: "Acme", Location: "loc1"}, Count: 9, Mean: 1.5, Stddev: 0.5, Receiver: "outbox", CaseIDs: []string{"c1", "c4"}}); err != nil {
		t.Fatal(err)
	}
	for i, blk := range blocks {
		rows, err := db.Conn.Query(ctx, blk[1])
		if err != nil {
			t.Errorf("query %d failed: %v\n%s", i+1, err, blk[1])
			continue
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Errorf("query %d: %v", i+1, err)
		}
		if n == 0 {
			t.Errorf("query %d returned no rows on seeded data:\n%s", i+1, blk[1])
		}
	}
	// Seeded acks took 10, 30 and 20 minutes: the median is 20. (quantileExact
	// picks an element; with an even count it is the upper middle one.)
	var median float64
	if err := db.Conn.QueryRow(ctx, section("Median time to acknowledge, per location")).Scan(new(string), new(uint64), &median); err != nil {
		t.Fatal(err)
	}
	if median != 20 {
		t.Errorf("median minutes to ack = %v, want 20", median)
	}
	// Resolved after 60 and 120 minutes: 1.5 hours on average, median the
	// upper middle, 2.
	var resolved uint64
	var avgHours, medianHours float64
	if err := db.Conn.QueryRow(ctx, section("Time to resolve, per location")).Scan(new(string), &resolved, &avgHours, &medianHours); err != nil {
		t.Fatal(err)
	}
	if resolved != 2 || avgHours != 1.5 || medianHours != 2 {
		t.Errorf("time to resolve: %d cases, avg %v h, median %v h; want 2, 1.5, 2", resolved, avgHours, medianHours)
	}
	// Acked after 10 (in time), 20 and 30 minutes (late), one never acked
	// and an hour old (late), escalated once.
	var opened, inTime, breached, escalated uint64
	if err := db.Conn.QueryRow(ctx, section("SLA breaches: acknowledged late, or not at all")).Scan(new(time.Time), new(string), &opened, &inTime, &breached, &escalated); err != nil {
		t.Fatal(err)
	}
	if opened != 4 || inTime != 1 || breached != 3 || escalated != 1 {
		t.Errorf("SLA: opened %d, in time %d, breached %d, escalated %d; want 4, 1, 3, 1", opened, inTime, breached, escalated)
	}
	outcomes := map[string]uint64{}
	rows, err := db.Conn.Query(ctx, section("How cases ended: outcomes per location"))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var loc, outcome string
		var n uint64
		if err := rows.Scan(&loc, &outcome, &n); err != nil {
			t.Fatal(err)
		}
		outcomes[outcome] += n
	}
	rows.Close()
	if len(outcomes) != 2 || outcomes["replied_publicly"] != 1 || outcomes["contacted_privately"] != 1 {
		t.Errorf("outcomes %v", outcomes)
	}
	// The view agrees with the events: c1, c2 resolved, c3 acknowledged, c4 open.
	states := map[string]uint64{}
	rows, err = db.Conn.Query(ctx, section("Every case's current state: the `case_current` view"))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var loc, state string
		var n, severe uint64
		var oldest time.Time
		if err := rows.Scan(&loc, &state, &n, &severe, &oldest); err != nil {
			t.Fatal(err)
		}
		states[state] += n
	}
	rows.Close()
	if states["resolved"] != 2 || states["acknowledged"] != 1 || states["open"] != 1 {
		t.Errorf("case_current states %v, want 2 resolved, 1 acknowledged, 1 open", states)
	}
	// Excerpts are whole characters, 120 of them at most.
	rows, err = db.Conn.Query(ctx, section("The latest negative mentions, worst first"))
	if err != nil {
		t.Fatal(err)
	}
	sawHindi := false
	for rows.Next() {
		var lang, excerpt string
		var skip1, skip2, skip3, skip4, skip5, skip6 string
		var published time.Time
		var rating float32
		if err := rows.Scan(&published, &skip1, &skip2, &skip3, &lang, &skip4, &rating, &skip5, &excerpt, &skip6); err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(excerpt) || utf8.RuneCountInString(excerpt) > 120 {
			t.Errorf("excerpt of a %s mention is %d characters, valid UTF-8: %v: %q", lang, utf8.RuneCountInString(excerpt), utf8.ValidString(excerpt), excerpt)
		}
		sawHindi = sawHindi || lang == "hi"
	}
	rows.Close()
	if !sawHindi {
		t.Error("the Hindi complaint is not among the latest negative mentions")
	}
}
