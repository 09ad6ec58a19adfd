package bluesky

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

func TestSearch(t *testing.T) {
	body, err := os.ReadFile("testdata/bluesky-searchPosts-redistricting-2025.json")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/xrpc/app.bsky.feed.searchPosts" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		if r.URL.Query().Get("cursor") != "" {
			w.Write([]byte(`{"posts":[]}`))
			return
		}
		w.Write(body) // the server ignores since: the collector must stop at known posts
	}))
	defer srv.Close()
	env := collectors.Env{Source: config.Source{Name: "bsky"}, Brand: &config.Brand{Keywords: []string{"redistricting"}},
		HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}, Options: &Options{BaseURL: srv.URL}}
	c, err := Kind().New(env)
	if err != nil {
		t.Fatal(err)
	}
	sink := &collectortest.Sink{}
	cursor, err := c.Collect(context.Background(), "", sink)
	if err != nil || len(sink.Errors) > 0 {
		t.Fatal(err, sink.Errors)
	}
	if len(sink.Mentions) != 25 {
		t.Errorf("%d mentions, want all 25 posts (each says redistricting)", len(sink.Mentions))
	}
	replies, likes := 0, uint64(0)
	for _, m := range sink.Mentions {
		if !strings.HasPrefix(m.ID, "bluesky:at://") || !strings.HasPrefix(m.URL, "https://bsky.app/profile/") || m.PublishedAt.IsZero() ||
			!strings.Contains(strings.ToLower(m.Text), "redistricting") {
			t.Errorf("mention %+v", m)
		}
		if m.Kind == "comment" {
			replies++
		}
		likes += m.Likes
	}
	collectortest.Golden(t, "search-redistricting", sink.Mentions)
	if replies == 0 || likes == 0 {
		t.Errorf("replies %d likes %d: reply links and counts not read", replies, likes)
	}
	if cursor != "2025-05-19T17:10:09.561858Z" {
		t.Errorf("cursor %q", cursor)
	}
	if q := queries[0]; !strings.Contains(q, "q=redistricting") || !strings.Contains(q, "sort=latest") {
		t.Errorf("query %q", q)
	}
	sink2 := &collectortest.Sink{}
	if _, err := c.Collect(context.Background(), cursor, sink2); err != nil {
		t.Fatal(err)
	}
	if len(sink2.Mentions) != 0 || !strings.Contains(queries[len(queries)-1], "since=2025-05-19T17%3A10%3A09.561858Z") {
		t.Errorf("second pass: %d mentions, query %q", len(sink2.Mentions), queries[len(queries)-1])
	}
}

func TestConformance(t *testing.T) {
	body, err := os.ReadFile("testdata/bluesky-searchPosts-redistricting-2025.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("cursor") != "" {
			w.Write([]byte(`{"posts":[]}`))
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	collectortest.Conformance(t, func() collectors.Collector {
		c, err := Kind().New(collectors.Env{Source: config.Source{Name: "b"}, Brand: &config.Brand{Keywords: []string{"redistricting"}},
			HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}, Options: &Options{BaseURL: srv.URL}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}
