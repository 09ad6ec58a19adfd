package scoring

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/earshot/earshot/mention"
)

// FuzzScore: any text scores without panicking, within range, and returns
// a valid severity. Seeds in testdata/fuzz/FuzzScore.
func FuzzScore(f *testing.F) {
	for _, s := range []string{"", "not bad", "Ужасно!!!", "लेकिन अच्छा नहीं", "\xff\xfe", "😡", ":(", "n't", "a-", "'", "ne ... pas", "ՉԷ"} {
		f.Add(s, "")
	}
	f.Add("Lokacija dobra, ali soba prljava.", "hr")
	f.Add("x", "zz")
	s := testScorer(f)
	f.Fuzz(func(t *testing.T, text, lang string) {
		m := mention.Mention{Text: text, Lang: lang, Brand: "Killer Burger"}
		s.ScoreMention(&m)
		checkScore(t, &m)
	})
}

func checkScore(t *testing.T, m *mention.Mention) {
	t.Helper()
	if math.IsNaN(m.Sentiment) || m.Sentiment < -1 || m.Sentiment > 1 {
		t.Fatalf("sentiment %v", m.Sentiment)
	}
	if mention.SeverityRank(m.Severity) < 0 {
		t.Fatalf("severity %q", m.Severity)
	}
	for _, r := range m.Reasons {
		if !utf8.ValidString(r) {
			t.Fatalf("invalid UTF-8 in reason %q", r)
		}
	}
}

// TestHostileInputs covers what the fuzzer might take long to reach: a
// megabyte of text (work is capped at maxScoreBytes), invalid UTF-8, only
// emoji, mixed scripts, endless punctuation.
func TestHostileInputs(t *testing.T) {
	s := testScorer(t)
	tests := map[string]string{
		"1 MB":          strings.Repeat("The room was dirty and the staff rude. ", 1<<20/39),
		"1 MB one word": strings.Repeat("a", 1<<20),
		"invalid UTF-8": "bad \xff\xfe\xfd service \xc3",
		"only emoji":    strings.Repeat("😡", 1000),
		"mixed scripts": "Hotel Ararat: Սենյակը կեղտոտ էր, staff rude, номер грязный, कमरा गंदा",
		"punctuation":   strings.Repeat("!?.,;:()", 10000),
		"cut rune":      strings.Repeat("ж", maxScoreBytes), // the cap lands inside a rune
		"html":          `<script>alert("x")</script><img src=x onerror=alert(1)> awful`,
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			m := mention.Mention{Text: text}
			s.ScoreMention(&m)
			checkScore(t, &m)
		})
	}
	m := mention.Mention{Text: tests["1 MB"]}
	s.ScoreMention(&m)
	if !m.Negative {
		t.Errorf("1 MB of complaints not negative: %q", m.Reasons)
	}
}
