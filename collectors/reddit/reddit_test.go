package reddit

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
	body, err := os.ReadFile("testdata/reddit-search-r-all-2016.json")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var urls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		urls = append(urls, r.URL.String())
		mu.Unlock()
		switch r.URL.Path {
		case "/search.json":
			w.Write(body)
		case "/r/bugs/new.json":
			w.Write([]byte(`{"kind":"Listing","data":{"children":[{"kind":"t1","data":{"name":"t1_c1","body":"praw broke again","author":"x","created_utc":1460000000,"parent_id":"t3_p","permalink":"/r/bugs/comments/p/x/c1/"}}],"after":null}}`))
		case "/r/broken/new.json":
			w.Write([]byte(`<html>rate limited</html>`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	mk := func(o *Options) collectors.Collector {
		o.BaseURL = srv.URL
		if errs := o.Validate(); len(errs) > 0 {
			t.Fatal(errs)
		}
		c, err := Kind().New(collectors.Env{Source: config.Source{Name: "r"}, Brand: &config.Brand{Keywords: []string{"praw"}},
			HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}, Options: o})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	sink := &collectortest.Sink{}
	cursor, err := mk(&Options{}).Collect(context.Background(), "", sink)
	if err != nil || len(sink.Errors) > 0 {
		t.Fatal(err, sink.Errors)
	}
	if len(sink.Mentions) != 6 || cursor != "1458221634" {
		t.Errorf("%d mentions, cursor %s; want 6 and the newest created_utc", len(sink.Mentions), cursor)
	}
	for _, m := range sink.Mentions {
		if !strings.HasPrefix(m.ID, "reddit:t3_") || strings.Contains(m.URL, "?ref") || !strings.HasPrefix(m.URL, "https://www.reddit.com/r/") || m.Text == "" {
			t.Errorf("mention %+v", m)
		}
	}
	collectortest.Golden(t, "search-praw", sink.Mentions)
	mu.Lock()
	first := urls[1] // urls[0] is robots.txt
	mu.Unlock()
	if urls[0] != "/robots.txt" || !strings.Contains(first, "q=praw") || !strings.Contains(first, "sort=new") || !strings.Contains(first, "raw_json=1") {
		t.Errorf("urls %v", urls)
	}
	// Incremental: only posts newer than the cursor.
	sink2 := &collectortest.Sink{}
	if _, err := mk(&Options{}).Collect(context.Background(), "1450299786", sink2); err != nil {
		t.Fatal(err)
	}
	if len(sink2.Mentions) != 1 {
		t.Errorf("second pass: %d mentions, want 1", len(sink2.Mentions))
	}
	// Subreddit listings, comments, and a broken listing that does not stop the other.
	sink3 := &collectortest.Sink{}
	if _, err := mk(&Options{Subreddits: []string{"bugs", "r/broken"}}).Collect(context.Background(), "", sink3); err != nil {
		t.Fatal(err)
	}
	if len(sink3.Mentions) != 1 || sink3.Mentions[0].Kind != "comment" || sink3.Mentions[0].ParentID != "reddit:t3_p" || len(sink3.Errors) != 1 {
		t.Errorf("subreddits: %+v errors %v", sink3.Mentions, sink3.Errors)
	}
}

func TestConformance(t *testing.T) {
	body, err := os.ReadFile("testdata/reddit-search-r-all-2016.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/search.json" {
			w.Write(body)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	collectortest.Conformance(t, func() collectors.Collector {
		c, err := Kind().New(collectors.Env{Source: config.Source{Name: "r"}, Brand: &config.Brand{Keywords: []string{"praw"}},
			HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}, Options: &Options{BaseURL: srv.URL}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}
