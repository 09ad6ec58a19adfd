// Package textsafe makes text that strangers wrote (reviews, author names,
// anything a collected page or an import supplied) safe to show in a
// terminal or a plain-text mail: no escape sequences that move the cursor,
// recolour or retitle a terminal, no other control characters, no bidi
// overrides that make text read differently from what it is, and no line
// breaks where a line must stay one line.
package textsafe

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean removes terminal escape sequences (ESC and C1 introduced: CSI, OSC,
// DCS and the like, whole), every other C0 and C1 control character except
// newline and tab, and the bidi embedding, override and isolate characters.
// Every kind of line break (CR LF, a lone CR, NEL, U+2028, U+2029) becomes
// "\n": a lone CR would let a line overwrite the one before it on a
// terminal. Invalid UTF-8 becomes U+FFFD.
func Clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\r':
			b.WriteByte('\n')
			if i+n < len(s) && s[i+n] == '\n' {
				n++
			}
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == 0x85 || r == 0x2028 || r == 0x2029:
			b.WriteByte('\n')
		case r == 0x1b || r == 0x9b || isStringIntro(r):
			n = escapeLen(s[i:])
		case unicode.IsControl(r) || IsBidiControl(r):
			// dropped
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Line is Clean for text that must stay on one line (a table cell, a
// value after a label): line breaks and tabs become spaces, and runs of
// white space one space.
func Line(s string) string {
	return strings.Join(strings.Fields(Clean(s)), " ")
}

// Quote returns Clean(s) with every line prefixed by prefix (e.g. "> "), so
// that a line inside the text cannot pass for a line of the message around
// it. Empty lines get the prefix without its trailing spaces; an empty text
// quotes as "".
func Quote(s, prefix string) string {
	s = strings.TrimRight(Clean(s), "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	bare := strings.TrimRight(prefix, " \t")
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			lines[i] = bare
		} else {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

// IsBidiControl reports the explicit bidi formatting characters (LRE, RLE,
// PDF, LRO, RLO, LRI, RLI, FSI, PDI): they reorder what follows them
// ("Trojan Source"). The marks LRM, RLM and ALM are kept: they only nudge
// neutral characters and right-to-left text uses them legitimately.
func IsBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// isStringIntro reports the C1 controls that open a control string
// (DCS, SOS, OSC, PM, APC), ended by ST or BEL.
func isStringIntro(r rune) bool {
	return r == 0x90 || r == 0x98 || r == 0x9d || r == 0x9e || r == 0x9f
}

// escapeLen returns how many bytes of s, which starts with ESC or a C1
// introducer, an escape sequence takes (ECMA-48). A malformed or
// unterminated sequence counts as its introducer alone, so that the text
// after it stays visible rather than vanishing.
func escapeLen(s string) int {
	r, n := utf8.DecodeRuneInString(s)
	switch {
	case r == 0x9b:
		return csiLen(s, n)
	case isStringIntro(r):
		return stringLen(s, n)
	}
	// ESC
	if len(s) < 2 {
		return 1
	}
	switch c := s[1]; {
	case c == '[':
		return csiLen(s, 2)
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
		return stringLen(s, 2)
	case c >= 0x20 && c <= 0x2f: // intermediates, then a final byte
		k := 1
		for k < len(s) && s[k] >= 0x20 && s[k] <= 0x2f {
			k++
		}
		if k < len(s) && s[k] >= 0x30 && s[k] <= 0x7e {
			return k + 1
		}
		return 1
	case c >= 0x30 && c <= 0x7e: // two-byte sequences (ESC 7, ESC c, ESC M ...)
		return 2
	}
	return 1
}

// csiLen: parameter bytes, intermediate bytes, one final byte.
func csiLen(s string, start int) int {
	k := start
	for k < len(s) && s[k] >= 0x30 && s[k] <= 0x3f {
		k++
	}
	for k < len(s) && s[k] >= 0x20 && s[k] <= 0x2f {
		k++
	}
	if k < len(s) && s[k] >= 0x40 && s[k] <= 0x7e {
		return k + 1
	}
	return start
}

// stringLen: a control string up to BEL, ESC \ or ST, on the same line.
func stringLen(s string, start int) int {
	for k := start; k < len(s); {
		r, n := utf8.DecodeRuneInString(s[k:])
		switch {
		case r == 0x07 || r == 0x9c:
			return k + n
		case r == 0x1b && k+1 < len(s) && s[k+1] == '\\':
			return k + 2
		case r == '\n' || r == '\r':
			return start
		}
		k += n
	}
	return start
}
