package appstore

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

func TestCollect(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	xcode, gb, empty, depth := read("appstore-customerreviews-xcode-fr-p1.json"), read("appstore-customerreviews-1510826067-gb-p1.json"),
		read("appstore-customerreviews-555731861-cn-empty-page.json"), read("appstore-customerreviews-555731861-us-p11-depth-error.txt")
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/fr/rss/customerreviews/page=1/id=497799835/sortby=mostrecent/xml":
			w.Write(xcode)
		case "/fr/rss/customerreviews/page=2/id=497799835/sortby=mostrecent/xml":
			w.Write(depth)
		case "/gb/rss/customerreviews/page=1/id=497799835/sortby=mostrecent/xml":
			w.Write(gb)
		case "/gb/rss/customerreviews/page=2/id=497799835/sortby=mostrecent/xml":
			w.Write(empty)
		case "/de/rss/customerreviews/page=1/id=497799835/sortby=mostrecent/xml":
			http.Error(w, "gone", http.StatusNotFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	o := &Options{AppID: "497799835", Countries: []string{"fr", "gb", "de"}, BaseURL: srv.URL}
	if errs := o.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	c, err := Kind().New(collectors.Env{Source: config.Source{Name: "xcode"}, Options: o,
		HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}})
	if err != nil {
		t.Fatal(err)
	}
	sink := &collectortest.Sink{}
	cursor, err := c.Collect(context.Background(), "", sink)
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Mentions) != 54 {
		t.Errorf("%d mentions, want 50 (fr) + 4 (gb)", len(sink.Mentions))
	}
	ones := 0
	for _, m := range sink.Mentions {
		if m.Rating == 1 {
			ones++
		}
		if !strings.HasPrefix(m.ID, "appstore:") || m.RatingMax != 5 || m.Text == "" || m.Author == "" || m.AppVersion == "" {
			t.Errorf("mention %+v", m)
		}
	}
	collectortest.Golden(t, "xcode-fr-and-gb", sink.Mentions)
	if ones != 32 {
		t.Errorf("%d one-star reviews, want 32", ones)
	}
	if len(sink.Errors) != 1 || !strings.Contains(sink.Errors[0].Error(), "country=de") {
		t.Errorf("errors %v, want the de 404", sink.Errors)
	}
	if cursor != `{"fr":"6918761820","gb":"6108405527"}` && !strings.Contains(cursor, `"fr":"6918761820"`) {
		t.Errorf("cursor %s", cursor)
	}
	// Second pass: page 1 starts with known reviews, so nothing new and no page 2.
	mu.Lock()
	paths = nil
	mu.Unlock()
	sink2 := &collectortest.Sink{}
	if _, err := c.Collect(context.Background(), cursor, sink2); err != nil {
		t.Fatal(err)
	}
	if len(sink2.Mentions) != 0 {
		t.Errorf("second pass: %d mentions", len(sink2.Mentions))
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range paths {
		if strings.Contains(p, "page=2") {
			t.Errorf("second pass paged on: %s", p)
		}
	}
}

func TestValidate(t *testing.T) {
	errs := (&Options{AppID: "x", Countries: []string{"USA"}, MaxPages: 11}).Validate()
	if len(errs) != 3 {
		t.Errorf("errors %v", errs)
	}
}

func TestConformance(t *testing.T) {
	body, err := os.ReadFile("testdata/appstore-customerreviews-xcode-fr-p1.json")
	if err != nil {
		t.Fatal(err)
	}
	empty, err := os.ReadFile("testdata/appstore-customerreviews-555731861-cn-empty-page.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "page=1/") {
			w.Write(body)
			return
		}
		w.Write(empty) // past the last page Apple answers an empty feed
	}))
	defer srv.Close()
	collectortest.Conformance(t, func() collectors.Collector {
		c, err := Kind().New(collectors.Env{Source: config.Source{Name: "x"}, Options: &Options{AppID: "497799835", Countries: []string{"fr"}, BaseURL: srv.URL},
			HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}
