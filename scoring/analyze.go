package scoring

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/earshot/earshot/mention"
)

// maxScoreBytes bounds the work per mention: the first 64 KiB of a text say
// whether it is a complaint; a 1 MB paste costs no more than that.
const maxScoreBytes = 64 << 10

// Tuned on the dev sets as whole-language F1, never per example:
// negResidual -0.5/-1.0/-1.4 gave mean F1 .637/.642/.641; the question
// damping is worth +0.001..0.01 (airline questions such as "is there a
// delay?").
const (
	negResidual  = -1.0
	questionDamp = 0.5
	questionKeep = 2.0
)

// VADER's constants (Hutto & Gilbert 2014), which hold up across languages
// for a lexicon scorer: negation scales by -0.74, a capitalised word adds
// 0.733, each ! adds 0.292 (up to 4), and alpha 15 normalises the sum.
const (
	negScale    = -0.74
	negScaleNeg = -0.3
	capsBoost   = 0.733
	bangBoost   = 0.292
	alpha       = 15
)

type aspectAt struct {
	clause int
	name   string
}

// pageLangMinRunes: below this, detection is too unsure to overrule a
// page's language.
const pageLangMinRunes = 40

func (s *Scorer) analyze(m *mention.Mention) analysis {
	var a analysis
	text := m.Text
	if t := strings.TrimSpace(m.Title); t != "" && !strings.HasPrefix(text, t) {
		text = t + ".\n" + text
	}
	if len(text) > maxScoreBytes {
		text = text[:maxScoreBytes]
	}
	bp := s.pool.Get().(*[]token)
	defer func() { *bp = (*bp)[:0]; s.pool.Put(bp) }()
	toks := tokenize(text, (*bp)[:0])

	given := strings.ToLower(strings.TrimSpace(m.Lang))
	switch {
	case given != "" && m.LangFromPage && (utf8.RuneCountInString(text) >= pageLangMinRunes || hasOtherScript(text)):
		// A page's lang attribute describes its template, not each
		// comment: a confident detection on the text that names another
		// language with a lexicon wins (a French comment on a page marked
		// en is scored in French), and so does a script that says it
		// (a Chinese comment on that page is Chinese, however short).
		// Only such mentions pay for detection.
		d, conf, how := s.ids.detect(text, toks)
		if d != given && conf >= 0.9 && s.lex[lexLang(d)] == nil && how == "script" {
			a.lang, a.langConf, a.langHow = d, 0.4, "script; the page says "+given+"; no lexicon for "+d+": English words and emoji only"
		} else if d != given && conf >= 0.9 && s.lex[lexLang(d)] != nil {
			a.lang, a.langConf, a.langHow = d, conf, "detected; the page says "+given
		} else if s.lex[lexLang(given)] != nil {
			a.lang, a.langConf, a.langHow = given, 1, "the page's"
		} else {
			a.lang, a.langConf, a.langHow = given, 0.4, "no lexicon for "+given+": English words and emoji only"
		}
	case given != "" && s.lex[lexLang(given)] != nil:
		a.lang, a.langConf, a.langHow = given, 1, "given"
	case given != "":
		a.lang, a.langConf, a.langHow = given, 0.4, "no lexicon for "+given+": English words and emoji only"
	default:
		a.lang, a.langConf, a.langHow = s.ids.detect(text, toks)
		if a.lang != "" && s.lex[lexLang(a.lang)] == nil {
			// Chinese, Japanese, Korean...: named, scored by emoji and
			// English words with the confidence of a language without a
			// lexicon.
			a.langConf, a.langHow = 0.4, a.langHow+"; no lexicon for "+a.lang+": English words and emoji only"
		} else if a.langConf < 0.9 {
			s.byCoverage(&a, toks)
		}
	}
	if a.lang == "sr" && hasCyrillic(text) {
		toks = tokenize(latinizeSerbian(text), toks[:0])
	}
	lx := s.lex[lexLang(a.lang)]
	if lx == nil {
		lx = s.english
	}
	var fallback *Lexicon
	if codeMixed[a.lang] && lx != s.english {
		fallback = s.english
	}
	br := s.brands[m.Brand]
	var skip []bool
	if br != nil {
		skip = make([]bool, len(toks))
		for _, p := range br.never {
			markPhrase(toks, p, skip)
		}
		for i, p := range br.always {
			if markPhrase(toks, p, nil) {
				a.always = br.alwaysText[i]
				break
			}
		}
	}

	allCaps := true
	for _, t := range toks {
		if t.kind == tWord && t.latin && !t.caps && hasLetter(t.text) {
			allCaps = false
			break
		}
	}

	clause := 0
	weights := []float64{1}
	sums := []float64{0}
	var aspects []aspectAt
	a.signals = map[string]string{}
	negLeft, intensLeft := 0, 0
	negWord, negNext := "", ""
	negOpen := false
	// A negation that negates no sentiment word still says something is
	// missing or failed ("did not match the photo", "не приходит", "ne
	// radi"): in customer text that leans negative.
	closeNeg := func() {
		if negOpen && negNext != "" {
			a.hits = append(a.hits, hit{text: negWord + " " + negNext, valence: negResidual, clause: clause, residual: true})
			sums[clause] += negResidual
		}
		negOpen, negLeft, negNext = false, 0, ""
	}
	intens := 0.0
	lastHit, lastHitPos, pos := -1, -10, 0
	// A publicity word and a platform in one sentence: a threat to go
	// public ("posting this on TikTok", "выложу в инстаграм").
	pubWord, platWord := "", ""
	newClause := func(w float64) {
		clause++
		weights = append(weights, w)
		sums = append(sums, 0)
	}
	for i := 0; i < len(toks); {
		t := toks[i]
		switch t.kind {
		case tBreak:
			a.bangs += t.bang
			closeNeg()
			pubWord, platWord = "", ""
			if t.quest && sums[clause] < 0 && sums[clause] > -questionKeep {
				// "Is there a delay on my connection?" asks; it does not
				// complain. Strong words still count ("why so rude?").
				weights[clause] *= questionDamp
			}
			newClause(1)
			intensLeft = 0
			i++
			continue
		case tComma:
			closeNeg()
			newClause(weights[clause])
			i++
			continue
		case tEmoji:
			if in := lx.words[t.text]; in != nil && in.valence != 0 {
				a.hits = append(a.hits, hit{text: t.text, valence: in.valence, clause: clause})
				sums[clause] += in.valence
			}
			i++
			continue
		}
		if skip != nil && skip[i] {
			i++
			pos++
			continue
		}
		if sp, k := sarcasmAt(lx, fallback, toks, i); sp != nil {
			// Praise that means the opposite: the phrase counts as one
			// negative hit, its praise word not at all.
			a.hits = append(a.hits, hit{text: sp.text, valence: sp.info.valence, clause: clause})
			sums[clause] += sp.info.valence
			if a.sarcasm == "" {
				a.sarcasm = sp.text
			}
			lastHit, lastHitPos = len(a.hits)-1, pos+len(sp.words)-1
			i += k
			pos += len(sp.words)
			intensLeft = 0
			continue
		}
		in, txt, n := match(lx, toks, i)
		if in == nil && fallback != nil && t.latin {
			in, txt, n = match(fallback, toks, i)
		}
		if br != nil {
			if bi, _, _ := match(br.aspects, toks, i); bi != nil {
				for _, as := range bi.aspects {
					aspects = append(aspects, aspectAt{clause, as})
				}
			}
		}
		if in == nil {
			// The residual names the first content word: "не на кого"
			// is not "не на".
			if negOpen && negNext == "" && !lx.stops[t.text] {
				negNext = t.text
			}
			i++
			pos++
			if negLeft--; negLeft <= 0 {
				closeNeg()
			}
			intensLeft = max(intensLeft-1, 0)
			continue
		}
		for _, as := range in.aspects {
			aspects = append(aspects, aspectAt{clause, as})
		}
		for _, sg := range in.signals {
			if _, ok := a.signals[sg]; !ok {
				a.signals[sg] = txt
			}
		}
		if in.publicity && pubWord == "" {
			pubWord = txt
		}
		if in.platform && platWord == "" {
			platWord = txt
		}
		if pubWord != "" && platWord != "" {
			if _, ok := a.signals["media"]; !ok {
				a.signals["media"] = pubWord + " … " + platWord
			}
		}
		switch {
		case in.contrast:
			closeNeg()
			for c := range weights {
				weights[c] *= 0.5
			}
			newClause(1.5)
			a.contrast = txt
			intensLeft = 0
		case in.negation && in.valence == 0:
			// Hindi and Armenian put the negation after the word ("अच्छा
			// नहीं", "լավ չէ"): flip the sentiment word just before it.
			if in.negAfter && lastHit >= 0 && pos-lastHitPos <= 2 && a.hits[lastHit].clause == clause && !strings.Contains(a.hits[lastHit].text, " ") {
				h := &a.hits[lastHit]
				sums[clause] -= h.valence
				h.valence *= negScale
				h.text = h.text + " " + txt
				sums[clause] += h.valence
				lastHit = -1
			} else if negOpen && negLeft > 0 {
				// "ne constituent pas", "not ... never", "ни ... не": one
				// negation, whose window starts again after the second word.
				negLeft = 3 + n - 1
			} else {
				closeNeg()
				negLeft, negWord, negOpen = 3+n-1, txt, true
			}
		case in.intensity != 0 && in.valence == 0:
			intens, intensLeft = in.intensity, 2+n-1
		}
		if in.valence != 0 {
			v := in.valence
			if intensLeft > 0 {
				v *= 1 + intens
				intensLeft = 0
			}
			if t.caps && !allCaps {
				v += math.Copysign(capsBoost, v)
			}
			if t.elong {
				v *= 1.15
			}
			if negLeft > 0 && !in.negation {
				// Negated praise is a complaint ("not good"); negated
				// criticism is only faint praise ("not bad").
				if v > 0 {
					v *= negScale
				} else {
					v *= negScaleNeg
				}
				txt = negWord + " " + txt
				negLeft, negOpen = 0, false
			}
			a.hits = append(a.hits, hit{text: txt, valence: v, clause: clause})
			sums[clause] += v
			lastHit, lastHitPos = len(a.hits)-1, pos+n-1
		}
		i += n
		pos += n
		if !in.negation && negLeft > 0 {
			if negNext == "" {
				negNext = txt
			}
			if negLeft -= n; negLeft <= 0 {
				closeNeg()
			}
		}
		if in.intensity == 0 {
			intensLeft = max(intensLeft-n, 0)
		}
	}

	closeNeg()
	total := 0.0
	for c := range sums {
		total += weights[c] * sums[c]
	}
	if total != 0 && a.bangs > 0 {
		total += math.Copysign(float64(min(a.bangs, 4))*bangBoost, total)
	}
	a.compound = total / math.Sqrt(total*total+alpha)

	// Aspects count only where the clause that names them is negative, or
	// neutral within a negative text ("the waiter. never again").
	for _, as := range aspects {
		v := weights[as.clause] * sums[as.clause]
		if (v < 0 || v == 0 && a.compound < 0) && !slices.Contains(a.aspects, as.name) {
			a.aspects = append(a.aspects, as.name)
		}
	}
	return a
}

// byCoverage settles short texts that lingua guessed at: the configured
// Latin-script language whose lexicon knows the most of its words wins
// ("TERRIBLE service!!!" is English, whatever its trigrams say).
func (s *Scorer) byCoverage(a *analysis, toks []token) {
	words := 0
	for _, t := range toks {
		if t.kind == tWord {
			words++
		}
	}
	if words == 0 || words > 12 {
		return
	}
	best, bestN := "", 0
	cover := func(l string) int {
		lx := s.lex[lexLang(l)]
		if lx == nil {
			return 0
		}
		n := 0
		for i := 0; i < len(toks); i++ {
			if toks[i].kind != tWord {
				continue
			}
			if in, _, k := match(lx, toks, i); in != nil {
				if in.platform || in.publicity && in.valence == 0 {
					// Network names and "post", "video" are shared
					// across languages: no evidence of one.
					i += k - 1
					continue
				}
				n += k
				if in.valence != 0 {
					n += k // sentiment words say more than aspect nouns
				}
				i += k - 1
			}
		}
		return n
	}
	cur := cover(a.lang)
	for _, l := range s.ids.latin {
		if n := cover(l); n > bestN {
			best, bestN = l, n
		}
	}
	if bestN > cur {
		a.lang, a.langConf, a.langHow = s.ids.dialect(best, toks), 0.7, "lexicon coverage"
	}
}

type prefixRule struct {
	prefix string
	negate bool
}

var prefixRules = map[string][]prefixRule{
	"hy": {{"չ", true}, {"կ", false}},
	"ar": {{"وال", false}, {"بال", false}, {"فال", false}, {"كال", false}, {"لل", false}, {"ال", false}, {"و", false}, {"ف", false}, {"ب", false}},
}

// match tries the phrases that start at toks[i], then the single word
// (as written, then with stretched letters squeezed: "baaaad").
func match(lx *Lexicon, toks []token, i int) (*info, string, int) {
	w := toks[i].text
	if p := matchPhrase(lx.phrases[w], toks, i); p != nil {
		return p.info, p.text, len(p.words)
	}
	if lx.stemPhr != nil {
		for n := min(len(w), lx.maxPS); n >= lx.minPS; n-- {
			if isBoundary(w, n) {
				if p := matchPhrase(lx.stemPhr[w[:n]], toks, i); p != nil {
					return p.info, p.text, len(p.words)
				}
			}
		}
	}
	if in, key := lx.lookup(w); in != nil {
		return in, strings.TrimSuffix(key, "*"), 1
	}
	// Compounds written with a hyphen: "интернет-мошенничество", "super-bad".
	if j := strings.LastIndexByte(w, '-'); j > 0 && j < len(w)-1 {
		if in, key := lx.lookup(w[j+1:]); in != nil {
			return in, strings.TrimSuffix(key, "*"), 1
		}
	}
	// A platform with a case ending or a suffix: "TikTok-ում",
	// "Instagram'da".
	j := strings.IndexByte(w, '-')
	if k := strings.IndexByte(w, '\''); k >= 0 && (j < 0 || k < j) {
		j = k
	}
	if j > 0 {
		if in, key := lx.lookup(w[:j]); in != nil && in.platform {
			return in, key, 1
		}
	}
	// Attached prefixes: Armenian future կ- and negation չ- on verbs,
	// Arabic conjunctions and articles (و, ال, بال...).
	for _, p := range prefixRules[lx.Lang] {
		if rest, ok := strings.CutPrefix(w, p.prefix); ok && utf8.RuneCountInString(rest) >= 3 {
			if in, key := lx.lookup(rest); in != nil && (in.valence != 0 || !p.negate) {
				if p.negate {
					n := *in
					n.aspects, n.signals = nil, nil
					if n.valence > 0 {
						n.valence *= negScale
					} else {
						n.valence *= negScaleNeg
					}
					return &n, p.prefix + strings.TrimSuffix(key, "*"), 1
				}
				return in, strings.TrimSuffix(key, "*"), 1
			}
		}
	}
	if hasRun3(w) {
		for _, keep := range []int{1, 2} {
			sq, _ := squeeze(w, keep)
			if in, key := lx.lookup(sq); in != nil {
				toks[i].elong = true
				return in, strings.TrimSuffix(key, "*"), 1
			}
		}
	}
	return nil, "", 0
}

// sarcasmAt finds a sarcasm phrase of lx (or, for a Latin word in
// code-mixed text, of the fallback) at toks[i], skipping commas between its
// words ("great, another"); it returns the phrase and the tokens it spans.
func sarcasmAt(lx, fallback *Lexicon, toks []token, i int) (*phrase, int) {
	w := toks[i].text
	if w == "" {
		return nil, 0
	}
	bit := sarcBit(w)
	var ps []phrase
	if lx.sarcMask&bit != 0 {
		ps = lx.sarcasm[w]
	}
	if ps == nil && fallback != nil && toks[i].latin && fallback.sarcMask&bit != 0 {
		ps = fallback.sarcasm[w]
	}
	if ps == nil {
		return nil, 0
	}
	start := i == 0 || toks[i-1].kind == tBreak
next:
	for k := range ps {
		p := &ps[k]
		if p.atStart && !start {
			continue
		}
		j := i
		for n, pw := range p.words {
			for n > 0 && j < len(toks) && toks[j].kind == tComma {
				j++
			}
			if j >= len(toks) || toks[j].kind != tWord || !matchWord(pw, toks[j].text) {
				continue next
			}
			j++
		}
		return p, j - i
	}
	return nil, 0
}

// matchPhrase returns the first (longest) phrase of ps found at toks[i].
func matchPhrase(ps []phrase, toks []token, i int) *phrase {
next:
	for k := range ps {
		p := &ps[k]
		if i+len(p.words) > len(toks) {
			continue
		}
		for j, pw := range p.words {
			if t := toks[i+j]; t.kind != tWord || !matchWord(pw, t.text) {
				continue next
			}
		}
		return p
	}
	return nil
}

// markPhrase finds a word sequence in toks and marks it in skip (if given).
func markPhrase(toks []token, p []string, skip []bool) bool {
	if len(p) == 0 {
		return false
	}
	found := false
outer:
	for i := 0; i+len(p) <= len(toks); i++ {
		for j, w := range p {
			if toks[i+j].kind != tWord || toks[i+j].text != w {
				continue outer
			}
		}
		found = true
		if skip == nil {
			return true
		}
		for j := range p {
			skip[i+j] = true
		}
	}
	return found
}

func hasLetter(s string) bool {
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// hasOtherScript reports any letter outside the Latin script.
func hasOtherScript(s string) bool {
	for _, r := range s {
		if r >= 0x80 && unicode.IsLetter(r) && !unicode.Is(unicode.Latin, r) {
			return true
		}
	}
	return false
}

func hasCyrillic(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Cyrillic, r) }) >= 0
}

// latinizeSerbian transliterates Serbian Cyrillic so that the shared
// Croatian/Bosnian/Serbian lexicon applies.
func latinizeSerbian(s string) string {
	var b strings.Builder
	for _, r := range s {
		lower := unicode.ToLower(r)
		if l, ok := srLatin[lower]; ok {
			if lower != r {
				l = strings.ToUpper(l[:1]) + l[1:]
			}
			b.WriteString(l)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

var srLatin = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'ђ': "đ", 'е': "e", 'ж': "ž", 'з': "z", 'и': "i",
	'ј': "j", 'к': "k", 'л': "l", 'љ': "lj", 'м': "m", 'н': "n", 'њ': "nj", 'о': "o", 'п': "p", 'р': "r",
	'с': "s", 'т': "t", 'ћ': "ć", 'у': "u", 'ф': "f", 'х': "h", 'ц': "c", 'ч': "č", 'џ': "dž", 'ш': "š",
}
