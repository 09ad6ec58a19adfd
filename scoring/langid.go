package scoring

import (
	"slices"
	"strings"
	"unicode"

	"github.com/pemistahl/lingua-go"
)

// langID picks the language of a text among the configured ones, cheapest
// evidence first:
//  1. the script, where it decides (Armenian, Devanagari, Arabic; Cyrillic
//     by its letters: і/ї/є/ґ Ukrainian, ђ/ћ/џ/ј/љ/њ Serbian, else Russian);
//  2. function words from the lexicons' [stopwords], when one language
//     clearly leads (most posts, at map-lookup speed);
//  3. lingua-go in low-accuracy mode, restricted to the configured
//     Latin-script languages, for the rest.
//
// Measured on the dev sets (2 cores): lingua over 13 Latin languages runs
// ~4,000 texts/s in low-accuracy mode (11 MB heap) and ~1,700/s in high
// accuracy (220 MB heap, 2.5 s to load): too slow and too big to run on
// every post, hence the fast paths. Low accuracy alone got pt right 82% of
// the time, en 95%.
type langID struct {
	allowed map[string]bool
	latin   []string            // configured Latin-script languages with stopwords
	stops   map[string][]string // folded word -> languages listing it
	det     lingua.LanguageDetector
	// detLatin is det without its Cyrillic-only languages (Serbian), for
	// text whose letters are all Latin: lingua drops those languages for
	// such text anyway, and skipping them spares a regexp per character.
	detLatin lingua.LanguageDetector
	codes    map[lingua.Language]string
}

// scriptLangs are languages that the script alone identifies.
var scriptOf = map[string]*unicode.RangeTable{
	"hy": unicode.Armenian,
	"hi": unicode.Devanagari,
	"ar": unicode.Arabic,
}

var cyrillicLangs = []string{"ru", "uk", "sr"}

// Scripts of languages without a lexicon: such text is named for what it
// is (and scored by its emoji and English words only), never passed to the
// Latin-script detectors, which would call Chinese English or Croatian.
var otherScripts = [8]struct {
	lang  string
	table *unicode.RangeTable
}{
	{"ja", unicode.Hiragana}, {"ja", unicode.Katakana}, {"ko", unicode.Hangul}, {"zh", unicode.Han},
	{"th", unicode.Thai}, {"el", unicode.Greek}, {"he", unicode.Hebrew}, {"ka", unicode.Georgian},
}

// isLatinWord reports whether a lexicon word is written in Latin letters
// (a romanised entry of a language with its own script).
func isLatinWord(w string) bool {
	for _, r := range w {
		if unicode.IsLetter(r) && !unicode.Is(unicode.Latin, r) {
			return false
		}
	}
	return w != ""
}

func newLangID(langs []string, lex map[string]*Lexicon) *langID {
	d := &langID{allowed: map[string]bool{}, stops: map[string][]string{}, codes: map[lingua.Language]string{}}
	for _, l := range langs {
		d.allowed[l] = true
	}
	var latin []lingua.Language
	for _, l := range langs {
		if l == "ru" || l == "uk" {
			continue
		}
		if scriptOf[l] != nil {
			// A language with its own script that is also written in
			// Latin letters (Hinglish: "room bahut ganda tha") votes with
			// its lexicon's Latin function words; lingua knows it only in
			// its own script.
			n := 0
			if lx := lex[lexLang(l)]; lx != nil {
				for w := range lx.stops {
					if isLatinWord(w) {
						d.stops[w] = append(d.stops[w], l)
						n++
					}
				}
			}
			if n > 0 {
				d.latin = append(d.latin, l)
			}
			continue
		}
		d.latin = append(d.latin, l)
		// hr, bs and sr share one lexicon: let only the first configured
		// of them vote, or they would tie.
		shared := false
		for _, o := range d.latin[:len(d.latin)-1] {
			shared = shared || lexLang(o) == lexLang(l)
		}
		if lx := lex[lexLang(l)]; lx != nil && !shared {
			for w := range lx.stops {
				if !slices.Contains(d.stops[w], l) {
					d.stops[w] = append(d.stops[w], l)
				}
			}
		}
		for _, ll := range lingua.AllLanguages() {
			if strings.EqualFold(ll.IsoCode639_1().String(), l) {
				latin = append(latin, ll)
				d.codes[ll] = l
			}
		}
	}
	if len(latin) >= 2 {
		d.det = lingua.NewLanguageDetectorBuilder().FromLanguages(latin...).WithLowAccuracyMode().Build()
		d.detLatin = d.det
		latinOnly := slices.DeleteFunc(slices.Clone(latin), func(l lingua.Language) bool { return l == lingua.Serbian })
		if len(latinOnly) >= 2 && len(latinOnly) < len(latin) {
			d.detLatin = lingua.NewLanguageDetectorBuilder().FromLanguages(latinOnly...).WithLowAccuracyMode().Build()
		}
	}
	return d
}

// lexLang maps a language to the lexicon that covers it: Bosnian and
// Serbian share the Croatian one (one language, three standards).
func lexLang(l string) string {
	if l == "bs" || l == "sr" {
		return "hr"
	}
	return l
}

// Markers that tell the three standards of one language apart where the
// shared lexicon does not care: ekavian Serbian, Bosnian word choices.
var (
	srMarkers = map[string]bool{"mesto": true, "lepo": true, "lep": true, "lepa": true, "vreme": true, "vremena": true, "deca": true, "dece": true, "posle": true, "uvek": true, "gde": true, "sprat": true, "spratu": true, "voz": true, "hleb": true, "cena": true, "cene": true, "mleko": true, "belo": true, "reka": true, "vredi": true, "vreteo": true, "ovde": true, "videti": true, "veceras": true, "nedelja": true, "nedelju": true, "hiljadu": true, "dinara": true, "pocepani": true, "uopste": true}
	bsMarkers = map[string]bool{"sedmica": true, "sedmicu": true, "sedmice": true, "hljeb": true, "kahva": true, "kahvu": true, "sta": true, "hiljadu": true, "kafu": true, "kafa": true, "prodavnica": true, "prodavnici": true, "maraka": true, "km": true, "ahbab": true, "merak": true}
)

// dialect picks hr, bs or sr for text in the shared lexicon's language, among
// the configured ones; lingua's own choice between them is unreliable
// (low-accuracy mode calls most Croatian Bosnian).
func (d *langID) dialect(l string, toks []token) string {
	if lexLang(l) != "hr" {
		return l
	}
	sr, bs := 0, 0
	for _, t := range toks {
		if t.kind == tWord {
			if srMarkers[t.text] {
				sr++
			}
			if bsMarkers[t.text] {
				bs++
			}
		}
	}
	want := "hr"
	switch {
	case sr > bs:
		want = "sr"
	case bs > 0:
		want = "bs"
	}
	if d.allowed[want] {
		return want
	}
	for _, c := range []string{"hr", "bs", "sr"} {
		if d.allowed[c] {
			return c
		}
	}
	return l
}

// detect returns the language, a confidence and how it was decided.
func (d *langID) detect(text string, toks []token) (string, float64, string) {
	var latinN, cyr, other int
	var others [8]int // by otherScripts
	counts := map[string]int{}
	uk, sr := false, false
	allLatin := true // every letter in the Latin script (lingua's sense)
	for _, r := range text {
		if r >= 0x80 && allLatin && unicode.IsLetter(r) && !unicode.Is(unicode.Latin, r) {
			allLatin = false
		}
		switch {
		case r < 0x80:
			if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
				latinN++
			}
		case unicode.Is(unicode.Cyrillic, r):
			cyr++
			switch unicode.ToLower(r) {
			case 'і', 'ї', 'є', 'ґ':
				uk = true
			case 'ђ', 'ћ', 'џ', 'ј', 'љ', 'њ':
				sr = true
			}
		case unicode.IsLetter(r):
			found := false
			for l, t := range scriptOf {
				if unicode.Is(t, r) {
					counts[l]++
					found = true
					break
				}
			}
			if !found {
				if r <= 0x24F || unicode.Is(unicode.Latin, r) {
					latinN++
				} else {
					other++
					for i, o := range otherScripts {
						if unicode.Is(o.table, r) {
							others[i]++
							break
						}
					}
				}
			}
		}
	}
	total := latinN + cyr + other
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return "", 1, "no letters" // emoji and emoticons mean the same everywhere
	}
	// A script that makes up at least a third of the letters decides: a
	// Hindi post with English brand names is still Hindi.
	for l, n := range counts {
		if 3*n >= total && d.allowed[l] {
			return l, 1, "script"
		}
	}
	if l, ok := otherScript(others[:], other, total); ok {
		return l, 1, "script"
	}
	if 3*cyr >= total {
		want := "ru"
		if uk {
			want = "uk"
		} else if sr {
			want = "sr"
		}
		if d.allowed[want] {
			return want, 0.95, "script"
		}
		for _, l := range cyrillicLangs {
			if d.allowed[l] {
				return l, 0.6, "script"
			}
		}
	}
	// Latin script: function words.
	if len(d.latin) == 1 {
		return d.latin[0], 0.9, "only latin language"
	}
	votes := map[string]int{}
	for _, t := range toks {
		if t.kind != tWord {
			continue
		}
		for _, l := range d.stops[t.text] {
			votes[l]++
		}
	}
	best, second := "", 0
	for l, n := range votes {
		if best == "" || n > votes[best] || n == votes[best] && l < best {
			if best != "" {
				second = max(second, votes[best])
			}
			best = l
		} else {
			second = max(second, n)
		}
	}
	if best != "" && votes[best] >= 2 && votes[best] >= 2*second {
		if scriptOf[best] != nil {
			return best, 0.9, "function words, romanised"
		}
		return d.dialect(best, toks), 0.9, "function words"
	}
	if d.det != nil {
		det := d.det
		if allLatin {
			det = d.detLatin
		}
		if l, ok := det.DetectLanguageOf(linguaPrefix(text)); ok {
			return d.dialect(d.codes[l], toks), 0.75, "lingua"
		}
	}
	if best != "" {
		return best, 0.5, "function words (weak)"
	}
	if d.allowed["en"] {
		return "en", 0.3, "default"
	}
	return "", 0, "unknown"
}

// otherScript names the language of text written mostly (a third of its
// letters or more) in a script without a lexicon: Japanese by its kana
// (Japanese writes kanji too), Korean by Hangul, Chinese by Han alone; und
// for a script it does not know.
func otherScript(n []int, other, total int) (string, bool) {
	if 3*other < total {
		return "", false
	}
	ja := n[0] + n[1]
	cjk := ja + n[2] + n[3]
	switch {
	case 3*cjk >= total && ja > 0:
		return "ja", true
	case 3*cjk >= total && n[2] > 0:
		return "ko", true
	case 3*cjk >= total:
		return "zh", true
	}
	best := -1
	for i := 4; i < len(n); i++ {
		if 3*n[i] >= total && (best < 0 || n[i] > n[best]) {
			best = i
		}
	}
	if best >= 0 {
		return otherScripts[best].lang, true
	}
	return "und", true
}

// maxLinguaBytes bounds the text lingua reads. Its cost grows with the
// text, and more than linearly past a few hundred letters (its decimal
// arithmetic); the first 4 KiB say which language a post is in. No text in
// the dev sets is that long, so none changes.
const maxLinguaBytes = 4 << 10

// linguaPrefix cuts text to at most maxLinguaBytes at a space, so that no
// word is cut in two (which would make up n-grams).
func linguaPrefix(text string) string {
	if len(text) <= maxLinguaBytes {
		return text
	}
	if i := strings.LastIndexByte(text[:maxLinguaBytes], ' '); i > 0 {
		return text[:i]
	}
	return strings.ToValidUTF8(text[:maxLinguaBytes], "")
}
