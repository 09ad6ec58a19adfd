package scoring

import (
	"context"
	"testing"

	"github.com/earshot/earshot/mention"
)

func TestRating(t *testing.T) {
	tests := []struct {
		rating, max float64
		negative    bool
		severity    string
		version     string
	}{
		{1, 5, true, "medium", RatingVersion},
		{2, 5, true, "low", RatingVersion},
		{3, 5, false, "none", RatingVersion},
		{9, 10, false, "none", RatingVersion},
		{2, 10, true, "medium", RatingVersion},
		{0, 0, false, "", ""},                  // no rating: left for the text scorer
		{1, 0, true, "medium", RatingVersion},  // no rating_max: out of 5
		{4.5, 0, false, "none", RatingVersion}, // half stars too
		{7, 0, false, "", ""},                  // no scale: ignored, with a reason
	}
	for _, tt := range tests {
		ms := []mention.Mention{{Text: "x", Rating: tt.rating, RatingMax: tt.max}}
		if err := (Rating{}).Score(context.Background(), ms); err != nil {
			t.Fatal(err)
		}
		m := ms[0]
		if m.Negative != tt.negative || m.Severity != tt.severity || m.ScorerVersion != tt.version {
			t.Errorf("rating %v/%v: negative=%v severity=%q version=%q; want %v %q %q", tt.rating, tt.max, m.Negative, m.Severity, m.ScorerVersion, tt.negative, tt.severity, tt.version)
		}
		if tt.version != "" && (m.Sentiment < -1 || m.Sentiment > 1 || len(m.Reasons) != 1) {
			t.Errorf("rating %v/%v: sentiment %v reasons %v", tt.rating, tt.max, m.Sentiment, m.Reasons)
		}
	}
}
