package storage

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/earshot/earshot/mention"
)

// TestMentionTableMatchesSchema: mentionTable names every column of the
// migrated `mentions` table, in the table's order, so the insert, the
// read-back and the migrations cannot drift apart.
func TestMentionTableMatchesSchema(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	rows, err := s.conn.Query(ctx, "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'mentions'") // in the table's order (18.16 has no position column)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var live []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		live = append(live, n)
	}
	if got := MentionColumns(); !slices.Equal(got, live) {
		t.Errorf("mentionTable %v\nthe migrated table %v", got, live)
	}
	for _, n := range headNames {
		if len(columnsOf([]string{n})) != 1 {
			t.Errorf("head column %q is not in mentionTable", n)
		}
	}
}

// TestMentionRoundTrip: every field written comes back, whole and as heads.
func TestMentionRoundTrip(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	m := mention.Mention{ID: "rt:1", Source: "src", Kind: "reddit", Brand: "Acme", Location: "Zagreb", URL: "https://x.test/1",
		Author: "ana", Title: "t", Text: "rude staff", Rating: 1.5, RatingMax: 5, Lang: "hr", PublishedAt: at, CollectedAt: at.Add(time.Hour),
		Likes: 1, Shares: 2, Replies: 3, Followers: 4, ParentID: "p", StoryID: "s", AppVersion: "1.2",
		Version: 7, Truncated: true}
	m.Sentiment, m.Negative, m.Severity = -0.5, true, "high"
	m.Aspects, m.Signals, m.Reasons, m.Entities = []string{"staff"}, []string{"churn"}, []string{"why"}, []string{"Ana"}
	m.ScorerVersion = "v1"
	if err := s.InsertMentions(ctx, []mention.Mention{m}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Mentions(ctx, []string{m.ID})
	if err != nil {
		t.Fatal(err)
	}
	back := got[m.ID]
	back.PublishedAt, back.CollectedAt = back.PublishedAt.UTC(), back.CollectedAt.UTC()
	if !mentionsEqual(back, m) {
		t.Errorf("read back %+v\nwant %+v", back, m)
	}
	heads, err := s.MentionHeads(ctx, []string{m.ID})
	if err != nil {
		t.Fatal(err)
	}
	h := heads[m.ID]
	if h.Text != "" || h.Brand != m.Brand || h.Severity != "high" || !h.Negative || h.Version != 7 || !slices.Equal(h.Aspects, m.Aspects) {
		t.Errorf("heads %+v", h)
	}
}

func mentionsEqual(a, b mention.Mention) bool {
	lists := [][2][]string{{a.Aspects, b.Aspects}, {a.Signals, b.Signals}, {a.Reasons, b.Reasons}, {a.Entities, b.Entities}}
	for _, l := range lists {
		if !slices.Equal(l[0], l[1]) {
			return false
		}
	}
	a.Aspects, a.Signals, a.Reasons, a.Entities = nil, nil, nil, nil
	b.Aspects, b.Signals, b.Reasons, b.Entities = nil, nil, nil, nil
	return a.ID == b.ID && a.Source == b.Source && a.Kind == b.Kind && a.Brand == b.Brand && a.Location == b.Location &&
		a.URL == b.URL && a.Author == b.Author && a.Title == b.Title && a.Text == b.Text && a.Rating == b.Rating &&
		a.RatingMax == b.RatingMax && a.Lang == b.Lang && a.PublishedAt.Equal(b.PublishedAt) && a.CollectedAt.Equal(b.CollectedAt) &&
		a.Likes == b.Likes && a.Shares == b.Shares && a.Replies == b.Replies && a.Followers == b.Followers && a.ParentID == b.ParentID &&
		a.StoryID == b.StoryID && a.AppVersion == b.AppVersion && a.Sentiment == b.Sentiment && a.Negative == b.Negative &&
		a.Severity == b.Severity && a.ScorerVersion == b.ScorerVersion && a.Truncated == b.Truncated && a.Version == b.Version
}
