package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/jetstream"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/pipeline"
	"github.com/earshot/earshot/storage"
)

// BenchmarkStreamLatency measures how long a post takes from being written
// to a (local) Jetstream to being a row in ClickHouse, through the
// bluesky-stream kind, the pipeline (flushing every second) and the writer.
// Reports p50 and p99; the figure to beat is listening tools' 1-3 minutes.
func BenchmarkStreamLatency(b *testing.B) {
	st, db := benchStore(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	posts := make(chan string)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			select {
			case <-r.Context().Done():
				return
			case p := <-posts:
				if err := c.Write(r.Context(), websocket.MessageText, []byte(p)); err != nil {
					return
				}
			}
		}
	}))
	defer srv.Close()

	opts := &jetstream.Options{URL: "ws" + strings.TrimPrefix(srv.URL, "http")}
	cfg := &config.Config{Brands: []config.Brand{{Name: "Acme", Keywords: []string{"acme"}}},
		Sources: []config.Source{{Name: "live", Kind: "bluesky-stream", Brand: "Acme", Options: opts}},
		Collect: config.Collect{UserAgent: "bench", AllowPrivateNetworks: true}}
	sp, err := storage.OpenSpool(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	w := storage.NewWriter(st, storage.WriterOptions{Spool: sp})
	defer w.Close(context.Background())
	p := &pipeline.Pipeline{Config: cfg, Registry: collectors.Registry{"bluesky-stream": jetstream.Kind()}, Store: st, Writer: w}
	go p.Stream(ctx, &cfg.Sources[0])

	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Posts arrive at random moments, not in step with the flush timer.
		b.StopTimer()
		time.Sleep(time.Duration(rand.Int64N(int64(time.Second))))
		b.StartTimer()
		rkey := fmt.Sprintf("k%d", i)
		t0 := time.Now()
		posts <- fmt.Sprintf(`{"did":"did:plc:x","time_us":%d,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"%s","record":{"text":"acme lost my booking","createdAt":"%s"}}}`,
			t0.UnixMicro(), rkey, t0.UTC().Format(time.RFC3339Nano))
		id := "bluesky:at://did:plc:x/app.bsky.feed.post/" + rkey
		for {
			var n uint64
			if err := db.Conn.QueryRow(ctx, "SELECT count() FROM mentions WHERE id = ?", id).Scan(&n); err != nil {
				b.Fatal(err)
			}
			if n > 0 {
				break
			}
			if time.Since(t0) > 30*time.Second {
				b.Fatalf("post %s not stored after 30s", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
}
