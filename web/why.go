package web

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/earshot/earshot/mention"
)

var signalWords = map[string]string{
	"legal":           "mentions legal action: escalate, and do not admit liability in public",
	"health":          "mentions illness or a health problem: escalate, and do not admit liability in public",
	"safety":          "mentions a safety problem: escalate, and do not admit liability in public",
	"churn":           "says they will not come back",
	"abuse":           "uses abusive language: stay calm, do not repeat it",
	"viral":           "is spreading: many people liked or shared it",
	"repeat_customer": "is a returning customer",
}

var langNames = map[string]string{"ar": "Arabic", "bs": "Bosnian", "de": "German", "en": "English", "es": "Spanish", "fr": "French",
	"hi": "Hindi", "hr": "Croatian", "hy": "Armenian", "id": "Indonesian", "it": "Italian", "nl": "Dutch", "pl": "Polish",
	"pt": "Portuguese", "ru": "Russian", "sr": "Serbian", "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian"}

// LangName names a language code in English ("" unknown).
func LangName(code string) string {
	if n, ok := langNames[code]; ok {
		return n
	}
	return code
}

// Why says in plain words why a mention was flagged, from its score (not
// the scorer's internal reason lines).
func Why(m mention.Mention) []string {
	var out []string
	if m.RatingMax > 0 && m.Rating > 0 {
		out = append(out, fmt.Sprintf("Rated %g out of %g.", m.Rating, m.RatingMax))
	}
	tone := "negative"
	switch {
	case m.Sentiment <= -0.6:
		tone = "very negative"
	case m.Sentiment > -0.2:
		tone = "mildly negative"
	}
	out = append(out, fmt.Sprintf("The tone is %s (%.2f on a scale from -1 to 1).", tone, m.Sentiment))
	said := map[string]string{} // signal: the words that raised it
	sevWhy := ""
	for _, r := range m.Reasons {
		head, rest, _ := strings.Cut(r, ": ")
		switch {
		case head == "negative":
			out = append(out, "Words that count against: "+rest+".")
		case head == "repeat complaint":
			var n int
			if _, err := fmt.Sscanf(rest, "%d", &n); err == nil {
				out = append(out, fmt.Sprintf("The author complained %d time(s) before.", n))
			}
		case strings.HasPrefix(head, "contrast "):
			out = append(out, "What comes after "+quoted(strings.TrimPrefix(head, "contrast "))+" weighs more than what comes before.")
		case strings.HasPrefix(head, "sarcasm "):
			out = append(out, "Praise read as sarcasm: "+quoted(strings.TrimPrefix(head, "sarcasm "))+".")
		case head == "brand rule" && strings.HasPrefix(rest, "always flag "):
			out = append(out, "A rule for this brand always flags "+quoted(strings.TrimPrefix(rest, "always flag "))+".")
		case strings.HasPrefix(head, "signal "):
			said[strings.TrimPrefix(head, "signal ")] = quoted(rest)
		case strings.HasPrefix(head, "severity "):
			sevWhy = rest
		}
	}
	if len(m.Aspects) > 0 {
		out = append(out, "It is about: "+strings.Join(m.Aspects, ", ")+".")
	}
	for _, sg := range m.Signals {
		line := "Signal: " + sg
		if w, ok := signalWords[sg]; ok {
			line = "The author " + w
		}
		if q := said[sg]; q != "" {
			line += " (" + q + ")"
		}
		out = append(out, line+".")
	}
	if m.Lang != "" {
		out = append(out, "Written in "+LangName(m.Lang)+".")
	}
	if m.Severity != "" {
		line := "Severity " + m.Severity
		if sevWhy != "" {
			line += ": " + sevWhy
		}
		out = append(out, line+".")
	}
	return out
}

// quoted shows a Go-quoted reason part ("\"lawyer\"") in typographic quotes.
func quoted(q string) string {
	if u, err := strconv.Unquote(q); err == nil {
		q = u
	}
	return "“" + q + "”"
}
