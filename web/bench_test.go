package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/internal/benchdata"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chtest"
)

// BenchmarkInboxPages measures the server time of the inbox's first page
// and of the trends page (28 days) with 1 M mentions (10% negative, so
// about 100,000 cases, a third acknowledged, a third resolved) in
// ClickHouse. EARSHOT_BENCH_MENTIONS changes the size. Reported: p50 and
// p95 in ms of each (targets: p95 under 300 ms and 800 ms).
func BenchmarkInboxPages(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("EARSHOT_BENCH_MENTIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	db := chtest.New(b)
	ctx := context.Background()
	st, err := storage.Open(ctx, db.DSN, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	end := time.Now().UTC()
	opts := benchdata.Options{N: n, Seed: 12, NegativeShare: 0.1, Start: end.AddDate(-1, 0, 0), End: end}
	batch := make([]mention.Mention, 0, 50000)
	flush := func() error {
		if err := st.InsertMentions(ctx, batch); err != nil {
			return err
		}
		batch = batch[:0]
		return nil
	}
	if err := benchdata.Mentions(opts, func(m *mention.Mention) error {
		batch = append(batch, *m)
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if err := flush(); err != nil {
		b.Fatal(err)
	}
	// Open every queued case as the dispatcher would, then work a third
	// and resolve a third of them.
	for _, q := range []string{
		`INSERT INTO case_events (event_id, case_id, mention_id, at, event, state, actor, receiver, step, outcome, note, brand, location, severity)
		 SELECT concat(case_id, ':opened'), case_id, any(mention_id), min(opened_at) - 86400 * (cityHash64(case_id) % 300), 'opened', 'open', '', '', 0, '', '', any(brand), any(location), max(severity)
		 FROM case_queue GROUP BY case_id`,
		`INSERT INTO case_events (event_id, case_id, mention_id, at, event, state, actor, receiver, step, outcome, note, brand, location, severity)
		 SELECT concat(case_id, ':acknowledged'), case_id, mention_id, at + 3600, 'acknowledged', 'acknowledged', 'bench', '', 0, '', '', brand, location, severity
		 FROM case_events WHERE event = 'opened' AND cityHash64(case_id) % 3 = 1`,
		`INSERT INTO case_events (event_id, case_id, mention_id, at, event, state, actor, receiver, step, outcome, note, brand, location, severity)
		 SELECT concat(case_id, ':resolved'), case_id, mention_id, at + 7200, 'resolved', 'resolved', 'bench', '', 0, 'replied_publicly', '', brand, location, severity
		 FROM case_events WHERE event = 'opened' AND cityHash64(case_id) % 3 = 2`,
		`OPTIMIZE TABLE case_state FINAL`,
		`OPTIMIZE TABLE case_inbox FINAL`,
	} {
		if err := db.Conn.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	cases := db.Count(b, "SELECT uniqExact(case_id) FROM case_state")
	b.Logf("%d mentions, %d cases", n, cases)
	cfg, err := config.Parse("bench.yaml", []byte("brands: [{name: Sunrise Hotels, keywords: [sunrise]}]\n"), config.Schema{})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Options{Store: st, Config: cfg, Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	serve := func(path string) time.Duration {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		w := httptest.NewRecorder()
		start := time.Now()
		srv.ServeHTTP(w, req)
		d := time.Since(start)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, w.Code, w.Body.String())
		}
		return d
	}
	var inbox, trends []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		inbox = append(inbox, serve("/cases"))
		trends = append(trends, serve("/trends?days=28"))
	}
	b.StopTimer()
	for _, m := range []struct {
		name string
		ds   []time.Duration
	}{{"inbox", inbox}, {"trends", trends}} {
		slices.Sort(m.ds)
		p := func(q float64) float64 {
			return float64(m.ds[min(len(m.ds)-1, int(q*float64(len(m.ds))))].Microseconds()) / 1000
		}
		b.ReportMetric(p(0.5), m.name+"_p50_ms")
		b.ReportMetric(p(0.95), m.name+"_p95_ms")
	}
	b.ReportMetric(float64(cases), "cases")
}
