package scoring

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Lexicons are plain text, one per language, authored for Earshot (see
// lexicons/SOURCES.md). Format:
//
//	# comment
//	[sentiment]          word-or-phrase  valence (-4..4)
//	[negation]           words that flip the valence of the next 3 words
//	[negation after]     ... or of the sentiment word just before them
//	[intensifier]        word  factor (0.3 = +30%, negative damps)
//	[contrast]           "but": the clause after weighs more
//	[aspect NAME]        words naming a part of the service
//	[signal NAME]        words raising an urgency signal
//	[platform]           social networks (TikTok, Instagram, YouTube...)
//	[publicity]          "post", "upload", "video": with a platform in the
//	                     same sentence, a threat to go public (signal media)
//	[sarcasm]            phrase  valence: praise that means the opposite
//	                     ("great, another", "ага, конечно"); commas between
//	                     its words are skipped
//	[neutral]            phrases that hold a negation but no complaint ("not
//	                     only", "не забудьте"): matched, they open no negation
//	[stopwords]          frequent function words, for language identification
//
// A trailing * matches any ending (inflected languages); entries are matched
// after lower-casing and, for Latin script, folding diacritics, so "losa"
// and "loša" are the same word. Phrases are space-separated words.
//
//go:embed lexicons/*.txt
var lexiconFS embed.FS

// info is everything a lexicon says about one word or phrase.
type info struct {
	valence   float64 // sentiment, 0 when none
	negation  bool
	negAfter  bool    // also negates the word just before (Hindi, Armenian)
	intensity float64 // intensifier factor, 0 when none
	contrast  bool
	aspects   []string
	signals   []string
	stop      bool
	platform  bool
	publicity bool
}

func (i *info) merge(o *info) {
	if o.valence != 0 {
		i.valence = o.valence
	}
	i.negation = i.negation || o.negation
	i.negAfter = i.negAfter || o.negAfter
	if o.intensity != 0 {
		i.intensity = o.intensity
	}
	i.contrast = i.contrast || o.contrast
	for _, a := range o.aspects {
		if !slices.Contains(i.aspects, a) {
			i.aspects = append(i.aspects, a)
		}
	}
	for _, s := range o.signals {
		if !slices.Contains(i.signals, s) {
			i.signals = append(i.signals, s)
		}
	}
	i.stop = i.stop || o.stop
	i.platform = i.platform || o.platform
	i.publicity = i.publicity || o.publicity
}

// phrase is a multi-word entry, indexed by its first word.
type phrase struct {
	words []string // folded; the last may end in *
	text  string
	info  *info
	// atStart: a sarcasm phrase that counts only at a sentence's start.
	atStart bool
}

// Lexicon is one language's compiled lexicon. Read-only after load, so safe
// for concurrent use.
type Lexicon struct {
	Lang     string
	words    map[string]*info    // exact
	prefixes map[string]*info    // stems ("ужасн" for ужасн*)
	phrases  map[string][]phrase // first word -> phrases
	stemPhr  map[string][]phrase // first stem ("горяч" for "горяч* лини*") -> phrases
	minPS    int
	maxPS    int
	stops    map[string]bool
	minStem  int
	maxStem  int
	// sarcasm phrases by first word (exact): matched with commas skipped.
	// sarcMask has sarcBit set for each first word: most words skip the
	// map lookup.
	sarcasm  map[string][]phrase
	sarcMask uint64
}

// sarcBit is a cheap fingerprint of a word (first byte and length).
func sarcBit(w string) uint64 {
	return 1 << ((uint(w[0])*7 + uint(len(w))) & 63)
}

// lookup finds a single token, exact first, then the longest stem.
func (l *Lexicon) lookup(w string) (*info, string) {
	if in, ok := l.words[w]; ok {
		return in, w
	}
	if len(l.prefixes) == 0 {
		return nil, ""
	}
	n := len(w)
	if n > l.maxStem {
		n = l.maxStem
	}
	for ; n >= l.minStem; n-- {
		if !isBoundary(w, n) {
			continue
		}
		if in, ok := l.prefixes[w[:n]]; ok {
			return in, w[:n] + "*"
		}
	}
	return nil, ""
}

// isBoundary reports whether n is a rune boundary of w.
func isBoundary(w string, n int) bool {
	return n == len(w) || w[n]&0xC0 != 0x80
}

// matchWord reports whether token w matches pattern p (a word or stem*).
func matchWord(p, w string) bool {
	if s, ok := strings.CutSuffix(p, "*"); ok {
		return strings.HasPrefix(w, s)
	}
	return p == w
}

// loadLexicon parses one embedded lexicon file.
func loadLexicon(lang string) (*Lexicon, error) {
	name := "lexicons/" + lang + ".txt"
	data, err := lexiconFS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("lexicon %s: %w", lang, err)
	}
	return parseLexicon(lang, name, data)
}

func parseLexicon(lang, name string, data []byte) (*Lexicon, error) {
	l := &Lexicon{Lang: lang, words: map[string]*info{}, prefixes: map[string]*info{}, phrases: map[string][]phrase{}, stops: map[string]bool{}, minStem: 1 << 30}
	sc := bufio.NewScanner(bytes.NewReader(data))
	section, arg := "", ""
	lineNo := 0
	// An entry written twice in one section is refused, and so is a
	// spelling that folds onto an earlier entry with another value: the
	// later valence would win silently (a lexicon pass once re-valued 105
	// words that way). Variants that fold together with the same value
	// ("scheiß*", "scheiss*") stay. Every such line is named at once
	// (after a malformed line, which stops the reading).
	type entry struct {
		line  int
		raw   string
		value float64
		seen  map[string]int // lower-cased spellings -> line
	}
	seen := map[string]*entry{}
	var dups []error
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			f := strings.Fields(line[1 : len(line)-1])
			if len(f) == 0 {
				return nil, fmt.Errorf("%s:%d: empty section", name, lineNo)
			}
			section, arg = f[0], ""
			if len(f) > 1 {
				arg = f[1]
			}
			switch section {
			case "sentiment", "negation", "intensifier", "contrast", "stopwords", "platform", "publicity", "sarcasm", "neutral":
			case "aspect", "signal":
				if arg == "" {
					return nil, fmt.Errorf("%s:%d: [%s] needs a name", name, lineNo, section)
				}
			default:
				return nil, fmt.Errorf("%s:%d: unknown section %q", name, lineNo, section)
			}
			continue
		}
		if section == "stopwords" {
			for _, w := range strings.Fields(line) {
				l.stops[fold(w)] = true
			}
			continue
		}
		f := strings.Fields(line)
		var in info
		switch section {
		case "sentiment", "intensifier", "sarcasm":
			if len(f) < 2 {
				return nil, fmt.Errorf("%s:%d: %s entry needs a number", name, lineNo, section)
			}
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil || v == 0 {
				return nil, fmt.Errorf("%s:%d: bad number %q", name, lineNo, f[len(f)-1])
			}
			f = f[:len(f)-1]
			if section != "intensifier" {
				in.valence = v
			} else {
				in.intensity = v
			}
		case "negation":
			in.negation = true
			in.negAfter = arg == "after"
		case "contrast":
			in.contrast = true
		case "aspect":
			in.aspects = []string{arg}
		case "signal":
			in.signals = []string{arg}
		case "platform":
			in.platform = true
		case "publicity":
			in.publicity = true
		case "neutral":
			// An entry that carries nothing: matched as a phrase, it takes
			// its words, so the negation it starts with opens no scope.
			if len(f) < 2 {
				return nil, fmt.Errorf("%s:%d: a neutral entry is a phrase", name, lineNo)
			}
		default:
			return nil, fmt.Errorf("%s:%d: entry outside a section", name, lineNo)
		}
		raw := strings.Join(f, " ")
		for i := range f {
			f[i] = fold(f[i])
		}
		key := section + "\x00" + arg + "\x00" + strings.Join(f, " ")
		value, low := in.valence+in.intensity, strings.ToLower(raw)
		if at, ok := seen[key]; ok {
			where := section
			if arg != "" {
				where += " " + arg
			}
			if at.value != value {
				dups = append(dups, fmt.Errorf("%s:%d: %q would re-value %q (%g -> %g) in [%s] at line %d", name, lineNo, raw, at.raw, at.value, value, where, at.line))
				continue
			}
			if prev, ok := at.seen[low]; ok {
				dups = append(dups, fmt.Errorf("%s:%d: %q is already in [%s] at line %d", name, lineNo, raw, where, prev))
				continue
			}
			at.seen[low] = lineNo
		} else {
			seen[key] = &entry{line: lineNo, raw: raw, value: value, seen: map[string]int{low: lineNo}}
		}
		if section == "sarcasm" {
			// "^great another": only where a sentence starts ("The food
			// was great, another plus..." is praise).
			first, atStart := strings.CutPrefix(f[0], "^")
			f[0] = first
			if len(f) < 2 || first == "" || strings.HasSuffix(first, "*") {
				return nil, fmt.Errorf("%s:%d: a sarcasm entry is a phrase whose first word is exact", name, lineNo)
			}
			if l.sarcasm == nil {
				l.sarcasm = map[string][]phrase{}
			}
			c := in
			l.sarcMask |= sarcBit(first)
			l.sarcasm[first] = append(l.sarcasm[first], phrase{words: f, text: strings.Join(f, " "), info: &c, atStart: atStart})
			slices.SortStableFunc(l.sarcasm[f[0]], func(a, b phrase) int { return len(b.words) - len(a.words) })
			continue
		}
		l.add(f, &in)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(dups) > 0 {
		return nil, errors.Join(dups...)
	}
	return l, nil
}

func (l *Lexicon) add(words []string, in *info) {
	if len(words) > 1 {
		first, stem := strings.CutSuffix(words[0], "*")
		idx := l.phrases
		if stem {
			if l.stemPhr == nil {
				l.stemPhr, l.minPS = map[string][]phrase{}, 1<<30
			}
			idx = l.stemPhr
			l.minPS, l.maxPS = min(l.minPS, len(first)), max(l.maxPS, len(first))
		}
		for i, p := range idx[first] {
			if slices.Equal(p.words, words) {
				idx[first][i].info.merge(in)
				return
			}
		}
		c := *in
		idx[first] = append(idx[first], phrase{words: words, text: strings.Join(words, " "), info: &c})
		// Longest phrases first, so "not bad at all" wins over "not bad".
		slices.SortStableFunc(idx[first], func(a, b phrase) int { return len(b.words) - len(a.words) })
		return
	}
	w := words[0]
	m := l.words
	if s, ok := strings.CutSuffix(w, "*"); ok && s != "" {
		w, m = s, l.prefixes
		l.minStem = min(l.minStem, len(w))
		l.maxStem = max(l.maxStem, len(w))
	}
	if old, ok := m[w]; ok {
		old.merge(in)
		return
	}
	c := *in
	m[w] = &c
}

// mergeFrom adds another lexicon's entries where this one has none (used for
// the shared emoji lexicon and for English inside code-mixed text).
func (l *Lexicon) mergeFrom(o *Lexicon) {
	for w, in := range o.words {
		if _, ok := l.words[w]; !ok {
			l.words[w] = in
		}
	}
}
