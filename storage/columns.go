package storage

import (
	"strings"
	"time"

	"github.com/earshot/earshot/mention"
)

// column is one column of the mentions table: its name, what is read back
// for it, how a batch of mentions fills it (one typed slice, for the
// columnar insert) and where a scanned value goes. mentionTable lists them
// all, once: the insert, the read-back, the heads and the migrations'
// test (TestMentionTableMatchesSchema, against system.columns) follow it.
type column struct {
	name string
	read string // the expression read back; "" is the name
	// put lays out the column for a batch.
	put func(ms []mention.Mention) any
	// scan returns the destination for this column of m and, when the
	// stored type differs from the field's, a conversion to run after.
	scan func(m *mention.Mention) (dest any, after func())
}

func strCol(name string, f func(*mention.Mention) *string) column {
	return column{name: name,
		put: func(ms []mention.Mention) any {
			out := make([]string, len(ms))
			for i := range ms {
				out[i] = *f(&ms[i])
			}
			return out
		},
		scan: func(m *mention.Mention) (any, func()) { return f(m), nil }}
}

func listCol(name string, f func(*mention.Mention) *[]string) column {
	return column{name: name,
		put: func(ms []mention.Mention) any {
			out := make([][]string, len(ms))
			for i := range ms {
				out[i] = nonNil(*f(&ms[i]))
			}
			return out
		},
		scan: func(m *mention.Mention) (any, func()) { return f(m), nil }}
}

func timeCol(name string, f func(*mention.Mention) *time.Time) column {
	return column{name: name,
		put: func(ms []mention.Mention) any {
			out := make([]time.Time, len(ms))
			for i := range ms {
				out[i] = clampTime(*f(&ms[i]))
			}
			return out
		},
		scan: func(m *mention.Mention) (any, func()) { return f(m), nil }}
}

func u64Col(name string, f func(*mention.Mention) *uint64) column {
	return column{name: name,
		put: func(ms []mention.Mention) any {
			out := make([]uint64, len(ms))
			for i := range ms {
				out[i] = *f(&ms[i])
			}
			return out
		},
		scan: func(m *mention.Mention) (any, func()) { return f(m), nil }}
}

// f32Col: the table stores Float32, the record holds float64.
func f32Col(name string, f func(*mention.Mention) *float64) column {
	return column{name: name,
		put: func(ms []mention.Mention) any {
			out := make([]float32, len(ms))
			for i := range ms {
				out[i] = float32(*f(&ms[i]))
			}
			return out
		},
		scan: func(m *mention.Mention) (any, func()) {
			var v float32
			return &v, func() { *f(m) = float64(v) }
		}}
}

// boolCol: the table stores UInt8.
func boolCol(name string, f func(*mention.Mention) *bool) column {
	return column{name: name,
		put: func(ms []mention.Mention) any {
			out := make([]uint8, len(ms))
			for i := range ms {
				out[i] = boolU8(*f(&ms[i]))
			}
			return out
		},
		scan: func(m *mention.Mention) (any, func()) {
			var v uint8
			return &v, func() { *f(m) = v == 1 }
		}}
}

// mentionTable is every column of `mentions`, in insert order.
var mentionTable = []column{
	strCol("id", func(m *mention.Mention) *string { return &m.ID }),
	strCol("source", func(m *mention.Mention) *string { return &m.Source }),
	strCol("kind", func(m *mention.Mention) *string { return &m.Kind }),
	strCol("brand", func(m *mention.Mention) *string { return &m.Brand }),
	strCol("location", func(m *mention.Mention) *string { return &m.Location }),
	strCol("url", func(m *mention.Mention) *string { return &m.URL }),
	strCol("author", func(m *mention.Mention) *string { return &m.Author }),
	strCol("title", func(m *mention.Mention) *string { return &m.Title }),
	strCol("text", func(m *mention.Mention) *string { return &m.Text }),
	f32Col("rating", func(m *mention.Mention) *float64 { return &m.Rating }),
	f32Col("rating_max", func(m *mention.Mention) *float64 { return &m.RatingMax }),
	strCol("lang", func(m *mention.Mention) *string { return &m.Lang }),
	timeCol("published_at", func(m *mention.Mention) *time.Time { return &m.PublishedAt }),
	timeCol("collected_at", func(m *mention.Mention) *time.Time { return &m.CollectedAt }),
	u64Col("likes", func(m *mention.Mention) *uint64 { return &m.Likes }),
	u64Col("shares", func(m *mention.Mention) *uint64 { return &m.Shares }),
	u64Col("replies", func(m *mention.Mention) *uint64 { return &m.Replies }),
	u64Col("followers", func(m *mention.Mention) *uint64 { return &m.Followers }),
	strCol("parent_id", func(m *mention.Mention) *string { return &m.ParentID }),
	strCol("story_id", func(m *mention.Mention) *string { return &m.StoryID }),
	strCol("app_version", func(m *mention.Mention) *string { return &m.AppVersion }),
	f32Col("sentiment", func(m *mention.Mention) *float64 { return &m.Sentiment }),
	boolCol("negative", func(m *mention.Mention) *bool { return &m.Negative }),
	severityCol(),
	listCol("aspects", func(m *mention.Mention) *[]string { return &m.Aspects }),
	listCol("signals", func(m *mention.Mention) *[]string { return &m.Signals }),
	listCol("reasons", func(m *mention.Mention) *[]string { return &m.Reasons }),
	listCol("entities", func(m *mention.Mention) *[]string { return &m.Entities }),
	strCol("scorer_version", func(m *mention.Mention) *string { return &m.ScorerVersion }),
	boolCol("truncated", func(m *mention.Mention) *bool { return &m.Truncated }),
	u64Col("version", func(m *mention.Mention) *uint64 { return &m.Version }),
}

// severityCol: an Enum8 written by name (unknown names as "none") and
// read back as its name.
func severityCol() column {
	c := strCol("severity", func(m *mention.Mention) *string { return &m.Severity })
	c.read = "toString(severity)"
	c.put = func(ms []mention.Mention) any {
		out := make([]string, len(ms))
		for i := range ms {
			out[i] = severityOr(ms[i].Severity)
		}
		return out
	}
	return c
}

// headNames are the columns MentionHeads reads: everything routing,
// grouping, storms and a capped message's order need, not the words.
var headNames = []string{"id", "source", "kind", "brand", "location", "lang", "published_at", "collected_at", "story_id",
	"negative", "severity", "aspects", "signals", "version"}

// columnsOf returns the named columns of mentionTable, in the given order.
func columnsOf(names []string) []column {
	var out []column
	for _, n := range names {
		for _, c := range mentionTable {
			if c.name == n {
				out = append(out, c)
			}
		}
	}
	return out
}

// readList is the SELECT list of cols.
func readList(cols []column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.name
		if c.read != "" {
			parts[i] = c.read
		}
	}
	return strings.Join(parts, ", ")
}

// scanWith scans a row of readList(cols) into a mention.
func scanWith(cols []column) func(r scanner) (mention.Mention, error) {
	return func(r scanner) (mention.Mention, error) {
		var m mention.Mention
		dests := make([]any, len(cols))
		var after []func()
		for i, c := range cols {
			d, a := c.scan(&m)
			dests[i] = d
			if a != nil {
				after = append(after, a)
			}
		}
		err := r.Scan(dests...)
		for _, a := range after {
			a()
		}
		return m, err
	}
}

var (
	// insertMentions is the statement of every mentions insert.
	insertMentions = "INSERT INTO mentions (" + strings.Join(names(mentionTable), ", ") + ")"
	// mentionColumns is the full read-back list, headColumns the heads'.
	mentionColumns = readList(mentionTable)
	headColumns    = readList(columnsOf(headNames))
	scanMention    = scanWith(mentionTable)
	scanHead       = scanWith(columnsOf(headNames))
)

func names(cols []column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.name
	}
	return out
}

// insertColumns lays ms out as the columns of insertMentions, in order.
// Strings are shared with ms, not copied.
func insertColumns(ms []mention.Mention) []any {
	out := make([]any, len(mentionTable))
	for i, c := range mentionTable {
		out[i] = c.put(ms)
	}
	return out
}

// MentionColumns is the column list of `mentions` in insert order, for
// tools that insert into it by name (the bench harness's clickhouse-client
// baseline).
func MentionColumns() []string { return names(mentionTable) }
