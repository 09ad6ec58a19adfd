package selector

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/earshot/earshot/collectors"
)

func TestSelectorRound2(t *testing.T) {
	now := time.Date(2024, 3, 20, 12, 0, 0, 0, time.UTC)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name    string
		o       Options
		page    string
		author  string
		text    string
		rating  float64
		date    time.Time
		errWant error
	}{
		{"text from several elements, block boundaries kept", Options{Review: ".r", Text: ".pro, .con"},
			`<div class="r"><p class="pro">Great pool</p><p class="con">Staff rude<br>never again</p></div>`,
			"", "Great pool\nStaff rude\nnever again", 0, time.Time{}, nil},
		{"author and date in one element, split by regex", Options{Review: ".r", Text: ".t", Author: ".by", Date: ".by",
			Regex: map[string]string{"author": `^(.*?)\s+am\s`, "date": `\bam\s+(.*)$`}},
			`<html lang="de"><div class="r"><span class="by">Georg N. am 10.4.2020</span><p class="t">Laut.</p></div></html>`,
			"Georg N.", "Laut.", 0, day(2020, 4, 10), nil},
		{"regex without a group strips", Options{Review: ".r", Text: ".t", Regex: map[string]string{"text": `(?i)\s*read more$`}},
			`<div class="r"><p class="t">Cold room. Read more</p></div>`, "", "Cold room.", 0, time.Time{}, nil},
		{"rating by counting stars", Options{Review: ".r", Text: ".t", RatingCount: "i.star-full"},
			`<div class="r"><i class="star-full"></i><i class="star-full"></i><i class="star-empty"></i><p class="t">Meh</p></div>`,
			"", "Meh", 2, time.Time{}, nil},
		{"class-encoded rating", Options{Review: ".r", Text: ".t", Rating: ".ui_bubble_rating", RatingAttr: "class"},
			`<div class="r"><span class="ui_bubble_rating bubble_30"></span><p class="t">Okay</p></div>`,
			"", "Okay", 3, time.Time{}, nil},
		{"star-only review kept", Options{Review: ".r", Text: ".t", Author: ".a", RatingAttr: "aria-label", Rating: ".s", Date: ".d"},
			`<html lang="en"><div class="r"><span class="a">Ana</span><span class="s" aria-label="1 out of 5"></span><span class="d">2 days ago</span></div></html>`,
			"Ana", "", 1, now.AddDate(0, 0, -2), nil},
		{"european page: day first", Options{Review: ".r", Text: ".t", Date: ".d"},
			`<html lang="fr"><div class="r"><p class="t">Bof</p><span class="d">05/02/2024</span></div></html>`,
			"", "Bof", 0, day(2024, 2, 5), nil},
		{"ambiguous date without a language", Options{Review: ".r", Text: ".t", Date: ".d"},
			`<div class="r"><p class="t">Bof</p><span class="d">05/02/2024</span></div>`,
			"", "Bof", 0, time.Time{}, collectors.ErrAmbiguousDate},
		{"source lang as the hint", Options{Review: ".r", Text: ".t", Date: ".d", Lang: "hr"},
			`<div class="r"><p class="t">Loše</p><span class="d">prije 3 dana</span></div>`,
			"", "Loše", 0, now.AddDate(0, 0, -3), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.URLs = []string{"https://reviews.test/list"}
			if errs := tt.o.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			doc, err := goquery.NewDocumentFromReader(strings.NewReader(tt.page))
			if err != nil {
				t.Fatal(err)
			}
			lang := doc.Find("html").AttrOr("lang", "")
			pg := tt.o.Extract(doc.Selection, "https://reviews.test/list?page=1", lang, now)
			if len(pg.Mentions) != 1 {
				t.Fatalf("%d mentions, errors %v", len(pg.Mentions), pg.Errors)
			}
			m := pg.Mentions[0]
			if m.Author != tt.author || m.Text != tt.text || m.Rating != tt.rating || !m.PublishedAt.Equal(tt.date) {
				t.Errorf("got author %q text %q rating %v date %v", m.Author, m.Text, m.Rating, m.PublishedAt)
			}
			if err := m.Normalize(now); err != nil {
				t.Errorf("dropped by Normalize: %v", err)
			}
			if tt.errWant != nil && (len(pg.Errors) != 1 || !errors.Is(pg.Errors[0], tt.errWant)) {
				t.Errorf("errors %v, want %v", pg.Errors, tt.errWant)
			}
			if tt.errWant == nil && len(pg.Errors) > 0 {
				t.Errorf("errors %v", pg.Errors)
			}
		})
	}
}

// TestSelectorIDIndependentOfPage: without an id or link, a review's id
// does not change when it moves to another listing page.
func TestSelectorIDIndependentOfPage(t *testing.T) {
	o := &Options{Review: ".r", Text: ".t", Author: ".a"}
	page := `<div class="r"><span class="a">Ana</span><p class="t">Cold soup.</p></div>`
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(page))
	now := time.Now()
	a := o.Extract(doc.Selection, "https://reviews.test/list?page=1", "en", now).Mentions
	b := o.Extract(doc.Selection, "https://reviews.test/list?page=2", "en", now).Mentions
	if len(a) != 1 || len(b) != 1 || a[0].ID != b[0].ID {
		t.Errorf("ids %v / %v: want one id on both pages", a, b)
	}
}
