package model

import "math"

// Evidence is what the lexicon scorer found in a text; package scoring
// fills it. The combiner weighs it against the text model per language.
type Evidence struct {
	Lang     string
	Compound float64 // the lexicon's compound score, -1..1
	NegSum   float64 // sum of the negative hits' valences (as a positive number)
	PosSum   float64 // sum of the positive hits' valences
	// Residual: negations that negated no sentiment word ("ne radi").
	Residual int
	// Negated: sentiment words a negation flipped ("not good").
	Negated   int
	Contrast  bool    // a "but" moved the weight to the later clause
	Intensity float64 // the strongest hit's |valence|
	Bangs     int
	// LexNegative is the lexicon's own verdict (its confidence applied).
	LexNegative bool
	// Rating as a fraction of its scale, when the mention has one.
	Rated      bool
	RatingFrac float64
}

// StackFeatures names the combiner's inputs, in order.
var StackFeatures = []string{"bias", "model_neg", "model_pos", "lex_compound", "lex_neg", "lex_pos", "residual_negation",
	"negated", "contrast", "intensity", "bangs", "lex_negative", "rated", "rating"}

const nStack = 14

// Stack is the combiner: a logistic regression over the text model's
// log-odds and the lexicon's evidence, with weights shared by all
// languages plus a per-language correction, fitted on cross-fitted
// predictions. Its output is a calibrated P(negative).
type Stack struct {
	Features []string             `json:"features"`
	Global   []float64            `json:"global"`
	Langs    map[string][]float64 `json:"langs"`
}

func logit(p float64) float64 {
	p = min(max(p, 1e-6), 1-1e-6)
	return math.Log(p / (1 - p))
}

func clip(v, lo, hi float64) float64 { return min(max(v, lo), hi) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// inputs is the combiner's feature vector.
func inputs(p [3]float64, ev Evidence) [nStack]float64 {
	var z [nStack]float64
	z[0] = 1
	z[1] = clip(logit(p[0]), -6, 6) / 3
	z[2] = clip(logit(p[2]), -6, 6) / 3
	z[3] = ev.Compound
	z[4] = clip(ev.NegSum/4, 0, 3)
	z[5] = clip(ev.PosSum/4, 0, 3)
	z[6] = float64(min(ev.Residual, 3))
	z[7] = float64(min(ev.Negated, 3))
	z[8] = b2f(ev.Contrast)
	z[9] = clip(ev.Intensity/4, 0, 2)
	z[10] = b2f(ev.Bangs > 0)
	z[11] = b2f(ev.LexNegative)
	if ev.Rated {
		z[12] = 1
		z[13] = 2*clip(ev.RatingFrac, 0, 1) - 1
	}
	return z
}

// P is the calibrated probability that the text is negative.
func (s *Stack) P(p [3]float64, ev Evidence) float64 {
	z := inputs(p, ev)
	return sigmoid(s.logit(z, ev.Lang))
}

func (s *Stack) logit(z [nStack]float64, lang string) float64 {
	t := 0.0
	lw := s.Langs[lang]
	for i := range z {
		if i < len(s.Global) {
			t += s.Global[i] * z[i]
		}
		if i < len(lw) {
			t += lw[i] * z[i]
		}
	}
	return t
}

func sigmoid(t float64) float64 { return 1 / (1 + math.Exp(-t)) }

// fitStack fits the combiner by full-batch gradient descent (Adam) on the
// log loss of "negative", L2 on every weight (stronger on the
// per-language corrections, which have less data each).
func fitStack(zs [][nStack]float64, langs []string, ys []bool, ws []float64, iters int) Stack {
	st := Stack{Features: StackFeatures, Global: make([]float64, nStack), Langs: map[string][]float64{}}
	for _, l := range langs {
		if l != "" && st.Langs[l] == nil {
			st.Langs[l] = make([]float64, nStack)
		}
	}
	const (
		lr      = 0.05
		l2Glob  = 1e-4
		l2Lang  = 3e-3
		beta1   = 0.9
		beta2   = 0.999
		epsilon = 1e-8
	)
	type adam struct{ m, v []float64 }
	const global = "\x00global"
	params := map[string][]float64{global: st.Global}
	for l, w := range st.Langs {
		params[l] = w
	}
	state := map[string]*adam{}
	grads := map[string][]float64{}
	for k := range params {
		state[k] = &adam{make([]float64, nStack), make([]float64, nStack)}
		grads[k] = make([]float64, nStack)
	}
	keys := sortedKeys(params)
	total := 0.0
	for _, w := range ws {
		total += w
	}
	for it := 1; it <= iters; it++ {
		for _, k := range keys {
			clear(grads[k])
		}
		for i, z := range zs {
			p := sigmoid(st.logit(z, langs[i]))
			g := (p - b2f(ys[i])) * ws[i] / total
			gg, gl := grads[global], grads[langs[i]]
			for j := range z {
				gg[j] += g * z[j]
				if gl != nil {
					gl[j] += g * z[j]
				}
			}
		}
		for _, k := range keys {
			w, g, a := params[k], grads[k], state[k]
			l2 := l2Lang
			if k == global {
				l2 = l2Glob
			}
			for j := range w {
				gj := g[j] + l2*w[j]
				a.m[j] = beta1*a.m[j] + (1-beta1)*gj
				a.v[j] = beta2*a.v[j] + (1-beta2)*gj*gj
				mh := a.m[j] / (1 - math.Pow(beta1, float64(it)))
				vh := a.v[j] / (1 - math.Pow(beta2, float64(it)))
				w[j] -= lr * mh / (math.Sqrt(vh) + epsilon)
			}
		}
	}
	return st
}
