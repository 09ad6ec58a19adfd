package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/pipeline"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chtest"
)

// chProxy stands between a store and the shared ClickHouse server, so a
// test can take "the server" away (connections cut, port closed) and
// bring it back without touching the server other tests use.
type chProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newCHProxy(t *testing.T, target string) *chProxy {
	t.Helper()
	p := &chProxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.kill)
	return p
}

func (p *chProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// kill closes the port and cuts every connection: the server is gone.
func (p *chProxy) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restart listens on the same address again: the server is back.
func (p *chProxy) restart(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(ln)
}

// failingKind is a source kind whose passes fail while fail is set.
type failingKind struct {
	mu   sync.Mutex
	fail bool
}

func (f *failingKind) Collect(ctx context.Context, cursor string, sink collectors.Sink) (string, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return cursor, errors.New("GET https://reviews.example/: dial tcp: lookup reviews.example: no such host")
	}
	return cursor, sink.Add(ctx, mention.Mention{ID: "ok:" + strconv.Itoa(int(time.Now().UnixNano())), Text: "fine"})
}

// readyStack is the part of run's stack the readiness handler reads: the
// store, the spool and a pipeline with one source, "broken".
func readyStack(t *testing.T, st *storage.Store, kind *failingKind) *stack {
	t.Helper()
	sp, err := storage.OpenSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := storage.NewWriter(st, storage.WriterOptions{FlushInterval: time.Hour})
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	cfg := &config.Config{Brands: []config.Brand{{Name: "B"}}, Sources: []config.Source{{Name: "broken", Kind: "flaky", Brand: "B"}}}
	p := &pipeline.Pipeline{Config: cfg, Store: st, Writer: w, StateDir: t.TempDir(),
		Registry: collectors.Registry{"flaky": {New: func(collectors.Env) (collectors.Collector, error) { return kind, nil }}}}
	return &stack{p: p, st: st, w: w, spool: sp, stateDir: p.StateDir}
}

type readyAnswer struct {
	code        int
	Ready       bool     `json:"ready"`
	Reasons     []string `json:"reasons"`
	Dispatching bool     `json:"dispatching"`
}

func askReady(t *testing.T, h http.Handler) readyAnswer {
	t.Helper()
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("/readyz took %v", took)
	}
	var a readyAnswer
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("/readyz body %q: %v", rec.Body.String(), err)
	}
	a.code = rec.Code
	return a
}

func hasReason(a readyAnswer, prefix string) bool {
	for _, r := range a.Reasons {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}

// TestReadiness: /readyz answers 200 {"ready": true} while the daemon can
// work, and 503 with the reasons when ClickHouse does not answer, the spool
// holds batches, or a source failed its last 3 passes.
func TestReadiness(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, s *stack, k *failingKind, cut func())
		code  int
		want  string // reason prefix; "" = ready
	}{
		{"ready", func(*testing.T, *stack, *failingKind, func()) {}, http.StatusOK, ""},
		{"clickhouse gone", func(_ *testing.T, _ *stack, _ *failingKind, cut func()) { cut() }, http.StatusServiceUnavailable, "clickhouse unreachable: "},
		{"two failed passes", func(t *testing.T, s *stack, k *failingKind, _ func()) {
			k.fail = true
			for range 2 {
				s.p.Collect(ctx, &s.p.Config.Sources[0])
			}
		}, http.StatusOK, ""},
		{"three failed passes", func(t *testing.T, s *stack, k *failingKind, _ func()) {
			k.fail = true
			for range 3 {
				s.p.Collect(ctx, &s.p.Config.Sources[0])
			}
		}, http.StatusServiceUnavailable, "source broken failed its last 3 passes"},
		{"three failed passes, then one ok", func(t *testing.T, s *stack, k *failingKind, _ func()) {
			k.fail = true
			for range 3 {
				s.p.Collect(ctx, &s.p.Config.Sources[0])
			}
			k.fail = false
			if r := s.p.Collect(ctx, &s.p.Config.Sources[0]); r.Status != "ok" {
				t.Fatalf("pass %+v", r)
			}
		}, http.StatusOK, ""},
		{"spool holds a batch", func(t *testing.T, s *stack, _ *failingKind, _ func()) {
			if _, err := s.spool.Write([]mention.Mention{{ID: "sp:1", Text: "waiting"}}); err != nil {
				t.Fatal(err)
			}
		}, http.StatusServiceUnavailable, "spool holds 1 batches"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := chtest.New(t)
			proxy := newCHProxy(t, db.Srv.Addr())
			st, err := storage.Open(ctx, "clickhouse://"+proxy.addr+"/"+db.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			kind := &failingKind{}
			s := readyStack(t, st, kind)
			h := readiness(s)
			tt.setup(t, s, kind, proxy.kill)
			a := askReady(t, h)
			if a.code != tt.code || a.Ready != (tt.want == "") || tt.want != "" && !hasReason(a, tt.want) || tt.want == "" && len(a.Reasons) != 0 {
				t.Errorf("/readyz = %d %+v; want %d with reason %q", a.code, a, tt.code, tt.want)
			}
			if a.Reasons == nil {
				t.Error(`"reasons" is null, want a list`)
			}
		})
	}
}

// TestReadinessRecovers: the same handler turns ready again once
// ClickHouse is back, and reports whether this process dispatches.
func TestReadinessRecovers(t *testing.T) {
	ctx := context.Background()
	db := chtest.New(t)
	proxy := newCHProxy(t, db.Srv.Addr())
	st, err := storage.Open(ctx, "clickhouse://"+proxy.addr+"/"+db.Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := readyStack(t, st, &failingKind{})
	s.dispatching.Store(true)
	h := readiness(s)
	if a := askReady(t, h); a.code != http.StatusOK || !a.Ready || !a.Dispatching {
		t.Fatalf("before: %+v", a)
	}
	proxy.kill()
	if a := askReady(t, h); a.code != http.StatusServiceUnavailable || !hasReason(a, "clickhouse unreachable") {
		t.Errorf("server gone: %+v", a)
	}
	proxy.restart(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		a := askReady(t, h)
		if a.code == http.StatusOK && a.Ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not ready 5s after the server came back: %+v", a)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrape reads /metrics into series -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", res.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// sum adds the series of one metric whose labels contain all of with.
func sum(series map[string]float64, name string, with ...string) float64 {
	total := 0.0
	for k, v := range series {
		if k != name && !strings.HasPrefix(k, name+"{") {
			continue
		}
		ok := true
		for _, w := range with {
			ok = ok && strings.Contains(k, w)
		}
		if ok {
			total += v
		}
	}
	return total
}

// TestMetricsAfterRunOnce: wired as `run --once` wires them (one
// metrics.Metrics for the pipeline, the writer and the dispatcher, served
// on /metrics), a pass over the example's demo sources shows up as passes,
// mentions, writer rows, cases and alerts.
func TestMetricsAfterRunOnce(t *testing.T) {
	db := chtest.New(t)
	a := &app{registry: registry(), stdout: io.Discard, stderr: io.Discard, configPath: testConfig(t, db), logLevel: "error", logFormat: "text"}
	if err := a.setupLogging(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m := metrics.New()
	stk, err := a.waitForPipeline(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	defer stk.close()
	if _, err := stk.p.RecoverInterrupted(ctx); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/readyz", readiness(stk))
	mux.Handle("/metrics", m.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	before := scrape(t, srv.URL+"/metrics")
	if _, ok := before[`earshot_dispatcher_active`]; !ok {
		t.Errorf("/metrics lacks earshot_dispatcher_active before any pass")
	}
	sources, err := stk.p.Sources("", pipeline.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range stk.p.CollectAll(ctx, sources) {
		if r.Status != "ok" {
			t.Errorf("pass %+v", r)
		}
	}
	if err := stk.w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.dispatchOnce(ctx, stk, "run --once", time.Minute); err != nil {
		t.Fatal(err)
	}

	got := scrape(t, srv.URL+"/metrics")
	for _, s := range sources {
		if v := got[`earshot_collect_passes_total{source="`+s.Name+`",status="ok"}`]; v != 1 {
			t.Errorf("earshot_collect_passes_total for %s ok = %v, want 1", s.Name, v)
		}
		if v := sum(got, "earshot_collect_pass_seconds_count", `source="`+s.Name+`"`); v != 1 {
			t.Errorf("pass duration observations for %s = %v, want 1", s.Name, v)
		}
	}
	checks := []struct {
		name string
		with []string
		want float64
	}{
		{"earshot_collect_passes_total", nil, float64(len(sources))},
		{"earshot_mentions_fetched_total", nil, 12},
		{"earshot_mentions_new_total", nil, 12},
		{"earshot_mentions_negative_total", nil, 7},
		{"earshot_collect_errors_total", nil, 0},
		{"earshot_writer_rows_total", []string{`outcome="written"`}, 12},
		{"earshot_writer_rows_total", []string{`outcome="spooled"`}, 0},
		{"earshot_cases_opened_total", nil, 7},
		{"earshot_alerts_total", []string{`receiver="outbox"`, `outcome="sent"`}, 5},
		{"earshot_alerts_possible_duplicates_total", nil, 0},
		{"earshot_alert_accept_latency_seconds_count", []string{`receiver="outbox"`}, 7},
		{"earshot_query_seconds_count", []string{`query="pending_notifications"`}, 1},
	}
	for _, c := range checks {
		if v := sum(got, c.name, c.with...); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.with, v, c.want)
		}
	}
	res, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/readyz after the pass: %s", res.Status)
	}
}
