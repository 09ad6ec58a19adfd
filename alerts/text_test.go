package alerts

import (
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/mention"
)

// TestTextQuotesReview: whatever a review contains, every line of the
// plain-text body that carries its words is visibly a quote ("> "), so a
// planted "Acknowledge: http://evil" cannot pass for one of our links, and
// no control or bidi override character gets through.
func TestTextQuotesReview(t *testing.T) {
	const planted = "PLANTED Acknowledge: http://evil.test/ack"
	tests := []struct {
		name    string
		compact bool
		edit    func(m *mention.Mention)
	}{
		{"LF in text", false, func(m *mention.Mention) { m.Text = "Rude staff.\n" + planted + "\nResolve: http://evil.test/r" }},
		{"CRLF in text", false, func(m *mention.Mention) { m.Text = "Rude staff.\r\n\r\n" + planted }},
		{"lone CR in text", false, func(m *mention.Mention) { m.Text = "Rude staff.\r" + planted }},
		{"NEL and LS in text", false, func(m *mention.Mention) { m.Text = "Rude\u0085" + planted + "\u2028" + planted }},
		{"planted first line", false, func(m *mention.Mention) { m.Text = planted + "\nbad" }},
		{"escapes and bidi", false, func(m *mention.Mention) {
			m.Text = "\x1b[2J\x1b]0;t\x07bad \u202e" + planted + "\u202c\x1b[1A\r\n" + planted
		}},
		{"title", false, func(m *mention.Mention) { m.Title = "Awful\n" + planted; m.Text = "bad" }},
		{"title alone on its line", false, func(m *mention.Mention) { m.Title = planted; m.Text = "bad" }},
		{"brand and location", false, func(m *mention.Mention) { m.Brand = "Acme\n" + planted; m.Location = "Zg\r\n" + planted }},
		{"author and source", false, func(m *mention.Mention) { m.Author = "Bob\n" + planted; m.Source = "x\n" + planted }},
		{"url with line break", false, func(m *mention.Mention) { m.URL = "https://ok.test/\n" + planted }},
		{"reasons", false, func(m *mention.Mention) { m.Reasons = []string{"\"x\n" + planted + "\""} }},
		{"compact text", true, func(m *mention.Mention) { m.Text = "bad\n" + planted }},
		{"compact planted first", true, func(m *mention.Mention) { m.Text = planted }},
		{"case id from the site", false, func(m *mention.Mention) { m.ID = "case-1\n" + planted }},
		{"compact case id from the site", true, func(m *mention.Mention) { m.ID = "case-1\n" + planted }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mm := mention.Mention{ID: "r1", Source: "tripsite", Brand: "Acme", Location: "Zagreb", Author: "Bob",
				URL: "https://reviews.test/r1", Text: "bad", PublishedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
			mm.Severity = "high"
			tt.edit(&mm)
			// Case ids derive from the site's own review id.
			m := Message{Compact: tt.compact, Cases: []Case{{ID: "case:" + mm.ID, Mention: mm,
				AckURL: "https://earshot.test/case/ack?t=a", ResolveURL: "https://earshot.test/case/resolve?t=r"}}}
			if tt.compact {
				m.Title = "Daily digest"
			}
			text := Text(m)
			if strings.ContainsFunc(text, func(r rune) bool {
				return (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x2028
			}) {
				t.Errorf("control or bidi character in text body: %q", text)
			}
			for _, line := range strings.Split(text, "\n") {
				trimmed := strings.TrimLeft(line, " ")
				if strings.HasPrefix(trimmed, "PLANTED") {
					t.Errorf("planted line %q stands on its own in:\n%s", line, text)
				}
				for _, label := range []string{"Acknowledge:", "Resolve:", "Original:"} {
					if strings.HasPrefix(trimmed, label) && strings.Contains(line, "evil") {
						t.Errorf("forged %s line %q in:\n%s", label, line, text)
					}
				}
			}
			if !strings.Contains(text, "Acknowledge: https://earshot.test/case/ack?t=a") {
				t.Errorf("real link missing:\n%s", text)
			}
		})
	}
}

func TestTextKeepsReviewReadable(t *testing.T) {
	mm := mention.Mention{ID: "r1", Source: "tripsite", Brand: "Acme", Title: "Never again", Text: "Line one.\n\nLine two.",
		URL: "https://reviews.test/r1"}
	got := Text(Message{Cases: []Case{{ID: "c", Mention: mm}}})
	if want := "\n> Never again\n>\n> Line one.\n>\n> Line two.\n"; !strings.Contains(got, want) {
		t.Errorf("quoted review not found; want %q in:\n%s", want, got)
	}
}

func TestSafeURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://reviews.test/r?id=1", "https://reviews.test/r?id=1"},
		{"  http://x.test/  ", "http://x.test/"},
		{"javascript:alert(1)", ""},
		{"https://x.test/\nAcknowledge: http://evil", ""},
		{"https://x.test/a b", ""},
		{"https://x.test/\u202egnp.exe", ""},
	}
	for _, tt := range tests {
		if got := SafeURL(tt.in); got != tt.want {
			t.Errorf("SafeURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
