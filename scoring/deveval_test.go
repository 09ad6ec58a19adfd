package scoring

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/earshot/earshot/mention"
)

// TestDevEval prints the lexicon-only figures on the labelled dev sets
// (EARSHOT_DEV_EVAL=../../shared/data/sentiment/dev): the before/after table
// for lexicon changes, independent of any model the binary embeds.
func TestDevEval(t *testing.T) {
	dir := os.Getenv("EARSHOT_DEV_EVAL")
	if dir == "" {
		t.Skip("EARSHOT_DEV_EVAL not set")
	}
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var items []Labelled
	for _, p := range []string{filepath.Join(dir, "*.jsonl"), "testdata/hbs.jsonl"} {
		it, err := ReadLabelled(p)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it...)
	}
	rs, err := Evaluate(context.Background(), s, items)
	if err != nil {
		t.Fatal(err)
	}
	WriteReport(os.Stdout, rs, os.Getenv("EARSHOT_DEV_EVAL_SOURCES") != "")
}

// TestDevLangDump lists dev items detected as EARSHOT_DEV_LANG but labelled
// otherwise: the look at language-identification changes.
func TestDevLangDump(t *testing.T) {
	dir, want := os.Getenv("EARSHOT_DEV_EVAL"), os.Getenv("EARSHOT_DEV_LANG")
	if dir == "" || want == "" {
		t.Skip("EARSHOT_DEV_EVAL or EARSHOT_DEV_LANG not set")
	}
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	items, err := ReadLabelled(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		m := mention.Mention{Text: it.Text}
		s.ScoreMention(&m)
		if m.Lang == want && it.Lang != want {
			t.Logf("%s (%s): %.120q", it.ID, m.Reasons[0], it.Text)
		}
	}
}
