package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/scoring"
	"github.com/earshot/earshot/scoring/model"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chtest"
)

// metricValue scrapes m's /metrics and returns the value of the first
// series name{...} whose labels include labels (nil: none).
func metricValue(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) *float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		series, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		match := true
		for k, v := range labels {
			match = match && strings.Contains(series, fmt.Sprintf("%s=%q", k, v))
		}
		if f, err := strconv.ParseFloat(value, 64); match && err == nil {
			return &f
		}
	}
	return nil
}

// labelMentions stores one mention per text (ids prefix0, prefix1, ...)
// and a label for each from ana at `at`.
func labelMentions(t *testing.T, st *storage.Store, prefix string, texts, labels []string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	ms := make([]mention.Mention, len(texts))
	for i, text := range texts {
		ms[i] = mention.Mention{ID: fmt.Sprintf("%s%d", prefix, i), Source: "s", Brand: "Sunrise Hotels", Text: text, Lang: "en",
			PublishedAt: at, CollectedAt: at}
	}
	if err := st.InsertMentions(ctx, ms); err != nil {
		t.Fatal(err)
	}
	for i := range texts {
		if err := st.InsertLabel(ctx, storage.Label{MentionID: ms[i].ID, Who: "ana", At: at, Label: labels[i], Brand: "Sunrise Hotels"}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestScheduledRetraining drives earshot run's retraining through its
// wiring against ClickHouse: staff labels teach a word and the candidate
// is promoted into the running scorer and onto /metrics; mislabelled
// ones give a worse candidate, which is refused; a second process follows
// what the leader promoted, on the same machine and on another (through
// the models table); `earshot train --rollback` puts the previous model
// back, and every running scorer follows.
func TestScheduledRetraining(t *testing.T) {
	db := chtest.New(t)
	ctx := context.Background()
	cfgPath := testConfig(t, db)

	// The model in use: trained on shipped-like data that lacks "zorky".
	var base []model.Item
	for i := range 180 {
		it := model.Item{ID: fmt.Sprintf("base:%d", i), Lang: "en"}
		switch i % 3 {
		case 0:
			it.Text, it.Label = fmt.Sprintf("The suite %d was grotty and the bath was grim.", i), "negative"
		case 1:
			it.Text, it.Label = fmt.Sprintf("The lift %d was quick, the suite was wonderful.", i), "positive"
		default:
			it.Text, it.Label = fmt.Sprintf("We took lift %d to the suite on floor %d.", i, i%9), "neutral"
		}
		base = append(base, it)
	}
	lex, err := scoring.New(scoring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start, err := model.Train(ctx, base, model.Config{Name: "start"}, func(it model.Item) model.Evidence { return lex.Evidence(it.Text, "") })
	if err != nil {
		t.Fatal(err)
	}
	startPath := filepath.Join(t.TempDir(), "start.model")
	if err := start.Save(startPath); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(cfgPath)
	cfgText := strings.Replace(string(raw), "scoring:\n", "scoring:\n  model: "+startPath+"\n", 1)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}

	a := &app{configPath: cfgPath, registry: registry(), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, log: slog.New(slog.DiscardHandler)}
	cfg, err := a.loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	st, done, err := a.openReady(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	sc, err := a.scorer(cfg, nil)
	if err != nil || sc.Model().ID() != start.ID() {
		t.Fatalf("scorer from the config: %v", err)
	}
	m := metrics.New()
	jobs, err := a.retrainJobs(cfg, st, sc, base, func() bool { return true }, m)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs: %d %v", len(jobs), err)
	}
	leader := jobs[0]
	probe := func(s *scoring.Scorer) bool {
		mm := mention.Mention{Text: "The lift 999 was zorky.", Lang: "en"}
		s.ScoreMention(&mm)
		return mm.Negative
	}
	if probe(sc) {
		t.Fatal("the starting model already flags the staff's word")
	}

	// 1. Staff teach "zorky": promoted into the running scorer.
	t1 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var texts, labels []string
	for i := range 60 {
		if i%2 == 0 {
			texts, labels = append(texts, fmt.Sprintf("The lift %d was zorky.", i)), append(labels, "negative")
		} else {
			texts, labels = append(texts, fmt.Sprintf("The lift %d was fine and quick.", i)), append(labels, "positive")
		}
	}
	labelMentions(t, st, "a", texts, labels, t1)
	if err := leader.round(ctx); err != nil {
		t.Fatal(err)
	}
	promoted := sc.Model().ID()
	if s := leader.r.Status(); s.Promotions != 1 || promoted == start.ID() || promoted != s.Current || !probe(sc) {
		t.Fatalf("not promoted into the scorer: in use %s, status %+v last %+v", promoted, s, s.Last)
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"earshot_model_info", map[string]string{"brand": "", "model": promoted}, 1},
		{"earshot_retrain_promotions_total", nil, 1},
		{"earshot_retrain_trainings_total", nil, 1},
		{"earshot_retrain_labels", nil, 60},
		{"earshot_retrain_new_labels", nil, 60},
	} {
		if v := metricValue(t, m, tc.name, tc.labels); v == nil || *v != tc.want {
			t.Errorf("%s%v = %v, want %g", tc.name, tc.labels, v, tc.want)
		}
	}
	if v := metricValue(t, m, "earshot_retrain_heldback_f1", map[string]string{"when": "after"}); v == nil || *v <= 0 {
		t.Errorf("held-back F1 after: %v", v)
	}

	// 2. Mislabelled feedback ("zorky" is fine, except in the part held
	// back to judge): the candidate is worse there and refused; the
	// scorer keeps the promoted model.
	texts, labels = nil, nil
	for i := range 150 {
		text := fmt.Sprintf("The lift %d was zorky.", 100+i)
		_, held := model.Split([]model.Item{{ID: fmt.Sprintf("label:b%d", i)}}, model.HeldBackShare)
		label := "positive"
		if len(held) == 1 {
			label = "negative"
		}
		texts, labels = append(texts, text), append(labels, label)
	}
	labelMentions(t, st, "b", texts, labels, t1.Add(time.Hour))
	if err := leader.round(ctx); err != nil {
		t.Fatal(err)
	}
	if s := leader.r.Status(); s.Refusals != 1 || s.Promotions != 1 || sc.Model().ID() != promoted || s.Last == nil ||
		s.Last.Promoted || !strings.Contains(s.Last.Why, "worse") {
		t.Fatalf("worse model not refused: in use %s, status %+v last %+v", sc.Model().ID(), s, s.Last)
	}
	if v := metricValue(t, m, "earshot_retrain_refusals_total", nil); v == nil || *v != 1 {
		t.Errorf("refusals on /metrics: %v", v)
	}

	// 3. Another process on the same directory starts with the promoted
	// model, and never trains while it does not dispatch.
	sc2, err := a.scorer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	follower, err := a.retrainJobs(cfg, st, sc2, base, func() bool { return false }, nil)
	if err != nil || sc2.Model().ID() != promoted {
		t.Fatalf("follower: %v, in use %s", err, sc2.Model().ID())
	}

	// 3b. A process on another machine (a directory of its own) follows
	// through the models table at its next turn.
	otherCfg := filepath.Join(t.TempDir(), "earshot.yaml")
	otherSpool := filepath.Join(t.TempDir(), "spool")
	if err := os.WriteFile(otherCfg, []byte(regexp.MustCompile(`spool_dir: .*`).ReplaceAllString(cfgText, "spool_dir: "+otherSpool)), 0o644); err != nil {
		t.Fatal(err)
	}
	a3 := &app{configPath: otherCfg, registry: registry(), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, log: slog.New(slog.DiscardHandler)}
	cfg3, err := a3.loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	sc3, err := a3.scorer(cfg3, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := a3.retrainJobs(cfg3, st, sc3, base, func() bool { return false }, nil)
	if err != nil || other[0].r.Dir() == leader.r.Dir() {
		t.Fatalf("other machine: %v, dir %s", err, other[0].r.Dir())
	}
	if err := other[0].round(ctx); err != nil || sc3.Model().ID() != promoted {
		t.Fatalf("other machine did not follow: %v, in use %s", err, sc3.Model().ID())
	}

	// 4. Roll back from the shell: every process follows at its next turn.
	code, out, errOut := earshot(t, "--config", cfgPath, "train", "--rollback")
	if code != 0 || !strings.Contains(out, "rolled back: "+start.ID()+" in use, "+promoted+" kept") {
		t.Fatalf("train --rollback: %d %s %s", code, out, errOut)
	}
	for i, j := range []*retrainJob{leader, follower[0], other[0]} {
		if err := j.round(ctx); err != nil {
			t.Fatal(err)
		}
		if s := []*scoring.Scorer{sc, sc2, sc3}[i]; s.Model().ID() != start.ID() {
			t.Errorf("process %d after rollback: %s in use", i, s.Model().ID())
		}
	}
	if n := db.Count(t, "SELECT count() FROM models"); n != 2 {
		t.Errorf("%d publications in the models table, want 2 (promotion, rollback)", n)
	}
	if s := follower[0].r.Status(); s.Trainings != 0 {
		t.Errorf("a process that does not dispatch trained: %+v", s)
	}
	if v := metricValue(t, m, "earshot_model_info", map[string]string{"model": start.ID()}); v == nil {
		t.Error("/metrics does not show the model rolled back to")
	}
}
