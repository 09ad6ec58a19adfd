package feed

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/collectortest"
	"github.com/earshot/earshot/config"
)

func TestFeeds(t *testing.T) {
	alerts, _ := os.ReadFile("testdata/google-alerts-atom-slack-2019.xml")
	rss, _ := os.ReadFile("testdata/rss-techcrunch-2011.xml")
	var notModified atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/alerts":
			if r.Header.Get("If-None-Match") == `"a1"` {
				notModified.Add(1)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"a1"`)
			w.Write(alerts)
		case "/rss":
			w.Write(rss)
		case "/junk":
			w.Write([]byte("<html>not a feed</html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	o := &Options{URLs: []string{srv.URL + "/alerts", srv.URL + "/rss", srv.URL + "/junk"}, Exclude: []string{"stock"}}
	if errs := o.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	c, err := Kind().New(collectors.Env{Source: config.Source{Name: "f"}, Brand: &config.Brand{Keywords: []string{"slack"}},
		HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	sink := &collectortest.Sink{}
	cursor, err := c.Collect(context.Background(), "", sink)
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Errors) != 1 || !strings.Contains(sink.Errors[0].Error(), "/junk") {
		t.Errorf("errors %v, want the junk page", sink.Errors)
	}
	fromAlerts, fromRSS := 0, 0
	for _, m := range sink.Mentions {
		if strings.Contains(m.Title, "<b>") || strings.Contains(m.URL, "google.com/url") || strings.Contains(strings.ToLower(m.Title+m.Text), " stock") {
			t.Errorf("mention %+v", m)
		}
		if strings.Contains(m.URL, "techcrunch") || strings.Contains(m.URL, "feedproxy") {
			fromRSS++
		} else {
			fromAlerts++
		}
		if m.PublishedAt.IsZero() || !strings.HasPrefix(m.ID, "feed:") {
			t.Errorf("mention %+v", m)
		}
	}
	collectortest.Golden(t, "alerts-and-rss", sink.Mentions)
	if fromAlerts != 11 || fromRSS != 20 {
		t.Errorf("%d alert items (want the 11 of 20 without 'stock'), %d RSS items (want 20)", fromAlerts, fromRSS)
	}
	// Second pass: the alerts feed answers 304, the RSS feed has nothing newer.
	sink2 := &collectortest.Sink{}
	if _, err := c.Collect(context.Background(), cursor, sink2); err != nil {
		t.Fatal(err)
	}
	if len(sink2.Mentions) != 0 || notModified.Load() != 1 {
		t.Errorf("second pass: %d mentions, %d 304s", len(sink2.Mentions), notModified.Load())
	}
}

func TestUnwrap(t *testing.T) {
	in := "https://www.google.com/url?rct=j&sa=t&url=https://example.com/a%3Fb%3D1&ct=ga"
	if got := unwrap(in); got != "https://example.com/a?b=1" {
		t.Errorf("unwrap = %q", got)
	}
	if got := unwrap("https://example.com/url?url=https://evil"); got != "https://example.com/url?url=https://evil" {
		t.Errorf("unwrapped a non-Google link: %q", got)
	}
}

func TestConformance(t *testing.T) {
	rss, _ := os.ReadFile("testdata/rss-techcrunch-2011.xml")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(rss) }))
	defer srv.Close()
	collectortest.Conformance(t, func() collectors.Collector {
		c, err := Kind().New(collectors.Env{Source: config.Source{Name: "f"}, Options: &Options{URLs: []string{srv.URL + "/rss"}},
			HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}
