package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/scoring"
	"github.com/earshot/earshot/storage"
)

// ---- scoring without history: store now, rescore later ----

// rowWriter stores whole mentions, newest version per id, and reads them
// back (the pipeline's RescoreStore).
type rowWriter struct {
	s    *fakeStore
	mu   sync.Mutex
	rows map[string]mention.Mention
}

func newRowWriter(s *fakeStore) *rowWriter {
	return &rowWriter{s: s, rows: map[string]mention.Mention{}}
}

func (w *rowWriter) Add(_ context.Context, ms ...mention.Mention) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	for _, m := range ms {
		if old, ok := w.rows[m.ID]; !ok || m.Version >= old.Version {
			w.rows[m.ID] = m
		}
		w.s.stored[m.ID] = true
	}
	return nil
}

func (w *rowWriter) Flush(context.Context) error { return nil }

func (w *rowWriter) Mentions(_ context.Context, ids []string) (map[string]mention.Mention, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]mention.Mention{}
	for _, id := range ids {
		if m, ok := w.rows[id]; ok {
			out[id] = m
		}
	}
	return out, nil
}

func (w *rowWriter) row(id string) mention.Mention {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rows[id]
}

// switchHistory is the repeat-complaint history: down, or counting prior
// negatives per brand/author.
type switchHistory struct {
	mu    sync.Mutex
	down  bool
	prior map[string]int // brand/author -> earlier negatives
}

func (h *switchHistory) PriorNegatives(_ context.Context, brand string, authors []string, _ time.Time) (map[string]int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		return nil, errors.New("clickhouse: connection refused")
	}
	out := map[string]int{}
	for _, a := range authors {
		if n := h.prior[brand+"/"+a]; n > 0 {
			out[a] = n
		}
	}
	return out, nil
}

func (h *switchHistory) set(down bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down = down
}

// deferErr is a scorer's "scored these without history" error.
type deferErr struct{ ids []string }

func (e deferErr) Error() string {
	return fmt.Sprintf("history unavailable for %d mentions", len(e.ids))
}
func (e deferErr) DeferredIDs() []string { return e.ids }

// deferScorer defers the mentions of one author (wrapping its error, as a
// caller might), and rescores by bumping the version.
type deferScorer struct {
	author string
	down   bool
}

func (d *deferScorer) Score(_ context.Context, ms []mention.Mention) error {
	var ids []string
	for i := range ms {
		ms[i].Negative, ms[i].Severity = true, "low"
		if ms[i].Author == d.author {
			ms[i].ScorerVersion = "fake+nohistory"
			ids = append(ids, ms[i].ID)
		}
	}
	return fmt.Errorf("score batch: %w", deferErr{ids})
}

func (d *deferScorer) Rescore(_ context.Context, ms []mention.Mention) ([]mention.Mention, error) {
	if d.down {
		return nil, errors.New("still down")
	}
	out := slices.Clone(ms)
	for i := range out {
		out[i].ScorerVersion = "fake"
		out[i].Version++
	}
	return out, nil
}

// listed collects fixed mentions.
type listed struct{ ms []mention.Mention }

func (l *listed) Collect(ctx context.Context, _ string, sink collectors.Sink) (string, error) {
	for _, m := range l.ms {
		if err := sink.Add(ctx, m); err != nil {
			return "", err
		}
	}
	return "next", nil
}

func rescoreList(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "rescore.ids"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ids = append(ids, l)
		}
	}
	return ids
}

func reviewPipeline(t *testing.T, sc Scorer, ms ...mention.Mention) (*Pipeline, *fakeStore, *rowWriter) {
	st := newStore()
	w := newRowWriter(st)
	cfg := &config.Config{Brands: []config.Brand{{Name: "B"}}, Sources: []config.Source{{Name: "rev", Kind: "rev", Brand: "B"}}}
	p := &Pipeline{Config: cfg, Store: st, Writer: w, Scorer: sc, StateDir: t.TempDir(), ChunkSize: 2,
		Registry: collectors.Registry{"rev": {New: func(collectors.Env) (collectors.Collector, error) { return &listed{ms: ms}, nil }}},
		Now:      func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }}
	return p, st, w
}

// TestScoringWithoutHistoryStoresAndRescores: a scorer that could not
// check authors' histories never stops storing: the pass stores everything,
// the deferred ids go to StateDir/rescore.ids, and Rescore stores the
// rescored versions and empties the list (keeping it while the history is
// still down, and keeping ids not stored yet).
func TestScoringWithoutHistoryStoresAndRescores(t *testing.T) {
	reviews := []mention.Mention{
		{ID: "r:1", Author: "ann", Text: "Rude staff and a filthy room, awful stay."},
		{ID: "r:2", Author: "bob", Text: "Terrible service, the worst hotel ever."},
		{ID: "r:3", Author: "cid", Text: "Lovely stay, great breakfast, friendly staff."},
		{ID: "r:4", Text: "Awful, dirty and rude."}, // no author: no history to check
	}
	hist := &switchHistory{prior: map[string]int{"B/ann": 2}}
	real, err := scoring.New(scoring.Options{Languages: []string{"en"}, History: hist,
		Now: func() time.Time { return time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		scorer   Scorer
		down     func(bool) // history down or up
		deferred []string
		check    func(t *testing.T, m mention.Mention) // a rescored mention
	}{
		{
			name: "scoring.Scorer, HistoryError", scorer: real, down: hist.set, deferred: []string{"r:1", "r:2"},
			check: func(t *testing.T, m mention.Mention) {
				if m.ScorerVersion != scoring.Version || slices.ContainsFunc(m.Reasons, func(r string) bool { return strings.Contains(r, "history unavailable") }) {
					t.Errorf("%s after rescore: version %q reasons %q", m.ID, m.ScorerVersion, m.Reasons)
				}
				if got, want := slices.Contains(m.Signals, "repeat_customer"), m.Author == "ann"; got != want {
					t.Errorf("%s (%s): repeat_customer %v, want %v", m.ID, m.Author, got, want)
				}
			},
		},
		{
			name: "another scorer, wrapped DeferredIDs error", down: nil, deferred: []string{"r:2"},
			scorer: &deferScorer{author: "bob"},
			check: func(t *testing.T, m mention.Mention) {
				if m.ScorerVersion != "fake" {
					t.Errorf("%s after rescore: version %q", m.ID, m.ScorerVersion)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			setDown := tt.down
			if setDown == nil {
				ds := tt.scorer.(*deferScorer)
				setDown = func(d bool) { ds.down = d }
			}
			setDown(true)
			p, st, w := reviewPipeline(t, tt.scorer, reviews...)
			run := p.Collect(ctx, &p.Config.Sources[0])
			if run.Status != "ok" || run.New != 4 {
				t.Fatalf("run %+v: scoring without history must not stop storing", run)
			}
			if len(st.stored) != 4 || st.state["rev"] != "next" {
				t.Fatalf("stored %v, cursor %q: want all 4 and the cursor moved", st.stored, st.state["rev"])
			}
			if got := rescoreList(t, p.StateDir); !slices.Equal(got, tt.deferred) {
				t.Fatalf("rescore list %q, want %q", got, tt.deferred)
			}
			before := map[string]uint64{}
			for _, id := range tt.deferred {
				before[id] = w.row(id).Version
			}

			// Still down: nothing rescored, the list stays.
			if n, err := p.Rescore(ctx, w); err == nil || n != 0 {
				t.Errorf("Rescore with the history down = %d, %v; want an error", n, err)
			}
			if got := rescoreList(t, p.StateDir); !slices.Equal(got, tt.deferred) {
				t.Errorf("after a failed rescore the list is %q, want %q", got, tt.deferred)
			}

			// A mention still in the spool (not readable yet) stays listed.
			p.DeferRescore([]string{"spooled:9"}, p.log())
			setDown(false)
			n, err := p.Rescore(ctx, w)
			if err != nil || n != len(tt.deferred) {
				t.Fatalf("Rescore = %d, %v; want %d", n, err, len(tt.deferred))
			}
			for _, id := range tt.deferred {
				m := w.row(id)
				if m.Version <= before[id] {
					t.Errorf("%s: version %d not above %d: the rescored row would not replace the stored one", id, m.Version, before[id])
				}
				tt.check(t, m)
			}
			if got := rescoreList(t, p.StateDir); !slices.Equal(got, []string{"spooled:9"}) {
				t.Errorf("after rescoring the list is %q, want only the unstored spooled:9", got)
			}
		})
	}
}

// errScorer fails with err after scoring every mention negative.
type errScorer struct{ err error }

func (e errScorer) Score(_ context.Context, ms []mention.Mention) error {
	for i := range ms {
		ms[i].Negative = true
	}
	return e.err
}

// TestScorerErrorsNeverStopStoring: whatever a scorer returns, the pass
// stores its mentions and moves on; only deferred ids are listed.
func TestScorerErrorsNeverStopStoring(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		listed []string
	}{
		{"no error", nil, nil},
		{"plain error", errors.New("lexicon glitch"), nil},
		{"deferred ids", deferErr{[]string{"r:2"}}, []string{"r:2"}},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", deferErr{[]string{"r:1", "r:2"}})), []string{"r:1", "r:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, st, w := reviewPipeline(t, errScorer{tt.err},
				mention.Mention{ID: "r:1", Author: "ann", Text: "Rude."}, mention.Mention{ID: "r:2", Author: "bob", Text: "Dirty."},
				mention.Mention{ID: "r:3", Author: "cid", Text: "Cold."})
			p.ChunkSize = 10 // one batch: the fake reports the same ids for any batch
			run := p.Collect(context.Background(), &p.Config.Sources[0])
			if run.Status != "ok" || run.New != 3 || len(st.stored) != 3 || !w.row("r:3").Negative {
				t.Errorf("run %+v, stored %v", run, st.stored)
			}
			if got := rescoreList(t, p.StateDir); !slices.Equal(got, tt.listed) {
				t.Errorf("rescore list %q, want %q", got, tt.listed)
			}
		})
	}
}

// blockingRescorer holds Rescore until released.
type blockingRescorer struct {
	deferScorer
	entered chan struct{}
	release chan struct{}
}

func (b *blockingRescorer) Rescore(ctx context.Context, ms []mention.Mention) ([]mention.Mention, error) {
	close(b.entered)
	<-b.release
	return b.deferScorer.Rescore(ctx, ms)
}

// TestRescoreKeepsIDsDeferredMeanwhile: another process on the machine
// (an import, a one-shot collect) shares the state directory; ids it adds
// to the rescore list while a rescore runs must survive that rescore.
func TestRescoreKeepsIDsDeferredMeanwhile(t *testing.T) {
	ctx := context.Background()
	br := &blockingRescorer{deferScorer: deferScorer{author: "ann"}, entered: make(chan struct{}), release: make(chan struct{})}
	p, _, w := reviewPipeline(t, br, mention.Mention{ID: "r:1", Author: "ann", Text: "Rude staff."})
	if run := p.Collect(ctx, &p.Config.Sources[0]); run.Status != "ok" {
		t.Fatalf("run %+v", run)
	}
	other := &Pipeline{StateDir: p.StateDir} // the other process
	done := make(chan error, 1)
	go func() { _, err := p.Rescore(ctx, w); done <- err }()
	select {
	case <-br.entered:
	case err := <-done:
		t.Fatalf("Rescore ended (%v) without rescoring r:1; list %q", err, rescoreList(t, p.StateDir))
	case <-time.After(5 * time.Second):
		t.Fatal("Rescore did not start")
	}
	other.DeferRescore([]string{"late:1"}, other.log())
	close(br.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := rescoreList(t, p.StateDir); !slices.Equal(got, []string{"late:1"}) {
		t.Errorf("rescore list %q after the rescore, want [late:1]: an id deferred meanwhile was lost", got)
	}
}

// ---- the run journal ----

// hang is a collector that signals it started, then blocks until released
// (or its context ends).
type hang struct {
	started chan struct{}
	release chan struct{}
}

func (h *hang) Collect(ctx context.Context, cursor string, _ collectors.Sink) (string, error) {
	close(h.started)
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	return cursor, nil
}

func hangPipeline(dir string, h collectors.Collector, st Store) (*Pipeline, *config.Source) {
	cfg := &config.Config{Sources: []config.Source{{Name: "slow", Kind: "hang", Brand: "B"}}}
	p := &Pipeline{Config: cfg, Store: st, Writer: &fakeWriter{s: newStore()}, StateDir: dir, Worker: "w1",
		Registry: collectors.Registry{"hang": {New: func(collectors.Env) (collectors.Collector, error) { return h, nil }}},
		Now:      func() time.Time { return time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) }}
	return p, &cfg.Sources[0]
}

func journalFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "runs", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestRecoverInterruptedSkipsLivePass: a pass in flight (its journal
// locked) is not taken for a killed one by another pipeline on the
// machine, and a finished pass leaves nothing to recover.
func TestRecoverInterruptedSkipsLivePass(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	h := &hang{started: make(chan struct{}), release: make(chan struct{})}
	p1, src := hangPipeline(dir, h, newStore())
	done := make(chan storage.Run, 1)
	go func() { done <- p1.Collect(ctx, src) }()
	<-h.started
	if files := journalFiles(t, dir); len(files) != 1 {
		t.Fatalf("journal of the running pass: %v, want one file", files)
	}
	other := newStore()
	p2, _ := hangPipeline(dir, nil, other)
	n, err := p2.RecoverInterrupted(ctx)
	if err != nil || n != 0 || len(other.runs) != 0 {
		t.Errorf("RecoverInterrupted during a live pass = %d, %v, runs %+v; want nothing recorded", n, err, other.runs)
	}
	if files := journalFiles(t, dir); len(files) != 1 {
		t.Errorf("the live pass's journal is gone: %v", files)
	}
	close(h.release)
	if run := <-done; run.Status != "ok" {
		t.Errorf("pass %+v", run)
	}
	if files := journalFiles(t, dir); len(files) != 0 {
		t.Errorf("a finished pass left its journal: %v", files)
	}
	if n, err := p2.RecoverInterrupted(ctx); err != nil || n != 0 || len(other.runs) != 0 {
		t.Errorf("RecoverInterrupted after the pass ended = %d, %v, runs %+v", n, err, other.runs)
	}
}

const helperEnv = "GO_WANT_HELPER_PROCESS"

// TestJournalHelperProcess is not a test: it is the "earshot process" that
// TestRecoverInterruptedAfterKill starts and kills mid-pass.
func TestJournalHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	h := &hang{started: make(chan struct{}), release: make(chan struct{})}
	p, src := hangPipeline(os.Getenv("EARSHOT_TEST_STATE_DIR"), h, newStore())
	go func() {
		<-h.started
		fmt.Println("pass-started")
	}()
	p.Collect(context.Background(), src) // never returns: killed
	os.Exit(3)
}

// TestRecoverInterruptedAfterKill: a pass whose process was killed with
// SIGKILL is recorded exactly once as interrupted, with what its journal
// knew; not while that process still lives.
func TestRecoverInterruptedAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	ctx := context.Background()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestJournalHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "EARSHOT_TEST_STATE_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		}
	}
	defer kill()
	started := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "pass-started" {
				started <- true
				break
			}
		}
		for sc.Scan() { // drain
		}
		started <- false
	}()
	select {
	case ok := <-started:
		if !ok {
			t.Fatal("the helper process ended before its pass started")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the helper process's pass did not start")
	}
	files := journalFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("journal of the helper's pass: %v, want one file", files)
	}
	var journaled storage.Run
	if b, err := os.ReadFile(files[0]); err != nil || json.Unmarshal(b, &journaled) != nil || journaled.ID == "" {
		t.Fatalf("journal %s: %q %v", files[0], b, err)
	}

	st := newStore()
	p, _ := hangPipeline(dir, nil, st)
	if n, err := p.RecoverInterrupted(ctx); err != nil || n != 0 || len(st.runs) != 0 {
		t.Fatalf("RecoverInterrupted while the helper lives = %d, %v, runs %+v; want nothing", n, err, st.runs)
	}

	kill()
	n, err := p.RecoverInterrupted(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RecoverInterrupted after the kill = %d, %v; want 1", n, err)
	}
	if len(st.runs) != 1 {
		t.Fatalf("recorded %+v, want one run", st.runs)
	}
	r := st.runs[0]
	if r.Status != "interrupted" || r.ID != journaled.ID || r.Source != "slow" || r.Kind != "hang" || r.Worker != "w1" ||
		!r.StartedAt.Equal(journaled.StartedAt) || r.FinishedAt.IsZero() || r.LastError == "" {
		t.Errorf("recorded %+v; want the journaled pass %+v as interrupted", r, journaled)
	}
	if n, err := p.RecoverInterrupted(ctx); err != nil || n != 0 || len(st.runs) != 1 {
		t.Errorf("second RecoverInterrupted = %d, %v, %d runs; want the pass recorded once", n, err, len(st.runs))
	}
	if files := journalFiles(t, dir); len(files) != 0 {
		t.Errorf("journal left after recovery: %v", files)
	}
}

// TestRecoverInterruptedJournalFiles: what RecoverInterrupted does with
// each kind of file an unlocked journal can hold.
func TestRecoverInterruptedJournalFiles(t *testing.T) {
	started := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	valid, _ := json.Marshal(storage.Run{ID: "r-killed", Source: "s", Kind: "demo", StartedAt: started, Worker: "w"})
	tests := []struct {
		name     string
		file     string
		body     string
		recorded bool
		kept     bool
	}{
		{"a killed pass", "r-killed.json", string(valid), true, false},
		{"killed while writing its journal", "r-empty.json", "", false, false},
		{"garbage", "r-bad.json", "{not json", false, false},
		{"not a journal", "notes.txt", "hello", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "runs"), 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "runs", tt.file)
			if err := os.WriteFile(path, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			st := newStore()
			p, _ := hangPipeline(dir, nil, st)
			n, err := p.RecoverInterrupted(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := n == 1 && len(st.runs) == 1; got != tt.recorded {
				t.Errorf("n=%d runs %+v; recorded=%v, want %v", n, st.runs, got, tt.recorded)
			}
			if tt.recorded && (st.runs[0].Status != "interrupted" || st.runs[0].ID != "r-killed" || !st.runs[0].StartedAt.Equal(started)) {
				t.Errorf("recorded %+v", st.runs[0])
			}
			if _, err := os.Stat(path); (err == nil) != tt.kept {
				t.Errorf("file kept = %v, want %v", err == nil, tt.kept)
			}
		})
	}
}

// TestFailing: a source is failing once its last 3 passes failed, and no
// longer after one succeeds; each source counts on its own.
func TestFailing(t *testing.T) {
	tests := []struct {
		name   string
		passes string // source "a", per pass: f failed, o ok
		bFails int    // source "b" fails this many passes in a row
		want   []string
	}{
		{"two failures", "ff", 2, nil},
		{"three failures", "fff", 3, []string{"a", "b"}},
		{"four failures", "ffff", 0, []string{"a"}},
		{"three failures then a success", "fffo", 3, []string{"b"}},
		{"a success resets the count", "ffoff", 1, nil},
		{"three again after a success", "fffofff", 5, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &scripted{items: []string{"x"}}
			b := &scripted{fail: errors.New("dns: no such host")}
			p, _, _ := setup(map[string]*scripted{"a": a, "b": b})
			src := map[string]*config.Source{}
			for i := range p.Config.Sources {
				src[p.Config.Sources[i].Name] = &p.Config.Sources[i]
			}
			for _, c := range tt.passes {
				a.fail = nil
				if c == 'f' {
					a.fail = errors.New("HTTP 503")
				}
				p.Collect(context.Background(), src["a"])
			}
			for range tt.bFails {
				p.Collect(context.Background(), src["b"])
			}
			if got := p.Failing(3); !slices.Equal(got, tt.want) {
				t.Errorf("Failing(3) = %v, want %v", got, tt.want)
			}
			if got := p.Failing(100); len(got) != 0 {
				t.Errorf("Failing(100) = %v", got)
			}
		})
	}
}
