package fileimport

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/collectortest"
	"github.com/earshot/earshot/config"
)

func TestImportFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.csv", "Review ID,Review Text,Stars\n1,Slow check-in,2\n2,Lovely,5\n3,,4\n")
	write("b.jsonl", `{"review_id":"9","comment":"Dirty bathroom","stars":1}`+"\n")
	o := &Options{Path: filepath.Join(dir, "*"), Columns: map[string]string{"id": "Review ID", "text": "Review Text"}}
	if errs := o.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	c, err := Kind().New(collectors.Env{Source: config.Source{Name: "exports", Brand: "Acme", Location: "Split"}, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	sink := &collectortest.Sink{}
	cursor, err := c.Collect(context.Background(), "", sink)
	if err != nil {
		t.Fatal(err)
	}
	// Row 3 has no words but 4 stars: a rating-only review is a review.
	if len(sink.Mentions) != 4 || len(sink.Errors) != 0 {
		t.Fatalf("mentions %d, errors %v; want 4 (one rating-only) and none", len(sink.Mentions), sink.Errors)
	}
	if m := sink.Mentions[0]; m.ID != "import:exports:1" || m.Source != "exports" || m.Brand != "Acme" || m.Location != "Split" || m.Rating != 2 {
		t.Errorf("first %+v", m)
	}
	// Unchanged files are skipped; a changed one is read again.
	sink2 := &collectortest.Sink{}
	cursor2, _ := c.Collect(context.Background(), cursor, sink2)
	if len(sink2.Mentions) != 0 {
		t.Errorf("second pass read %d", len(sink2.Mentions))
	}
	time.Sleep(10 * time.Millisecond)
	write("b.jsonl", `{"review_id":"9","comment":"Dirty bathroom","stars":1}`+"\n"+`{"review_id":"10","comment":"Noisy","stars":2}`+"\n")
	sink3 := &collectortest.Sink{}
	if _, err := c.Collect(context.Background(), cursor2, sink3); err != nil {
		t.Fatal(err)
	}
	if len(sink3.Mentions) != 2 {
		t.Errorf("changed file: %d mentions, want its 2 rows", len(sink3.Mentions))
	}
}

func TestValidate(t *testing.T) {
	errs := (&Options{Path: "[", Format: "xml", Columns: map[string]string{"body": "x"}}).Validate()
	if len(errs) != 3 {
		t.Errorf("errors %v", errs)
	}
}

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.csv"), []byte("id,text,rating\n1,Slow check-in,2\n2,Lovely,5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	collectortest.Conformance(t, func() collectors.Collector {
		c, err := Kind().New(collectors.Env{Source: config.Source{Name: "x"}, Options: &Options{Path: filepath.Join(dir, "*.csv")}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}
