package web

import (
	"slices"
	"strings"
	"testing"

	"github.com/earshot/earshot/mention"
)

func TestWhyPlainWords(t *testing.T) {
	m := mention.Mention{Lang: "tl", Rating: 1, RatingMax: 5}
	m.Sentiment, m.Severity, m.Aspects, m.Signals = -0.8, "critical", []string{"quality"}, []string{"legal", "health"}
	m.Reasons = []string{"lang tl (given)", "negative: lason, abogado", "contrast \"pero\": the clause after it weighs more",
		"sarcasm \"great, just great\": praise read as a complaint", "brand rule: always flag \"food poisoning\"",
		"signal legal: \"abogado\"", "repeat complaint: 2 earlier from this author", "rating 1/5",
		"severity critical: legal and health signals", "model nb/3: P(negative) 0.97"}
	got := Why(m)
	want := []string{
		"Rated 1 out of 5.",
		"The tone is very negative (-0.80 on a scale from -1 to 1).",
		"Words that count against: lason, abogado.",
		"What comes after “pero” weighs more than what comes before.",
		"Praise read as sarcasm: “great, just great”.",
		"A rule for this brand always flags “food poisoning”.",
		"The author complained 2 time(s) before.",
		"It is about: quality.",
		"The author mentions legal action: escalate, and do not admit liability in public (“abogado”).",
		"The author mentions illness or a health problem: escalate, and do not admit liability in public.",
		"Written in Tagalog.",
		"Severity critical: legal and health signals.",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Why:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, line := range got {
		if strings.Contains(line, "(given)") || strings.Contains(line, "P(negative)") {
			t.Errorf("internal reason line leaked: %q", line)
		}
	}
}
