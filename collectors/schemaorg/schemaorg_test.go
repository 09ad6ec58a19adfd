package schemaorg

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/collectortest"
	"github.com/earshot/earshot/collectors/crawl"
	"github.com/earshot/earshot/config"
)

// page renders a review page with one JSON-LD block and an optional next link.
func page(next string, reviews ...string) string {
	var items []string
	for _, r := range reviews {
		id, date, _ := strings.Cut(r, "@")
		items = append(items, fmt.Sprintf(`{"@type":"Review","@id":"%s","reviewBody":"review %s","datePublished":"%s","author":"a"}`, id, id, date))
	}
	link := ""
	if next != "" {
		link = fmt.Sprintf(`<a rel="next" href="%s">next</a>`, next)
	}
	return fmt.Sprintf(`<html lang="en"><head><script type="application/ld+json">{"@type":"Hotel","name":"H","review":[%s]}</script></head><body>%s<a href="/private/secret">p</a></body></html>`,
		strings.Join(items, ","), link)
}

type site struct {
	mu    sync.Mutex
	pages map[string]string
	hits  map[string]int
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	body, ok := s.pages[r.URL.Path]
	s.mu.Unlock()
	switch {
	case r.URL.Path == "/robots.txt":
		fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
	case r.URL.Path == "/offhost":
		http.Redirect(w, r, "http://elsewhere.invalid/page", http.StatusFound)
	case r.URL.Path == "/etag" && r.Header.Get("If-None-Match") == `"v1"`:
		w.WriteHeader(http.StatusNotModified)
	case r.URL.Path == "/etag":
		w.Header().Set("ETag", `"v1"`)
		fmt.Fprint(w, page("/p2", "e1@2026-11-22"))
	case r.URL.Path == "/huge":
		fmt.Fprint(w, page("", "r8@2026-11-02")+strings.Repeat("<p>padding</p>", 200000))
	case r.URL.Path == "/latin1":
		// A review with bytes that are not UTF-8 must still be read.
		fmt.Fprint(w, "<html><head><script type=\"application/ld+json\">{\"@type\":\"Review\",\"@id\":\"u1\",\"reviewBody\":\"caf\xe9 was cold\"}</script></head></html>")
	case r.URL.Path == "/broken":
		http.Error(w, "boom", http.StatusInternalServerError)
	case r.URL.Path == "/flaky" && s.hits["/flaky"] < 3:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy", http.StatusTooManyRequests)
	case r.URL.Path == "/flaky":
		fmt.Fprint(w, page("", "r9@2026-11-21"))
	case ok:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	default:
		http.NotFound(w, r)
	}
}

func newSite(t *testing.T) (*site, *httptest.Server) {
	s := &site{hits: map[string]int{}, pages: map[string]string{
		"/p1": page("/p2", "r5@2026-11-20", "r4@2026-11-19"),
		"/p2": page("/p3", "r3@2026-11-10", "r2@2026-11-09"),
		"/p3": page("", "r1@2026-11-01"),
	}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func testEnv() collectors.Env {
	return collectors.Env{Source: config.Source{Name: "test"}, HTTP: config.Collect{
		UserAgent: "earshot-test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}}
}

func TestCrawlPaginationRobotsAndCursor(t *testing.T) {
	s, srv := newSite(t)
	c := New(testEnv(), Options{URLs: []string{srv.URL + "/p1", srv.URL + "/offhost", srv.URL + "/broken", srv.URL + "/flaky"}})
	var waited []time.Duration
	c.SetSleep(func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil })
	sink := &collectortest.Sink{}
	cursor, err := c.Collect(context.Background(), "", sink)
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Mentions) != 6 {
		t.Errorf("first pass: %d mentions, want 5 over 3 pages and 1 from the flaky page", len(sink.Mentions))
	}
	honoured := 0
	for _, d := range waited {
		if d == time.Second+time.Millisecond { // Retry-After: 1, exactly; jittered waits are random
			honoured++
		}
	}
	if s.hits["/flaky"] != 3 || honoured != 2 {
		t.Errorf("flaky page: %d hits, waits %v; want two 429s retried after Retry-After", s.hits["/flaky"], waited)
	}
	if !strings.Contains(cursor, `"since":"2026-11-21T00:00:00Z"`) {
		t.Errorf("cursor = %q, want the newest publication time", cursor)
	}
	if s.hits["/private/secret"] != 0 {
		t.Error("fetched a page robots.txt disallows")
	}
	var sawBroken, sawOffhost bool
	for _, e := range sink.Errors {
		sawBroken = sawBroken || strings.Contains(e.Error(), "/broken") && strings.Contains(e.Error(), "500")
		sawOffhost = sawOffhost || strings.Contains(e.Error(), "elsewhere.invalid")
	}
	if !sawBroken || !sawOffhost {
		t.Errorf("errors = %v; want the 500 and the off-host redirect reported", sink.Errors)
	}
	for _, m := range sink.Mentions {
		if !strings.HasPrefix(m.ID, "schemaorg:r") || m.Lang != "en" || m.Source != "test" {
			t.Errorf("mention %+v", m)
		}
	}

	// Second pass: nothing newer. The first page holds only reviews at or
	// before the cursor, so pagination stops there.
	s.mu.Lock()
	s.hits = map[string]int{}
	s.pages["/p1"] = page("/p2", "r6@2026-11-22", "r5@2026-11-20", "r4@2026-11-19")
	s.mu.Unlock()
	sink2 := &collectortest.Sink{}
	c = New(testEnv(), Options{URLs: []string{srv.URL + "/p1"}})
	cursor2, err := c.Collect(context.Background(), cursor, sink2)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range sink2.Mentions {
		ids[m.ID] = true
	}
	if !ids["schemaorg:r6"] || ids["schemaorg:r4"] || !strings.Contains(cursor2, `"since":"2026-11-22T00:00:00Z"`) {
		t.Errorf("second pass ids %v cursor %q; want r6 (and r5 at the cursor), not r4", ids, cursor2)
	}
}

func TestMaxPages(t *testing.T) {
	s, srv := newSite(t)
	c := New(testEnv(), Options{URLs: []string{srv.URL + "/p1"}, MaxPages: 2})
	sink := &collectortest.Sink{}
	if _, err := c.Collect(context.Background(), "", sink); err != nil {
		t.Fatal(err)
	}
	if s.hits["/p3"] != 0 || len(sink.Mentions) != 4 {
		t.Errorf("max_pages 2: fetched p3 %d times, %d mentions; want 0 and 4", s.hits["/p3"], len(sink.Mentions))
	}
}

func TestUnreachableSourceFails(t *testing.T) {
	c := New(testEnv(), Options{URLs: []string{"http://127.0.0.1:1/"}})
	c.SetSleep(func(context.Context, time.Duration) error { return nil })
	sink := &collectortest.Sink{}
	if _, err := c.Collect(context.Background(), "", sink); err == nil {
		t.Error("no error when no page could be fetched")
	}
}

func TestOptionsValidate(t *testing.T) {
	if errs := (&Options{}).Validate(); len(errs) != 1 || errs[0].Field != "urls" {
		t.Errorf("empty options: %v", errs)
	}
	if errs := (&Options{URLs: []string{"ftp://x"}}).Validate(); len(errs) != 1 || errs[0].Field != "urls[0]" {
		t.Errorf("ftp url: %v", errs)
	}
}

func TestConformance(t *testing.T) {
	_, srv := newSite(t)
	collectortest.Conformance(t, func() collectors.Collector { return New(testEnv(), Options{URLs: []string{srv.URL + "/p1"}}) })
}

func TestOversizedAndInvalidUTF8(t *testing.T) {
	_, srv := newSite(t)
	c := New(testEnv(), Options{URLs: []string{srv.URL + "/huge", srv.URL + "/latin1"}})
	sink := &collectortest.Sink{}
	if _, err := c.Collect(context.Background(), "", sink); err != nil {
		t.Fatal(err)
	}
	var cut bool
	for _, e := range sink.Errors {
		cut = cut || strings.Contains(e.Error(), "body cut at")
	}
	if !cut {
		t.Errorf("errors %v: want the oversized page reported", sink.Errors)
	}
	var found bool
	for _, m := range sink.Mentions {
		if m.ID == "schemaorg:u1" {
			found = true
			if err := m.Normalize(time.Now()); err != nil || !utf8.ValidString(m.Text) || !strings.Contains(m.Text, "was cold") {
				t.Errorf("invalid UTF-8 review: %q, %v", m.Text, err)
			}
		}
	}
	if !found {
		t.Errorf("review with invalid UTF-8 lost: %+v", sink.Mentions)
	}
}

func TestConditionalRequests(t *testing.T) {
	s, srv := newSite(t)
	c := New(testEnv(), Options{URLs: []string{srv.URL + "/etag"}})
	sink := &collectortest.Sink{}
	cursor, err := c.Collect(context.Background(), "", sink)
	if err != nil || len(sink.Mentions) != 4 || !strings.Contains(cursor, `"etag":"\"v1\""`) {
		t.Fatalf("first pass: %v, %d mentions, cursor %s", err, len(sink.Mentions), cursor)
	}
	s.mu.Lock()
	s.hits = map[string]int{}
	s.mu.Unlock()
	sink2 := &collectortest.Sink{}
	cursor2, err := c.Collect(context.Background(), cursor, sink2)
	if err != nil || len(sink2.Mentions) != 0 || len(sink2.Errors) != 0 {
		t.Errorf("304 pass: %v, %d mentions, errors %v", err, len(sink2.Mentions), sink2.Errors)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hits["/p2"] != 0 || !strings.Contains(cursor2, `"etag":"\"v1\""`) {
		t.Errorf("after 304: p2 fetched %d times, cursor %s", s.hits["/p2"], cursor2)
	}
	// The older cursor form (a bare time) is still understood.
	if st := crawl.SinceOf("2026-11-20T00:00:00Z"); st.IsZero() {
		t.Error("old cursor form not read")
	}
}
