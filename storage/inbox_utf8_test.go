package storage

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/earshot/earshot/schemas"
)

// TestInboxTextCutUTF8: 0015 cut case_inbox.text at 2000 bytes, splitting
// a Devanagari or Cyrillic character; 0017 recreates the view with
// substringUTF8 and rewrites the rows already there, keeping them, and can
// run twice. The old state is rebuilt here with 0015's own view.
func TestInboxTextCutUTF8(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	ms, err := schemas.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	stmts := func(version uint32, has string) []string {
		var out []string
		for _, m := range ms {
			for _, st := range m.Statements {
				if m.Version == version && strings.Contains(st, has) {
					out = append(out, st)
				}
			}
		}
		if len(out) == 0 {
			t.Fatalf("migration %d has no statement with %q", version, has)
		}
		return out
	}
	exec := func(sql ...string) {
		t.Helper()
		for _, q := range sql {
			if err := s.conn.Exec(ctx, q); err != nil {
				t.Fatalf("%v\n%s", err, q)
			}
		}
	}
	// Before 0017: the view cuts bytes.
	exec("DROP TABLE case_inbox_mv")
	exec(stmts(15, "CREATE MATERIALIZED VIEW IF NOT EXISTS case_inbox_mv")...)

	cases := []struct {
		name, text string
		broken     bool // cut at 2000 bytes, it ends mid-character
	}{
		{"hindi", strings.Repeat("शिकायत ", 400), true}, // 3-byte letters and spaces
		{"cyrillic", "a" + strings.Repeat("ж", 1500), true},
		{"short", "Жалоба: नमस्ते", false},
	}
	insert := func(prefix string) {
		t.Helper()
		batch := sample(len(cases), prefix)
		for i := range batch {
			batch[i].Text, batch[i].Negative, batch[i].Severity = cases[i].text, true, "high"
		}
		if err := s.InsertMentions(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	read := func(id string) (texts []string) {
		t.Helper()
		rows, err := s.conn.Query(ctx, "SELECT text FROM case_inbox FINAL WHERE mention_id = ?", id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var x string
			if err := rows.Scan(&x); err != nil {
				t.Fatal(err)
			}
			texts = append(texts, x)
		}
		return texts
	}
	insert("old")
	for i, tc := range cases {
		if got := read(sample(len(cases), "old")[i].ID); len(got) != 1 || utf8.ValidString(got[0]) == tc.broken {
			t.Fatalf("%s before 0017: %d rows, valid UTF-8 %v; the old view should cut it broken=%v", tc.name, len(got),
				len(got) == 1 && utf8.ValidString(got[0]), tc.broken)
		}
	}

	// 0017, twice: an interrupted migration runs again from the top.
	var fix []string
	for _, m := range ms {
		if m.Version == 17 {
			fix = m.Statements
		}
	}
	if len(fix) == 0 {
		t.Fatal("no migration 0017")
	}
	exec(fix...)
	exec(fix...)
	insert("new") // through the recreated view
	for _, prefix := range []string{"old", "new"} {
		for i, tc := range cases {
			t.Run(prefix+"/"+tc.name, func(t *testing.T) {
				got := read(sample(len(cases), prefix)[i].ID)
				want := string([]rune(tc.text)[:min(2000, utf8.RuneCountInString(tc.text))])
				if len(got) != 1 || got[0] != want {
					t.Errorf("%d rows; text valid %v, %d runes; want one row of the first %d runes", len(got),
						len(got) > 0 && utf8.ValidString(got[0]), utf8.RuneCountInString(strings.Join(got, "")), utf8.RuneCountInString(want))
				}
			})
		}
	}
}
