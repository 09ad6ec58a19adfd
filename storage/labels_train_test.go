package storage

import (
	"context"
	"testing"
	"time"

	"github.com/earshot/earshot/mention"
)

// TestTrainingLabels: each labelled mention once, with the latest label
// across people and its stored text; brand filters; labels of mentions
// not stored are left out; new labels are counted from a time.
func TestTrainingLabels(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ms := []mention.Mention{
		{ID: "a", Source: "s", Brand: "B1", Title: "Dirty", Text: "grotty suite", Lang: "en", PublishedAt: now, CollectedAt: now},
		{ID: "b", Source: "s", Brand: "B2", Text: "lovely", Lang: "en", Rating: 5, RatingMax: 5, PublishedAt: now, CollectedAt: now},
	}
	if err := s.InsertMentions(ctx, ms); err != nil {
		t.Fatal(err)
	}
	for _, l := range []Label{
		{MentionID: "a", Who: "ana", At: now, Label: "neutral", Brand: "B1"},
		{MentionID: "a", Who: "bo", At: now.Add(time.Hour), Label: "negative", Brand: "B1"},
		{MentionID: "b", Who: "ana", At: now.Add(2 * time.Hour), Label: "positive", Brand: "B2"},
		{MentionID: "gone", Who: "ana", At: now, Label: "negative", Brand: "B1"},
	} {
		if err := s.InsertLabel(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.TrainingLabels(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].MentionID != "a" || all[0].Label != "negative" || all[0].Text != "grotty suite" || all[0].Title != "Dirty" ||
		!all[0].At.Equal(now.Add(time.Hour)) || all[1].Label != "positive" || all[1].Rating != 5 {
		t.Errorf("all brands: %+v", all)
	}
	b2, err := s.TrainingLabels(ctx, "B2")
	if err != nil || len(b2) != 1 || b2[0].MentionID != "b" {
		t.Errorf("B2: %+v %v", b2, err)
	}
	for _, tc := range []struct {
		brand string
		since time.Time
		want  int
	}{
		{"", time.Time{}, 3},
		{"", now.Add(30 * time.Minute), 2},
		{"B1", now.Add(30 * time.Minute), 1},
		{"B2", now.Add(3 * time.Hour), 0},
	} {
		if n, err := s.CountLabelsSince(ctx, tc.brand, tc.since); err != nil || n != tc.want {
			t.Errorf("count %q since %v: %d %v, want %d", tc.brand, tc.since, n, err, tc.want)
		}
	}
}
