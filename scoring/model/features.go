package model

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Features are the text features' settings; a model file records them so
// that scoring hashes exactly as training did.
type Features struct {
	// Bits: the feature space has 1<<Bits buckets (hashing trick).
	Bits int `json:"bits"`
	// WordMax: word n-grams of 1..WordMax words.
	WordMax int `json:"word_max"`
	// CharMin, CharMax: character n-grams inside each word (padded with
	// "<" and ">"), of CharMin..CharMax runes.
	CharMin int `json:"char_min"`
	CharMax int `json:"char_max"`
	// CharWeight scales the character group against the word group.
	CharWeight float32 `json:"char_weight"`
	// MaxBytes: only the first MaxBytes of a text are read.
	MaxBytes int `json:"max_bytes"`
	// LangWords adds each word n-gram again tied to the text's language,
	// so that a word shared by two languages ("no", "mal") can lean one
	// way in each.
	LangWords bool `json:"lang_words,omitempty"`
}

// DefaultFeatures: tuned on the dev split (make eval).
var DefaultFeatures = Features{Bits: 19, WordMax: 2, CharMin: 2, CharMax: 5, CharWeight: 1, MaxBytes: 4096, LangWords: true}

// validate refuses settings no model can be trained or read with.
func (f Features) validate() error {
	if f.Bits < 10 || f.Bits > 24 || f.WordMax < 1 || f.CharMin < 1 || f.CharMax > 8 || f.CharMax > 0 && f.CharMax < f.CharMin || f.MaxBytes <= 0 {
		return fmt.Errorf("bad feature settings %+v (bits 10-24, word n-grams from 1, character n-grams 1-8)", f)
	}
	return nil
}

// feat is one hashed feature occurrence; unit says which displayed word or
// word pair it belongs to (index into the words, -1-i for the pair i,i+1,
// -(1<<30) for the language feature).
type feat struct {
	idx  uint32
	val  float32
	unit int32
}

const langUnit = -(1 << 30)

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func fnvBytes(h uint64, s []byte) uint64 {
	for _, c := range s {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// seeds keep the groups apart: the word "ab" and the char gram "ab" differ.
const (
	seedWord byte = 'w'
	seedPair byte = 'p'
	seedChar byte = 'c'
	seedLang byte = 'l'
)

func (f *Features) bucket(h uint64) uint32 {
	// fold the high bits in: FNV's low bits alone mix poorly.
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return uint32(h & (1<<f.Bits - 1))
}

// words splits text into lower-cased words: letters, digits (as 0) and
// marks; emoji and other symbols are words of their own; links and
// @handles are dropped.
func words(text string, max int, out []string) []string {
	if len(text) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	// All words go into one buffer and become substrings of one string:
	// two allocations a text, not one a word.
	b := make([]byte, 0, len(text)+8)
	var ends []int32
	var endsBuf [128]int32
	ends = endsBuf[:0]
	start := 0
	flush := func() {
		if len(b) > start {
			ends = append(ends, int32(len(b)))
			start = len(b)
		}
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case len(b) == start && r == '@':
			j := i + size
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if !unicode.IsLetter(r2) && !unicode.IsDigit(r2) && r2 != '_' {
					break
				}
				j += s2
			}
			i = j
			continue
		case len(b) == start && (strings.HasPrefix(text[i:], "http://") || strings.HasPrefix(text[i:], "https://") || strings.HasPrefix(text[i:], "www.")):
			j := strings.IndexFunc(text[i:], unicode.IsSpace)
			if j < 0 {
				j = len(text) - i
			}
			i += j
			continue
		case r < utf8.RuneSelf && ('a' <= r && r <= 'z'):
			b = append(b, byte(r))
		case r < utf8.RuneSelf && ('A' <= r && r <= 'Z'):
			b = append(b, byte(r)+'a'-'A')
		case unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r):
			b = utf8.AppendRune(b, unicode.ToLower(r))
		case unicode.IsDigit(r):
			b = append(b, '0')
		case r == '\'' || r == '’':
			// inner apostrophes stay: don't, n'est
			if len(b) > start && i+size < len(text) {
				if r2, _ := utf8.DecodeRuneInString(text[i+size:]); unicode.IsLetter(r2) {
					b = append(b, '\'')
					break
				}
			}
			flush()
		case unicode.Is(unicode.So, r) || unicode.Is(unicode.Sk, r) || r == '!' || r == '?':
			flush()
			b = utf8.AppendRune(b, r)
			flush()
		default:
			flush()
		}
		i += size
	}
	flush()
	all := string(b)
	from := 0
	for _, e := range ends {
		out = append(out, all[from:e])
		from = int(e)
	}
	return out
}

// extract appends the features of text (and its language) to out. Each
// group (words, characters) is scaled to unit length as if its grams were
// distinct, so long texts weigh no more than short ones.
func (f *Features) extract(text, lang string, ws []string, out []feat) ([]feat, []string) {
	ws = words(text, f.MaxBytes, ws[:0])
	start := len(out)
	var lh uint64
	if f.LangWords && lang != "" {
		lh = fnvAdd(fnvOffset^uint64(seedLang), lang) ^ uint64(seedWord)<<8
	}
	// word n-grams
	for i, w := range ws {
		h := fnvAdd(fnvOffset^uint64(seedWord), w)
		out = append(out, feat{idx: f.bucket(h), unit: int32(i)})
		if lh != 0 {
			out = append(out, feat{idx: f.bucket(fnvAdd(lh, w)), unit: int32(i)})
		}
		if f.WordMax >= 2 && i+1 < len(ws) {
			h2 := fnvAdd(fnvAdd(fnvOffset^uint64(seedPair), w), " ")
			h2 = fnvAdd(h2, ws[i+1])
			out = append(out, feat{idx: f.bucket(h2), unit: int32(-1 - i)})
			if lh != 0 {
				out = append(out, feat{idx: f.bucket(fnvAdd(fnvAdd(fnvAdd(lh, w), " "), ws[i+1])), unit: int32(-1 - i)})
			}
		}
	}
	nw := len(out) - start
	if nw > 0 {
		v := float32(1 / math.Sqrt(float64(nw)))
		for k := start; k < len(out); k++ {
			out[k].val = v
		}
	}
	cstart := len(out)
	if f.CharMax > 0 {
		var pos [258]int // rune starts of "<word>" (at most 256 runes read)
		var buf []byte
		for i, w := range ws {
			buf = append(buf[:0], '<')
			buf = append(buf, w...)
			buf = append(buf, '>')
			n := 0
			for j := 0; j < len(buf) && n < len(pos)-1; {
				pos[n] = j
				n++
				_, s := utf8.DecodeRune(buf[j:])
				j += s
			}
			pos[n] = len(buf)
			for a := 0; a < n; a++ {
				// FNV is incremental: each longer gram extends the hash
				// of the shorter one.
				h := fnvBytes(fnvOffset^uint64(seedChar), buf[pos[a]:pos[min(a+f.CharMin, n)]])
				for k := f.CharMin; k <= f.CharMax && a+k <= n; k++ {
					if k > f.CharMin {
						h = fnvBytes(h, buf[pos[a+k-1]:pos[a+k]])
					}
					if k == n && k <= 3 {
						continue // "<a>" says no more than the word itself
					}
					out = append(out, feat{idx: f.bucket(h), unit: int32(i)})
				}
			}
		}
		if nc := len(out) - cstart; nc > 0 {
			v := f.CharWeight / float32(math.Sqrt(float64(nc)))
			for k := cstart; k < len(out); k++ {
				out[k].val = v
			}
		}
	}
	if lang != "" {
		out = append(out, feat{idx: f.bucket(fnvAdd(fnvOffset^uint64(seedLang), lang)), val: 1, unit: langUnit})
	}
	return out, ws
}
