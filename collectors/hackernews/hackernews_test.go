package hackernews

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/collectortest"
	"github.com/earshot/earshot/config"
)

func serve(t *testing.T, fixture string) (*httptest.Server, *[]string) {
	body, err := os.ReadFile("testdata/" + fixture)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v1/search_by_date" && r.URL.Query().Get("page") == "0":
			mu.Lock()
			queries = append(queries, r.URL.RawQuery)
			mu.Unlock()
			w.Write(body)
		case r.URL.Path == "/api/v1/search_by_date" && r.URL.Query().Get("query") == "broken":
			w.Write([]byte(`{"hits": [`))
		case r.URL.Path == "/api/v1/search_by_date":
			w.Write([]byte(`{"hits":[],"page":1,"nbPages":50}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &queries
}

func collector(t *testing.T, base string, o Options) collectors.Collector {
	o.BaseURL = base
	env := collectors.Env{Source: config.Source{Name: "hn"}, Brand: &config.Brand{Name: "Apple", Keywords: []string{"apple"}},
		HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}, Options: &o}
	c, err := Kind().New(env)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStories(t *testing.T) {
	srv, queries := serve(t, "hn-algolia-search_by_date-stories-apple-2014.json")
	c := collector(t, srv.URL, Options{})
	sink := &collectortest.Sink{}
	cursor, err := c.Collect(context.Background(), "", sink)
	if err != nil || len(sink.Errors) > 0 {
		t.Fatal(err, sink.Errors)
	}
	if len(sink.Mentions) != 12 {
		t.Errorf("%d mentions, want the 12 hits that mention apple", len(sink.Mentions))
	}
	for _, m := range sink.Mentions {
		if !strings.HasPrefix(m.ID, "hackernews:") || m.Kind != "post" || m.PublishedAt.IsZero() || m.Author == "" ||
			!strings.Contains(strings.ToLower(m.Title+m.Text), "apple") || !strings.HasPrefix(m.URL, "https://news.ycombinator.com/item?id=") {
			t.Errorf("mention %+v", m)
		}
	}
	collectortest.Golden(t, "stories-apple", sink.Mentions)
	if cursor != "1401936993" {
		t.Errorf("cursor %q, want the newest created_at_i", cursor)
	}
	// The next pass asks only for newer items.
	if _, err := c.Collect(context.Background(), cursor, &collectortest.Sink{}); err != nil {
		t.Fatal(err)
	}
	if q := (*queries)[len(*queries)-1]; !strings.Contains(q, "numericFilters=created_at_i%3E1401936993") || !strings.Contains(q, "query=apple") {
		t.Errorf("second query %q", q)
	}
}

func TestCommentsAndErrors(t *testing.T) {
	srv, _ := serve(t, "hn-algolia-search_by_date-comments-2014.json")
	c := collector(t, srv.URL, Options{Queries: []string{"stingray", "broken"}, Include: []string{"stingray", "stingrays"}})
	sink := &collectortest.Sink{}
	cursor, err := c.Collect(context.Background(), "100", sink)
	if err != nil {
		t.Fatal(err)
	}
	if cursor != "100" {
		t.Errorf("cursor moved to %q past a failed page", cursor)
	}
	if len(sink.Errors) != 1 || !strings.Contains(sink.Errors[0].Error(), "bad JSON") {
		t.Errorf("errors %v, want one bad JSON page", sink.Errors)
	}
	if len(sink.Mentions) == 0 {
		t.Fatal("no comments")
	}
	for _, m := range sink.Mentions {
		if m.Kind != "comment" || m.ParentID == "" || strings.Contains(m.Text, "&quot;") || strings.Contains(m.Text, "<p>") {
			t.Errorf("comment %+v", m)
		}
	}
}

func TestConformance(t *testing.T) {
	srv, _ := serve(t, "hn-algolia-search_by_date-stories-apple-2014.json")
	collectortest.Conformance(t, func() collectors.Collector { return collector(t, srv.URL, Options{}) })
}
