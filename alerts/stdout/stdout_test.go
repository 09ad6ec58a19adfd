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
