package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/alerts/alertstest"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

func TestBlocksAreEscaped(t *testing.T) {
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	r := New("managers", Options{WebhookURL: config.Secret(srv.URL + "/hook"), Channel: "#recovery"})
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
	r := New("managers", Options{WebhookURL: "http://127.0.0.1:1/services/T000/B000/SECRETPART"})
	_, err := r.Send(context.Background(), alertstest.Hostile())
	if err == nil || strings.Contains(err.Error(), "SECRETPART") {
		t.Errorf("error %v", err)
	}
}

func TestLongListsFitSlackLimits(t *testing.T) {
	r := New("s", Options{WebhookURL: "http://127.0.0.1:1/hook"})
	var cases []alerts.Case
	for i := range 60 {
		cases = append(cases, alerts.Case{ID: fmt.Sprintf("case:%d", i), Mention: mention.Mention{Brand: "B", Text: strings.Repeat("slow ", 2000),
			Score: mention.Score{Severity: "high"}}})
	}
	for _, compact := range []bool{false, true} {
		p := r.Payload(alerts.Message{Title: strings.Repeat("Storm ", 60), Summary: []string{"9 negative"}, Compact: compact, Cases: cases})
		blocks := p["blocks"].([]any)
		if len(blocks) > 50 {
			t.Errorf("compact %v: %d blocks, Slack takes 50", compact, len(blocks))
		}
		last, _ := json.Marshal(blocks[len(blocks)-1])
		if !strings.Contains(string(last), "more cases") {
			t.Errorf("compact %v: the cut list does not say how many more: %s", compact, last)
		}
		head := blocks[0].(map[string]any)["text"].(map[string]any)["text"].(string)
		if n := len([]rune(head)); n > 150 {
			t.Errorf("header of %d characters, Slack takes 150", n)
		}
		for _, b := range blocks {
			if txt, ok := b.(map[string]any)["text"].(map[string]any); ok && len([]rune(txt["text"].(string))) > 3000 {
				t.Errorf("a block's text is over 3000 characters")
			}
		}
	}
}

func TestMetadataCarriesMessageID(t *testing.T) {
	r := New("managers", Options{WebhookURL: "http://127.0.0.1:1/hook"})
	m := alertstest.Hostile()
	m.ID = "msg-0123abcd"
	b, _ := json.Marshal(r.Payload(m))
	var p struct {
		Metadata struct {
			EventType    string         `json:"event_type"`
			EventPayload map[string]any `json:"event_payload"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Metadata.EventType != "earshot_alert" || p.Metadata.EventPayload["message_id"] != "msg-0123abcd" {
		t.Errorf("metadata %+v", p.Metadata)
	}
	m.ID = ""
	if _, ok := r.Payload(m)["metadata"]; ok {
		t.Errorf("metadata without a message id")
	}
}

func TestOutcomeUnknownHidesSecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		<-r.Context().Done() // took it, never answers
	}))
	defer srv.Close()
	r := New("managers", Options{WebhookURL: config.Secret(srv.URL + "/services/T000/B000/SECRETPART")})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	d, err := r.Send(ctx, alertstest.Hostile())
	if err == nil || !d.Unknown || !d.Retry || !errors.Is(err, alerts.ErrOutcomeUnknown) {
		t.Errorf("no answer: %+v %v; want Unknown and Retry", d, err)
	}
	if err != nil && strings.Contains(err.Error(), "SECRETPART") {
		t.Errorf("error leaks the webhook URL: %v", err)
	}
	// Port 1 on loopback refuses: nothing was sent.
	r = New("managers", Options{WebhookURL: "http://127.0.0.1:1/services/T000/B000/SECRETPART"})
	if d, err := r.Send(context.Background(), alertstest.Hostile()); err == nil || d.Unknown || !d.Retry {
		t.Errorf("refused: %+v %v; want Retry, not Unknown", d, err)
	}
}

func TestRetryAfterForms(t *testing.T) {
	retryAfter := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", retryAfter)
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte("rate_limited"))
	}))
	defer srv.Close()
	r := New("managers", Options{WebhookURL: config.Secret(srv.URL + "/hook")})
	r.now = func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }
	for v, want := range map[string]time.Duration{"30": 30 * time.Second, "Mon, 23 Nov 2026 12:00:45 GMT": 45 * time.Second} {
		retryAfter = v
		if d, err := r.Send(context.Background(), alertstest.Hostile()); err == nil || !d.Retry || d.RetryAfter != want || d.HTTPStatus != 429 {
			t.Errorf("Retry-After %q: %+v %v; want retry after %v", v, d, err, want)
		}
	}
}
