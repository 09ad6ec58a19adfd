package scoring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/scoring/model"
)

// Compared holds F1 of the negative class for the lexicons alone, the
// model alone and the two combined, for one language or source.
type Compared struct {
	Key                    string
	N                      int
	Lexicon, Model, Joined counts3
}

type counts3 struct{ TP, FP, FN int }

func (c *counts3) add(pred, gold bool) {
	switch {
	case pred && gold:
		c.TP++
	case pred:
		c.FP++
	case gold:
		c.FN++
	}
}

// F1 of the negative class.
func (c counts3) F1() float64 {
	if c.TP == 0 {
		return 0
	}
	p := float64(c.TP) / float64(c.TP+c.FP)
	r := float64(c.TP) / float64(c.TP+c.FN)
	return 2 * p * r / (p + r)
}

// Comparison is the three-way evaluation of a model on held-out items.
type Comparison struct {
	Langs   []*Compared
	Sources map[string][]*Compared // by language
	Model   *model.Model
	Train   int
	Held    int
	// Folds > 0: pooled over that many models, each trained on all but
	// one fold and scored on it (Model and Train are the last fold's).
	Folds int
	// Points: each fold's operating points, as WriteComparison prints them.
	Points []string
}

// CompareModel trains a model on the items outside a deterministic
// held-out share and scores the held-out items three ways, text only (no
// language, no rating: what a collector gives at worst). lex is the
// lexicon-only scorer; the combined scorer shares its options.
func CompareModel(ctx context.Context, lex *Scorer, items []model.Item, share float64, cfg model.Config) (*Comparison, error) {
	train, held := model.Split(items, share)
	return compareOn(ctx, lex, train, held, cfg)
}

func compareOn(ctx context.Context, lex *Scorer, train, held []model.Item, cfg model.Config) (*Comparison, error) {
	md, err := model.Train(ctx, train, cfg, func(it model.Item) model.Evidence { return lex.Evidence(it.Text, "") })
	if err != nil {
		return nil, err
	}
	return Compare(ctx, lex, md, held, len(train))
}

// CrossCompare is CompareModel with every item held out once: n models,
// each trained on all but one of n deterministic folds and scored on it,
// the counts pooled. A 30% split of a 1,200-item language leaves F1 a
// spread of about +-0.02; pooling all items about halves it. Folds train
// side by side, up to GOMAXPROCS at a time; the result does not depend on
// how many.
func CrossCompare(ctx context.Context, lex *Scorer, items []model.Item, n int, cfg model.Config) (*Comparison, error) {
	if n < 2 {
		return nil, fmt.Errorf("cross-compare: %d folds: want at least 2", n)
	}
	parts := make([]*Comparison, n)
	errs := make([]error, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for k := range n {
		train, held := model.Fold(items, n, k)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := compareOn(ctx, lex, train, held, cfg)
			if err != nil {
				errs[k] = fmt.Errorf("fold %d of %d: %w", k+1, n, err)
				cancel()
				return
			}
			parts[k] = c
		})
	}
	wg.Wait()
	// The first fold that failed on its own, not one cancelled after it.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := &Comparison{Sources: map[string][]*Compared{}, Folds: n}
	langs := map[string]*Compared{}
	srcs := map[string]map[string]*Compared{}
	merge := func(m map[string]*Compared, c *Compared) {
		if m[c.Key] == nil {
			m[c.Key] = &Compared{Key: c.Key}
		}
		t := m[c.Key]
		t.N += c.N
		for _, p := range [][2]*counts3{{&t.Lexicon, &c.Lexicon}, {&t.Model, &c.Model}, {&t.Joined, &c.Joined}} {
			p[0].TP, p[0].FP, p[0].FN = p[0].TP+p[1].TP, p[0].FP+p[1].FP, p[0].FN+p[1].FN
		}
	}
	for _, c := range parts {
		out.Model, out.Train, out.Held = c.Model, c.Train, out.Held+c.Held
		out.Points = append(out.Points, operatingPoints(c.Model))
		for _, l := range c.Langs {
			merge(langs, l)
			if srcs[l.Key] == nil {
				srcs[l.Key] = map[string]*Compared{}
			}
			for _, sc := range c.Sources[l.Key] {
				merge(srcs[l.Key], sc)
			}
		}
	}
	for _, l := range slices.Sorted(maps.Keys(langs)) {
		out.Langs = append(out.Langs, langs[l])
		for _, k := range slices.Sorted(maps.Keys(srcs[l])) {
			out.Sources[l] = append(out.Sources[l], srcs[l][k])
		}
	}
	return out, nil
}

// Compare scores held three ways with md.
func Compare(ctx context.Context, lex *Scorer, md *model.Model, held []model.Item, trained int) (*Comparison, error) {
	opts := lex.opts
	opts.Model, opts.BrandModels = md, nil
	opts.MinConfidence = lex.models.minP // as configured: 0 lets the model's operating point apply
	joined, err := New(opts)
	if err != nil {
		return nil, err
	}
	langs := map[string]*Compared{}
	srcs := map[string]map[string]*Compared{}
	get := func(m map[string]*Compared, k string) *Compared {
		if m[k] == nil {
			m[k] = &Compared{Key: k}
		}
		return m[k]
	}
	for i, it := range held {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		gold := it.Label == "negative"
		a := mention.Mention{ID: it.ID, Text: it.Text}
		lex.ScoreMention(&a)
		b := mention.Mention{ID: it.ID, Text: it.Text}
		joined.ScoreMention(&b)
		p := md.Probs(it.Text, lexLang(a.Lang))
		modelNeg := p[0] >= p[1] && p[0] >= p[2]
		if srcs[it.Lang] == nil {
			srcs[it.Lang] = map[string]*Compared{}
		}
		for _, c := range []*Compared{get(langs, it.Lang), get(srcs[it.Lang], it.Source())} {
			c.N++
			c.Lexicon.add(a.Negative, gold)
			c.Model.add(modelNeg, gold)
			c.Joined.add(b.Negative, gold)
		}
	}
	out := &Comparison{Sources: map[string][]*Compared{}, Model: md, Train: trained, Held: len(held)}
	for l, c := range langs {
		out.Langs = append(out.Langs, c)
		for _, sc := range srcs[l] {
			out.Sources[l] = append(out.Sources[l], sc)
		}
		sort.Slice(out.Sources[l], func(i, j int) bool { return out.Sources[l][i].Key < out.Sources[l][j].Key })
	}
	sort.Slice(out.Langs, func(i, j int) bool { return out.Langs[i].Key < out.Langs[j].Key })
	return out, nil
}

// operatingPoints: "0.35; ar 0.40, de 0.30".
func operatingPoints(md *model.Model) string {
	point := fmt.Sprintf("%.2f", md.Meta.Threshold)
	sep := "; "
	for _, l := range slices.Sorted(maps.Keys(md.Meta.Thresholds)) {
		point += sep + fmt.Sprintf("%s %.2f", l, md.Meta.Thresholds[l])
		sep = ", "
	}
	return point
}

// WriteComparison prints the per-language (and per-source) table.
func WriteComparison(w io.Writer, c *Comparison, sources bool) {
	if c.Folds > 0 {
		fmt.Fprintf(w, "%d models, each trained on all but one of %d folds and evaluated on it: %d items, each held out once (F1 of the negative class)\n", c.Folds, c.Folds, c.Held)
		for k, p := range c.Points {
			fmt.Fprintf(w, "fold %d operating point P(negative) >= %s\n", k+1, p)
		}
	} else {
		fmt.Fprintf(w, "model %s trained on %d items, evaluated on %d held out (F1 of the negative class)\n", c.Model.ID(), c.Train, c.Held)
		fmt.Fprintf(w, "operating point P(negative) >= %s (chosen on cross-fitted training data)\n", operatingPoints(c.Model))
	}
	fmt.Fprintf(w, "%-28s %6s %8s %8s %9s\n", "lang / source", "n", "lexicon", "model", "combined")
	var sl, sm, sj float64
	for _, r := range c.Langs {
		fmt.Fprintf(w, "%-28s %6d %8.3f %8.3f %9.3f\n", r.Key, r.N, r.Lexicon.F1(), r.Model.F1(), r.Joined.F1())
		sl, sm, sj = sl+r.Lexicon.F1(), sm+r.Model.F1(), sj+r.Joined.F1()
		if sources && len(c.Sources[r.Key]) > 1 {
			for _, s := range c.Sources[r.Key] {
				fmt.Fprintf(w, "  %-26s %6d %8.3f %8.3f %9.3f\n", s.Key, s.N, s.Lexicon.F1(), s.Model.F1(), s.Joined.F1())
			}
		}
	}
	if n := float64(len(c.Langs)); n > 0 {
		fmt.Fprintf(w, "%-28s %6s %8.3f %8.3f %9.3f\n", "mean", "", sl/n, sm/n, sj/n)
	}
}
