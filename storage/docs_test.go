package storage

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

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
	s, db := openTest(t)
	ctx := context.Background()
	// Mentions published in the last days, so "this month" and "last 84
	// days" filters find them whatever the date the test runs on.
	ms := sample(40, "d")
	now := time.Now().UTC().Truncate(time.Second)
	for i := range ms {
		ms[i].PublishedAt = now.Add(-time.Duration(i%3) * time.Hour)
	}
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
	}{{"c1", "opened", "open", 0}, {"c1", "acknowledged", "acknowledged", 10}, {"c2", "opened", "open", 0}, {"c2", "acknowledged", "acknowledged", 30},
		{"c3", "opened", "open", 0}, {"c3", "acknowledged", "acknowledged", 20}, {"c4", "opened", "open", 0}} {
		if err := b.Append("e"+string(rune('0'+i)), ev.c, "m", now.Add(time.Duration(ev.min)*time.Minute), ev.event, ev.state, "ana", "outbox", uint8(0), "", "", "Acme", "loc1", "high"); err != nil {
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
	if err := db.Conn.QueryRow(ctx, blocks[2][1]).Scan(new(string), new(uint64), &median); err != nil {
		t.Fatal(err)
	}
	if median != 20 {
		t.Errorf("median minutes to ack = %v, want 20", median)
	}
}
