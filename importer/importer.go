// Package importer reads mentions from CSV and JSONL files, such as exports
// from review platforms and other listening tools. Column names are the
// mention's JSON names, plus common aliases (review, body, stars, date...).
// A bad row is reported with its line number and skipped; it never stops
// the import and is never dropped silently.
package importer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/earshot/earshot/mention"
)

// Format of an input file.
type Format string

const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
)

// MaxLine caps one JSONL line or CSV record; longer ones are bad rows.
const MaxLine = 16 << 20

// DetectFormat guesses the format from a file name.
func DetectFormat(name string) (Format, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson", ".json":
		return JSONL, nil
	}
	return "", fmt.Errorf("%s: cannot tell the format from the extension; use --format csv or jsonl", name)
}

// RowError is a bad row.
type RowError struct {
	Line int
	Err  error
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Defaults fill fields a file leaves empty.
type Defaults struct {
	Source   string
	Brand    string
	Location string
	Now      time.Time
	// IDPrefix namespaces ids that have none ("123" -> "prefix:123"), so
	// two exports numbering their reviews from 1 do not collide.
	IDPrefix string
	// Columns maps mention fields to the file's own column (or key) names,
	// for exports whose names neither match the fields nor a known alias.
	Columns map[string]string
	// Validate, when set, refuses rows (reported as bad with their line),
	// e.g. a brand or location the config does not know.
	Validate func(mention.Mention) error
}

// IsField reports whether name is a mention field a file may fill.
func IsField(name string) bool { return slices.Contains(fields, name) }

// Read parses r and calls emit for every good row and bad for every bad
// one. It returns an error only when reading itself fails or emit fails.
func Read(ctx context.Context, r io.Reader, f Format, def Defaults, emit func(mention.Mention) error, bad func(RowError)) error {
	def = def.withDefaults()
	switch f {
	case CSV:
		rename := def.rename()
		return readCSV(ctx, r, rename, func(line int, rec record) error {
			m, err := rec.renamed(rename).mention(def)
			if err == nil && def.Validate != nil {
				err = def.Validate(m)
			}
			if err != nil {
				bad(RowError{Line: line, Err: err})
				return nil
			}
			return emit(m)
		}, bad)
	case JSONL:
		return readJSONL(ctx, r, def, emit, bad)
	}
	return fmt.Errorf("unknown format %q", f)
}

func (def Defaults) withDefaults() Defaults {
	if def.Now.IsZero() {
		def.Now = time.Now()
	}
	if def.Source == "" {
		def.Source = "import"
	}
	return def
}

// rename maps file columns to fields (nil without Columns).
func (def Defaults) rename() map[string]string {
	if len(def.Columns) == 0 {
		return nil
	}
	rename := make(map[string]string, len(def.Columns))
	for field, col := range def.Columns {
		rename[col] = field
	}
	return rename
}

func (rec record) renamed(rename map[string]string) record {
	for col, field := range rename {
		if v, ok := rec[col]; ok {
			delete(rec, col)
			rec[field] = v
		}
	}
	return rec
}

// lineDecoder turns JSONL lines into mentions. It keeps buffers between
// lines, so each goroutine needs its own.
type lineDecoder struct {
	def    Defaults
	rename map[string]string
	fast   fastDecoder
	row    row
}

func newLineDecoder(def Defaults) *lineDecoder {
	rename := def.rename()
	return &lineDecoder{def: def, rename: rename, fast: fastDecoder{rename: rename}, row: newRow()}
}

// decode reads one non-blank, trimmed line: the mention, or why the row is
// bad.
func (d *lineDecoder) decode(t []byte) (mention.Mention, error) {
	d.row.reset()
	var m mention.Mention
	var err error
	if d.fast.decode(t, d.row) {
		m, err = d.row.mention(d.def)
	} else {
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.UseNumber()
		if derr := dec.Decode(&obj); derr != nil {
			return m, fmt.Errorf("invalid JSON: %v", derr)
		} else if dec.More() {
			return m, errors.New("invalid JSON: more than one value on the line")
		}
		m, err = record(obj).renamed(d.rename).mention(d.def)
	}
	if err == nil && d.def.Validate != nil {
		err = d.def.Validate(m)
	}
	return m, err
}

func readJSONL(ctx context.Context, r io.Reader, def Defaults, emit func(mention.Mention) error, bad func(RowError)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	d := newLineDecoder(def)
	var buf []byte
	for line := 1; ; line++ {
		if line%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		b, _, tooLong, err := readLine(br, buf[:0], MaxLine)
		buf = b
		if len(b) > 0 || tooLong {
			switch t := bytes.TrimSpace(b); {
			case tooLong:
				bad(RowError{Line: line, Err: fmt.Errorf("line longer than %d bytes", MaxLine)})
			case len(t) == 0:
			default:
				m, derr := d.decode(t)
				if derr != nil {
					bad(RowError{Line: line, Err: derr})
				} else if eerr := emit(m); eerr != nil {
					return eerr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read line %d: %w", line, err)
		}
	}
}

// readLine appends one line, without its newline, to line (reused by the
// caller between lines), and says how many bytes it consumed. Lines over
// max are consumed and reported as tooLong, so one monster line cannot
// exhaust memory.
func readLine(br *bufio.Reader, line []byte, max int) (_ []byte, n int, tooLong bool, err error) {
	start := len(line)
	for {
		chunk, err := br.ReadSlice('\n')
		n += len(chunk)
		if !tooLong {
			if len(line)-start+len(chunk) > max {
				tooLong, line = true, line[:start]
			} else {
				line = append(line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return line[:start+len(bytes.TrimRight(line[start:], "\r\n"))], n, tooLong, err
	}
}

func hasTextColumn(cols []string, rename map[string]string) bool {
	for _, c := range cols {
		if f := rename[c]; f == "text" || f == "title" {
			return true
		}
	}
	return false
}

func readCSV(ctx context.Context, r io.Reader, rename map[string]string, handle func(int, record) error, bad func(RowError)) error {
	cr := csv.NewReader(&capReader{r: r})
	cr.FieldsPerRecord = -1 // checked below, with a clearer message
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("csv header: %w", err)
	}
	cols := make([]string, len(header))
	known := 0
	for i, h := range header {
		h = strings.TrimPrefix(h, "\ufeff") // Excel's byte-order mark
		cols[i] = canonical(h)
		if _, mapped := rename[h]; mapped {
			cols[i] = h // renamed to its field by handle
		}
		if cols[i] != "" {
			known++
		}
	}
	if known == 0 || !slices.Contains(cols, "text") && !slices.Contains(cols, "title") && !hasTextColumn(cols, rename) {
		return fmt.Errorf("csv header %q: no text column (want text, review, body, content or comment)", strings.Join(header, ","))
	}
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad(RowError{Line: pe.StartLine, Err: pe.Err})
			continue
		}
		if err != nil {
			return fmt.Errorf("csv: %w", err)
		}
		// Only valid after a successful Read: it panics otherwise.
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			bad(RowError{Line: line, Err: fmt.Errorf("%d fields, header has %d", len(rec), len(header))})
			continue
		}
		obj := make(record, len(rec))
		for i, v := range rec {
			if cols[i] != "" && v != "" {
				obj[cols[i]] = v
			}
		}
		if err := handle(line, obj); err != nil {
			return err
		}
	}
}

// capReader fails a CSV record that would run past MaxLine bytes without a
// newline (an unterminated quote in a huge file, say) instead of buffering it.
type capReader struct {
	r     io.Reader
	since int
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if i := bytes.LastIndexByte(p[:n], '\n'); i >= 0 {
		c.since = n - i - 1
	} else {
		c.since += n
	}
	if c.since > MaxLine {
		return n, fmt.Errorf("more than %d bytes without a line break", MaxLine)
	}
	return n, err
}

// aliases maps column names used by other tools to mention fields.
var aliases = map[string]string{
	"review": "text", "body": "text", "content": "text", "comment": "text", "message": "text", "review_text": "text",
	"stars": "rating", "score": "rating", "review_rating": "rating", "best_rating": "rating_max", "max_rating": "rating_max",
	"date": "published_at", "created_at": "published_at", "created": "published_at", "time": "published_at", "review_date": "published_at", "timestamp": "published_at",
	"user": "author", "username": "author", "reviewer": "author", "user_name": "author",
	"link": "url", "permalink": "url", "review_url": "url",
	"language": "lang", "headline": "title", "subject": "title",
	"review_id": "id", "branch": "location", "store": "location", "site": "source", "platform": "source",
	"favourites": "likes", "favorites": "likes", "reblogs": "shares", "retweets": "shares", "reposts": "shares", "comments": "replies",
}

// Positions in fields (a row's values are indexed by them); TestFieldPositions
// checks they agree.
const (
	fID = iota
	fSource
	fKind
	fBrand
	fLocation
	fURL
	fAuthor
	fTitle
	fText
	fRating
	fRatingMax
	fLang
	fPublishedAt
	fCollectedAt
	fLikes
	fShares
	fReplies
	fFollowers
	fParentID
	fAppVersion
	fSentiment
	fNegative
	fSeverity
	fAspects
	fSignals
	fReasons
	fScorerVersion
)

var fields = []string{"id", "source", "kind", "brand", "location", "url", "author", "title", "text", "rating", "rating_max",
	"lang", "published_at", "collected_at", "likes", "shares", "replies", "followers", "parent_id", "app_version",
	"sentiment", "negative", "severity", "aspects", "signals", "reasons", "scorer_version"}

// canonical maps a column or key name to its mention field, or "". Exact
// names hit the table directly; only other spellings are normalised (this
// runs for every key of every row).
func canonical(col string) string {
	if c, ok := columnNames[col]; ok {
		return c
	}
	c := strings.ToLower(strings.TrimSpace(col))
	c = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return r
	}, c)
	return columnNames[c]
}

// columnNames maps every accepted name to its field: the fields themselves
// and their aliases. Built once; read-only.
var columnNames = func() map[string]string {
	m := make(map[string]string, len(fields)+len(aliases))
	for _, f := range fields {
		m[f] = f
	}
	for a, f := range aliases {
		m[a] = f
	}
	return m
}()

// record is one row: CSV values are strings, JSON values any JSON type.
type record map[string]any

// mention resolves the record's aliases and builds the mention. It is the
// general path (CSV, and JSON lines the fast decoder leaves to it).
func (r record) mention(def Defaults) (mention.Mention, error) {
	// JSON objects use canonical names or aliases too.
	for k, v := range r {
		if c := canonical(k); c != "" && c != k {
			if _, taken := r[c]; !taken {
				r[c] = v
			}
		}
	}
	row := newRow()
	for k, v := range r {
		if i, ok := fieldIndex[k]; ok {
			row.v[i] = valueOf(v)
		}
	}
	return row.mention(def)
}

// vkind is the JSON type of a field's value, as far as building a mention
// cares.
type vkind uint8

const (
	vNone  vkind = iota // absent or null
	vStr                // a string (or a CSV cell)
	vLit                // a number or true/false: s holds its JSON text
	vList               // an array: list holds its string elements
	vOther              // an object
)

type value struct {
	kind vkind
	s    string
	list []string
}

func valueOf(v any) value {
	switch v := v.(type) {
	case nil:
		return value{}
	case string:
		return value{kind: vStr, s: v}
	case json.Number:
		return value{kind: vLit, s: v.String()}
	case bool:
		return value{kind: vLit, s: strconv.FormatBool(v)}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return value{kind: vList, list: out}
	default:
		return value{kind: vOther}
	}
}

// row holds one input row's values by field (in the order of fields). prio
// is the fast decoder's: which kind of key set the value.
type row struct {
	v    []value
	prio []uint8
}

func newRow() row { return row{v: make([]value, len(fields)), prio: make([]uint8, len(fields))} }

func (r row) reset() {
	clear(r.v)
	clear(r.prio)
}

// fieldIndex maps a field to its position in fields. Built once; read-only.
var fieldIndex = func() map[string]int {
	m := make(map[string]int, len(fields))
	for i, f := range fields {
		m[f] = i
	}
	return m
}()

func (r row) mention(def Defaults) (mention.Mention, error) {
	var m mention.Mention
	var errs []string
	str := func(k string, i int) string {
		switch v := r.v[i]; v.kind {
		case vNone:
			return ""
		case vStr, vLit:
			return v.s
		default:
			errs = append(errs, fmt.Sprintf("%s: want a string", k))
			return ""
		}
	}
	num := func(k string, i int) float64 {
		s := strings.TrimSpace(str(k, i))
		if s == "" {
			return 0
		}
		f, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			errs = append(errs, fmt.Sprintf("%s: %q is not a number", k, s))
		}
		return f
	}
	count := func(k string, i int) uint64 {
		f := num(k, i)
		if f < 0 {
			errs = append(errs, fmt.Sprintf("%s: negative", k))
			return 0
		}
		return uint64(f)
	}
	when := func(k string, i int) time.Time {
		s := strings.TrimSpace(str(k, i))
		if s == "" {
			return time.Time{}
		}
		t, err := mention.ParseTime(s)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", k, err))
		}
		return t
	}
	list := func(k string, i int) []string {
		switch v := r.v[i]; v.kind {
		case vNone:
			return nil
		case vList:
			return v.list
		default:
			var out []string
			for _, p := range strings.FieldsFunc(str(k, i), func(r rune) bool { return r == '|' || r == ';' || r == ',' }) {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
			return out
		}
	}
	m.ID, m.Source, m.Kind, m.Brand, m.Location = str("id", fID), str("source", fSource), str("kind", fKind), str("brand", fBrand), str("location", fLocation)
	m.URL, m.Author, m.Title, m.Text, m.Lang, m.ParentID = str("url", fURL), str("author", fAuthor), str("title", fTitle), str("text", fText), str("lang", fLang), str("parent_id", fParentID)
	m.AppVersion = str("app_version", fAppVersion)
	m.Rating, m.RatingMax = num("rating", fRating), num("rating_max", fRatingMax)
	m.PublishedAt, m.CollectedAt = when("published_at", fPublishedAt), when("collected_at", fCollectedAt)
	m.Likes, m.Shares, m.Replies, m.Followers = count("likes", fLikes), count("shares", fShares), count("replies", fReplies), count("followers", fFollowers)
	m.Sentiment, m.Severity, m.ScorerVersion = num("sentiment", fSentiment), str("severity", fSeverity), str("scorer_version", fScorerVersion)
	m.Aspects, m.Signals, m.Reasons = list("aspects", fAspects), list("signals", fSignals), list("reasons", fReasons)
	if neg := strings.ToLower(str("negative", fNegative)); neg != "" {
		m.Negative = neg == "true" || neg == "1" || neg == "yes"
	}
	if len(errs) > 0 {
		return m, errors.New(strings.Join(errs, "; "))
	}
	if m.Source == "" {
		m.Source = def.Source
	}
	if m.Brand == "" {
		m.Brand = def.Brand
	}
	if m.Location == "" {
		m.Location = def.Location
	}
	if def.IDPrefix != "" && m.ID != "" && !strings.Contains(m.ID, ":") {
		m.ID = def.IDPrefix + ":" + m.ID
	}
	if !utf8.ValidString(m.Text) {
		// Normalize repairs it; the import still says so in the reasons.
		m.Reasons = append(m.Reasons, "import: invalid UTF-8 replaced")
	}
	if err := m.Normalize(def.Now); err != nil {
		return m, err
	}
	return m, nil
}
