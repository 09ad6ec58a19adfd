package config

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a config file, located by line and field path.
type Error struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Path, e.Msg)
}

// Errors is every problem found, in file order. Its Error is one line each.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// decoder walks a yaml.Node tree into Go values by reflection, collecting
// every error with its line and path instead of stopping at the first, and
// rejecting unknown keys. It records the line of each path it visits so
// that later semantic checks can point at the right line too.
type decoder struct {
	file   string
	errs   Errors
	lines  map[string]int
	getenv func(string) (string, bool)
	// deferSecrets: an unset secret is left empty and listed in unset
	// instead of failing the load (commands that send nothing).
	deferSecrets bool
	unset        []string
	failed       map[string]bool // paths with an error already: one error per field
	also         []string        // more valid keys for "did you mean" (a kind's common keys)
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	if d.failed == nil {
		d.failed = map[string]bool{}
	}
	d.failed[path] = true
	d.errs = append(d.errs, Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// at reports an error at the recorded line of path (or of its nearest
// recorded parent).
func (d *decoder) at(path, format string, args ...any) {
	if d.failed[path] {
		return
	}
	p := path
	for {
		if l, ok := d.lines[p]; ok {
			d.errorf(l, path, format, args...)
			return
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			d.errorf(1, path, format, args...)
			return
		}
		p = p[:i]
	}
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	secretType   = reflect.TypeOf(Secret(""))
	byteSizeType = reflect.TypeOf(ByteSize(0))
	nodePtrType  = reflect.TypeOf((*yaml.Node)(nil))
)

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if _, ok := d.lines[path]; !ok {
		d.lines[path] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // leave the zero value: "key:" with nothing is "use the default"
	}
	switch v.Type() {
	case nodePtrType:
		v.Set(reflect.ValueOf(n))
		return
	case durationType:
		if s, ok := d.scalar(n, path, "a duration such as 90s, 15m or 7d"); ok {
			dur, err := ParseDuration(s)
			if err != nil {
				d.errorf(n.Line, path, "%v", err)
				return
			}
			v.SetInt(int64(dur))
		}
		return
	case secretType:
		d.secret(n, v, path)
		return
	case byteSizeType:
		if s, ok := d.scalar(n, path, "a size such as 5MB or 512KiB"); ok {
			b, err := ParseByteSize(s)
			if err != nil {
				d.errorf(n.Line, path, "%v", err)
				return
			}
			v.SetInt(int64(b))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			// A single value where a list is expected is a common slip; accept it.
			if n.Kind == yaml.ScalarNode && v.Type().Elem().Kind() == reflect.String {
				s := reflect.MakeSlice(v.Type(), 1, 1)
				d.decode(n, s.Index(0), path+"[0]")
				v.Set(s)
				return
			}
			d.errorf(n.Line, path, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n.Line, path, "expected a mapping, got %s", describe(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if d.duplicate(k, join(path, k.Value), seen) {
				continue
			}
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, join(path, k.Value))
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false"); ok {
			b, err := strconv.ParseBool(s)
			if err != nil {
				d.errorf(n.Line, path, "expected true or false, got %q", s)
				return
			}
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if s, ok := d.scalar(n, path, "an integer"); ok {
			i, err := strconv.ParseInt(s, 10, v.Type().Bits())
			if err != nil {
				d.errorf(n.Line, path, "expected an integer, got %q", s)
				return
			}
			v.SetInt(i)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if s, ok := d.scalar(n, path, "a whole number"); ok {
			i, err := strconv.ParseUint(s, 10, v.Type().Bits())
			if err != nil {
				d.errorf(n.Line, path, "expected a whole number ≥ 0, got %q", s)
				return
			}
			v.SetUint(i)
		}
	case reflect.Float32, reflect.Float64:
		if s, ok := d.scalar(n, path, "a number"); ok {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				d.errorf(n.Line, path, "expected a number, got %q", s)
				return
			}
			v.SetFloat(f)
		}
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.errorf(n.Line, path, "%v", err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.errorf(n.Line, path, "unsupported field type %s", v.Type())
	}
}

// structure decodes a mapping into a struct by yaml tags. Keys without a
// field are errors, unless the struct has a `yaml:",remain"` *yaml.Node
// field, which then receives them (for kind-specific options).
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "expected a mapping, got %s", describe(n))
		return
	}
	fields := map[string]int{}
	remain := -1
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("yaml")
		name, opt, _ := strings.Cut(tag, ",")
		switch {
		case opt == "remain":
			remain = i
		case name == "-" || !t.Field(i).IsExported():
		case name != "":
			fields[name] = i
		}
	}
	var rest *yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if d.duplicate(k, p, seen) {
			continue
		}
		fi, ok := fields[k.Value]
		if !ok {
			if remain >= 0 {
				if rest == nil {
					rest = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
				}
				rest.Content = append(rest.Content, k, val)
				continue
			}
			d.unknown(k, p, fields)
			continue
		}
		d.lines[p] = k.Line
		d.decode(val, v.Field(fi), p)
	}
	if remain >= 0 && rest != nil {
		v.Field(remain).Set(reflect.ValueOf(rest))
	}
}

// duplicate reports a key written twice in one mapping. yaml.v3 keeps both
// in a node tree and a plain decode would let the second win silently: a
// second `schedule:` pasted below the first would quietly change it.
func (d *decoder) duplicate(k *yaml.Node, path string, seen map[string]int) bool {
	if first, ok := seen[k.Value]; ok {
		d.errorf(k.Line, path, "defined twice (first on line %d)", first)
		return true
	}
	seen[k.Value] = k.Line
	return false
}

func (d *decoder) unknown(k *yaml.Node, path string, fields map[string]int) {
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	if s := closest(k.Value, append(names, d.also...)); s != "" {
		d.errorf(k.Line, path, "unknown field (did you mean %q?)", s)
		return
	}
	d.errorf(k.Line, path, "unknown field (known here: %s)", strings.Join(names, ", "))
}

// scalar returns the expanded text of a scalar node.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n.Line, path, "expected %s, got %s", want, describe(n))
		return "", false
	}
	s, err := expand(n.Value, d.getenv)
	if err != nil {
		d.errorf(n.Line, path, "%v", err)
		return "", false
	}
	return s, true
}

var secretRef = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)

// secret accepts only a ${VAR} reference, so that no secret is ever
// written into a config file (which ends up in repositories and tickets).
func (d *decoder) secret(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n.Line, path, "expected ${ENV_VAR}, got %s", describe(n))
		return
	}
	if !secretRef.MatchString(strings.TrimSpace(n.Value)) {
		d.errorf(n.Line, path, "secrets must come from the environment: write ${SOME_VAR}, not the value")
		return
	}
	s, err := expand(strings.TrimSpace(n.Value), d.getenv)
	if err != nil && d.deferSecrets {
		d.unset = append(d.unset, fmt.Sprintf("%s:%d: %s: %v", d.file, n.Line, path, err))
		return
	}
	if err != nil {
		d.errorf(n.Line, path, "%v", err)
		return
	}
	if s == "" {
		d.errorf(n.Line, path, "environment variable in %s is empty", n.Value)
		return
	}
	v.SetString(s)
}

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expand replaces ${VAR} and ${VAR:-default} from the environment; $$ is a
// literal $. An unset variable without a default is an error: a silently
// empty URL or address is worse than a failed start.
func expand(s string, getenv func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := envRef.FindStringSubmatch(m)
		if v, ok := getenv(sub[1]); ok && v != "" {
			return v
		}
		if sub[2] != "" {
			return sub[3]
		}
		missing = append(missing, sub[1])
		return ""
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set (use ${%s:-default} for an optional value)", strings.Join(missing, ", "), missing[0])
	}
	return out, nil
}

func osGetenv(k string) (string, bool) { return os.LookupEnv(k) }

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// closest returns the candidate within edit distance 2 of s, if any.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// ParseDuration is time.ParseDuration plus days ("7d", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "d"); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err == nil {
			rest := time.Duration(0)
			if s[i+1:] != "" {
				if rest, err = time.ParseDuration(s[i+1:]); err != nil {
					return 0, fmt.Errorf("bad duration %q: %v", s, err)
				}
			}
			return time.Duration(days)*24*time.Hour + rest, nil
		}
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: want a number and unit, e.g. 90s, 15m, 2h, 7d", s)
	}
	if dur < 0 {
		return 0, fmt.Errorf("bad duration %q: negative", s)
	}
	return dur, nil
}

// ParseByteSize reads "5MB", "512KiB", "1048576".
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bad size %q: want e.g. 5MB, 512KiB or a number of bytes", s)
	}
	mult := map[string]float64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("bad size %q: unit must be B, KB, MB, GB, KiB, MiB or GiB", s)
	}
	return ByteSize(f * mult), nil
}

// indentProblems are yaml.v3 messages that, in a config, almost always mean
// a line indented wrongly.
var indentProblems = []string{"did not find expected key", "did not find expected '-' indicator", "mapping values are not allowed in this context",
	"found a tab character that violates indentation"}

// syntaxLine finds the line a YAML syntax error is on. yaml.v3 reports
// the line where the enclosing block starts ("line 1: did not find
// expected '-' indicator" for a mis-indented line 40 of `sources:`), so the
// first prefix of the file, in whole lines, that fails with the same
// message marks the line. A prefix that fails otherwise (a flow list or a
// quoted string cut in two) is passed over. Only runs on a broken file.
func syntaxLine(data []byte, line int, msg string) (int, string) {
	indent := false
	for _, p := range indentProblems {
		indent = indent || msg == p
	}
	if !indent {
		return line, msg
	}
	hint := msg
	if !strings.Contains(msg, "indentation") {
		hint += " (check this line's indentation)"
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > 2000 || len(data) > 1<<16 {
		return line, hint // the scan is quadratic; no config is this long
	}
	end := 0
	for i, l := range lines {
		end += len(l)
		if i+1 < line {
			continue // the problem is inside the block yaml.v3 named
		}
		var n yaml.Node
		err := yaml.NewDecoder(bytes.NewReader(data[:end])).Decode(&n)
		if err != nil && strings.HasSuffix(err.Error(), msg) {
			return i + 1, hint
		}
	}
	return line, hint
}
