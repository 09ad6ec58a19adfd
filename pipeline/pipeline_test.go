package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

// fakeStore keeps everything in memory.
type fakeStore struct {
	mu       sync.Mutex
	stored   map[string]bool
	state    map[string]string
	runs     []storage.Run
	ratings  []mention.ItemRating
	seenErr  error
	stateErr error
}

func newStore() *fakeStore { return &fakeStore{stored: map[string]bool{}, state: map[string]string{}} }

func (f *fakeStore) Seen(_ context.Context, ids []string) (map[string]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seenErr != nil {
		return nil, f.seenErr
	}
	out := map[string]bool{}
	for _, id := range ids {
		if f.stored[id] {
			out[id] = true
		}
	}
	return out, nil
}

func (f *fakeStore) LoadState(_ context.Context, source string) (storage.SourceState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return storage.SourceState{Source: source, Cursor: f.state[source]}, f.stateErr
}

func (f *fakeStore) SaveState(_ context.Context, st storage.SourceState) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[st.Source] = st.Cursor
	return nil
}

func (f *fakeStore) InsertRatings(_ context.Context, rs []mention.ItemRating) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ratings = append(f.ratings, rs...)
	return nil
}

func (f *fakeStore) RecordRun(_ context.Context, r storage.Run) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, r)
	return nil
}

// fakeWriter stores into the fake store, or fails.
type fakeWriter struct {
	s    *fakeStore
	fail error
	n    int
}

func (w *fakeWriter) Add(_ context.Context, ms ...mention.Mention) error {
	if w.fail != nil {
		return w.fail
	}
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	for _, m := range ms {
		w.s.stored[m.ID] = true
		w.n++
	}
	return nil
}
func (w *fakeWriter) Flush(context.Context) error { return w.fail }

// scripted is a collector that emits fixed mentions, errors or a failure.
type scripted struct {
	items   []string // texts; "!" prefix reports a per-item error instead
	fail    error
	next    string
	gotCurs *string
}

func (s *scripted) Collect(ctx context.Context, cursor string, sink collectors.Sink) (string, error) {
	if s.gotCurs != nil {
		*s.gotCurs = cursor
	}
	for _, it := range s.items {
		if it[0] == '!' {
			sink.AddError(errors.New(it[1:]))
			continue
		}
		if err := sink.Add(ctx, mention.Mention{ID: "t:" + it, Text: it}); err != nil {
			return cursor, err
		}
	}
	return s.next, s.fail
}

func setup(kinds map[string]*scripted) (*Pipeline, *fakeStore, *fakeWriter) {
	reg := collectors.Registry{}
	cfg := &config.Config{Brands: []config.Brand{{Name: "B"}}, Collect: config.Collect{Concurrency: 2}}
	for name, sc := range kinds {
		reg[name] = collectors.Kind{New: func(collectors.Env) (collectors.Collector, error) { return sc, nil }}
		cfg.Sources = append(cfg.Sources, config.Source{Name: name, Kind: name, Brand: "B", Location: "L"})
	}
	st := newStore()
	w := &fakeWriter{s: st}
	return &Pipeline{Config: cfg, Registry: reg, Store: st, Writer: w, ChunkSize: 2,
		Now: func() time.Time { return time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) }}, st, w
}

func TestFailingSourceDoesNotStopOthers(t *testing.T) {
	p, st, _ := setup(map[string]*scripted{
		"good":    {items: []string{"a", "b", "c"}, next: "c1"},
		"partial": {items: []string{"d", "!page 2: HTTP 503", "e"}, next: "c2"},
		"broken":  {fail: errors.New("dns: no such host")},
	})
	srcs, err := p.Sources("", Shard{})
	if err != nil {
		t.Fatal(err)
	}
	runs := p.CollectAll(context.Background(), srcs)
	got := map[string]storage.Run{}
	for _, r := range runs {
		got[r.Source] = r
	}
	if r := got["good"]; r.Status != "ok" || r.New != 3 || r.Fetched != 3 {
		t.Errorf("good: %+v", r)
	}
	if r := got["partial"]; r.Status != "partial" || r.New != 2 || r.Errors != 1 || r.LastError != "page 2: HTTP 503" {
		t.Errorf("partial: %+v", r)
	}
	if r := got["broken"]; r.Status != "failed" || r.LastError == "" {
		t.Errorf("broken: %+v", r)
	}
	if len(st.runs) != 3 {
		t.Errorf("recorded %d runs, want 3", len(st.runs))
	}
	if st.state["good"] != "c1" || st.state["partial"] != "c2" || st.state["broken"] != "" {
		t.Errorf("cursors = %v: want advanced for good and partial only", st.state)
	}
}

func TestSecondPassAddsNothing(t *testing.T) {
	var cursor string
	sc := &scripted{items: []string{"a", "b", "a", "c", "d", "e"}, next: "n1", gotCurs: &cursor}
	p, _, w := setup(map[string]*scripted{"s": sc})
	src := &p.Config.Sources[0]
	r1 := p.Collect(context.Background(), src)
	r2 := p.Collect(context.Background(), src)
	if r1.New != 5 || r1.Fetched != 6 || r2.New != 0 || w.n != 5 {
		t.Errorf("first %+v second %+v writes %d; want 5 new then 0", r1, r2, w.n)
	}
	if cursor != "n1" {
		t.Errorf("second pass got cursor %q, want n1", cursor)
	}
}

func TestStoreFailureKeepsCursor(t *testing.T) {
	p, st, w := setup(map[string]*scripted{"s": {items: []string{"a", "b", "c"}, next: "n1"}})
	w.fail = errors.New("refused")
	r := p.Collect(context.Background(), &p.Config.Sources[0])
	if r.Status != "failed" || st.state["s"] != "" {
		t.Errorf("run %+v cursor %q: a failed store must not advance the cursor", r, st.state["s"])
	}
}

func TestDedupUnavailableTreatsAsNew(t *testing.T) {
	p, st, w := setup(map[string]*scripted{"s": {items: []string{"a", "b"}}})
	st.seenErr = errors.New("connection refused")
	r := p.Collect(context.Background(), &p.Config.Sources[0])
	if r.Status != "ok" || w.n != 2 {
		t.Errorf("run %+v, %d written", r, w.n)
	}
}

func TestMentionsGetSourceDefaults(t *testing.T) {
	p, _, _ := setup(map[string]*scripted{"s": {items: []string{"a"}}})
	var got []mention.Mention
	p.Scorer = scorerFunc(func(ms []mention.Mention) { got = append(got, ms...) })
	p.Collect(context.Background(), &p.Config.Sources[0])
	if len(got) != 1 || got[0].Brand != "B" || got[0].Location != "L" || got[0].Source != "s" {
		t.Errorf("scored %+v", got)
	}
}

type scorerFunc func([]mention.Mention)

func (f scorerFunc) Score(_ context.Context, ms []mention.Mention) error { f(ms); return nil }

func TestShards(t *testing.T) {
	counts := make([]int, 3)
	for i := 0; i < 300; i++ {
		owners := 0
		for s := 0; s < 3; s++ {
			if (Shard{Index: s, Count: 3}).Owns(fmt.Sprint("source-", i)) {
				owners++
				counts[s]++
			}
		}
		if owners != 1 {
			t.Fatalf("source-%d has %d owners", i, owners)
		}
	}
	for s, n := range counts {
		if n < 60 {
			t.Errorf("shard %d owns only %d of 300", s, n)
		}
	}
	for _, bad := range []string{"3/3", "x", "1/0", "-1/2"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q): no error", bad)
		}
	}
}

// pusher emits its items with checkpoints, then waits for the end.
type pusher struct{ items []string }

func (p *pusher) Collect(context.Context, string, collectors.Sink) (string, error) { return "", nil }

func (p *pusher) Stream(ctx context.Context, cursor string, sink collectors.Sink, checkpoint func(string)) error {
	for i, it := range p.items {
		if err := sink.Add(ctx, mention.Mention{ID: "p:" + it, Text: it}); err != nil {
			return err
		}
		checkpoint(fmt.Sprint(i + 1))
	}
	<-ctx.Done()
	return ctx.Err()
}

func TestStreamFlushesPromptlyAndSavesCursor(t *testing.T) {
	st := newStore()
	w := &fakeWriter{s: st}
	push := &pusher{items: []string{"a", "b", "c"}}
	cfg := &config.Config{Sources: []config.Source{{Name: "live", Kind: "push", Brand: "B"}}}
	p := &Pipeline{Config: cfg, Store: st, Writer: w, ChunkSize: 500, FlushEvery: 10 * time.Millisecond, RunWindow: time.Hour,
		Registry: collectors.Registry{"push": {New: func(collectors.Env) (collectors.Collector, error) { return push, nil }}}}
	src := &cfg.Sources[0]
	if !p.IsStream(src) {
		t.Fatal("IsStream = false for a Streamer")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Stream(ctx, src) }()
	// Far fewer than a chunk: only the timer can flush them.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st.mu.Lock()
		n, cur := len(st.stored), st.state["live"]
		st.mu.Unlock()
		if n == 3 && cur == "3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5s: %d stored, cursor %q", n, cur)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Stream: %v", err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.runs) != 1 || st.runs[0].New != 3 || st.runs[0].Status != "ok" {
		t.Errorf("runs %+v", st.runs)
	}
}
