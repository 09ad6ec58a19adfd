package scoring

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/mention"
)

// flakyHistory fails for the brands in down, else answers from prior
// ("brand/author" -> earlier negatives); it records the brands asked.
type flakyHistory struct {
	mu    sync.Mutex
	down  map[string]bool
	prior map[string]int
	asked []string
}

var errHistoryDown = errors.New("clickhouse: connection refused")

func (h *flakyHistory) PriorNegatives(_ context.Context, brand string, authors []string, _ time.Time) (map[string]int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.asked = append(h.asked, brand)
	if h.down[brand] {
		return nil, errHistoryDown
	}
	out := map[string]int{}
	for _, a := range authors {
		if n := h.prior[brand+"/"+a]; n > 0 {
			out[a] = n
		}
	}
	return out, nil
}

func (h *flakyHistory) setDown(brands ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down = map[string]bool{}
	for _, b := range brands {
		h.down[b] = true
	}
}

var historyNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func historyScorer(t *testing.T, h History) *Scorer {
	t.Helper()
	s, err := New(Options{Languages: []string{"en"}, History: h, Now: func() time.Time { return historyNow }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// historyBatch: negatives with authors (checked against the history), a
// negative without one, a positive, and a second brand.
func historyBatch() []mention.Mention {
	at := historyNow.Add(-time.Hour)
	ms := []mention.Mention{
		{ID: "h:ann", Brand: "Acme", Author: "ann", Text: "Rude staff and a filthy room, awful stay."},
		{ID: "h:bob1", Brand: "Acme", Author: "bob", Text: "Terrible service, the worst hotel ever."},
		{ID: "h:bob2", Brand: "Acme", Author: "bob", Text: "Still dirty tables, awful."},
		{ID: "h:anon", Brand: "Acme", Text: "Awful, dirty and rude."},
		{ID: "h:cid", Brand: "Acme", Author: "cid", Text: "Lovely stay, great breakfast, friendly staff."},
		{ID: "h:dan", Brand: "Other", Author: "dan", Text: "Rude staff, dirty tables."},
	}
	for i := range ms {
		ms[i].PublishedAt = at
		ms[i].Version = 100
	}
	return ms
}

func hasNoHistoryReason(m mention.Mention) bool {
	return slices.ContainsFunc(m.Reasons, func(r string) bool { return strings.Contains(r, "history unavailable") })
}

// TestScoreWithoutHistory: when the history lookup fails, Score still
// fills every text score, marks the flagged mentions with authors of the
// failed brand (scorer_version suffix NoHistory and a reason saying so) and
// returns a *HistoryError listing exactly those.
func TestScoreWithoutHistory(t *testing.T) {
	tests := []struct {
		name     string
		down     []string
		deferred []string
		repeat   []string // ids with repeat_customer
	}{
		{"history answers", nil, nil, []string{"h:ann", "h:bob1", "h:bob2", "h:dan"}},
		// In-batch repeats still count without the history; ann's earlier
		// complaints (only the history knows them) do not.
		{"history down", []string{"Acme", "Other"}, []string{"h:ann", "h:bob1", "h:bob2", "h:dan"}, []string{"h:bob1", "h:bob2"}},
		{"down for one brand", []string{"Acme"}, []string{"h:ann", "h:bob1", "h:bob2"}, []string{"h:bob1", "h:bob2", "h:dan"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &flakyHistory{prior: map[string]int{"Acme/ann": 2, "Other/dan": 1}}
			h.setDown(tt.down...)
			s := historyScorer(t, h)
			ms := historyBatch()
			err := s.Score(context.Background(), ms)
			var he *HistoryError
			switch {
			case tt.deferred == nil && err != nil:
				t.Fatalf("Score: %v", err)
			case tt.deferred != nil && !errors.As(err, &he):
				t.Fatalf("Score = %v (%T), want a *HistoryError", err, err)
			}
			if he != nil {
				if !slices.Equal(he.IDs, tt.deferred) || !slices.Equal(he.DeferredIDs(), tt.deferred) {
					t.Errorf("HistoryError lists %q, want %q", he.IDs, tt.deferred)
				}
				if !errors.Is(err, errHistoryDown) || !strings.Contains(err.Error(), "history unavailable") {
					t.Errorf("error %q does not say why (or does not wrap the cause)", err)
				}
			}
			for _, m := range ms {
				deferred := slices.Contains(tt.deferred, m.ID)
				if m.Lang != "en" || m.Sentiment == 0 || m.Severity == "" || len(m.Reasons) == 0 {
					t.Errorf("%s: text score missing: lang %q sentiment %v severity %q", m.ID, m.Lang, m.Sentiment, m.Severity)
				}
				if wantNeg := m.ID != "h:cid"; m.Negative != wantNeg {
					t.Errorf("%s: negative %v, want %v (%q)", m.ID, m.Negative, wantNeg, m.Reasons)
				}
				if got := m.ScorerVersion == Version+NoHistory; got != deferred {
					t.Errorf("%s: scorer_version %q, deferred %v", m.ID, m.ScorerVersion, deferred)
				}
				if !deferred && m.ScorerVersion != Version {
					t.Errorf("%s: scorer_version %q, want %q", m.ID, m.ScorerVersion, Version)
				}
				if hasNoHistoryReason(m) != deferred {
					t.Errorf("%s: reasons %q; a no-history reason iff deferred (%v)", m.ID, m.Reasons, deferred)
				}
				if got := slices.Contains(m.Signals, "repeat_customer"); got != slices.Contains(tt.repeat, m.ID) {
					t.Errorf("%s: repeat_customer %v, want %v", m.ID, got, !got)
				}
			}
		})
	}
}

// TestScoreWithoutHistoryNothingToCheck: a batch with no flagged mention
// that has an author asks no history, so a dead one is no error.
func TestScoreWithoutHistoryNothingToCheck(t *testing.T) {
	h := &flakyHistory{}
	h.setDown("Acme")
	ms := historyBatch()
	ms = []mention.Mention{ms[3], ms[4]} // anonymous negative, positive
	if err := historyScorer(t, h).Score(context.Background(), ms); err != nil || len(h.asked) != 0 {
		t.Errorf("Score = %v, history asked for %v; want neither", err, h.asked)
	}
}

// TestRescoreWithHistory: once the history answers, Rescore returns the
// marked mentions only, unmarked, with repeat_customer (and one more
// severity level) where due and a higher Version; while it still fails,
// Rescore returns the error and nothing to store.
func TestRescoreWithHistory(t *testing.T) {
	h := &flakyHistory{prior: map[string]int{"Acme/ann": 2}}
	h.setDown("Acme", "Other")
	s := historyScorer(t, h)
	ms := historyBatch()
	var he *HistoryError
	if err := s.Score(context.Background(), ms); !errors.As(err, &he) {
		t.Fatalf("Score = %v, want a *HistoryError", err)
	}
	byID := map[string]mention.Mention{}
	for _, m := range ms {
		byID[m.ID] = m
	}

	if out, err := s.Rescore(context.Background(), ms); err == nil || out != nil {
		t.Errorf("Rescore with the history still down = %d mentions, %v; want an error and nothing", len(out), err)
	}

	h.setDown()
	out, err := s.Rescore(context.Background(), ms)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range out {
		ids = append(ids, m.ID)
	}
	if !slices.Equal(ids, he.IDs) {
		t.Fatalf("Rescore returned %q, want the deferred %q", ids, he.IDs)
	}
	tests := []struct {
		id       string
		repeat   bool
		severity string // "" = unchanged
	}{
		{"h:ann", true, "raised"}, // two earlier complaints in the history
		{"h:bob1", true, ""},      // already a repeat in its batch
		{"h:bob2", true, ""},
		{"h:dan", false, ""},
	}
	for _, tt := range tests {
		var m mention.Mention
		for _, x := range out {
			if x.ID == tt.id {
				m = x
			}
		}
		old := byID[tt.id]
		if m.ScorerVersion != Version || hasNoHistoryReason(m) {
			t.Errorf("%s: still marked: version %q reasons %q", tt.id, m.ScorerVersion, m.Reasons)
		}
		if m.Version <= old.Version {
			t.Errorf("%s: version %d, want above %d", tt.id, m.Version, old.Version)
		}
		if got := slices.Contains(m.Signals, "repeat_customer"); got != tt.repeat {
			t.Errorf("%s: repeat_customer %v, want %v (%q)", tt.id, got, tt.repeat, m.Reasons)
		}
		if n := countOf(m.Signals, "repeat_customer"); n > 1 {
			t.Errorf("%s: repeat_customer %d times", tt.id, n)
		}
		wantSev := old.Severity
		if tt.severity == "raised" {
			wantSev = raise(old.Severity, 1)
		}
		if m.Severity != wantSev {
			t.Errorf("%s: severity %s, want %s", tt.id, m.Severity, wantSev)
		}
		if m.Sentiment != old.Sentiment || m.Lang != old.Lang || !m.Negative {
			t.Errorf("%s: text scores changed: %+v -> %+v", tt.id, old.Score, m.Score)
		}
	}

	// Rescored mentions are not marked any more: nothing left to redo.
	if again, err := s.Rescore(context.Background(), out); err != nil || len(again) != 0 {
		t.Errorf("Rescore of rescored mentions = %d, %v; want nothing", len(again), err)
	}
}

func countOf(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}
