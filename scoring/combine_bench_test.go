package scoring

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/scoring/model"
)

// BenchmarkScoreModel is the scorer with the built-in model against the
// lexicons alone, in the same run, one goroutine, on the multilingual mix
// (languages withheld): the target is >= 10,000 mentions/s with the model.
// "trained" is a model that covers every dev-set language (trained here on
// the mix's own texts, so every text goes through the model).
func BenchmarkScoreModel(b *testing.B) {
	def, err := model.Default()
	if err != nil {
		b.Fatal(err)
	}
	texts := mix(b, "")
	lex, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	var items []model.Item
	for i := 0; i < 30; i++ {
		for k, t := range texts {
			// Labelled as the lexicons see them: a realistic share of
			// negatives (each costs an explanation and entities).
			m := mention.Mention{Text: t}
			lex.ScoreMention(&m)
			label := model.Classes[1+(i+k)%2] // neutral or positive
			if m.Negative || (i+k)%5 == 0 {
				label = "negative"
			}
			items = append(items, model.Item{ID: fmt.Sprintf("b%d:%d", i, k), Text: t, Label: label})
		}
	}
	all, err := model.Train(b.Context(), items, model.Config{Name: "bench", MinLangItems: 1, Folds: 2, Epochs: 1},
		func(it model.Item) model.Evidence { return lex.Evidence(it.Text, "") })
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range []string{"en", "ru", "hi", "hr", "tl", "hy"} {
		if !all.Covers(l) {
			b.Fatalf("the bench model does not cover %s", l)
		}
	}
	for _, tc := range []struct {
		name string
		md   *model.Model
	}{{"lexicons", nil}, {"default", def}, {"trained", all}} {
		s, err := New(Options{Entities: true, Model: tc.md})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name+"/mix", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				m := mention.Mention{Text: texts[i%len(texts)]}
				s.ScoreMention(&m)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mentions/s")
			runtime.GC()
			b.ReportMetric(rssMB(), "rss-MB")
		})
	}
}
