package slack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/earshot/earshot/alerts/alertstest"
	"github.com/earshot/earshot/config"
)

func TestBlocksAreEscaped(t *testing.T) {
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	r := New("managers", config.SlackOptions{WebhookURL: config.Secret(srv.URL + "/hook"), Channel: "#recovery"})
	if d, err := r.Send(context.Background(), alertstest.Hostile()); err != nil || d.HTTPStatus != 200 {
		t.Fatal(d, err)
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	var texts []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				texts = append(texts, s)
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(p["blocks"])
	all := strings.Join(texts, "\n")
	for _, bad := range []string{"<!channel>", "<https://evil.test|", "<script>", "javascript:"} {
		if strings.Contains(all, bad) {
			t.Errorf("mrkdwn contains %q:\n%s", bad, all)
		}
	}
	if !strings.Contains(all, "&lt;!channel&gt;") || !strings.Contains(all, "<https://e.test/ack?t=x|Acknowledge>") || p["channel"] != "#recovery" {
		t.Errorf("escaped text or links missing:\n%s", all)
	}
}

func TestSecretURLNotInErrors(t *testing.T) {
	r := New("managers", config.SlackOptions{WebhookURL: "http://127.0.0.1:1/services/T000/B000/SECRETPART"})
	_, err := r.Send(context.Background(), alertstest.Hostile())
	if err == nil || strings.Contains(err.Error(), "SECRETPART") {
		t.Errorf("error %v", err)
	}
}
