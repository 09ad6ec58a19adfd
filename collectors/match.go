package collectors

import (
	"strings"
	"unicode"

	"github.com/earshot/earshot/config"
)

// Matcher decides whether a social post is about the brand: it must contain
// one of the keywords (the brand's, plus the source's include terms) and none
// of the exclude terms. Matching ignores case and respects word edges, so
// "acme" matches "Acme's" and "#acme" but not "acmeology".
type Matcher struct {
	include []string
	exclude []string
}

// NewMatcher combines a brand's keywords and excludes with a source's own.
// With no keywords at all it matches everything (the source is already
// specific, e.g. an app's review feed).
func NewMatcher(b *config.Brand, include, exclude []string) *Matcher {
	m := &Matcher{}
	if b != nil {
		include = append(append([]string(nil), b.Keywords...), include...)
		exclude = append(append([]string(nil), b.Exclude...), exclude...)
	}
	for _, k := range include {
		if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
			m.include = append(m.include, k)
		}
	}
	for _, k := range exclude {
		if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
			m.exclude = append(m.exclude, k)
		}
	}
	return m
}

// Terms returns the include terms, for building search queries.
func (m *Matcher) Terms() []string { return m.include }

// Match reports whether text is about the brand, and the term that matched.
func (m *Matcher) Match(text string) (bool, string) {
	t := strings.ToLower(text)
	for _, x := range m.exclude {
		if containsWord(t, x) {
			return false, ""
		}
	}
	if len(m.include) == 0 {
		return true, ""
	}
	for _, k := range m.include {
		if containsWord(t, k) {
			return true, k
		}
	}
	return false, ""
}

// containsWord finds term in s with no letter or digit right before or after.
func containsWord(s, term string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], term)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(term)
		if !wordRuneBefore(s, start) && !wordRuneAt(s, end) {
			return true
		}
		i = start + 1
	}
}

func wordRuneBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r := lastRune(s[:i])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func wordRuneAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	for _, r := range s[i:] {
		return unicode.IsLetter(r) || unicode.IsDigit(r)
	}
	return false
}

func lastRune(s string) rune {
	var last rune
	for _, r := range s[max(0, len(s)-4):] {
		last = r
	}
	return last
}
