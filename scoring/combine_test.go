package scoring

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/scoring/model"
)

func hasReason(m mention.Mention, prefix string) bool {
	return slices.ContainsFunc(m.Reasons, func(r string) bool { return strings.HasPrefix(r, prefix) })
}

func TestCombineWithModel(t *testing.T) {
	md, err := model.Default()
	if err != nil {
		t.Fatal(err)
	}
	lex, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A tiny model of its own for brand B: trained on synthetic English.
	var items []model.Item
	for i := range 60 {
		items = append(items, model.Item{ID: fmt.Sprintf("b:%d", i), Text: fmt.Sprintf("zork %d happened", i), Label: "negative"},
			model.Item{ID: fmt.Sprintf("c:%d", i), Text: fmt.Sprintf("flib %d happened", i), Label: "positive"},
			model.Item{ID: fmt.Sprintf("d:%d", i), Text: fmt.Sprintf("blop %d happened", i), Label: "neutral"})
	}
	bm, err := model.Train(context.Background(), items, model.Config{Name: "brandb", MinLangItems: 10, Folds: 3, Epochs: 4},
		func(it model.Item) model.Evidence { return lex.Evidence(it.Text, "en") })
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Model: md, BrandModels: map[string]*model.Model{"B": bm}})
	if err != nil {
		t.Fatal(err)
	}
	strict, err := New(Options{Model: md, MinConfidence: 0.999})
	if err != nil {
		t.Fatal(err)
	}
	score := func(s *Scorer, text, brand string) mention.Mention {
		m := mention.Mention{Text: text, Brand: brand}
		if brand == "B" {
			m.Lang = "en" // nonsense words: no language to detect
		}
		s.ScoreMention(&m)
		return m
	}
	for _, tc := range []struct {
		name, text, brand string
		neg, modelReasons bool
		version           string
	}{
		{"covered language: the model decides and names words", "Sobrang tagal dumating ng order, sira pa yung item. Hindi na ako oorder ulit.", "", true, true, md.ID()},
		{"covered, praise", "Pelayanan ramah, makanan enak dan tempatnya bersih. Pasti kembali lagi!", "", false, false, md.ID()},
		{"indonesian complaint", "Pelayanan sangat lambat dan makanan datang dingin. Kecewa berat.", "", true, true, md.ID()},
		{"uncovered language: the lexicon decides", "Ужасный сервис, деньги не вернули, больше не приду.", "", true, false, md.ID()},
		{"english: no neutral training data, the lexicon decides", "The room was filthy, the staff were rude and we never got our refund.", "", true, false, md.ID()},
		{"brand model", "zork 99 happened", "B", true, true, bm.ID()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := score(s, tc.text, tc.brand)
			if m.Negative != tc.neg {
				t.Errorf("negative %v, want %v: %v", m.Negative, tc.neg, m.Reasons)
			}
			if m.ScorerVersion != Version+"+"+tc.version || s.VersionOf(tc.brand) != m.ScorerVersion {
				t.Errorf("scorer_version %s, want %s", m.ScorerVersion, Version+"+"+tc.version)
			}
			if got := hasReason(m, "learned: ") && hasReason(m, "model "); got != tc.modelReasons {
				t.Errorf("model reasons %v, want %v: %v", got, tc.modelReasons, m.Reasons)
			}
			if !tc.modelReasons && !tc.neg {
				return
			}
			lexOnly := score(lex, tc.text, tc.brand)
			if !tc.modelReasons && lexOnly.Negative != m.Negative {
				t.Errorf("uncovered language decided otherwise than the lexicon: %v vs %v", m.Negative, lexOnly.Negative)
			}
		})
	}
	// min_confidence is a probability: at 0.999 the same complaint is not
	// flagged, and the reason says why.
	m := score(strict, "Sobrang tagal dumating ng order, sira pa yung item. Hindi na ako oorder ulit.", "")
	if m.Negative || !hasReason(m, "P(negative) ") {
		t.Errorf("min_confidence 0.999: negative %v, %v", m.Negative, m.Reasons)
	}
	// Swapped out while in use: lexicons only again.
	s.SetModel(nil)
	if m := score(s, "Sira pa yung item.", ""); m.ScorerVersion != Version || hasReason(m, "model ") {
		t.Errorf("after SetModel(nil): %s %v", m.ScorerVersion, m.Reasons)
	}
}

// separable is n English items, half negative and half positive, a word
// apart, from two sources (s0, s1).
func separable(n int) []model.Item {
	var items []model.Item
	for i := range n {
		label, text := "positive", fmt.Sprintf("great friendly stay number %d", i)
		if i%2 == 0 {
			label, text = "negative", fmt.Sprintf("awful rude stay number %d", i)
		}
		items = append(items, model.Item{ID: fmt.Sprintf("s%d:%d", i%2, i), Text: text, Label: label, Lang: "en"})
	}
	return items
}

func TestCompareModel(t *testing.T) {
	lex, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	items := separable(200)
	c, err := CompareModel(context.Background(), lex, items, 0.3, model.Config{Folds: 3, Epochs: 3, MinLangItems: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Langs) != 1 || c.Langs[0].Key != "en" || c.Held+c.Train != 200 || c.Langs[0].N != c.Held || len(c.Sources["en"]) != 2 {
		t.Fatalf("comparison %+v", c)
	}
	if r := c.Langs[0]; r.Lexicon.F1() < 0.9 || r.Model.F1() < 0.9 || r.Joined.F1() < 0.9 {
		t.Errorf("F1 lexicon %.2f model %.2f combined %.2f on separable data", r.Lexicon.F1(), r.Model.F1(), r.Joined.F1())
	}
	var b strings.Builder
	WriteComparison(&b, c, true)
	for _, want := range []string{"lexicon", "combined", "s0", "s1", "mean"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestCrossCompare: every item is held out exactly once, by a model that
// did not see it, and the report says how the figures were made.
func TestCrossCompare(t *testing.T) {
	lex, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	items := separable(200)
	cfg := model.Config{Folds: 3, Epochs: 3, MinLangItems: 10}
	c, err := CrossCompare(context.Background(), lex, items, 4, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.Held != 200 || c.Folds != 4 || len(c.Points) != 4 || len(c.Langs) != 1 || c.Langs[0].N != 200 {
		t.Fatalf("held %d folds %d points %d langs %+v", c.Held, c.Folds, len(c.Points), c.Langs)
	}
	if n := c.Sources["en"][0].N + c.Sources["en"][1].N; n != 200 {
		t.Errorf("sources hold %d items", n)
	}
	if r := c.Langs[0]; r.Joined.TP+r.Joined.FN != 100 || r.Joined.F1() < 0.9 {
		t.Errorf("combined %+v: want the 100 negatives each counted once", r.Joined)
	}
	var b strings.Builder
	WriteComparison(&b, c, true)
	for _, want := range []string{"each held out once", "fold 4 operating point", "s1", "mean"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := CrossCompare(context.Background(), lex, items, 1, cfg); err == nil {
		t.Error("one fold accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CrossCompare(ctx, lex, items, 4, cfg); err == nil {
		t.Error("a cancelled context gave figures")
	}
}

// TestSetModelWhileScoring: a retrained model swapped in while other
// goroutines score (run with -race).
func TestSetModelWhileScoring(t *testing.T) {
	md, err := model.Default()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Model: md})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	for g := 0; g < 2; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 200; i++ {
				m := mention.Mention{Text: "Sira pa yung item, sobrang tagal."}
				s.ScoreMention(&m)
				if m.ScorerVersion != Version && m.ScorerVersion != Version+"+"+md.ID() {
					t.Errorf("scorer_version %s", m.ScorerVersion)
					return
				}
			}
		}()
	}
	for i := 0; i < 100; i++ {
		if i%2 == 0 {
			s.SetModel(nil)
		} else {
			s.SetModel(md)
		}
	}
	<-done
	<-done
}

// TestEvidenceRatingRule: the model's rating evidence follows
// mention.RatingScale, as the rest of the scorer does: a rating above its
// rating_max, or one without rating_max that is not 1-5 stars, is no
// evidence; 1-5 stars without rating_max are read out of 5.
func TestEvidenceRatingRule(t *testing.T) {
	for _, tc := range []struct {
		name        string
		rating, max float64
		rated       bool
		frac        float64
	}{
		{"no rating", 0, 0, false, 0},
		{"4 of 5", 4, 5, true, 0.8},
		{"7 of 10", 7, 10, true, 0.7},
		{"above its rating_max", 7, 5, false, 0},
		{"stars without rating_max", 2, 0, true, 0.4},
		{"half star without rating_max", 4.5, 0, true, 0.9},
		{"8 without rating_max", 8, 0, false, 0},
		{"fraction without rating_max", 0.3, 0, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mention.Mention{Text: "ok", Rating: tc.rating, RatingMax: tc.max}
			ev := evidence(&analysis{lang: "en"}, false, &m)
			if ev.Rated != tc.rated || math.Abs(ev.RatingFrac-tc.frac) > 1e-9 {
				t.Errorf("rating %g/%g: rated %v frac %g, want %v %g", tc.rating, tc.max, ev.Rated, ev.RatingFrac, tc.rated, tc.frac)
			}
		})
	}
}
