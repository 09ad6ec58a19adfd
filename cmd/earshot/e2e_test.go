package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/alerts/sendgrid/sendgridtest"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chtest"
)

// TestEndToEnd: the demo review site -> collect -> score -> ClickHouse ->
// alert through a SendGrid endpoint that validates against the OpenAPI
// schema -> the ack link in the mail -> the case is acknowledged; a second
// pass sends nothing.
func TestEndToEnd(t *testing.T) {
	db := chtest.New(t)
	sg := sendgridtest.New(t, "../../alerts/sendgrid/testdata/tsg_mail_v3.json", "SG.e2e")
	// The link server must exist before collect, for the links' base URL.
	var handler http.Handler = http.NotFoundHandler()
	links := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer links.Close()
	t.Setenv("SENDGRID_API_KEY", "SG.e2e")
	t.Setenv("EARSHOT_LINK_KEY", "e2e-link-key-7Gq2Vx9LmR4tZp8WcK3nHs6Y")

	dir := t.TempDir()
	base, err := os.ReadFile(testConfig(t, db))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(base), "receivers:\n", `receivers:
  - name: desk
    kind: sendgrid
    api_key: ${SENDGRID_API_KEY}
    from: earshot@example.com
    to: [frontdesk@example.com]
    base_url: `+sg.URL+"\n", 1)
	cfg = strings.Replace(cfg, "\n  receiver: ${EARSHOT_ALERTS_TO:-outbox}\n", "\n  receiver: desk\n", 1)
	cfg = strings.Replace(cfg, "  base_url: ${EARSHOT_BASE_URL:-http://127.0.0.1:8377}", "  base_url: "+links.URL+"\n  link_key: ${EARSHOT_LINK_KEY}", 1)
	path := filepath.Join(dir, "e2e.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := earshot(t, "--config", path, "collect"); code != 0 {
		t.Fatalf("collect: %d\n%s\n%s", code, out, errOut)
	}
	mails := sg.Accepted()
	// Seven cases in five mails: grouped by location, the critical one alone.
	if len(mails) != 5 || len(sg.Invalid) != 0 {
		t.Fatalf("%d mails accepted, %d schema violations; want 5 and 0", len(mails), len(sg.Invalid))
	}
	html := mails[0]["content"].([]any)[1].(map[string]any)["value"].(string)
	m := regexp.MustCompile(`href="(http://[^"]+/case/ack\?t=[^"]+)"`).FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no ack link in the mail:\n%s", html)
	}
	ackURL := strings.ReplaceAll(m[1], "&amp;", "&")

	st, err := storage.Open(context.Background(), db.DSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	handler = alerts.Handler(st, &alerts.Signer{Key: []byte("e2e-link-key-7Gq2Vx9LmR4tZp8WcK3nHs6Y")})
	resp, err := http.Get(ackURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := regexp.MustCompile(`name="t" value="([^"]+)"`).FindStringSubmatch(string(page))
	if resp.StatusCode != 200 || token == nil {
		t.Fatalf("ack page: %d\n%s", resp.StatusCode, page)
	}
	resp, err = http.PostForm(links.URL+"/case/ack", url.Values{"t": {token[1]}, "by": {"Ana"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "acknowledged") {
		t.Fatalf("ack: %s", page)
	}
	if n := db.Count(t, "SELECT count() FROM case_events FINAL WHERE event = 'acknowledged' AND actor = 'Ana'"); n != 1 {
		t.Errorf("acknowledged events = %d, want 1", n)
	}
	// The same mail's resolve link closes the case with an outcome; the
	// link works once.
	m = regexp.MustCompile(`href="(http://[^"]+/case/resolve\?t=[^"]+)"`).FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no resolve link in the mail")
	}
	resp, err = http.Get(strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	token = regexp.MustCompile(`name="t" value="([^"]+)"`).FindStringSubmatch(string(page))
	if token == nil {
		t.Fatalf("resolve page: %s", page)
	}
	form := url.Values{"t": {token[1]}, "by": {"Ana"}, "outcome": {"contacted_privately"}, "note": {"called the guest, refunded a night"}}
	for i, want := range []string{"resolved", "already"} {
		resp, err = http.PostForm(links.URL+"/case/resolve", form)
		if err != nil {
			t.Fatal(err)
		}
		page, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(strings.ToLower(string(page)), want) {
			t.Errorf("resolve #%d: %d %s; want %q", i+1, resp.StatusCode, regexp.MustCompile(`(?s)<body.*`).FindString(string(page)), want)
		}
	}
	if n := db.Count(t, "SELECT count() FROM case_events FINAL WHERE event = 'resolved' AND outcome = 'contacted_privately'"); n != 1 {
		t.Errorf("resolved events = %d, want 1", n)
	}
	// A second pass sends nothing new.
	if code, _, errOut := earshot(t, "--config", path, "collect"); code != 0 {
		t.Fatalf("second collect: %s", errOut)
	}
	if n := len(sg.Accepted()); n != 5 {
		t.Errorf("after a second pass: %d mails, want still 5", n)
	}
}
