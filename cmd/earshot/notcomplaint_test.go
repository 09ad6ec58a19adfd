package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chtest"
)

// TestNotAComplaintLabels: a case resolved with outcome not_a_complaint,
// from the shell or through the mail's link, labels its mention neutral
// in ClickHouse exactly once (a second resolve or click adds no row and
// no event), and the label is training data for the learning scorer.
func TestNotAComplaintLabels(t *testing.T) {
	db := chtest.New(t)
	ctx := context.Background()
	cfgPath := testConfig(t, db)
	if code, out, errOut := earshot(t, "--config", cfgPath, "migrate"); code != 0 {
		t.Fatalf("migrate: %s %s", out, errOut)
	}
	st, err := storage.Open(ctx, db.DSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Second)
	var ms []mention.Mention
	var evs []storage.CaseEvent
	for _, id := range []string{"cli1", "link1"} {
		m := mention.Mention{ID: id, Source: "s", Brand: "Sunrise Hotels", Location: "Zagreb", Text: "The pool bar was closed, so no cocktails.",
			Lang: "en", PublishedAt: now, CollectedAt: now}
		m.Negative, m.Severity, m.ScorerVersion = true, "low", "lex-test"
		ms = append(ms, m)
		evs = append(evs, storage.CaseEvent{EventID: "case:" + id + ":opened", CaseID: "case:" + id, MentionID: id, At: now.Add(-time.Hour),
			Event: "opened", State: "open", Brand: m.Brand, Location: m.Location, Severity: m.Severity})
	}
	if err := st.InsertMentions(ctx, ms); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendCaseEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}

	// From the shell (the inbox and the API take the same path: web.Service.Act -> alerts.Act).
	for i := range 2 {
		code, out, errOut := earshot(t, "--config", cfgPath, "cases", "resolve", "case:cli1", "--outcome", "not_a_complaint", "--by", "ana")
		if code != 0 || i == 0 && !strings.Contains(out, "resolved by ana") || i == 1 && !strings.Contains(errOut, "nothing to do") {
			t.Fatalf("resolve %d: %d %s %s", i, code, out, errOut)
		}
	}

	// Through the link in the alert mail, clicked twice.
	s := &alerts.Signer{Key: []byte("0123456789abcdef0123456789abcdef"), BaseURL: "https://e.test"}
	srv := httptest.NewServer(alerts.Handler(st, s))
	defer srv.Close()
	u, _ := url.Parse(s.NotAComplaintLink("case:link1"))
	for range 2 {
		resp, err := http.PostForm(srv.URL+"/case/not-a-complaint", url.Values{"t": {u.Query().Get("t")}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("click: %d", resp.StatusCode)
		}
	}

	for _, tc := range []struct{ id, who string }{{"cli1", "ana"}, {"link1", alerts.LinkActor}} {
		// Not FINAL: no second row was ever written.
		if n := db.Count(t, "SELECT count() FROM labels WHERE mention_id = ? AND label = 'neutral' AND who = ? AND case_id = ? AND scorer_version = 'lex-test' AND scored_negative = 1",
			tc.id, tc.who, "case:"+tc.id); n != 1 {
			t.Errorf("%s: %d neutral labels by %s, want 1", tc.id, n, tc.who)
		}
		if n := db.Count(t, "SELECT count() FROM labels WHERE mention_id = ?", tc.id); n != 1 {
			t.Errorf("%s: %d label rows, want 1", tc.id, n)
		}
		if n := db.Count(t, "SELECT count() FROM case_events WHERE case_id = ? AND event = 'resolved' AND outcome = 'not_a_complaint'", "case:"+tc.id); n != 1 {
			t.Errorf("%s: %d resolve events, want 1", tc.id, n)
		}
	}
	got, err := storeLabels{st}.Labelled(ctx, "Sunrise Hotels")
	if err != nil || len(got) != 2 || got[0].Label != "neutral" || got[1].Label != "neutral" || got[0].Text != ms[0].Text {
		t.Errorf("training labels: %v %+v", err, got)
	}
}
