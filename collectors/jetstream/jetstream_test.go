package jetstream

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/collectortest"
	"github.com/earshot/earshot/config"
)

func post(us int64, rkey, text string) string {
	return fmt.Sprintf(`{"did":"did:plc:abc","time_us":%d,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"%s","record":{"$type":"app.bsky.feed.post","text":%q,"createdAt":"2026-11-23T10:00:00Z","langs":["en"]},"cid":"c"}}`, us, rkey, text)
}

// server sends batches, one per connection, closing after each but the last.
type server struct {
	mu      sync.Mutex
	batches [][]string
	cursors []string
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.cursors)
	s.cursors = append(s.cursors, r.URL.Query().Get("cursor"))
	s.mu.Unlock()
	if r.URL.Query().Get("wantedCollections") != "app.bsky.feed.post" {
		http.Error(w, "bad collections", http.StatusBadRequest)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	if n >= len(s.batches) {
		<-r.Context().Done()
		return
	}
	for _, m := range s.batches[n] {
		if err := c.Write(r.Context(), websocket.MessageText, []byte(m)); err != nil {
			return
		}
	}
	if n == len(s.batches)-1 {
		<-r.Context().Done() // the last connection stays open
		return
	}
	c.Close(websocket.StatusGoingAway, "restart")
}

func newStream(t *testing.T, url string) *Stream {
	o := &Options{URL: "ws" + strings.TrimPrefix(url, "http")}
	if errs := o.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	c, err := Kind().New(collectors.Env{Source: config.Source{Name: "js"}, Brand: &config.Brand{Keywords: []string{"acme"}},
		HTTP: config.Collect{UserAgent: "test", AllowPrivateNetworks: true}, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	s := c.(*Stream)
	s.sleep = func(context.Context, time.Duration) error { return nil }
	return s
}

func TestStreamReconnectsAndResumes(t *testing.T) {
	srv := &server{batches: [][]string{
		{post(1_000_000_000, "a1", "Acme lost my order"), post(1_000_000_100, "x", "unrelated"), `{"did":"d","time_us":1000000200,"kind":"identity"}`, "not json"},
		{post(1_000_000_300, "a2", "acme support never answered"), `{"did":"did:plc:abc","time_us":1000000400,"kind":"commit","commit":{"operation":"delete","collection":"app.bsky.feed.post","rkey":"a1"}}`},
	}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	s := newStream(t, hs.URL)
	ctx, cancel := context.WithCancel(context.Background())
	sink := &collectortest.Sink{}
	var mu sync.Mutex
	var checkpoints []string
	done := make(chan error)
	go func() {
		done <- s.Stream(ctx, "", sink, func(c string) { mu.Lock(); checkpoints = append(checkpoints, c); mu.Unlock() })
	}()
	deadline := time.After(10 * time.Second)
	for {
		mu.Lock()
		n := len(checkpoints)
		mu.Unlock()
		if n >= 5 {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("stream stalled: checkpoints %v", checkpoints)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Stream returned %v", err)
	}
	if len(sink.Mentions) != 2 || sink.Mentions[0].ID != "bluesky:at://did:plc:abc/app.bsky.feed.post/a1" || sink.Mentions[1].Lang != "en" {
		t.Errorf("mentions %+v", sink.Mentions)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	// The second connection resumed 5 s before the last event of the first.
	if len(srv.cursors) < 2 || srv.cursors[0] != "" || srv.cursors[1] != "995000200" {
		t.Errorf("cursors sent %v", srv.cursors)
	}
	var reconnect, bad bool
	for _, e := range sink.Errors {
		reconnect = reconnect || strings.Contains(e.Error(), "reconnecting")
		bad = bad || strings.Contains(e.Error(), "bad event")
	}
	if !reconnect || !bad {
		t.Errorf("errors %v: want the drop and the bad event reported", sink.Errors)
	}
}

func TestCollectCatchesUp(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	srv := &server{batches: [][]string{{
		post(now.Add(-time.Minute).UnixMicro(), "o1", "acme was fine"),
		post(now.Add(-time.Second).UnixMicro(), "o2", "acme again"),
		post(now.Add(time.Second).UnixMicro(), "n1", "acme live"),
		post(now.Add(2*time.Second).UnixMicro(), "n2", "acme later"),
	}, {}}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	s := newStream(t, hs.URL)
	s.now = func() time.Time { return now }
	if c, err := s.Collect(context.Background(), "", &collectortest.Sink{}); err != nil || c != fmt.Sprint(now.UnixMicro()) {
		t.Fatalf("first collect: %q %v", c, err)
	}
	sink := &collectortest.Sink{}
	c, err := s.Collect(context.Background(), fmt.Sprint(now.Add(-2*time.Minute).UnixMicro()), sink)
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.Mentions) != 3 || c != fmt.Sprint(now.Add(time.Second).UnixMicro()) {
		t.Errorf("catch-up: %d mentions, cursor %s", len(sink.Mentions), c)
	}
}

// TestStreamRefusesPrivateAddress: the stream's dial is checked like every
// collector's, so a config pointing it at loopback is refused by default.
func TestStreamRefusesPrivateAddress(t *testing.T) {
	srv := httptest.NewServer(&server{batches: [][]string{{post(1, "a", "acme")}}})
	defer srv.Close()
	o := &Options{URL: "ws" + strings.TrimPrefix(srv.URL, "http")}
	c, err := Kind().New(collectors.Env{Source: config.Source{Name: "js"}, Brand: &config.Brand{Keywords: []string{"acme"}},
		HTTP: config.Collect{UserAgent: "test"}, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.Collect(ctx, "1700000000000000", &collectortest.Sink{})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("stream to loopback without allow_private_networks: %v, want a refusal", err)
	}
}
