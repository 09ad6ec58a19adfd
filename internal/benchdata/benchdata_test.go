package benchdata

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/importer"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

func TestDeterministic(t *testing.T) {
	o := Options{N: 3000, Seed: 7, NegativeShare: 0.1}
	for _, write := range []func(*bytes.Buffer, Options) error{
		func(b *bytes.Buffer, o Options) error { return WriteExport(b, o) },
		func(b *bytes.Buffer, o Options) error { return WriteJSONEachRow(b, o) },
	} {
		var a, b bytes.Buffer
		if err := write(&a, o); err != nil {
			t.Fatal(err)
		}
		if err := write(&b, o); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatal("same options gave different bytes")
		}
		var c bytes.Buffer
		o2 := o
		o2.Seed = 8
		if err := write(&c, o2); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(a.Bytes(), c.Bytes()) {
			t.Fatal("another seed gave the same bytes")
		}
	}
}

// TestExportImports reads the export back with the importer: every line is
// a good row and comes back as the generated mention.
func TestExportImports(t *testing.T) {
	for _, share := range []float64{0, 0.05} {
		o := Options{N: 5000, Seed: 1, NegativeShare: share}
		var want []mention.Mention
		if err := Mentions(o, func(m *mention.Mention) error { want = append(want, *m); return nil }); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteExport(&buf, o); err != nil {
			t.Fatal(err)
		}
		var got []mention.Mention
		err := importer.Read(context.Background(), &buf, importer.JSONL, importer.Defaults{Now: time.Now()},
			func(m mention.Mention) error { got = append(got, m); return nil },
			func(e importer.RowError) { t.Errorf("bad row: %v", e) })
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("imported %d of %d", len(got), len(want))
		}
		neg := 0
		for i := range got {
			g, w := got[i], want[i]
			if g.ID != w.ID || g.Text != w.Text || g.Author != w.Author || g.Rating != w.Rating || g.Lang != w.Lang ||
				!g.PublishedAt.Equal(w.PublishedAt) || g.StoryID != w.StoryID || g.Negative != w.Negative || g.Kind != w.Kind {
				t.Fatalf("row %d: imported %+v, generated %+v", i, g, w)
			}
			if w.Negative {
				neg++
			}
		}
		if share > 0 && (neg < int(share*float64(o.N)*0.7) || neg > int(share*float64(o.N)*1.3)) {
			t.Errorf("%d negatives of %d, want about %.0f%%", neg, o.N, share*100)
		}
	}
}

// TestShape checks what makes the data realistic: lengths, languages,
// repeat authors, ratings agreeing with the verdict, line size.
func TestShape(t *testing.T) {
	o := Options{N: 20000, Seed: 3, NegativeShare: 0.2}
	authors := map[string]int{}
	langs := map[string]int{}
	locs := map[string]bool{}
	var negRating, posRating, negN, posN float64
	start, end := o.bounds()
	err := Mentions(o, func(m *mention.Mention) error {
		n := len([]rune(m.Text))
		if n < 40 || n > 1500 {
			t.Errorf("%s: text of %d runes", m.ID, n)
		}
		if m.PublishedAt.Before(start) || !m.PublishedAt.Before(end) {
			t.Errorf("%s: published %v outside %v..%v", m.ID, m.PublishedAt, start, end)
		}
		if err := m.Normalize(time.Now()); err != nil {
			t.Errorf("%s: %v", m.ID, err)
		}
		authors[m.Author]++
		langs[m.Lang]++
		locs[m.Location] = true
		if m.RatingMax > 0 {
			if m.Negative {
				negRating += m.Rating / m.RatingMax
				negN++
			} else {
				posRating += m.Rating / m.RatingMax
				posN++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(langs) < 9 || len(locs) < 45 {
		t.Errorf("%d languages, %d locations", len(langs), len(locs))
	}
	top := 0
	for _, c := range authors {
		top = max(top, c)
	}
	if top < 20 || len(authors) < 1000 {
		t.Errorf("authors: %d distinct, the most prolific %d times", len(authors), top)
	}
	if negRating/negN > 0.55 || posRating/posN < 0.7 {
		t.Errorf("mean rating share: negative %.2f, other %.2f", negRating/negN, posRating/posN)
	}
	var buf bytes.Buffer
	if err := WriteExport(&buf, Options{N: 20000, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	avg := buf.Len() / 20000
	t.Logf("export: %d bytes per line; languages %v", avg, langs)
	if avg < 450 || avg > 700 {
		t.Errorf("export: %d bytes per line, want about 560", avg)
	}
}

// TestJSONEachRowColumns: every row has exactly the Columns, as valid JSON.
func TestJSONEachRowColumns(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSONEachRow(&buf, Options{N: 500, Seed: 2, NegativeShare: 0.3}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("%v: %s", err, sc.Bytes())
		}
		if len(row) != 31 {
			t.Fatalf("%d columns, want 31: %s", len(row), sc.Bytes())
		}
	}
}

func BenchmarkWriteExport(b *testing.B) {
	var n int64
	for i := 0; i < b.N; i++ {
		var c countWriter
		if err := WriteExport(&c, Options{N: 100000, Seed: int64(i)}); err != nil {
			b.Fatal(err)
		}
		n += int64(c)
	}
	b.ReportMetric(float64(100000*b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(n)/float64(100000*b.N), "bytes/line")
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// TestColumnsAreTheTable: Columns is storage's one column table.
func TestColumnsAreTheTable(t *testing.T) {
	if want := strings.Join(storage.MentionColumns(), ", "); Columns != want {
		t.Errorf("Columns = %q\nstorage's table: %q", Columns, want)
	}
}
