package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/earshot/earshot/mention"
)

// MinLangItemsDefault: a language needs this many training texts before
// the model has a say in it (Config.MinLangItems).
const MinLangItemsDefault = 100

// ErrTooFew: fewer than 10 labelled texts to train on.
var ErrTooFew = errors.New("too few to train on (want at least 10)")

// Item is one labelled text for training (the JSONL line {text, label[,
// lang, rating]}; id is optional).
type Item struct {
	ID        string  `json:"id"`
	Text      string  `json:"text"`
	Label     string  `json:"label"`
	Lang      string  `json:"lang"`
	Rating    float64 `json:"rating"`
	RatingMax float64 `json:"rating_max"`
	// Weight counts the item more (staff labels); 0 means 1.
	Weight float64 `json:"-"`
}

// Source is the id prefix ("uci-yelp" of "uci-yelp:12"), or "-".
func (it Item) Source() string {
	if s, _, ok := strings.Cut(it.ID, ":"); ok && s != "" {
		return s
	}
	return "-"
}

// EvidenceFunc returns the lexicon's evidence for an item's text as the
// scorer would see it (its language detected when the scorer is not told).
type EvidenceFunc func(it Item) Evidence

// Config are the training settings; zero fields take the defaults.
type Config struct {
	Name     string
	Features Features
	Epochs   int
	L2       float64
	LR       float64
	Seed     uint64
	// Folds for cross-fitting the combiner (each item's model score comes
	// from a model that did not see it).
	Folds        int
	MinLangItems int
	StackIters   int
	Files        []string
	Log          *slog.Logger
}

func (c *Config) defaults() {
	if c.Name == "" {
		c.Name = "custom"
	}
	if c.Features.Bits == 0 {
		c.Features = DefaultFeatures
	}
	if c.Epochs == 0 {
		c.Epochs = 8
	}
	if c.L2 == 0 {
		c.L2 = 3e-4
	}
	if c.LR == 0 {
		c.LR = 0.05
	}
	if c.Seed == 0 {
		c.Seed = 13
	}
	if c.Folds == 0 {
		c.Folds = 5
	}
	if c.MinLangItems == 0 {
		c.MinLangItems = MinLangItemsDefault
	}
	if c.StackIters == 0 {
		c.StackIters = 400
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// prepared is the training set with its features and evidence.
type prepared struct {
	items []Item
	ys    []int
	ws    []float64
	ev    []Evidence
	fs    [][]fv
	fold  []int
}

// fv is a stored feature: bucket and value.
type fv struct {
	idx uint32
	val float32
}

// Train fits a model to items: the text model on all of them, the
// combiner on cross-fitted text-model scores and the lexicon's evidence.
// Items are sorted by id and text first, so the result depends on the
// data, not on the order of files or lines; the seed fixes the rest.
func Train(ctx context.Context, items []Item, cfg Config, evid EvidenceFunc) (*Model, error) {
	cfg.defaults()
	pr, err := prepare(ctx, items, cfg, evid)
	if err != nil {
		return nil, err
	}
	n := len(pr.items)
	// Cross-fitted text-model probabilities.
	oof := make([][3]float64, n)
	for k := range cfg.Folds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var tr []int
		for i := range n {
			if pr.fold[i] != k {
				tr = append(tr, i)
			}
		}
		w, b := trainText(pr, tr, cfg, uint64(k+1))
		m := &Model{w: w, bias: b}
		for i := range n {
			if pr.fold[i] == k {
				oof[i] = m.probs(toFeat(pr.fs[i]))
			}
		}
		cfg.Log.Debug("model: fold trained", "fold", k, "items", len(tr))
	}
	meta := Meta{Format: FormatVersion, Name: cfg.Name, Features: cfg.Features, Classes: Classes,
		Languages: map[string]int{}, MinLangItems: cfg.MinLangItems}
	byLabel := map[string]*[nClasses]int{}
	for i, e := range pr.ev {
		meta.Languages[e.Lang]++
		if byLabel[e.Lang] == nil {
			byLabel[e.Lang] = &[nClasses]int{}
		}
		byLabel[e.Lang][pr.ys[i]]++
	}
	delete(meta.Languages, "")
	for _, l := range sortedKeys(meta.Languages) {
		n, ok := meta.Languages[l], meta.Languages[l] >= cfg.MinLangItems
		for _, c := range byLabel[l] {
			ok = ok && float64(c) >= MinClassShare*float64(n)
		}
		if ok {
			meta.Covered = append(meta.Covered, l)
		}
	}
	covered := func(l string) bool { return slices.Contains(meta.Covered, l) }
	// The combiner learns only from languages the model covers: elsewhere
	// the lexicon decides alone.
	var zs [][nStack]float64
	var zl []string
	var zy []bool
	var zw []float64
	for i := range n {
		l := pr.ev[i].Lang
		if !covered(l) {
			continue
		}
		zs = append(zs, inputs(oof[i], pr.ev[i]))
		zl = append(zl, l)
		zy = append(zy, pr.ys[i] == 0)
		zw = append(zw, pr.ws[i])
	}
	meta.Stack = fitStack(zs, zl, zy, zw, cfg.StackIters)
	meta.Eval = figures(pr, oof, &meta, cfg.Log)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	w, b := trainText(pr, all, cfg, 0)
	meta.Training = summary(pr, cfg)
	m := newModel(meta)
	m.w, m.bias = w, b
	m.setID()
	return m, nil
}

func toFeat(fs []fv) []feat {
	out := make([]feat, len(fs))
	for i, f := range fs {
		out[i] = feat{idx: f.idx, val: f.val}
	}
	return out
}

func prepare(ctx context.Context, items []Item, cfg Config, evid EvidenceFunc) (*prepared, error) {
	if err := cfg.Features.validate(); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	pr := &prepared{}
	for _, it := range items {
		it.Text = strings.TrimSpace(it.Text)
		if it.Text == "" {
			continue
		}
		if ClassIndex(it.Label) < 0 {
			return nil, fmt.Errorf("model: item %q: label %q: want negative, neutral or positive", it.ID, it.Label)
		}
		if it.ID == "" {
			h := sha256.Sum256([]byte(it.Text))
			it.ID = "-:" + hex.EncodeToString(h[:8])
		}
		pr.items = append(pr.items, it)
	}
	if len(pr.items) < 10 {
		return nil, fmt.Errorf("model: %d labelled texts: %w", len(pr.items), ErrTooFew)
	}
	sort.SliceStable(pr.items, func(i, j int) bool {
		a, b := pr.items[i], pr.items[j]
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Text < b.Text
	})
	n := len(pr.items)
	pr.ys, pr.ws, pr.ev, pr.fs, pr.fold = make([]int, n), make([]float64, n), make([]Evidence, n), make([][]fv, n), make([]int, n)
	var fs []feat
	var ws []string
	for i, it := range pr.items {
		if i%512 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		pr.ys[i] = ClassIndex(it.Label)
		pr.ws[i] = it.Weight
		if pr.ws[i] <= 0 {
			pr.ws[i] = 1
		}
		h := hashID(it.ID)
		ev := evid(it)
		// Half the rated items are shown without their rating, so the
		// combiner learns text-only texts too (most mentions have none).
		ev.Rated, ev.RatingFrac = false, 0
		if scale, _ := mention.RatingScale(it.Rating, it.RatingMax); scale > 0 && h%2 == 0 {
			ev.Rated, ev.RatingFrac = true, it.Rating/scale
		}
		pr.ev[i] = ev
		fs, ws = cfg.Features.extract(it.Text, ev.Lang, ws, fs[:0])
		row := make([]fv, len(fs))
		for k, f := range fs {
			row[k] = fv{f.idx, f.val}
		}
		pr.fs[i] = row
		pr.fold[i] = int((h >> 8) % uint64(cfg.Folds))
	}
	return pr, nil
}

func hashID(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	x := h.Sum64()
	x ^= x >> 31
	x *= 0x9e3779b97f4a7c15
	x ^= x >> 29
	return x
}

// trainText fits the multinomial logistic regression by AdaGrad SGD with
// L2 on the touched weights, items in a seeded random order each epoch.
func trainText(pr *prepared, idx []int, cfg Config, stream uint64) ([]float32, [3]float32) {
	nb := 1 << cfg.Features.Bits
	w := make([]float32, nb*nClasses)
	g2 := make([]float32, nb*nClasses)
	var bias [3]float32
	var bg2 [3]float32
	rng := rand.New(rand.NewPCG(cfg.Seed, stream))
	order := append([]int(nil), idx...)
	lr := float32(cfg.LR)
	l2 := float32(cfg.L2)
	for range cfg.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			row := pr.fs[i]
			s := bias
			for _, f := range row {
				ww := w[int(f.idx)*nClasses:]
				s[0] += ww[0] * f.val
				s[1] += ww[1] * f.val
				s[2] += ww[2] * f.val
			}
			p := softmax(s)
			var g [3]float32
			for c := range g {
				y := 0.0
				if c == pr.ys[i] {
					y = 1
				}
				g[c] = float32((p[c] - y) * pr.ws[i])
			}
			for c := range g {
				bg2[c] += g[c] * g[c]
				bias[c] -= lr * g[c] / float32(math.Sqrt(float64(bg2[c])+1e-8))
			}
			for _, f := range row {
				o := int(f.idx) * nClasses
				for c := range g {
					gr := g[c]*f.val + l2*w[o+c]
					g2[o+c] += gr * gr
					w[o+c] -= lr * gr / float32(math.Sqrt(float64(g2[o+c]))+1e-6)
				}
			}
		}
	}
	return w, bias
}

// F1 of the negative class.
type counts struct{ tp, fp, fn int }

func (c *counts) add(pred, gold bool) {
	switch {
	case pred && gold:
		c.tp++
	case pred:
		c.fp++
	case gold:
		c.fn++
	}
}

func (c counts) f1() float64 {
	if c.tp == 0 {
		return 0
	}
	p := float64(c.tp) / float64(c.tp+c.fp)
	r := float64(c.tp) / float64(c.tp+c.fn)
	return 2 * p * r / (p + r)
}

func argmax(p [3]float64) int {
	b := 0
	for c := 1; c < len(p); c++ {
		if p[c] > p[b] {
			b = c
		}
	}
	return b
}

// figures are text-only: the combiner is shown no rating, as in an
// evaluation of texts.
func figures(pr *prepared, oof [][3]float64, meta *Meta, log *slog.Logger) map[string]Figures {
	type acc struct {
		lex, mod, comb counts
		n              int
		brier          float64
		at             [nThresholds]counts
	}
	by := map[string]*acc{}
	for i, it := range pr.items {
		l := it.Lang
		if l == "" {
			l = pr.ev[i].Lang
		}
		ev := pr.ev[i]
		ev.Rated, ev.RatingFrac = false, 0
		a := by[l]
		if a == nil {
			a = &acc{}
			by[l] = a
		}
		gold := pr.ys[i] == 0
		a.n++
		a.lex.add(ev.LexNegative, gold)
		a.mod.add(argmax(oof[i]) == 0, gold)
		pn := oof[i][0]
		if slices.Contains(meta.Covered, ev.Lang) {
			pn = meta.Stack.P(oof[i], ev)
			a.comb.add(pn >= 0.5, gold)
			for k := range a.at {
				a.at[k].add(pn >= threshold(k), gold)
			}
		} else {
			a.comb.add(ev.LexNegative, gold)
		}
		a.brier += (pn - b2f(gold)) * (pn - b2f(gold))
	}
	curves := map[string][nThresholds]float64{}
	for l, a := range by {
		if slices.Contains(meta.Covered, l) {
			var c [nThresholds]float64
			for k := range c {
				c[k] = a.at[k].f1()
			}
			curves[l] = c
		}
	}
	var chosen map[string]int
	meta.Threshold, meta.Thresholds, chosen = operatingPoints(curves)
	out := map[string]Figures{}
	for l, a := range by {
		if k, ok := chosen[l]; ok {
			a.comb = a.at[k]
		}
		if log.Enabled(context.Background(), slog.LevelDebug) {
			var f []float64
			for k := range a.at {
				f = append(f, round3(a.at[k].f1()))
			}
			log.Debug("model: combined F1 at P 0.20..0.60", "lang", l, "f1", f)
		}
		out[l] = Figures{N: a.n, Lexicon: round3(a.lex.f1()), Model: round3(a.mod.f1()), Combined: round3(a.comb.f1()), Brier: round3(a.brier / float64(a.n))}
	}
	return out
}

// operatingPoints picks, from each covered language's F1 at the
// thresholds, the shared operating point: the one with the best mean F1
// (F1's optimum lies below 0.5 for a calibrated probability when
// negatives are a minority). Then each language's own, where it beats
// the shared one by MinThresholdGain: languages differ in their share of
// negatives, and one shared point costs the rarer-negative ones recall or
// the others precision. chosen is each language's threshold index.
func operatingPoints(curves map[string][nThresholds]float64) (shared float64, per map[string]float64, chosen map[string]int) {
	kShared, bestF := thresholdIndex(0.5), -1.0
	for k := range nThresholds {
		sum := 0.0
		for _, c := range curves {
			sum += c[k]
		}
		if len(curves) > 0 && sum/float64(len(curves)) > bestF+1e-9 {
			kShared, bestF = k, sum/float64(len(curves))
		}
	}
	chosen = map[string]int{}
	for l, c := range curves {
		// F1 against the threshold is jagged over a thousand items: each
		// point is judged with its neighbours.
		smooth := func(k int) float64 {
			sum, n := 0.0, 0
			for j := max(k-1, 0); j <= min(k+1, nThresholds-1); j++ {
				sum += c[j]
				n++
			}
			return sum / float64(n)
		}
		kb := kShared
		for k := range nThresholds {
			if smooth(k) > smooth(kb)+1e-9 {
				kb = k
			}
		}
		chosen[l] = kShared
		if kb != kShared && smooth(kb) >= smooth(kShared)+MinThresholdGain {
			chosen[l] = kb
			if per == nil {
				per = map[string]float64{}
			}
			per[l] = threshold(kb)
		}
	}
	return threshold(kShared), per, chosen
}

// nThresholds operating points are tried: 0.20, 0.25, ... 0.60.
const nThresholds = 9

// MinThresholdGain: a language gets its own operating point only when its
// cross-fitted F1 there beats the shared point's by this much (less is
// within the noise of a thousand items).
const MinThresholdGain = 0.005

// MinClassShare: each label must be at least this share of a language's
// items for the model to decide in that language.
const MinClassShare = 0.05

// threshold k: 0.20, 0.25, ... 0.60.
func threshold(k int) float64 { return math.Round((0.2+0.05*float64(k))*100) / 100 }

func thresholdIndex(t float64) int { return int(math.Round((t - 0.2) / 0.05)) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func summary(pr *prepared, cfg Config) Summary {
	files := append([]string(nil), cfg.Files...)
	sort.Strings(files)
	s := Summary{Files: files, Items: len(pr.items), ByLabel: map[string]int{}, BySource: map[string]int{},
		Seed: cfg.Seed, Epochs: cfg.Epochs, L2: cfg.L2, Folds: cfg.Folds}
	h := sha256.New()
	for _, it := range pr.items {
		s.ByLabel[it.Label]++
		s.BySource[it.Source()]++
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%g\x00%g\n", it.ID, it.Label, it.Lang, it.Text, it.Rating, it.Weight)
	}
	s.Inputs = hex.EncodeToString(h.Sum(nil))
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
