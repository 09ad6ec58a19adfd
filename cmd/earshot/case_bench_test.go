package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCasePass measures the figure: one collection pass of an
// import source with 5,000 new reviews, 3,000 of them negative, with
// alerting on (the pass, then the dispatcher routing every case, grouping
// by location and sending to a local webhook until all are accepted)
// against the same pass with alerting off (no dispatcher: the pass ends
// when everything is stored). Both run in each iteration, alternating, on
// their own databases of the same server, with their own new reviews.
// Reported: ms per pass for each, and on/off (target <= 1.5).
func BenchmarkCasePass(b *testing.B) {
	const perPass, negatives = 5000, 3000
	var accepted atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Cases []json.RawMessage `json:"cases"`
			More  []string          `json:"more_case_ids"`
		}
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		accepted.Add(int64(len(p.Cases) + len(p.More)))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	type rig struct {
		a     *app
		s     *stack
		inbox string
	}
	mk := func(name string) rig {
		_, db := benchStore(b)
		dir := b.TempDir()
		inbox := filepath.Join(dir, "inbox")
		if err := os.MkdirAll(inbox, 0o755); err != nil {
			b.Fatal(err)
		}
		var locs []string
		for i := 0; i < 10; i++ {
			locs = append(locs, fmt.Sprintf("{name: L%d}", i))
		}
		cfg := fmt.Sprintf(`clickhouse: {dsn: %q, spool_dir: %q}
brands: [{name: Acme, keywords: [acme], locations: [%s]}]
sources: [{name: exports, kind: import, brand: Acme, path: "%s/*.jsonl"}]
receivers: [{name: desk, kind: webhook, url: %q}]
route: {receiver: desk, group_by: [location], group_wait: 0s}
`, db.DSN, filepath.Join(dir, "spool"), strings.Join(locs, ", "), inbox, hook.URL)
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			b.Fatal(err)
		}
		a := &app{configPath: path, registry: registry(), stdout: io.Discard, stderr: io.Discard, log: slog.New(slog.DiscardHandler)}
		s, err := a.pipeline(context.Background(), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(s.close)
		return rig{a: a, s: s, inbox: inbox}
	}
	off, on := mk("off"), mk("on")
	write := func(r rig, it int) {
		var sb strings.Builder
		enc := json.NewEncoder(&sb)
		for i := 0; i < perPass; i++ {
			text, rating := "Lovely stay, friendly staff and a spotless room.", 5
			if i < negatives {
				text, rating = "The receptionist was rude and we waited two hours for our room. Never again.", 1
			}
			_ = enc.Encode(map[string]any{"id": fmt.Sprintf("it%d:%d", it, i), "text": fmt.Sprintf("%s (#%d)", text, i), "rating": rating,
				"rating_max": 5, "author": fmt.Sprintf("guest %d-%d", it, i), "lang": "en", "location": fmt.Sprintf("L%d", i%10)})
		}
		if err := os.WriteFile(filepath.Join(r.inbox, fmt.Sprintf("export-%05d.jsonl", it)), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	pass := func(r rig, alerting bool) time.Duration {
		start := time.Now()
		run := r.s.p.Collect(ctx, &r.s.p.Config.Sources[0])
		if run.Status != "ok" || run.New != perPass {
			b.Fatalf("pass: %+v", run)
		}
		if err := r.s.w.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		if alerting {
			before := accepted.Load()
			if err := r.s.d.Round(ctx, true); err != nil {
				b.Fatal(err)
			}
			if got := accepted.Load() - before; got != negatives {
				b.Fatalf("alerting pass: %d cases accepted, want %d", got, negatives)
			}
		}
		return time.Since(start)
	}
	var tOff, tOn time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		write(off, i)
		write(on, i)
		b.StartTimer()
		tOff += pass(off, false)
		tOn += pass(on, true)
	}
	b.StopTimer()
	b.ReportMetric(float64(tOff.Milliseconds())/float64(b.N), "off-ms/pass")
	b.ReportMetric(float64(tOn.Milliseconds())/float64(b.N), "on-ms/pass")
	b.ReportMetric(float64(tOn)/float64(tOff), "on/off")
	b.ReportMetric(float64(perPass*b.N)/tOn.Seconds(), "mentions/s-on")
}
