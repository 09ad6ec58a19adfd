package sendgrid

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/alerts/alertstest"
	"github.com/earshot/earshot/alerts/sendgrid/sendgridtest"
)

func hostile() alerts.Message { return alertstest.Hostile() }

func TestSendValidatesAgainstOpenAPI(t *testing.T) {
	srv := sendgridtest.New(t, "testdata/tsg_mail_v3.json", "SG.test")
	r := New("desk", Options{APIKey: "SG.test", From: "earshot@example.com", To: []string{"desk@example.com", "lead@example.com"}, BaseURL: srv.URL})
	d, err := r.Send(context.Background(), hostile())
	if err != nil || d.HTTPStatus != 202 {
		t.Fatalf("send: %v %+v (schema violations: %v)", err, d, srv.Invalid)
	}
	got := srv.Accepted()
	if len(got) != 1 {
		t.Fatalf("%d accepted", len(got))
	}
	body := got[0]
	subject, _ := body["subject"].(string)
	if strings.ContainsAny(subject, "\r\n") || !strings.Contains(subject, "CRITICAL") {
		t.Errorf("subject %q", subject)
	}
	p := body["personalizations"].([]any)[0].(map[string]any)
	if args := p["custom_args"].(map[string]any); args["case_ids"] != "case-1" {
		t.Errorf("custom_args %v", args)
	}
	contents := body["content"].([]any)
	html := contents[1].(map[string]any)["value"].(string)
	for _, bad := range []string{"<script>", "<img", "javascript:"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML body contains %q", bad)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;") || !strings.Contains(html, "https://e.test/ack?t=x") {
		t.Errorf("HTML body lost the escaped text or the links")
	}
}

func TestTemplateAndErrors(t *testing.T) {
	srv := sendgridtest.New(t, "testdata/tsg_mail_v3.json", "SG.test")
	r := New("desk", Options{APIKey: "SG.test", From: "earshot@example.com", To: []string{"desk@example.com"}, BaseURL: srv.URL, TemplateID: "d-0123456789abcdef"})
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	srv.Script(
		sendgridtest.Reply{Status: http.StatusTooManyRequests, Headers: map[string]string{"X-RateLimit-Reset": "1795435260"}},
		sendgridtest.Reply{Status: http.StatusInternalServerError, Headers: map[string]string{"Retry-After": "7"}},
	)
	tests := []struct {
		retry bool
		after time.Duration
		code  int
	}{
		{true, time.Unix(1795435260, 0).Sub(now), 429},
		{true, 7 * time.Second, 500},
		{false, 0, 202},
	}
	for i, tt := range tests {
		d, err := r.Send(context.Background(), hostile())
		if d.Retry != tt.retry || d.RetryAfter != tt.after || d.HTTPStatus != tt.code || (err == nil) != (tt.code == 202) {
			t.Errorf("attempt %d: %+v %v; want retry=%v after=%v code=%d", i, d, err, tt.retry, tt.after, tt.code)
		}
	}
	if body := srv.Accepted(); len(body) != 1 || body[0]["template_id"] != "d-0123456789abcdef" || body[0]["content"] != nil {
		t.Errorf("template body %v", body)
	}
	// A wrong key is final, not retried.
	bad := New("desk", Options{APIKey: "SG.wrong", From: "earshot@example.com", To: []string{"desk@example.com"}, BaseURL: srv.URL})
	if d, err := bad.Send(context.Background(), hostile()); err == nil || d.Retry || d.HTTPStatus != 401 {
		t.Errorf("wrong key: %+v %v", d, err)
	}
}

// TestSchemaRejectsBadBody proves the test endpoint's validation bites.
func TestSchemaRejectsBadBody(t *testing.T) {
	srv := sendgridtest.New(t, "testdata/tsg_mail_v3.json", "SG.test")
	req, _ := http.NewRequest("POST", srv.URL+"/v3/mail/send", strings.NewReader(`{"subject":"no from, no personalizations"}`))
	req.Header.Set("Authorization", "Bearer SG.test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || len(srv.Invalid) != 1 {
		t.Errorf("invalid body: HTTP %d, %d violations", resp.StatusCode, len(srv.Invalid))
	}
}

func TestDigestWithInlineChart(t *testing.T) {
	srv := sendgridtest.New(t, "testdata/tsg_mail_v3.json", "SG.test")
	r := New("desk", Options{APIKey: "SG.test", From: "earshot@example.com", To: []string{"desk@example.com"}, BaseURL: srv.URL})
	msg := alertstest.HostileDigest()
	if d, err := r.Send(context.Background(), msg); err != nil || d.HTTPStatus != 202 {
		t.Fatalf("send: %v %+v (schema violations: %v)", err, d, srv.Invalid)
	}
	body := srv.Accepted()[0]
	if s := body["subject"].(string); strings.ContainsAny(s, "\r\n") || !strings.HasPrefix(s, "[Earshot] Daily digest") {
		t.Errorf("subject %q", s)
	}
	atts, _ := body["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("attachments %v", body["attachments"])
	}
	a := atts[0].(map[string]any)
	data, err := base64.StdEncoding.DecodeString(a["content"].(string))
	if err != nil || !bytes.Equal(data, alertstest.PNG) || a["disposition"] != "inline" || a["content_id"] != "trend.png" || a["type"] != "image/png" {
		t.Errorf("attachment %v (%v)", a, err)
	}
	html := body["content"].([]any)[1].(map[string]any)["value"].(string)
	for _, want := range []string{`src="cid:trend.png"`, "&lt;b&gt;Sunrise&lt;/b&gt;", "&lt;script&gt;x&lt;/script&gt;", "OVERDUE: not acknowledged within 2h &lt;i&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>", "<b>", "<i>", "javascript:"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
}

func TestMessageIDInCustomArgs(t *testing.T) {
	srv := sendgridtest.New(t, "testdata/tsg_mail_v3.json", "SG.test")
	r := New("desk", Options{APIKey: "SG.test", From: "earshot@example.com", To: []string{"desk@example.com"}, BaseURL: srv.URL})
	m := hostile()
	m.ID = "msg-0123abcd"
	if d, err := r.Send(context.Background(), m); err != nil || d.HTTPStatus != 202 {
		t.Fatalf("send: %v %+v (schema violations: %v)", err, d, srv.Invalid)
	}
	args := srv.Accepted()[0]["personalizations"].([]any)[0].(map[string]any)["custom_args"].(map[string]any)
	if args["message_id"] != "msg-0123abcd" || args["case_ids"] != "case-1" {
		t.Errorf("custom_args %v", args)
	}
}

// TestEachAttemptOwnContext: one Send is one request, in the context it
// was given: no retry inside sendgrid-go, none with an expired context,
// and a request that got no answer is reported as of unknown outcome.
func TestEachAttemptOwnContext(t *testing.T) {
	srv := sendgridtest.New(t, "testdata/tsg_mail_v3.json", "SG.test")
	r := New("desk", Options{APIKey: "SG.test", From: "earshot@example.com", To: []string{"desk@example.com"}, BaseURL: srv.URL})
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }

	// 429 comes back to the caller at once (sendgrid-go's retrying helpers
	// would sleep and resend), its Retry-After read in the HTTP-date form.
	srv.Script(sendgridtest.Reply{Status: http.StatusTooManyRequests, Headers: map[string]string{"Retry-After": "Mon, 23 Nov 2026 12:00:20 GMT"}})
	if d, err := r.Send(context.Background(), hostile()); err == nil || !d.Retry || d.Unknown || d.RetryAfter != 20*time.Second || srv.Valid() != 1 {
		t.Errorf("429: %+v %v, %d requests; want one request, retry after 20s", d, err, srv.Valid())
	}

	// The request reached SendGrid, the deadline passed without an answer.
	srv.Script(sendgridtest.Reply{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	d, err := r.Send(ctx, hostile())
	cancel()
	if err == nil || !d.Unknown || !d.Retry || !errors.Is(err, alerts.ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) || srv.Valid() != 2 {
		t.Errorf("no answer: %+v %v, %d requests; want Unknown and Retry after one request", d, err, srv.Valid())
	}

	// An expired context sends nothing: not unknown, and not retried here.
	if d, err := r.Send(ctx, hostile()); err == nil || d.Unknown || !d.Retry || srv.Valid() != 2 {
		t.Errorf("expired context: %+v %v, %d requests; want nothing sent", d, err, srv.Valid())
	}

	// The next attempt, with a fresh context, goes through.
	if d, err := r.Send(context.Background(), hostile()); err != nil || d.HTTPStatus != 202 || srv.Valid() != 3 {
		t.Errorf("fresh context: %+v %v", d, err)
	}

	// Nothing listening: nothing was sent.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	down := New("desk", Options{APIKey: "SG.test", From: "earshot@example.com", To: []string{"desk@example.com"}, BaseURL: "http://" + closed})
	if d, err := down.Send(context.Background(), hostile()); err == nil || d.Unknown || !d.Retry {
		t.Errorf("closed port: %+v %v; want Retry, not Unknown", d, err)
	}
}
