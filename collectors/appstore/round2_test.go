package appstore

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/collectortest"
	"github.com/earshot/earshot/config"
)

func newCollector(t *testing.T, base, app string) collectors.Collector {
	t.Helper()
	c, err := Kind().New(collectors.Env{Source: config.Source{Name: "app"}, Options: &Options{AppID: app, Countries: []string{"us"}, BaseURL: base},
		HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestXMLFeedDatesAndUnrated: the XML variant's per-review `updated` is the
// publication time, and a review with text but an empty im:rating is kept
// unrated (it used to be dropped, and every review was dated 1970).
func TestXMLFeedDatesAndUnrated(t *testing.T) {
	body, err := os.ReadFile("testdata/appstore-customerreviews-local-xml-p1.xml")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/us/rss/customerreviews/page=1/id=123456789/sortby=mostrecent/xml" {
			w.Write(body)
			return
		}
		w.Write([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"></feed>`))
	}))
	defer srv.Close()
	sink := &collectortest.Sink{}
	if _, err := newCollector(t, srv.URL, "123456789").Collect(context.Background(), "", sink); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id        string
		rating    float64
		published time.Time
	}{
		{"appstore:11000000002", 1, time.Date(2024, 3, 19, 15, 15, 0, 0, time.UTC)},
		{"appstore:11000000001", 0, time.Date(2024, 3, 19, 4, 40, 12, 0, time.UTC)},
	}
	if len(sink.Mentions) != len(want) {
		t.Fatalf("%d mentions, want %d: %+v", len(sink.Mentions), len(want), sink.Mentions)
	}
	for i, w := range want {
		m := sink.Mentions[i]
		if m.ID != w.id || m.Rating != w.rating || !m.PublishedAt.Equal(w.published) || m.Text == "" || strings.Contains(m.Text, "<") {
			t.Errorf("mention %d = %s rating %v published %v text %q; want %+v", i, m.ID, m.Rating, m.PublishedAt, m.Text, w)
		}
		if err := m.Normalize(time.Now()); err != nil {
			t.Errorf("mention %d: %v", i, err)
		}
	}
}

// TestWrongAppID: Apple answers an unknown app with an empty feed; the
// lookup API settles it and the pass fails instead of reporting ok.
func TestWrongAppID(t *testing.T) {
	empty, err := os.ReadFile("testdata/appstore-customerreviews-555731861-cn-empty-page.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, lookup string
		wantErr      bool
	}{
		{"unknown app", `{"resultCount":0,"results":[]}`, true},
		{"app without reviews", `{"resultCount":1,"results":[{"trackId":555731861}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/lookup" {
					w.Write([]byte(tt.lookup))
					return
				}
				w.Write(empty)
			}))
			defer srv.Close()
			_, err := newCollector(t, srv.URL, "555731861").Collect(context.Background(), "", &collectortest.Sink{})
			if got := errors.Is(err, errNoSuchApp); got != tt.wantErr {
				t.Errorf("err = %v, want no-such-app %v", err, tt.wantErr)
			}
		})
	}
}
