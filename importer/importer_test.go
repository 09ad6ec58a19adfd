package importer

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/mention"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func run(t *testing.T, f Format, input string) ([]mention.Mention, []RowError) {
	t.Helper()
	var good []mention.Mention
	var bad []RowError
	err := Read(context.Background(), strings.NewReader(input), f, Defaults{Brand: "Acme", Now: now},
		func(m mention.Mention) error { good = append(good, m); return nil },
		func(e RowError) { bad = append(bad, e) })
	if err != nil {
		t.Fatal(err)
	}
	return good, bad
}

func TestJSONL(t *testing.T) {
	b, err := os.ReadFile("testdata/reviews.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	good, bad := run(t, JSONL, string(b))
	if len(good) != 3 {
		t.Fatalf("good rows = %d, want 3: %+v", len(good), good)
	}
	wantBad := map[int]string{4: "invalid JSON", 5: "neither text, title nor rating", 6: "out of range", 7: "not a date", 8: "more than one value"}
	if len(bad) != len(wantBad) {
		t.Errorf("bad rows = %v, want lines 4-8", bad)
	}
	for _, e := range bad {
		if w, ok := wantBad[e.Line]; !ok || !strings.Contains(e.Err.Error(), w) {
			t.Errorf("bad row %v, want line %d to mention %q", e, e.Line, w)
		}
	}
	hr := good[1]
	if hr.Author != "Marko" || hr.Rating != 2 || hr.RatingMax != 5 || hr.Location != "Zagreb" || hr.Brand != "Acme" ||
		!hr.PublishedAt.Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)) || !strings.HasPrefix(hr.ID, "import:h") {
		t.Errorf("aliased row = %+v", hr)
	}
	if good[0].ID != "gp:1" || good[0].Source != "play" {
		t.Errorf("explicit id/source lost: %s %s", good[0].ID, good[0].Source)
	}
	if g := good[2]; len(g.Aspects) != 2 || g.Followers != 1200 {
		t.Errorf("lists and counts: %+v", g)
	}
}

func TestCSV(t *testing.T) {
	b, err := os.ReadFile("testdata/export.csv")
	if err != nil {
		t.Fatal(err)
	}
	good, bad := run(t, CSV, string(b))
	// r4 has stars and no words: a rated review, kept (issue 14).
	if len(good) != 3 || len(bad) != 1 {
		t.Fatalf("good %d bad %v; want 3 and 1", len(good), bad)
	}
	if bad[0].Line != 4 {
		t.Errorf("bad line = %d; want 4", bad[0].Line)
	}
	if r4 := good[2]; r4.Text != "" || r4.Rating != 3 || r4.Author != "Ana" {
		t.Errorf("rating-only row = %+v", r4)
	}
	if good[1].Text != `Lovely "quiet" place` || good[1].ID != "r2" || good[1].PublishedAt.Day() != 30 {
		t.Errorf("row 2 = %+v", good[1])
	}
}

func TestCSVWithoutTextColumn(t *testing.T) {
	err := Read(context.Background(), strings.NewReader("a,b\n1,2\n"), CSV, Defaults{}, func(mention.Mention) error { return nil }, func(RowError) {})
	if err == nil || !strings.Contains(err.Error(), "no text column") {
		t.Errorf("err = %v", err)
	}
}

func TestHugeAndInvalidLines(t *testing.T) {
	huge := `{"text":"` + strings.Repeat("a", MaxLine+10) + `"}`
	input := huge + "\n" + "{\"text\":\"caf\xe9 ok\"}\n"
	good, bad := run(t, JSONL, input)
	if len(bad) != 1 || bad[0].Line != 1 || !strings.Contains(bad[0].Err.Error(), "longer than") {
		t.Errorf("bad = %v", bad)
	}
	if len(good) != 1 || !strings.Contains(good[0].Text, "\uFFFD") {
		t.Errorf("invalid UTF-8 row = %+v", good)
	}
}

func TestDetectFormat(t *testing.T) {
	for name, want := range map[string]Format{"a.csv": CSV, "b.JSONL": JSONL, "c.ndjson": JSONL} {
		if f, err := DetectFormat(name); err != nil || f != want {
			t.Errorf("DetectFormat(%s) = %v, %v", name, f, err)
		}
	}
	if _, err := DetectFormat("x.txt"); err == nil {
		t.Error("x.txt: no error")
	}
}

func FuzzRead(f *testing.F) {
	for _, p := range []string{"testdata/reviews.jsonl", "testdata/export.csv"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, strings.HasSuffix(p, ".csv"))
	}
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		format := JSONL
		if csv {
			format = CSV
		}
		_ = Read(context.Background(), strings.NewReader(string(data)), format, Defaults{Now: now},
			func(m mention.Mention) error {
				if m.ID == "" || (m.Text == "" && m.Title == "" && m.Rating == 0) {
					t.Errorf("emitted an invalid mention: %+v", m)
				}
				return nil
			}, func(RowError) {})
	})
}

func TestColumnMapping(t *testing.T) {
	csv := "Review Text,Stars Given,Guest\nCold room.,2,Ana\n"
	var got []mention.Mention
	err := Read(context.Background(), strings.NewReader(csv), CSV,
		Defaults{Now: now, Location: "Split", Columns: map[string]string{"text": "Review Text", "rating": "Stars Given", "author": "Guest"}},
		func(m mention.Mention) error { got = append(got, m); return nil }, func(e RowError) { t.Error(e) })
	if err != nil || len(got) != 1 || got[0].Text != "Cold room." || got[0].Rating != 2 || got[0].Author != "Ana" || got[0].Location != "Split" {
		t.Errorf("mapped row %+v, %v", got, err)
	}
	jsonl := `{"comment_body":"Rude staff","score_out_of_10":3}` + "\n"
	got = nil
	err = Read(context.Background(), strings.NewReader(jsonl), JSONL,
		Defaults{Now: now, Columns: map[string]string{"text": "comment_body", "rating": "score_out_of_10"}},
		func(m mention.Mention) error { got = append(got, m); return nil }, func(e RowError) { t.Error(e) })
	if err != nil || len(got) != 1 || got[0].Text != "Rude staff" {
		t.Errorf("mapped JSONL %+v, %v", got, err)
	}
}
