package alerts

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/caselog"
)

func TestSigner(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := &Signer{Key: []byte("k1"), BaseURL: "https://e.test/", TTL: time.Hour, Now: func() time.Time { return now }}
	tok := s.Token("case:story:abc", "ack")
	if c, a, err := s.Verify(tok); err != nil || c != "case:story:abc" || a != "ack" {
		t.Fatalf("verify: %q %q %v", c, a, err)
	}
	other := &Signer{Key: []byte("k2"), Now: s.Now}
	tampered := strings.Replace(tok, tok[:4], "AAAA", 1)
	for name, bad := range map[string]string{"other key": other.Token("case:story:abc", "ack"), "tampered": tampered, "garbage": "x.y", "empty": ""} {
		if _, _, err := s.Verify(bad); err != ErrBadToken {
			t.Errorf("%s: err %v", name, err)
		}
	}
	now = now.Add(2 * time.Hour)
	if _, _, err := s.Verify(tok); err != ErrExpired {
		t.Errorf("expired: %v", err)
	}
	ack, res := s.Links("case:x")
	if !strings.HasPrefix(ack, "https://e.test/case/ack?t=") || !strings.HasPrefix(res, "https://e.test/case/resolve?t=") {
		t.Errorf("links %s %s", ack, res)
	}
}

// memBook is a one-case book.
type memBook struct {
	mu     sync.Mutex
	state  caselog.State
	events []caselog.Event
}

func (b *memBook) Case(_ context.Context, id string) (caselog.State, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state, id == b.state.CaseID, nil
}

func (b *memBook) AppendCaseEvents(_ context.Context, evs []caselog.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range evs {
		b.events = append(b.events, e)
		b.state.State, b.state.Actor = e.State, e.Actor
	}
	return nil
}

func TestLinkHandler(t *testing.T) {
	book := &memBook{state: caselog.State{CaseID: "case:1", State: "open", Brand: "<b>Acme</b>"}}
	s := &Signer{Key: []byte("k")}
	srv := httptest.NewServer(Handler(book, s))
	defer srv.Close()
	tok := s.Token("case:1", "ack")
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(path string, v url.Values) (int, string) {
		resp, err := http.PostForm(srv.URL+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// A mail scanner's GET changes nothing.
	code, body := get(srv.URL + "/case/ack?t=" + url.QueryEscape(tok))
	if code != 200 || !strings.Contains(body, "<form") || strings.Contains(body, "<b>Acme") || len(book.events) != 0 {
		t.Errorf("GET: %d, events %d\n%s", code, len(book.events), body)
	}
	if code, _ := get(srv.URL + "/case/resolve?t=" + url.QueryEscape(tok)); code != 403 {
		t.Errorf("ack token on the resolve URL: %d", code)
	}
	if code, body := post("/case/ack", url.Values{"t": {tok}, "by": {"Ana <script>"}}); code != 200 || !strings.Contains(body, "acknowledged") {
		t.Errorf("POST: %d\n%s", code, body)
	}
	if code, body := post("/case/ack", url.Values{"t": {tok}, "by": {"Ivo"}}); code != 200 || !strings.Contains(body, "Already done") || strings.Contains(body, "<script>") {
		t.Errorf("second POST: %d\n%s", code, body)
	}
	if len(book.events) != 1 || book.events[0].EventID != "case:1:acknowledged" {
		t.Errorf("events %+v", book.events)
	}
	rt := s.Token("case:1", "resolve")
	if code, _ := post("/case/resolve", url.Values{"t": {rt}, "by": {"Ana"}, "outcome": {"free pizza"}}); code != 400 {
		t.Errorf("bad outcome: %d", code)
	}
	if code, body := post("/case/resolve", url.Values{"t": {rt}, "by": {"Ana"}, "outcome": {"compensated"}}); code != 200 || !strings.Contains(body, "resolved") {
		t.Errorf("resolve: %d\n%s", code, body)
	}
}

// moreBook adds a message's cases to memBook.
type moreBook struct {
	*memBook
	msg string
	cs  []caselog.State
}

func (b *moreBook) MessageCases(_ context.Context, msgID string, _ time.Time, _ int) ([]caselog.State, error) {
	if msgID != b.msg {
		return nil, nil
	}
	return b.cs, nil
}

// The link of a capped message lists all its cases, escaped, each with its
// own links; a case link's token, an unknown message or a POST get nothing.
func TestMoreLinkPage(t *testing.T) {
	s := &Signer{Key: []byte("k1"), BaseURL: "https://e.test"}
	book := &moreBook{memBook: &memBook{}, msg: "msg-1", cs: []caselog.State{
		{CaseID: "case:1", State: "open", Brand: "Acme", Location: "<script>alert(1)</script>", Severity: "high"},
		{CaseID: "case:2", State: "resolved", Brand: "Acme", Severity: "low"},
	}}
	srv := httptest.NewServer(Handler(book, s))
	defer srv.Close()
	get := func(link string) (int, string) {
		t.Helper()
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.Get(srv.URL + u.RequestURI())
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	code, body := get(s.MoreLink("msg-1"))
	if code != 200 || !strings.Contains(body, "2 cases of this alert") || !strings.Contains(body, "case:2") ||
		strings.Contains(body, "<script>") || !strings.Contains(body, "/case/ack?t=") {
		t.Errorf("page %d:\n%s", code, body)
	}
	if strings.Count(body, "/case/ack?t=") != 1 || strings.Count(body, "/case/resolve?t=") != 1 {
		t.Errorf("a resolved case offers no actions:\n%s", body)
	}
	ack, _ := s.Links("msg-1")
	for name, link := range map[string]string{"a case token": "https://e.test/case/more?" + strings.SplitN(ack, "?", 2)[1],
		"another message": s.MoreLink("msg-2")} {
		if code, _ := get(link); code != http.StatusForbidden && code != http.StatusNotFound {
			t.Errorf("%s: status %d", name, code)
		}
	}
	res, err := http.PostForm(srv.URL+"/case/more", url.Values{"t": {strings.SplitN(s.MoreLink("msg-1"), "t=", 2)[1]}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", res.StatusCode)
	}
}

// labelBook is memBook that labels mentions (a CaseLabeller) and keeps
// the outcome.
type labelBook struct {
	memBook
	labels []string // label|who|mention|case
}

func (b *labelBook) AppendCaseEvents(ctx context.Context, evs []caselog.Event) error {
	if err := b.memBook.AppendCaseEvents(ctx, evs); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range evs {
		b.state.Outcome = e.Outcome
	}
	return nil
}

func (b *labelBook) LabelCaseMention(_ context.Context, c caselog.State, label, who, _ string, _ time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.labels = append(b.labels, label+"|"+who+"|"+c.MentionID+"|"+c.CaseID)
	return nil
}

// TestNotAComplaintHandler: the link's GET changes nothing; forged,
// expired and other actions' tokens are refused; the click resolves the
// case as not_a_complaint and labels its mention neutral by "email link",
// exactly once however often it is clicked; the page escapes the case.
func TestNotAComplaintHandler(t *testing.T) {
	now := time.Now()
	book := &labelBook{memBook: memBook{state: caselog.State{CaseID: "case:1", MentionID: "m1", State: "acknowledged", Brand: "<b>Acme</b>"}}}
	s := &Signer{Key: []byte("k"), BaseURL: "https://e.test", Now: func() time.Time { return now }}
	srv := httptest.NewServer(Handler(book, s))
	defer srv.Close()
	do := func(method, tok string) (int, string) {
		var resp *http.Response
		var err error
		if method == http.MethodGet {
			resp, err = http.Get(srv.URL + "/case/not-a-complaint?t=" + url.QueryEscape(tok))
		} else {
			resp, err = http.PostForm(srv.URL+"/case/not-a-complaint", url.Values{"t": {tok}})
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	u, _ := url.Parse(s.NotAComplaintLink("case:1"))
	tok := u.Query().Get("t")
	tampered := []byte(tok)
	tampered[len(tampered)-3] ^= 1 // a signature that is not ours
	old := &Signer{Key: []byte("k"), TTL: time.Hour, Now: func() time.Time { return now.Add(-2 * time.Hour) }}
	for name, bad := range map[string]string{
		"ack token":   s.Token("case:1", "ack"),
		"other key":   (&Signer{Key: []byte("x")}).Token("case:1", ActionNotAComplaint),
		"expired":     old.Token("case:1", ActionNotAComplaint),
		"tampered":    string(tampered),
		"no token":    "",
		"other case?": s.Token("case:2", ActionNotAComplaint), // valid, but no such case
	} {
		want := http.StatusForbidden
		if name == "other case?" {
			want = http.StatusNotFound
		}
		if code, _ := do(http.MethodPost, bad); code != want {
			t.Errorf("%s: %d, want %d", name, code, want)
		}
	}
	code, body := do(http.MethodGet, tok)
	if code != 200 || !strings.Contains(body, `<form method="post" action="/case/not-a-complaint">`) || strings.Contains(body, "<b>Acme") ||
		!strings.Contains(body, "&lt;b&gt;Acme") || len(book.events)+len(book.labels) != 0 {
		t.Fatalf("GET: %d, events %d labels %d\n%s", code, len(book.events), len(book.labels), body)
	}
	if code, body := do(http.MethodPost, tok); code != 200 || !strings.Contains(body, "resolved as not a complaint") {
		t.Fatalf("click: %d\n%s", code, body)
	}
	// A second click, and the resolve link's own token: nothing new.
	_, resolve := s.Links("case:1")
	ru, _ := url.Parse(resolve)
	for _, again := range []string{tok, ru.Query().Get("t")} {
		if code, body := do(http.MethodPost, again); code != 200 || !strings.Contains(body, "Already done") || !strings.Contains(body, "not a complaint (by email link)") {
			t.Errorf("second click: %d\n%s", code, body)
		}
	}
	if len(book.labels) != 1 || book.labels[0] != "neutral|email link|m1|case:1" {
		t.Errorf("labels %v, want one neutral label by email link", book.labels)
	}
	if len(book.events) != 1 || book.events[0].Event != "resolved" || book.events[0].Outcome != caselog.NotAComplaint || book.events[0].Actor != LinkActor {
		t.Errorf("events %+v, want one resolve event with outcome not_a_complaint", book.events)
	}
}

// TestActLabelsNotAComplaint: resolving as not_a_complaint through Act,
// the path every front end takes, labels the mention once; other outcomes
// and actions label nothing.
func TestActLabelsNotAComplaint(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		action, outcome string
		labels          int
	}{
		{"resolve", caselog.NotAComplaint, 1},
		{"resolve", "compensated", 0},
		{"ack", "", 0},
	} {
		book := &labelBook{memBook: memBook{state: caselog.State{CaseID: "case:1", MentionID: "m1", State: "open"}}}
		for range 2 {
			_, _ = Act(ctx, book, "case:1", tc.action, "Ana", tc.outcome, "", now)
		}
		if len(book.labels) != tc.labels || len(book.events) != 1 {
			t.Errorf("%s %s twice: labels %v, events %d", tc.action, tc.outcome, book.labels, len(book.events))
		}
		if tc.labels == 1 && book.labels[0] != "neutral|Ana|m1|case:1" {
			t.Errorf("label %v", book.labels)
		}
	}
}
