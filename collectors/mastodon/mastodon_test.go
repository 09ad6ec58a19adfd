package mastodon

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

func TestTimelines(t *testing.T) {
	read := func(n string) []byte {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tag, public, empty := read("mastodon-v1-timelines-tag-mastodon-2017.json"), read("mastodon-v1-timelines-public-2026.json"),
		read("mastodon-v2-search-type-statuses-empty-2026.json")
	var mu sync.Mutex
	var reqs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqs = append(reqs, r.URL.String())
		mu.Unlock()
		q := r.URL.Query()
		switch {
		case r.URL.Path == "/api/v1/timelines/tag/mastodon" && q.Get("max_id") == "" && q.Get("min_id") == "":
			w.Write(tag)
		case r.URL.Path == "/api/v1/timelines/tag/mastodon":
			w.Write([]byte("[]"))
		case r.URL.Path == "/api/v2/search" && q.Get("q") == "toot" && q.Get("min_id") == "":
			w.Write([]byte(`{"statuses":` + string(public) + `}`))
		case r.URL.Path == "/api/v2/search":
			w.Write(empty)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	o := &Options{Instance: srv.URL, Hashtags: []string{"#mastodon"}, Queries: []string{"toot"}}
	if errs := o.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	c, err := Kind().New(collectors.Env{Source: config.Source{Name: "m"}, Brand: &config.Brand{Keywords: []string{"toot"}},
		HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	sink := &collectortest.Sink{}
	cursor, err := c.Collect(context.Background(), "", sink)
	if err != nil || len(sink.Errors) > 0 {
		t.Fatal(err, sink.Errors)
	}
	tagged, searched := 0, 0
	for _, m := range sink.Mentions {
		if strings.Contains(m.Text, "<p>") || strings.Contains(m.Text, "&amp;") || m.Author == "" || m.PublishedAt.IsZero() || !strings.HasPrefix(m.ID, "mastodon:") {
			t.Errorf("mention %+v", m)
		}
		if strings.Contains(m.URL, "localhost:3000") {
			searched++
		} else {
			tagged++
		}
	}
	collectortest.Golden(t, "tag-and-search", sink.Mentions)
	// Hashtag timelines are matched against the keywords like search
	// results (README: every social kind): 1 of the 20 #mastodon statuses
	// says "toot".
	if tagged != 1 {
		t.Errorf("%d statuses from the tag timeline, want the 1 of 20 that says toot", tagged)
	}
	if searched == 0 || searched > 8 {
		t.Errorf("%d search hits, want those of the 8 that say toot", searched)
	}
	if !strings.Contains(cursor, `"tag:mastodon":"714859"`) || !strings.Contains(cursor, `"search:toot":"117020593378945190"`) {
		t.Errorf("cursor %s", cursor)
	}
	// The first pass paged backwards; the next pages forwards from the cursor.
	mu.Lock()
	reqs = nil
	mu.Unlock()
	sink2 := &collectortest.Sink{}
	if _, err := c.Collect(context.Background(), cursor, sink2); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sink2.Mentions) != 0 || !strings.Contains(strings.Join(reqs, " "), "min_id=714859") {
		t.Errorf("second pass: %d mentions, requests %v", len(sink2.Mentions), reqs)
	}
}

func TestValidate(t *testing.T) {
	if errs := (&Options{Instance: "mastodon.social", Hashtags: []string{"two words"}}).Validate(); len(errs) != 2 {
		t.Errorf("errors %v", errs)
	}
}

func TestConformance(t *testing.T) {
	body, err := os.ReadFile("testdata/mastodon-v1-timelines-tag-mastodon-2017.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/timelines/tag/mastodon" && r.URL.Query().Get("max_id") == "" {
			w.Write(body) // ignores min_id: the collector must skip what it saw
			return
		}
		w.Write([]byte("[]"))
	}))
	defer srv.Close()
	collectortest.Conformance(t, func() collectors.Collector {
		c, err := Kind().New(collectors.Env{Source: config.Source{Name: "m"}, Options: &Options{Instance: srv.URL, Hashtags: []string{"mastodon"}, MaxPages: 1},
			HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}
