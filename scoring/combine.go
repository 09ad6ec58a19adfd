package scoring

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"

	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/scoring/model"
)

// models are the learned models a Scorer combines with its lexicons: one
// for every brand without its own. The default can be swapped while
// scoring (a retrained model promoted by a daemon).
type models struct {
	def atomic.Pointer[model.Model]
	// byBrand is fixed at New (its keys); each brand's model can be
	// swapped like the default.
	byBrand map[string]*atomic.Pointer[model.Model]
	// minP is the P(negative) that flags a mention: min_confidence when
	// set, else each model's own operating point.
	minP float64
}

func (ms *models) init(opts Options, explicitConf float64) {
	ms.minP = explicitConf
	if opts.Model != nil {
		ms.def.Store(opts.Model)
	}
	ms.byBrand = map[string]*atomic.Pointer[model.Model]{}
	for b, m := range opts.BrandModels {
		p := &atomic.Pointer[model.Model]{}
		p.Store(m)
		ms.byBrand[b] = p
	}
}

func (ms *models) forBrand(brand string) *model.Model {
	if p := ms.byBrand[brand]; p != nil {
		if m := p.Load(); m != nil {
			return m
		}
	}
	return ms.def.Load()
}

// SetModel replaces the model used for brands without their own (nil:
// lexicons only); safe while other goroutines score.
func (s *Scorer) SetModel(m *model.Model) { s.models.def.Store(m) }

// Model is the model used for brands without their own, or nil.
func (s *Scorer) Model() *model.Model { return s.models.def.Load() }

// BrandModel is brand's own model (Options.BrandModels), or nil.
func (s *Scorer) BrandModel(brand string) *model.Model {
	if p := s.models.byBrand[brand]; p != nil {
		return p.Load()
	}
	return nil
}

// SetBrandModel replaces the own model of a brand New was given one for
// (a per-brand model retrained by a daemon); it reports false for any
// other brand. Safe while other goroutines score.
func (s *Scorer) SetBrandModel(brand string, m *model.Model) bool {
	p := s.models.byBrand[brand]
	if p == nil || m == nil {
		return false
	}
	p.Store(m)
	return true
}

// VersionOf is the scorer_version of mentions of brand: the lexicon
// rules' Version and, when a model is used, the model's id.
func (s *Scorer) VersionOf(brand string) string {
	if md := s.models.forBrand(brand); md != nil {
		return Version + "+" + md.ID()
	}
	return Version
}

// evidence is what the lexicon found, as the model's combiner reads it.
func evidence(a *analysis, lexNegative bool, m *mention.Mention) model.Evidence {
	ev := model.Evidence{Lang: lexLang(a.lang), Compound: a.compound, Contrast: a.contrast != "", Bangs: a.bangs, LexNegative: lexNegative}
	for _, h := range a.hits {
		switch {
		case h.residual:
			ev.Residual++
		case h.valence < 0:
			ev.NegSum -= h.valence
		default:
			ev.PosSum += h.valence
		}
		if !h.residual && strings.Contains(h.text, " ") {
			ev.Negated++ // negated words and phrases
		}
		ev.Intensity = max(ev.Intensity, math.Abs(h.valence))
	}
	// The rating rule of the rest of the scorer: a rating above its
	// rating_max, or one without rating_max that is not 1-5 stars, is no
	// evidence at all.
	if scale, _ := mention.RatingScale(m.Rating, m.RatingMax); scale > 0 {
		ev.Rated, ev.RatingFrac = true, m.Rating/scale
	}
	return ev
}

// lexVerdict is the lexicon's own call and confidence (ScoreMention's rule).
func (s *Scorer) lexVerdict(a *analysis) (bool, float64) {
	conf := a.langConf * min(1, math.Abs(a.compound)+confFloor)
	return a.compound <= -0.05, conf
}

// Evidence scores text with the lexicons only and returns their evidence
// for the model (training). lang empty: detected, as for a mention
// without one.
func (s *Scorer) Evidence(text, lang string) model.Evidence {
	m := mention.Mention{Text: text, Lang: lang}
	a := s.analyze(&m)
	neg, conf := s.lexVerdict(&a)
	return evidence(&a, neg && conf >= s.opts.MinConfidence, &m)
}

// combine is the decision with a model: where the model covers the
// text's language, negative means the calibrated P(negative) reaches
// min_confidence, and the reasons name the words the model learned from;
// elsewhere the lexicon's verdict stands. It returns the verdict and its
// confidence for ScoreMention's min_confidence rule.
func (s *Scorer) combine(m *mention.Mention, a *analysis, negative bool, conf float64, reasons []string, sc *mention.Score) (bool, float64, []string) {
	md := s.models.forBrand(m.Brand)
	if md == nil {
		return negative, conf, reasons
	}
	sc.ScorerVersion = Version + "+" + md.ID()
	lang := lexLang(a.lang)
	if !md.Covers(lang) {
		return negative, conf, reasons
	}
	lexNeg := negative && conf >= s.opts.MinConfidence
	minP := s.models.minP
	if minP == 0 {
		minP = md.OperatingPoint(lang)
	}
	var skip func(string) bool
	if lx := s.lex[lang]; lx != nil {
		skip = func(w string) bool { return lx.stops[fold(w)] || s.english.stops[w] }
	}
	// Words are named for a flag, and for a lexicon flag the model undid.
	d, cs := md.Assess(textOf(m), evidence(a, lexNeg, m), 3, skip, func(p float64) float64 {
		switch {
		case p >= minP:
			return 1
		case lexNeg:
			return -1
		}
		return 0
	})
	p := d.PNegative
	sc.Sentiment = round3((a.compound + d.Probs[2] - p) / 2)
	reasons = append(reasons, fmt.Sprintf("model %s: P(negative) %.2f", md.ID(), p))
	if len(cs) > 0 {
		parts := make([]string, len(cs))
		for i, c := range cs {
			parts[i] = fmt.Sprintf("%q %+.1f", c.Text, c.Value)
		}
		reasons = append(reasons, "learned: "+strings.Join(parts, ", "))
	}
	// The verdict is final here: ScoreMention's confidence rule must not
	// apply its lexicon threshold to a probability.
	if p < minP {
		if p >= minP/2 {
			reasons = append(reasons, fmt.Sprintf("P(negative) %.2f < %.2f: not flagged", p, minP))
		}
		return false, p, reasons
	}
	return true, 1, reasons
}

// textOf is the text the model reads: the title, then the body.
func textOf(m *mention.Mention) string {
	if t := strings.TrimSpace(m.Title); t != "" && !strings.HasPrefix(m.Text, t) {
		return t + ".\n" + m.Text
	}
	return m.Text
}
