package scoring

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tWord tokKind = iota
	tEmoji
	tBreak // . ; ? ! and line breaks: a clause ends
	tComma
)

type token struct {
	text  string // lower-cased, diacritics folded (Latin), elongation kept
	kind  tokKind
	caps  bool // ALL CAPS word of 2+ letters
	latin bool
	bang  int  // for breaks: how many ! in the run
	quest bool // for breaks: the run has a question mark
	elong bool // "soooo": letters repeated 3+ times
}

// emoticons are matched before punctuation splits them.
var emoticons = []string{"((", "))", ">:(", ":'(", ":-(", ":-/", ":-)", ":-d", ":-p", ":(", ":/", ":)", ":d", ":p", ";)", ";-)", ";(", ";-(", "<3", "=(", "=)", "-.-", "-_-"}

// tokenize splits text into words, emoji and clause breaks. It never fails:
// invalid UTF-8 decodes as U+FFFD, which is skipped.
func tokenize(text string, out []token) []token {
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case isURLAt(text[i:]):
			// Links and @handles say nothing about sentiment, and "://"
			// would read as an emoticon.
			j := strings.IndexFunc(text[i:], unicode.IsSpace)
			if j < 0 {
				j = len(text) - i
			}
			i += j
		case r == '@':
			j := i + size
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if !isWordRune(r2) && r2 != '_' {
					break
				}
				j += s2
			}
			i = j
		case (r == ':' || r == ';' || r == '>' || r == '=' || r == '<' || r == '(' || r == ')' || r == '-') && isEmoticonAt(text[i:]):
			// "((" and "))" are the Russian-speaking web's frown and smile.
			e := emoticonAt(text[i:])
			out = append(out, token{text: e, kind: tEmoji})
			i += len(e)
			for i < len(text) && (text[i] == e[len(e)-1]) { // ")))))"
				i++
			}
		case isWordRune(r):
			j := i + size
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if isWordRune(r2) || unicode.Is(unicode.Mn, r2) || unicode.Is(unicode.Mc, r2) {
					j += s2
					continue
				}
				// Keep inner apostrophes and hyphens: don't, n'est, e-mail, ne-e.
				if (r2 == '\'' || r2 == '’' || r2 == '-') && j+s2 < len(text) {
					if r3, _ := utf8.DecodeRuneInString(text[j+s2:]); isWordRune(r3) {
						j += s2
						continue
					}
				}
				break
			}
			out = append(out, wordToken(text[i:j]))
			i = j
		case isBreak(r):
			t := token{kind: tBreak}
			j := i
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if r2 == '?' || r2 == '؟' || r2 == '？' {
					t.quest = true
				}
				if r2 == '!' {
					t.bang++
				} else if !isBreak(r2) && r2 != ' ' && r2 != '\r' {
					break
				}
				j += s2
			}
			if len(out) > 0 && out[len(out)-1].kind == tBreak {
				out[len(out)-1].bang += t.bang
				out[len(out)-1].quest = out[len(out)-1].quest || t.quest
			} else {
				out = append(out, t)
			}
			i = j
		case r == ',' || r == '،' || r == '(' || r == ')' || r == ':' || r == '"' || r == '«' || r == '»':
			out = append(out, token{kind: tComma})
			i += size
		case isEmoji(r):
			out = append(out, token{text: string(r), kind: tEmoji})
			i += size
		default:
			i += size
		}
	}
	return out
}

// isBreak reports runes that end a clause. The run loop above consumes at
// least the rune that matched here, or tokenize would never advance (the
// fuzzer found that with '¿').
func isBreak(r rune) bool {
	switch r {
	case '.', '!', '?', ';', '\n', '।', '॥', '։', '؟', '…', '¡', '¿', '。', '！', '？':
		return true
	}
	return false
}

func isEmoticonAt(s string) bool { return emoticonAt(s) != "" }

func isURLAt(s string) bool {
	for _, p := range []string{"http://", "https://", "www."} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return true
		}
	}
	return false
}

func emoticonAt(s string) string {
	for _, e := range emoticons {
		if len(s) >= len(e) && strings.EqualFold(s[:len(e)], e) {
			// ":d" and ":p" only when no letter follows ("re:delay").
			if n := len(e); n < len(s) && e[n-1] >= 'a' && e[n-1] <= 'z' {
				if r, _ := utf8.DecodeRuneInString(s[n:]); isWordRune(r) {
					continue
				}
			}
			return e
		}
	}
	return ""
}

func isWordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

func isEmoji(r rune) bool {
	return r >= 0x1F300 && r <= 0x1FAFF || r >= 0x2600 && r <= 0x27BF || r == 0x2B50
}

func wordToken(raw string) token {
	t := token{kind: tWord}
	letters, upper := 0, 0
	latin := true
	for _, r := range raw {
		if unicode.IsLetter(r) {
			letters++
			if unicode.IsUpper(r) {
				upper++
			}
			if r > 0x24F {
				latin = false
			}
		}
	}
	t.caps = letters >= 2 && upper == letters
	t.latin = latin
	t.text = fold(raw)
	if strings.Contains(t.text, "’") {
		t.text = strings.ReplaceAll(t.text, "’", "'")
	}
	return t
}

// fold lower-cases and, for Latin letters, drops diacritics; Cyrillic ё
// becomes е and Arabic letter variants are unified, as people type them
// interchangeably.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || 'A' <= c && c <= 'Z' {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = unicode.ToLower(r)
		if f, ok := foldMap[r]; ok {
			b.WriteString(f)
			continue
		}
		if unicode.Is(unicode.Mn, r) && r >= 0x300 && r <= 0x36F { // combining accents
			continue
		}
		if r >= 0x64B && r <= 0x652 || r == 0x93C { // Arabic harakat, Devanagari nukta
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

var foldMap = func() map[rune]string {
	m := map[rune]string{}
	pairs := []string{
		"àáâãäåāăą", "a", "çćĉċč", "c", "ďđ", "d", "èéêëēĕėęě", "e", "ĝğġģ", "g", "ĥħ", "h",
		"ìíîïĩīĭįı", "i", "ĵ", "j", "ķ", "k", "ĺļľŀł", "l", "ñńņňŉ", "n", "òóôõöøōŏő", "o",
		"ŕŗř", "r", "śŝşšș", "s", "ţťŧț", "t", "ùúûüũūŭůűų", "u", "ŵ", "w", "ýÿŷ", "y", "źżž", "z",
		"ё", "е", "أإآٱ", "ا", "ى", "ي", "ة", "ه", "ـ", "",
	}
	for i := 0; i < len(pairs); i += 2 {
		for _, r := range pairs[i] {
			m[r] = pairs[i+1]
		}
	}
	m['ß'] = "ss"
	return m
}()

// squeeze collapses letters repeated 3+ times ("baaaad" -> "bad") and
// reports whether it did.
func squeeze(s string, keep int) (string, bool) {
	var b strings.Builder
	var prev rune
	run := 0
	changed := false
	for _, r := range s {
		if r == prev {
			run++
		} else {
			prev, run = r, 1
		}
		if run > keep {
			changed = true
			continue
		}
		b.WriteRune(r)
	}
	return b.String(), changed
}

func hasRun3(s string) bool {
	var prev rune
	run := 0
	for _, r := range s {
		if r == prev {
			run++
			if run >= 3 {
				return true
			}
		} else {
			prev, run = r, 1
		}
	}
	return false
}
