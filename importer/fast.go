package importer

import (
	"unicode/utf16"
	"unicode/utf8"
)

// The fast decoder reads the common JSONL row (one flat object of strings,
// numbers, booleans, nulls and arrays) straight into a row, without a map
// or a value per field: the line becomes one string and the values are
// slices of it. Anything it is not sure to read exactly as encoding/json
// would (invalid UTF-8, lone surrogates, duplicate or ambiguous keys, odd
// syntax) makes it give up, and the line takes the general path, which
// also words the errors. So it never decides that a line is bad.

// key priorities: a renamed column beats the field's own name, which beats
// an alias (see Read and record.mention).
const (
	prioAlias uint8 = iota + 1
	prioField
	prioRenamed
)

// maxDepth bounds nesting the fast decoder skips through.
const maxDepth = 64

type fastDecoder struct {
	rename  map[string]string // file column -> field
	scratch []byte            // unescaped strings
}

// decode fills r from line, reporting false when the general path must
// read the line instead. r must be reset.
func (d *fastDecoder) decode(line []byte, r row) bool {
	if !utf8.Valid(line) {
		return false // encoding/json replaces bad bytes; leave it to it
	}
	p := parser{s: string(line), d: d}
	p.ws()
	if !p.eat('{') {
		return false
	}
	p.ws()
	if p.eat('}') {
		p.ws()
		return p.i == len(p.s)
	}
	for {
		p.ws()
		key, ok := p.str(false)
		if !ok {
			return false
		}
		p.ws()
		if !p.eat(':') {
			return false
		}
		p.ws()
		idx, prio, ok := d.field(key)
		if !ok {
			return false
		}
		if idx < 0 {
			if !p.skip(0) {
				return false
			}
		} else {
			v, ok := p.value()
			if !ok {
				return false
			}
			switch {
			case r.prio[idx] == prio:
				return false // a repeated key or two aliases: the general path decides
			case r.prio[idx] < prio:
				r.v[idx], r.prio[idx] = v, prio
			}
		}
		p.ws()
		if p.eat('}') {
			break
		}
		if !p.eat(',') {
			return false
		}
	}
	p.ws()
	return p.i == len(p.s)
}

// field resolves a key: its field's index (-1: not a field) and priority.
// ok is false when only the general path can tell.
func (d *fastDecoder) field(key string) (idx int, prio uint8, ok bool) {
	if d.rename != nil {
		if f, renamed := d.rename[key]; renamed {
			i, known := fieldIndex[f]
			return i, prioRenamed, known
		}
	}
	if i, known := fieldIndex[key]; known {
		return i, prioField, true
	}
	c, known := columnNames[key]
	if !known {
		c = canonical(key)
	}
	if c == "" {
		return -1, 0, true
	}
	if d.rename != nil {
		// An alias of a field that a renamed column also fills: the general
		// path's order of renaming and aliasing decides.
		for _, f := range d.rename {
			if f == c {
				return 0, 0, false
			}
		}
	}
	return fieldIndex[c], prioAlias, true
}

type parser struct {
	s string
	i int
	d *fastDecoder
}

func (p *parser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// value reads a field's value.
func (p *parser) value() (value, bool) {
	if p.i >= len(p.s) {
		return value{}, false
	}
	switch c := p.s[p.i]; {
	case c == '"':
		s, ok := p.str(true)
		return value{kind: vStr, s: s}, ok
	case c == '[':
		p.i++
		list := []string{}
		p.ws()
		if p.eat(']') {
			return value{kind: vList, list: list}, true
		}
		for {
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == '"' {
				s, ok := p.str(true)
				if !ok {
					return value{}, false
				}
				list = append(list, s)
			} else if !p.skip(1) {
				return value{}, false // not a string: dropped, as by the general path
			}
			p.ws()
			if p.eat(']') {
				return value{kind: vList, list: list}, true
			}
			if !p.eat(',') {
				return value{}, false
			}
		}
	case c == '{':
		return value{kind: vOther}, p.skip(0)
	case c == 'n':
		return value{}, p.lit("null")
	case c == 't':
		return value{kind: vLit, s: "true"}, p.lit("true")
	case c == 'f':
		return value{kind: vLit, s: "false"}, p.lit("false")
	default:
		start := p.i
		if !p.num() {
			return value{}, false
		}
		return value{kind: vLit, s: p.s[start:p.i]}, true
	}
}

// skip reads past any JSON value, checking its syntax.
func (p *parser) skip(depth int) bool {
	if p.i >= len(p.s) || depth > maxDepth {
		return false
	}
	switch c := p.s[p.i]; {
	case c == '"':
		_, ok := p.str(false)
		return ok
	case c == '[' || c == '{':
		closer := byte(']')
		if c == '{' {
			closer = '}'
		}
		p.i++
		p.ws()
		if p.eat(closer) {
			return true
		}
		for {
			p.ws()
			if c == '{' {
				if _, ok := p.str(false); !ok {
					return false
				}
				p.ws()
				if !p.eat(':') {
					return false
				}
				p.ws()
			}
			if !p.skip(depth + 1) {
				return false
			}
			p.ws()
			if p.eat(closer) {
				return true
			}
			if !p.eat(',') {
				return false
			}
		}
	case c == 'n':
		return p.lit("null")
	case c == 't':
		return p.lit("true")
	case c == 'f':
		return p.lit("false")
	default:
		return p.num()
	}
}

func (p *parser) lit(want string) bool {
	if len(p.s)-p.i >= len(want) && p.s[p.i:p.i+len(want)] == want {
		p.i += len(want)
		return true
	}
	return false
}

// num reads a number in JSON's grammar.
func (p *parser) num() bool {
	digits := func() int {
		n := 0
		for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	p.eat('-')
	switch {
	case p.eat('0'):
	case p.i < len(p.s) && '1' <= p.s[p.i] && p.s[p.i] <= '9':
		digits()
	default:
		return false
	}
	if p.eat('.') && digits() == 0 {
		return false
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// str reads a string at p.i (its opening quote). Without escapes it is a
// slice of the line; with them it is unescaped through the scratch buffer
// (only when unescape is set: keys and skipped values with escapes make
// the decoder give up instead, they are rare).
func (p *parser) str(unescape bool) (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return p.s[start : p.i-1], true
		case c == '\\':
			if !unescape {
				return "", false
			}
			return p.escaped(start)
		case c < 0x20:
			return "", false
		default:
			p.i++
		}
	}
	return "", false
}

func (p *parser) escaped(start int) (string, bool) {
	b := append(p.d.scratch[:0], p.s[start:p.i]...)
	defer func() { p.d.scratch = b[:0] }()
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b = append(b, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.s) {
			return "", false
		}
		e := p.s[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				// Only a proper pair; a lone half is the general path's.
				if r >= 0xdc00 || !p.lit(`\u`) {
					return "", false
				}
				r2, ok := p.hex4()
				if !ok {
					return "", false
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", false
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (p *parser) hex4() (rune, bool) {
	if len(p.s)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[p.i : p.i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.i += 4
	return r, true
}
