package scoring

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/scoring/model"
)

// Version names this scorer's rules in scorer_version; bump it when a change
// would score stored mentions differently.
const Version = "lex-1.3"

// Languages lists every language the scorer has a lexicon for (bs and sr use
// the Croatian one): mention.Languages, the one list.
func Languages() []string { return mention.Languages() }

// codeMixed languages are often written with English words in them (Taglish,
// Hinglish, English brand talk in Cyrillic or Armenian posts): unknown Latin
// words fall back to the English lexicon. Not for languages whose words
// collide with English ones (German "bad", French "sale").
var codeMixed = map[string]bool{"tl": true, "hi": true, "id": true, "ru": true, "uk": true, "hy": true, "ar": true}

// History answers "has this author complained about this brand before?" so
// that repeat complaints get the repeat_customer signal. *storage.Store
// implements it; nil turns the check off.
type History interface {
	PriorNegatives(ctx context.Context, brand string, authors []string, before time.Time) (map[string]int, error)
}

// Options configure a Scorer.
type Options struct {
	// Languages restricts language identification; empty means all.
	Languages []string
	// MinConfidence below which a negative result counts as neutral
	// (default 0.5).
	MinConfidence float64
	Rules         []config.BrandRule
	// Entities extracts people, places and organisations from flagged
	// English mentions with prose.
	Entities bool
	History  History
	// Now is the clock for recency (default time.Now).
	Now func() time.Time
	// Model, when set, is combined with the lexicons (combine.go);
	// BrandModels replace it for their brands.
	Model       *model.Model
	BrandModels map[string]*model.Model
}

// Reach thresholds: word of mouth is already spreading.
const (
	viralFollowers  = 10000
	viralEngagement = 50 // likes + shares + replies
	staleAfter      = 14 * 24 * time.Hour
)

// Scorer is the multilingual scorer. Build it once with New; it is safe for
// concurrent use.
type Scorer struct {
	opts    Options
	lex     map[string]*Lexicon // by lexicon language, with emoji merged in
	english *Lexicon
	ids     *langID
	brands  map[string]*brandRule
	ents    *entityExtractor
	pool    sync.Pool
	models  models
}

type brandRule struct {
	always, never [][]string // folded token sequences
	alwaysText    []string
	aspects       *Lexicon
}

// New loads every lexicon and model. It fails only on a broken embedded
// lexicon or an unknown language.
func New(opts Options) (*Scorer, error) {
	explicitConf := opts.MinConfidence // a model's own operating point applies unless set
	if opts.MinConfidence == 0 {
		opts.MinConfidence = 0.5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	known := Languages()
	langs := opts.Languages
	if len(langs) == 0 {
		langs = known
	}
	s := &Scorer{opts: opts, lex: map[string]*Lexicon{}, brands: map[string]*brandRule{}}
	emoji, err := loadLexicon("emoji")
	if err != nil {
		return nil, err
	}
	for _, l := range append([]string{"en"}, langs...) {
		if !slices.Contains(known, l) {
			return nil, fmt.Errorf("scoring: no lexicon for language %q (have %s)", l, strings.Join(known, ", "))
		}
		ll := lexLang(l)
		if s.lex[ll] != nil {
			continue
		}
		lx, err := loadLexicon(ll)
		if err != nil {
			return nil, err
		}
		lx.mergeFrom(emoji)
		s.lex[ll] = lx
	}
	s.english = s.lex["en"]
	s.ids = newLangID(langs, s.lex)
	for _, r := range opts.Rules {
		br := &brandRule{aspects: &Lexicon{words: map[string]*info{}, prefixes: map[string]*info{}, phrases: map[string][]phrase{}, minStem: 1 << 30}}
		for _, p := range r.AlwaysFlag {
			br.always = append(br.always, phraseTokens(p))
			br.alwaysText = append(br.alwaysText, p)
		}
		for _, p := range r.NeverFlag {
			br.never = append(br.never, phraseTokens(p))
		}
		for aspect, words := range r.Aspects {
			for _, w := range words {
				ws := strings.Fields(fold(w))
				if len(ws) > 0 {
					br.aspects.add(ws, &info{aspects: []string{aspect}})
				}
			}
		}
		s.brands[r.Brand] = br
	}
	if opts.Entities {
		if s.ents, err = newEntityExtractor(); err != nil {
			return nil, err
		}
	}
	s.pool.New = func() any { b := make([]token, 0, 256); return &b }
	s.models.init(opts, explicitConf)
	return s, nil
}

func phraseTokens(p string) []string {
	var out []string
	for _, t := range tokenize(p, nil) {
		if t.kind == tWord {
			out = append(out, t.text)
		}
	}
	return out
}

// NoHistory is appended to scorer_version when the repeat-complaint lookup
// failed: the mention was scored without its author's history, stored
// anyway, and is rescored (Rescore) once the history answers.
const NoHistory = "+nohistory"

// Score implements pipeline.Scorer: it fills the score fields of every
// mention, then marks repeat complaints from History. Scoring never blocks
// storing: when History fails, the mentions it would have checked are
// scored without it and marked (NoHistory, and a reason saying so); the
// error is returned as a *HistoryError for the caller to log and to queue
// the marked mentions for Rescore.
func (s *Scorer) Score(ctx context.Context, ms []mention.Mention) error {
	for i := range ms {
		s.ScoreMention(&ms[i])
	}
	return s.markRepeats(ctx, ms)
}

// HistoryError reports mentions scored without their author's history.
type HistoryError struct {
	IDs []string
	Err error
}

func (e *HistoryError) Error() string {
	return fmt.Sprintf("repeat-complaint history unavailable; %d mentions scored without it: %v", len(e.IDs), e.Err)
}
func (e *HistoryError) Unwrap() error { return e.Err }

// DeferredIDs are the mentions to rescore.
func (e *HistoryError) DeferredIDs() []string { return e.IDs }

// Rescore repeats the repeat-complaint check of mentions marked NoHistory
// (their text scores stand). It returns the mentions whose check now
// succeeded, unmarked and with a newer Version, to be stored again.
func (s *Scorer) Rescore(ctx context.Context, ms []mention.Mention) ([]mention.Mention, error) {
	var out []mention.Mention
	for _, m := range ms {
		if v, ok := strings.CutSuffix(m.ScorerVersion, NoHistory); ok {
			m.ScorerVersion = v
			m.Reasons = slices.DeleteFunc(slices.Clone(m.Reasons), func(r string) bool { return r == noHistoryReason })
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	if err := s.markRepeats(ctx, out); err != nil {
		return nil, err
	}
	v := uint64(s.opts.Now().UnixNano())
	for i := range out {
		out[i].Version = max(v, out[i].Version+1)
	}
	return out, nil
}

const noHistoryReason = "repeat complaints not checked: history unavailable (rescored later)"

// markRepeats adds repeat_customer to flagged mentions whose author
// complained about the same brand before (in this batch or in History).
func (s *Scorer) markRepeats(ctx context.Context, ms []mention.Mention) error {
	type key struct{ brand, author string }
	seen := map[key]int{}
	byBrand := map[string][]string{}
	var oldest time.Time
	for i := range ms {
		m := &ms[i]
		if !m.Negative || strings.TrimSpace(m.Author) == "" {
			continue
		}
		k := key{m.Brand, m.Author}
		seen[k]++
		if seen[k] == 1 {
			byBrand[m.Brand] = append(byBrand[m.Brand], m.Author)
		}
		if t := when(m); oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	prior := map[key]int{}
	var histErr error
	failed := map[string]bool{}
	if s.opts.History != nil {
		for brand, authors := range byBrand {
			n, err := s.opts.History.PriorNegatives(ctx, brand, authors, oldest)
			if err != nil {
				histErr = errors.Join(histErr, fmt.Errorf("repeat lookup for %s: %w", brand, err))
				failed[brand] = true
				continue
			}
			for a, c := range n {
				prior[key{brand, a}] = c
			}
		}
	}
	for i := range ms {
		m := &ms[i]
		if !m.Negative || strings.TrimSpace(m.Author) == "" {
			continue
		}
		k := key{m.Brand, m.Author}
		if failed[m.Brand] && !strings.HasSuffix(m.ScorerVersion, NoHistory) {
			m.ScorerVersion += NoHistory
			m.Reasons = append(m.Reasons, noHistoryReason)
		}
		n := prior[k] + seen[k] - 1
		if n > 0 && !slices.Contains(m.Signals, "repeat_customer") {
			m.Signals = append(m.Signals, "repeat_customer")
			m.Reasons = append(m.Reasons, fmt.Sprintf("repeat complaint: %d earlier from this author", n))
			m.Severity = raise(m.Severity, 1)
		}
	}
	if histErr != nil {
		he := &HistoryError{Err: histErr}
		for _, m := range ms {
			if strings.HasSuffix(m.ScorerVersion, NoHistory) {
				he.IDs = append(he.IDs, m.ID)
			}
		}
		return he
	}
	return nil
}

func when(m *mention.Mention) time.Time {
	if !m.PublishedAt.IsZero() {
		return m.PublishedAt
	}
	return m.CollectedAt
}

// hit is one lexicon match that moved the sentiment.
type hit struct {
	text     string
	valence  float64
	clause   int
	residual bool // a negation that negated no sentiment word
}

// analysis is the text part of a score.
type analysis struct {
	lang     string
	langConf float64
	langHow  string
	compound float64
	hits     []hit
	aspects  []string
	signals  map[string]string // signal -> the word that raised it
	contrast string
	bangs    int
	always   string
	sarcasm  string // the first sarcasm phrase found
}

// ScoreMention scores one mention in place.
func (s *Scorer) ScoreMention(m *mention.Mention) {
	// A rating without rating_max is read as stars out of 5 where it can
	// be (and filled in, as the language is); else a reason says why it
	// was ignored.
	ratingMax, ratingNote := mention.RatingScale(m.Rating, m.RatingMax)
	if m.RatingMax == 0 && ratingMax > 0 {
		m.RatingMax = ratingMax
	}
	a := s.analyze(m)
	sc := mention.Score{ScorerVersion: Version, Severity: "none"}
	if (m.Lang == "" || m.LangFromPage) && a.lang != "" {
		m.Lang = a.lang
	}
	var reasons []string
	if a.lang != "" {
		reasons = append(reasons, fmt.Sprintf("lang %s (%s)", a.lang, a.langHow))
	}
	sc.Sentiment = round3(a.compound)
	negWords, posWords := words(a.hits, -1), words(a.hits, 1)
	if len(negWords) > 0 {
		reasons = append(reasons, "negative: "+strings.Join(negWords, ", "))
	}
	if len(posWords) > 0 {
		reasons = append(reasons, "positive: "+strings.Join(posWords, ", "))
	}
	if a.contrast != "" {
		reasons = append(reasons, fmt.Sprintf("contrast %q: the clause after it weighs more", a.contrast))
	}
	if a.sarcasm != "" {
		reasons = append(reasons, fmt.Sprintf("sarcasm %q: praise read as a complaint", a.sarcasm))
	}

	negative := a.compound <= -0.05

	conf := a.langConf * min(1, math.Abs(a.compound)+confFloor)
	strong := a.compound <= -0.6
	negative, conf, reasons = s.combine(m, &a, negative, conf, reasons, &sc)
	rated := ratingMax > 0
	if !rated && ratingNote != "" {
		reasons = append(reasons, ratingNote)
	}
	if rated {
		frac := m.Rating / ratingMax
		reasons = append(reasons, cmp.Or(ratingNote, fmt.Sprintf("rating %g/%g", m.Rating, ratingMax)))
		// The rating dominates: 1-2 of 5 negative, 4-5 not; 3 is the text's call.
		sc.Sentiment = round3(0.7*(2*(frac-0.2)/0.8-1) + 0.3*a.compound)
		switch {
		case frac <= 0.4:
			negative, conf = true, 1
			strong = strong || frac <= 0.2
		case frac >= 0.7:
			negative = false
		}
	}
	if negative && conf < s.opts.MinConfidence {
		reasons = append(reasons, fmt.Sprintf("low confidence %.2f < %.2f: counted as neutral", conf, s.opts.MinConfidence))
		negative = false
	}
	if a.always != "" {
		negative = true
		reasons = append(reasons, fmt.Sprintf("brand rule: always flag %q", a.always))
	}
	sc.Negative = negative
	if negative {
		sc.Aspects = a.aspects
		var sigs []string
		for sg := range a.signals {
			sigs = append(sigs, sg)
		}
		sort.Strings(sigs)
		for _, sg := range sigs {
			reasons = append(reasons, fmt.Sprintf("signal %s: %q", sg, a.signals[sg]))
		}
		if m.Followers >= viralFollowers || m.Likes+m.Shares+m.Replies >= viralEngagement {
			sigs = append(sigs, "viral")
			reasons = append(reasons, fmt.Sprintf("reach: %d followers, %d likes, %d shares, %d replies", m.Followers, m.Likes, m.Shares, m.Replies))
		}
		sc.Signals = sigs
		var why string
		sc.Severity, why = severity(strong, sigs, when(m), s.opts.Now())
		reasons = append(reasons, "severity "+sc.Severity+": "+why)
		if s.ents != nil && a.lang == "en" {
			sc.Entities = s.ents.extract(m.Title, m.Text)
		}
	}
	sc.Reasons = reasons
	m.Score = sc
}

// confFloor is the confidence of a barely negative text whose language is
// certain: with the default min_confidence 0.5 such a text counts from a
// compound of -0.05, one identified by lingua (0.75) from about -0.22.
// 0.35/0.45/0.55 gave mean dev F1 .625/.640/.640.
const confFloor = 0.45

// severity is the documented rule (README "Scoring"): one point for a
// negative mention, one more when it is strongly negative (compound <= -0.6
// or 1 star), two for a health, safety or legal signal, one each for churn,
// regulator/media, reach (viral) and a repeat complaint; a mention older
// than two weeks loses one. 1 low, 2 medium, 3 high, 4+ critical.
func severity(strong bool, sigs []string, at, now time.Time) (string, string) {
	pts := 1
	why := []string{"negative"}
	if strong {
		pts++
		why = append(why, "strongly")
	}
	for _, sg := range sigs {
		switch sg {
		case "health", "safety", "legal":
			pts += 2
		case "churn", "regulator", "media", "viral", "repeat_customer":
			pts++
		default:
			continue
		}
		why = append(why, "+"+sg)
	}
	if !at.IsZero() && now.Sub(at) > staleAfter {
		pts--
		why = append(why, "-older than 14 days")
	}
	return levels[min(max(pts, 1), 4)], strings.Join(why, " ")
}

var levels = []string{"none", "low", "medium", "high", "critical"}

// raise moves a severity up n levels (capped at critical).
func raise(sev string, n int) string {
	i := slices.Index(levels, sev)
	if i < 1 {
		return sev
	}
	return levels[min(i+n, 4)]
}

func words(hs []hit, sign float64) []string {
	var sel []hit
	for _, h := range hs {
		if h.valence*sign > 0 {
			sel = append(sel, h)
		}
	}
	sort.SliceStable(sel, func(i, j int) bool { return math.Abs(sel[i].valence) > math.Abs(sel[j].valence) })
	var out []string
	for _, h := range sel {
		q := fmt.Sprintf("%q", h.text)
		if !slices.Contains(out, q) {
			out = append(out, q)
		}
		if len(out) == 4 {
			break
		}
	}
	return out
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
