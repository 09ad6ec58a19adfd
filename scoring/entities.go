package scoring

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jdkato/prose/v2"
	"github.com/mingrammer/commonregex"
)

// entityExtractor finds people, places and organisations in English text
// with prose's English model (v2.0.0: averaged-perceptron POS tagger, then
// a maximum-entropy NER over the tags).
//
// prose.NewDocument spent ~90% of scoring time when it ran: per token it
// compiles two regexps (shape), scans an 850-word list, builds 17 feature
// strings per label for map lookups and allocates maps, and callers had to
// serialise it. Here prose still tokenises (its public API), and the tagger
// and NER run on prose's own model data, re-indexed so that one lookup per
// feature yields the weights of every label. The arithmetic, feature strings
// and tie-breaking follow prose's code (tag.go, extract.go), so the entities
// are prose's (entities_test.go compares the two on our data). The model is
// read-only after newEntityExtractor: safe for concurrent use, no lock.
type entityExtractor struct {
	// POS tagger (prose tag.go).
	tagClasses []string
	tagDict    map[string]string        // words with a fixed tag
	tagW       map[string][]classWeight // feature -> weight per class
	// NER (prose extract.go).
	labels  []string
	nerW    map[string][]classWeight // "fname-fval" -> weight per label
	basic   map[string]bool          // prose's en-wordlist
	scratch sync.Pool                // *entityScratch
}

type classWeight struct {
	class int
	w     float64
}

// maxEntityBytes bounds the work per mention.
const maxEntityBytes = 4 << 10

// nerFeatureOrder is prose's featureOrder: the order in which prose adds a
// label's feature weights, kept so the float sums are the same.
var nerFeatureOrder = [...]string{
	"bias", "en-wordlist", "nextpos", "nextword", "pos", "pos+prevtag",
	"prefix3", "prevpos", "prevtag", "prevword", "shape", "shape+prevtag",
	"suffix3", "word", "word+nextpos", "word.lower", "wordlen"}

func newEntityExtractor() (*entityExtractor, error) {
	e := &entityExtractor{}
	var tagWeights map[string]map[string]float64
	var mapping map[string]int
	var weights []float64
	var words []string
	for _, a := range []struct {
		name string
		into any
	}{
		{"model/AveragedPerceptron/classes.gob", &e.tagClasses},
		{"model/AveragedPerceptron/tags.gob", &e.tagDict},
		{"model/AveragedPerceptron/weights.gob", &tagWeights},
		{"model/Maxent/labels.gob", &e.labels},
		{"model/Maxent/mapping.gob", &mapping},
		{"model/Maxent/weights.gob", &weights},
		{"model/Maxent/words.gob", &words},
	} {
		b, err := prose.Asset(a.name)
		if err != nil {
			return nil, fmt.Errorf("scoring: entity model: %w", err)
		}
		if err := gob.NewDecoder(bytes.NewReader(b)).Decode(a.into); err != nil {
			return nil, fmt.Errorf("scoring: entity model %s: %w", a.name, err)
		}
	}

	// Classes that only appear in the weights still count (prose scores by
	// label name).
	classIdx := map[string]int{}
	for i, c := range e.tagClasses {
		classIdx[c] = i
	}
	e.tagW = make(map[string][]classWeight, len(tagWeights))
	for feat, ws := range tagWeights {
		cw := make([]classWeight, 0, len(ws))
		for c, w := range ws {
			i, ok := classIdx[c]
			if !ok {
				i = len(e.tagClasses)
				e.tagClasses = append(e.tagClasses, c)
				classIdx[c] = i
			}
			cw = append(cw, classWeight{i, w})
		}
		slices.SortFunc(cw, func(a, b classWeight) int { return a.class - b.class })
		e.tagW[feat] = cw
	}

	// prose looks up "fname-fval-label" once per label; "fname-fval" may
	// itself contain '-', so every split of a key that ends in "-label"
	// is indexed: the lookup then finds exactly the keys prose would.
	e.nerW = make(map[string][]classWeight, len(mapping)/2)
	for key, idx := range mapping {
		if idx < 0 || idx >= len(weights) {
			return nil, fmt.Errorf("scoring: entity model: feature %q has no weight", key)
		}
		for li, l := range e.labels {
			if p, ok := strings.CutSuffix(key, "-"+l); ok {
				e.nerW[p] = append(e.nerW[p], classWeight{li, weights[idx]})
			}
		}
	}
	e.basic = make(map[string]bool, len(words))
	for _, w := range words {
		e.basic[w] = true
	}
	e.scratch.New = func() any { return &entityScratch{} }
	return e, nil
}

// entityScratch is the per-call working memory, pooled.
type entityScratch struct {
	key     []byte
	slot    []int           // token -> the first token that is the same *prose.Token
	ptrs    map[uintptr]int // for slot
	ctx     []string        // normalised words with two pads each side
	lower   []string
	shapes  []string
	tags    []string // by slot
	labels  []string // by slot
	history []string
	tagSc   []float64
	tagSeen []bool
	nerSc   []float64
}

// extract returns entities as "Text (LABEL)", each once, in text order. A
// panic (prose's tokenizer on odd input) loses the entities of one mention,
// never the mention.
func (e *entityExtractor) extract(title, text string) (out []string) {
	if title != "" {
		text = title + ". " + text
	}
	if len(text) > maxEntityBytes {
		text = text[:maxEntityBytes]
	}
	defer func() {
		if r := recover(); r != nil {
			out = nil
		}
	}()
	ents, ok := e.entities(text)
	if !ok {
		return nil
	}
	for _, ent := range ents {
		name := strings.TrimSpace(ent.Text)
		if name == "" {
			continue
		}
		s := name + " (" + ent.Label + ")"
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// entities is prose.NewDocument(text, WithSegmentation(false)).Entities().
// ok is false where prose would have panicked.
func (e *entityExtractor) entities(text string) ([]prose.Entity, bool) {
	doc, err := prose.NewDocument(text, prose.WithSegmentation(false), prose.WithTagging(false), prose.WithExtraction(false))
	if err != nil {
		return nil, false
	}
	toks := doc.Tokens()
	if len(toks) == 0 {
		return nil, true
	}
	sc := e.scratch.Get().(*entityScratch)
	defer e.scratch.Put(sc)
	if !sc.slots(doc, len(toks)) {
		return nil, false
	}
	if !e.tag(toks, sc) {
		return nil, false
	}
	e.classify(toks, sc)
	return sc.chunk(toks)
}

// slots finds the tokens that prose shares. Its tokenizer caches the
// tokens of each repeated whitespace-separated span and hands out the same
// *Token again, so tagging or labelling a later occurrence overwrites the
// earlier one's, and prose's NER and chunker read those overwritten values.
// Tokens() returns copies; the sharing is only visible in the unexported
// token slice (read, never written, through reflection). false when prose
// no longer has it: the caller then finds no entities, and
// TestEntitiesMatchProse fails.
func (sc *entityScratch) slots(doc *prose.Document, n int) bool {
	v := reflect.ValueOf(doc).Elem().FieldByName("tokens")
	if !v.IsValid() || v.Type() != reflect.TypeFor[[]*prose.Token]() || v.Len() != n {
		return false
	}
	if sc.ptrs == nil {
		sc.ptrs = map[uintptr]int{}
	}
	clear(sc.ptrs)
	sc.slot = sc.slot[:0]
	for i := 0; i < n; i++ {
		p := v.Index(i).Pointer()
		first, ok := sc.ptrs[p]
		if !ok {
			first = i
			sc.ptrs[p] = i
		}
		sc.slot = append(sc.slot, first)
	}
	sc.tags = slices.Grow(sc.tags[:0], n)[:n]
	sc.labels = slices.Grow(sc.labels[:0], n)[:n]
	clear(sc.tags)
	clear(sc.labels)
	return true
}

func (sc *entityScratch) tag(i int) string   { return sc.tags[sc.slot[i]] }
func (sc *entityScratch) label(i int) string { return sc.labels[sc.slot[i]] }

// tag is prose's perceptronTagger.tag.
func (e *entityExtractor) tag(toks []prose.Token, sc *entityScratch) bool {
	n := len(toks)
	sc.ctx = append(sc.ctx[:0], "-START-", "-START2-")
	for _, t := range toks {
		sc.ctx = append(sc.ctx, normalizeWord(t.Text))
	}
	sc.ctx = append(sc.ctx, "-END-", "-END2-")
	sc.tagSc = slices.Grow(sc.tagSc[:0], len(e.tagClasses))[:len(e.tagClasses)]
	sc.tagSeen = slices.Grow(sc.tagSeen[:0], len(e.tagClasses))[:len(e.tagClasses)]
	ctx := sc.ctx
	p1, p2 := "-START-", "-START2-"
	for i := 0; i < n; i++ {
		w := toks[i].Text
		if w == "" {
			return false // prose indexes w[0]
		}
		var tag string
		switch {
		case w == "-":
			tag = "-"
		case proseEmoticons[w]:
			tag = "SYM"
		// The regexps need a '.' (link) or an '@' (e-mail) to match.
		case strings.IndexByte(w, '.') >= 0 && commonregex.LinkRegex.MatchString(w),
			strings.IndexByte(w, '@') >= 0 && commonregex.EmailRegex.MatchString(w),
			w[0] == '@':
			tag = "NN"
		case (w == "0" || w[0] == '*') && proseNone.MatchString(w):
			tag = "-NONE-"
		case w[0] == '-' && proseKeep.MatchString(w):
			tag = w
		default:
			var ok bool
			if tag, ok = e.tagDict[w]; !ok {
				tag = e.predictTag(sc, w, ctx, i+2, p1, p2)
			}
		}
		sc.tags[sc.slot[i]] = tag
		p2, p1 = p1, tag
	}
	return true
}

// predictTag is prose's featurize + averagedPerceptron.predict: every
// feature counts once; the best class among those with a weight wins.
// prose sums in map order and breaks exact ties by map order (so it is
// not deterministic there); this takes the first class.
func (e *entityExtractor) predictTag(sc *entityScratch, w string, ctx []string, i int, p1, p2 string) string {
	clear(sc.tagSc)
	clear(sc.tagSeen)
	k := sc.key[:0]
	add := func() {
		for _, cw := range e.tagW[string(k)] {
			sc.tagSc[cw.class] += cw.w
			sc.tagSeen[cw.class] = true
		}
	}
	k = append(k, "bias"...)
	add()
	k = append(append(k[:0], "i suffix "...), w[len(w)-min(len(w), 3):]...)
	add()
	k = utf8.AppendRune(append(k[:0], "i pref1 "...), rune(w[0]))
	add()
	k = append(append(k[:0], "i-1 tag "...), p1...)
	add()
	k = append(append(k[:0], "i-2 tag "...), p2...)
	add()
	k = append(append(append(append(k[:0], "i tag+i-2 tag "...), p1...), ' '), p2...)
	add()
	k = append(append(k[:0], "i word "...), ctx[i]...)
	add()
	k = append(append(append(append(k[:0], "i-1 tag+i word "...), p1...), ' '), ctx[i]...)
	add()
	k = append(append(k[:0], "i-1 word "...), ctx[i-1]...)
	add()
	k = append(append(k[:0], "i-1 suffix "...), ctx[i-1][len(ctx[i-1])-min(len(ctx[i-1]), 3):]...)
	add()
	k = append(append(k[:0], "i-2 word "...), ctx[i-2]...)
	add()
	k = append(append(k[:0], "i+1 word "...), ctx[i+1]...)
	add()
	k = append(append(k[:0], "i+1 suffix "...), ctx[i+1][len(ctx[i+1])-min(len(ctx[i+1]), 3):]...)
	add()
	k = append(append(k[:0], "i+2 word "...), ctx[i+2]...)
	add()
	sc.key = k
	best, class := math.Inf(-1), ""
	for c, v := range sc.tagSc {
		if sc.tagSeen[c] && v > best {
			best, class = v, e.tagClasses[c]
		}
	}
	return class
}

// classify is prose's entityExtracter.classify: one maximum-entropy
// decision per token, left to right, each seeing the previous decision.
func (e *entityExtractor) classify(toks []prose.Token, sc *entityScratch) {
	n := len(toks)
	sc.lower, sc.shapes, sc.history = sc.lower[:0], sc.shapes[:0], sc.history[:0]
	for _, t := range toks {
		sc.lower = append(sc.lower, strings.ToLower(t.Text))
		sc.shapes = append(sc.shapes, wordShape(t.Text))
	}
	sc.nerSc = slices.Grow(sc.nerSc[:0], len(e.labels))[:len(e.labels)]
	k := sc.key[:0]
	for i := 0; i < n; i++ {
		word, pos := toks[i].Text, sc.tag(i)
		prevword, prevpos, prevtag, prevShape := "None", "None", "None", "None"
		if i > 0 {
			prevword, prevpos, prevtag = sc.lower[i-1], sc.tag(i-1), sc.history[i-1]
		}
		if i > 1 {
			prevShape = sc.shapes[i-1]
		}
		nextword, nextpos := "None", "None"
		if i < n-1 {
			nextword, nextpos = sc.lower[i+1], strings.ToLower(sc.tag(i+1))
		}
		basic := "False"
		if e.basic[word] {
			basic = "True"
		}
		clear(sc.nerSc)
		for _, f := range nerFeatureOrder {
			k = append(append(k[:0], f...), '-')
			switch f {
			case "bias":
				k = append(k, "True"...)
			case "en-wordlist":
				k = append(k, basic...)
			case "nextpos":
				k = append(k, nextpos...)
			case "nextword":
				k = append(k, nextword...)
			case "pos":
				k = append(k, pos...)
			case "pos+prevtag":
				k = append(append(append(k, pos...), '+'), prevtag...)
			case "prefix3":
				k = append(k, strings.ToLower(word[:min(len(word), 3)])...)
			case "prevpos":
				k = append(k, prevpos...)
			case "prevtag":
				k = append(k, prevtag...)
			case "prevword":
				k = append(k, prevword...)
			case "shape":
				k = append(k, sc.shapes[i]...)
			case "shape+prevtag":
				k = append(append(append(k, prevShape...), '+'), prevtag...)
			case "suffix3":
				k = append(k, strings.ToLower(word[len(word)-min(len(word), 3):])...)
			case "word":
				k = append(k, word...)
			case "word+nextpos":
				k = append(append(append(k, sc.lower[i]...), '+'), nextpos...)
			case "word.lower":
				k = append(k, sc.lower[i]...)
			case "wordlen":
				k = strconv.AppendInt(k, int64(len(word)), 10)
			}
			for _, cw := range e.nerW[string(k)] {
				sc.nerSc[cw.class] += cw.w
			}
		}
		// prose's max over a map: exact ties go to map order there.
		best, label := math.Inf(-1), ""
		for li, v := range sc.nerSc {
			if v > best {
				best, label = v, e.labels[li]
			}
		}
		sc.labels[sc.slot[i]] = label
		sc.history = append(sc.history, simplePOS(label))
	}
	sc.key = k
}

// chunk is prose's entityExtracter.chunk: a run of labelled tokens (or of
// tokens with the same POS tag) is one entity; a run still open at the end
// of the text is dropped, as prose does. ok is false where prose would
// panic (a label without '-').
func (sc *entityScratch) chunk(toks []prose.Token) (ents []prose.Entity, ok bool) {
	end := ""
	var parts []int
	for i := range toks {
		idx := len(parts)
		label, tag := sc.label(i), sc.tag(i)
		if (label != "O" && label != end) ||
			(idx > 0 && tag == sc.tag(parts[idx-1])) ||
			(idx > 0 && tag == "CD" && sc.label(parts[idx-1]) != "O") {
			end = strings.Replace(label, "B", "I", 1)
			parts = append(parts, i)
		} else if (label == "O" && end != "") || label == end {
			if label != "O" {
				parts = append(parts, i)
			}
			ent, ok := sc.coalesce(toks, parts)
			if !ok {
				return nil, false
			}
			ents = append(ents, ent)
			end = ""
			parts = parts[:0]
		}
	}
	return ents, true
}

func (sc *entityScratch) coalesce(toks []prose.Token, parts []int) (prose.Entity, bool) {
	texts := make([]string, len(parts))
	person := false
	for i, t := range parts {
		texts[i] = toks[t].Text
		person = person || sc.label(t) == "B-PERSON"
	}
	label := ""
	if person && len(parts) == 2 {
		label = "PERSON" // prose: "PERSON takes precedence because it's hard to identify"
	} else {
		_, after, found := strings.Cut(sc.label(parts[0]), "-")
		if !found {
			return prose.Entity{}, false
		}
		label, _, _ = strings.Cut(after, "-")
	}
	return prose.Entity{Label: label, Text: strings.Join(texts, " ")}, true
}

func simplePOS(label string) string {
	if strings.HasPrefix(label, "V") {
		return "v"
	}
	before, _, _ := strings.Cut(label, "-")
	return before
}

// normalizeWord is prose's tagger normalize.
func normalizeWord(w string) string {
	if w == "" {
		return w
	}
	first := w[0]
	switch {
	case strings.IndexByte(w, '-') >= 0 && first != '-':
		return "!HYPHEN"
	case len(w) == 4 && isAtoi4(w):
		return "!YEAR"
	case first >= '0' && first <= '9':
		return "!DIGITS"
	}
	return strings.ToLower(w)
}

// isAtoi4 reports whether strconv.Atoi accepts a 4-byte string: four
// digits, or a sign and three.
func isAtoi4(w string) bool {
	i := 0
	if w[0] == '+' || w[0] == '-' {
		i = 1
	}
	for ; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return true
}

// wordShape is prose's shape without its per-call regexp compilation:
// `\W+$` matches when the last rune is not an ASCII word character (an
// invalid byte decodes as U+FFFD, a non-word rune), `\w+$` when it is.
func wordShape(w string) string {
	if isFloat(w) {
		return "number"
	}
	if w == "" {
		return "other"
	}
	r, _ := utf8.DecodeLastRuneInString(w)
	if !(r < utf8.RuneSelf && (r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')) {
		return "punct"
	}
	if strings.ToLower(w) == w {
		return "downcase"
	}
	//lint:ignore SA1019 prose's shape uses strings.Title; same result needed.
	if strings.Title(w) == w { //nolint:staticcheck
		return "upcase"
	}
	return "mixedcase"
}

// isFloat is prose's isNumeric (strconv.ParseFloat succeeds), skipping the
// call (and its error allocation) for words that cannot parse: a float
// starts with a sign, a digit, '.', or inf/nan's first letter.
func isFloat(w string) bool {
	if w == "" {
		return false
	}
	switch c := w[0]; {
	case c == '+' || c == '-' || c == '.' || c >= '0' && c <= '9',
		c == 'i' || c == 'I' || c == 'n' || c == 'N':
		_, err := strconv.ParseFloat(w, 64)
		return err == nil
	}
	return false
}

// prose's tagger regexps (tag.go).
var (
	proseNone = regexp.MustCompile(`^(?:0|\*[\w?]\*|\*\-\d{1,3}|\*[A-Z]+\*\-\d{1,3}|\*)$`)
	proseKeep = regexp.MustCompile(`^\-[A-Z]{3}\-$`)
)

// proseEmoticons is prose v2.0.0's emoticon list (tokenize.go, MIT), which
// its tagger tags SYM; prose does not export it.
var proseEmoticons = map[string]bool{
	"(-8": true, "(-;": true, "(-_-)": true, "(._.)": true, "(:": true, "(=": true,
	"(o:": true, "(¬_¬)": true, "(ಠ_ಠ)": true, "(╯°□°）╯︵┻━┻": true, "-__-": true,
	"8-)": true, "8-D": true, "8D": true, ":(": true, ":((": true, ":(((": true,
	":()": true, ":)))": true, ":-)": true, ":-))": true, ":-)))": true, ":-*": true,
	":-/": true, ":-X": true, ":-]": true, ":-o": true, ":-p": true, ":-x": true,
	":-|": true, ":-}": true, ":0": true, ":3": true, ":P": true, ":]": true,
	":`(": true, ":`)": true, ":`-(": true, ":o": true, ":o)": true, "=(": true,
	"=)": true, "=D": true, "=|": true, "@_@": true, "O.o": true, "O_o": true,
	"V_V": true, "XDD": true, "[-:": true, "^___^": true, "o_0": true, "o_O": true,
	"o_o": true, "v_v": true, "xD": true, "xDD": true, `¯\(ツ)/¯`: true,
}
