package mastodon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

func TestHashtagStream(t *testing.T) {
	raw, err := os.ReadFile("testdata/mastodon-v1-timelines-tag-mastodon-2017.json")
	if err != nil {
		t.Fatal(err)
	}
	var statuses []json.RawMessage
	if err := json.Unmarshal(raw, &statuses); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var streams, backfills []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/api/v1/timelines/tag/mastodon":
			if r.Header.Get("Authorization") != "Bearer tok" {
				http.Error(w, "token missing on backfill", http.StatusUnauthorized)
				return
			}
			backfills = append(backfills, r.URL.RawQuery)
			w.Write([]byte("[]"))
		case "/api/v1/streaming/hashtag":
			streams = append(streams, r.Header.Get("Authorization"))
			w.Header().Set("Content-Type", "text/event-stream")
			// First connection: two updates, a notification to ignore, then it drops.
			from := 2 * (len(streams) - 1)
			for i, st := range statuses[from : from+2] {
				var compact bytes.Buffer
				json.Compact(&compact, st)
				if i == 0 {
					fmt.Fprintf(w, "event: update\ndata: %s\n\n", compact.Bytes())
					continue
				}
				// The same status split over two data lines must parse too.
				half := bytes.Index(compact.Bytes(), []byte(`,"`)) + 1 // between tokens
				fmt.Fprintf(w, "event: update\ndata: %s\ndata: %s\n\n", compact.Bytes()[:half], compact.Bytes()[half:])
			}
			fmt.Fprint(w, ":heartbeat\n\nevent: delete\ndata: 123\n\n")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("MASTO_TOKEN", "tok")
	o := &StreamOptions{Instance: srv.URL, Hashtags: []string{"mastodon"}, AccessToken: "tok"}
	if errs := o.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	c, err := StreamKind().New(collectors.Env{Source: config.Source{Name: "ms"}, Options: o,
		HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}})
	if err != nil {
		t.Fatal(err)
	}
	s := c.(*Streaming)
	s.sleep = func(context.Context, time.Duration) error { return nil }
	ctx, cancel := context.WithCancel(context.Background())
	sink := &collectortest.Sink{}
	var cmu sync.Mutex
	var last string
	done := make(chan error)
	go func() {
		done <- s.Stream(ctx, `{"tag:mastodon":"700000"}`, sink, func(c string) { cmu.Lock(); last = c; cmu.Unlock() })
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(streams)
		mu.Unlock()
		if n >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if len(sink.Mentions) < 4 {
		t.Fatalf("%d mentions from two stream connections, want 4; errors %v", len(sink.Mentions), sink.Errors)
	}
	mu.Lock()
	defer mu.Unlock()
	if streams[0] != "Bearer tok" || len(backfills) < 2 || !strings.Contains(backfills[0], "min_id=700000") {
		t.Errorf("auth %q, backfills %v", streams[0], backfills)
	}
	cmu.Lock()
	defer cmu.Unlock()
	if !strings.Contains(last, `"tag:mastodon":"714859"`) {
		t.Errorf("checkpoint %s, want the newest streamed id", last)
	}
}
