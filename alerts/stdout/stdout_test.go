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
