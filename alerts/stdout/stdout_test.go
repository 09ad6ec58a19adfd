package stdout

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/earshot/earshot/alerts/alertstest"
)

func TestFormats(t *testing.T) {
	var text, js bytes.Buffer
	if _, err := New("out", "text", &text).Send(context.Background(), alertstest.Hostile()); err != nil {
		t.Fatal(err)
	}
	// The author's CR/LF is flattened: no line can start with an injected header.
	if !strings.HasPrefix(text.String(), "=== [Earshot] CRITICAL") || strings.Contains(text.String(), "\nBcc:") {
		t.Errorf("text:\n%s", text.String())
	}
	if _, err := New("out", "json", &js).Send(context.Background(), alertstest.Hostile()); err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(js.Bytes(), &v); err != nil || v["receiver"] != "out" {
		t.Errorf("json: %v %s", err, js.String())
	}
}

func TestTerminalEscapesDropped(t *testing.T) {
	m := alertstest.HostileDigest()
	m.Cases[0].Mention.Text = "rude staff \x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m\r\ngone"
	var out bytes.Buffer
	if _, err := New("out", "text", &out).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.ContainsAny(s, "\x1b\x07\r") || !strings.Contains(s, "rude staff") {
		t.Errorf("control characters reach the terminal: %q", s)
	}
}

// TestTextQuotesReview: a review cannot plant a line that reads like one of
// the alert's own (an Acknowledge link above all), nor reach the terminal
// with escape sequences, C1 controls or bidi overrides; the JSON form keeps
// the text but escapes what a terminal would act on.
func TestTextQuotesReview(t *testing.T) {
	tests := []struct {
		name, text string
		compact    bool
	}{
		{"planted link line", "Awful.\nAcknowledge: http://evil.test/a\nResolve: http://evil.test/r", false},
		{"CR planted", "Awful.\rAcknowledge: http://evil.test/a", false},
		{"escape then planted", "Awful.\x1b[2K\x1b[1A\r\nAcknowledge: http://evil.test/a", false},
		{"C1 and bidi", "Awful \u009b2J\u009d0;t\u009c \u202eAcknowledge: http://evil.test/a\u202c", false},
		{"compact", "Acknowledge: http://evil.test/a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := alertstest.Hostile()
			m.Compact = tt.compact
			m.Cases[0].Mention.Text = tt.text
			var out bytes.Buffer
			if _, err := New("out", "text", &out).Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			s := out.String()
			if strings.ContainsFunc(s, func(r rune) bool {
				return (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
			}) {
				t.Errorf("control characters reach the terminal: %q", s)
			}
			for _, line := range strings.Split(s, "\n") {
				l := strings.TrimLeft(line, " ")
				if strings.Contains(l, "evil.test") && !strings.HasPrefix(l, "> ") {
					t.Errorf("review line %q is not quoted:\n%s", line, s)
				}
			}

			var js bytes.Buffer
			if _, err := New("out", "json", &js).Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			if strings.ContainsFunc(js.String(), func(r rune) bool { return (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) }) {
				t.Errorf("raw C1 or bidi control in JSON: %q", js.String())
			}
			var v struct {
				Cases []struct{ Mention struct{ Text string } }
			}
			if err := json.Unmarshal(js.Bytes(), &v); err != nil || len(v.Cases) != 1 || v.Cases[0].Mention.Text != tt.text {
				t.Errorf("JSON does not round-trip the text: %v %q", err, js.String())
			}
		})
	}
}
