package schemaorg

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/earshot/earshot/collectors/collectortest"
)

func TestExtractJSONLD(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Review // only the fields set here are compared
	}{
		{"single review", `{"@type":"Review","author":"Ana","reviewBody":"Cold food","reviewRating":{"ratingValue":2}}`,
			[]Review{{Author: "Ana", Body: "Cold food", Rating: 2, BestRating: 5}}},
		{"array and graph", `[{"@graph":[{"@type":"Review","reviewBody":"a"},{"@type":"Person","name":"x"}]},{"@type":"Review","reviewBody":"b"}]`,
			[]Review{{Body: "a"}, {Body: "b"}}},
		{"nested under item", `{"@type":"Hotel","name":"H","review":[{"@type":"Review","reviewBody":"x","author":{"@type":"Person","name":"P"}}]}`,
			[]Review{{Body: "x", Author: "P", ItemName: "H"}}},
		{"string rating with comma, scale 10", `{"@type":"Review","description":"ok","reviewRating":{"ratingValue":"7,5","bestRating":"10"}}`,
			[]Review{{Body: "ok", Rating: 7.5, BestRating: 10}}},
		{"rating as array, author list", `{"@type":"Review","reviewBody":"x","author":[{"name":"A"},"B"],"reviewRating":[{"ratingValue":"87","bestRating":"100","worstRating":"0"}]}`,
			[]Review{{Body: "x", Author: "A, B", Rating: 87, BestRating: 100}}},
		{"type array and URI type", `[{"@type":["Thing","Review"],"reviewBody":"a"},{"@type":"http://schema.org/Review","reviewBody":"b"}]`,
			[]Review{{Body: "a"}, {Body: "b"}}},
		{"impossible rating dropped", `{"@type":"Review","reviewBody":"x","reviewRating":{"ratingValue":9,"bestRating":5}}`,
			[]Review{{Body: "x"}}},
		{"empty review skipped", `{"@type":"Review","author":"nobody"}`, nil},
		{"html comment wrapper", `<!-- {"@type":"Review","reviewBody":"c"} -->`, []Review{{Body: "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExtractJSONLD([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d reviews %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Body != w.Body || (w.Author != "" && g.Author != w.Author) || g.Rating != w.Rating ||
					(w.BestRating != 0 && g.BestRating != w.BestRating) || (w.ItemName != "" && g.ItemName != w.ItemName) {
					t.Errorf("review %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestExtractJSONLDErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	for _, in := range []string{`{"@type":"Review"`, "not json", deep} {
		if _, err := ExtractJSONLD([]byte(in)); err == nil && in != deep {
			t.Errorf("ExtractJSONLD(%.20q): no error", in)
		}
	}
}

// TestFixtures extracts the real pages in testdata/fixtures and compares
// with golden JSONL files (go test -update rewrites them).
func TestFixtures(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	pages, _ := filepath.Glob("testdata/fixtures/*.html")
	if len(pages) == 0 {
		t.Fatal("no fixtures")
	}
	total := 0
	for _, p := range pages {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ms, err := ExtractHTML(f, "https://fixture.test/"+filepath.Base(p), now)
			if err != nil {
				t.Fatal(err)
			}
			total += len(ms)
			collectortest.Golden(t, strings.TrimSuffix(filepath.Base(p), ".html"), ms)
		})
	}
	t.Logf("%d fixture pages, %d reviews", len(pages), total)
}

func FuzzExtractJSONLD(f *testing.F) {
	for _, s := range []string{`{"@type":"Review","reviewBody":"x","reviewRating":{"ratingValue":"4,5"}}`,
		`[{"@graph":[{"@type":["Review"],"author":[{"name":"a"}]}]}]`, `{"review":{"@type":"Review","description":"d"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ExtractJSONLD(data)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Rating < 0 || (r.Rating > 0 && r.Rating > r.BestRating) {
				t.Errorf("rating %v of %v", r.Rating, r.BestRating)
			}
		}
	})
}

// TestSyntaxesAgree: schema.org's example 0010 in JSON-LD, microdata and
// RDFa Lite must give the same reviews.
func TestSyntaxesAgree(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	var got []string
	for _, syn := range []string{"jsonld", "microdata", "rdfa"} {
		f, err := os.Open("testdata/fixtures/sdo-eg-0010-product-reviews." + syn + ".html")
		if err != nil {
			t.Fatal(err)
		}
		ms, err := ExtractHTML(f, "https://x.test/p", now)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, m := range ms {
			fmt.Fprintf(&b, "%s|%s|%v/%v|%s|%s;", m.ID, m.Author, m.Rating, m.RatingMax, m.PublishedAt.Format("2006-01-02"), m.Text)
		}
		got = append(got, b.String())
	}
	if got[0] == "" || got[0] != got[1] || got[1] != got[2] {
		t.Errorf("syntaxes disagree:\njson-ld   %s\nmicrodata %s\nrdfa      %s", got[0], got[1], got[2])
	}
}

func FuzzExtractHTML(f *testing.F) {
	for _, p := range []string{"sdo-eg-0010-product-reviews.microdata.html", "sdo-eg-0010-product-reviews.rdfa.html", "extruct-CreativeWork.001.html"} {
		b, err := os.ReadFile("testdata/fixtures/" + p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<div itemscope itemtype="Review"><div itemprop="review" itemscope><span itemprop="reviewBody">x</span></div></div>`))
	f.Fuzz(func(t *testing.T, page []byte) {
		ms, err := ExtractHTML(bytes.NewReader(page), "https://x.test/", time.Unix(0, 0))
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.ID == "" || m.Text == "" && m.Title == "" || m.Rating > m.RatingMax {
				t.Errorf("bad mention %+v", m)
			}
		}
	})
}

// TestAggregateRatings: the reviewed items' aggregate ratings on the
// fixture pages, as their SOURCES.md describes them.
func TestAggregateRatings(t *testing.T) {
	want := map[string]string{
		"sdo-eg-0010-product-reviews.microdata.html":              `"Kenmore White 17\" Microwave" 3.5/5 ratings=0 reviews=11`,
		"sdo-eg-0010-product-reviews.rdfa.html":                   `"Kenmore White 17\" Microwave" 3.5/5 ratings=0 reviews=11`,
		"sdo-eg-0017-movie-aggregate-bestrating10.microdata.html": `"Pirates of the Carribean: On Stranger Tides (2011)" 8/10 ratings=200 reviews=50`,
		"sdo-eg-0247-employer-aggregate-rating.jsonld.html":       `"ACME Corp" 4/5 ratings=42 reviews=0`,
		"sdo-eg-0450-videogame-type-array.jsonld.html":            `"Monopoly" 4/5 ratings=33 reviews=0`,
		"extruct-CreativeWork.001.html":                           `"The Catcher in the Rye" 4/5 ratings=0 reviews=3077`,
		"extruct-product.html":                                    `"Executive Anvil" 4.4/5 ratings=0 reviews=89`,
		"autohaus-de-article-rating-comma-decimal.html":           `"" 1/5 ratings=2 reviews=0`,
		"metascraper-imdb-title.html":                             `"Ferris Bueller's Day Off" 7.8/10 ratings=0 reviews=0`,
		"tofugu-com-restaurant-blogposting-review.html":           `"Dezuka Suisan" 7.9/10 ratings=1 reviews=0`,
		"travanto-de-holiday-home-6-reviews.html":                 `"Ferienhaus Feinen" 4.9/5 ratings=6 reviews=0`,
		"google-play-evernote-2016.html":                          `"Evernote - stay organized." 4.593075752258301/5 ratings=1390801 reviews=0`,
		"engadget-xbox-one-x-review.html":                         ``,
	}
	for file, w := range want {
		t.Run(file, func(t *testing.T) {
			f, err := os.Open("testdata/fixtures/" + file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			doc, err := goquery.NewDocumentFromReader(f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range Extract(doc.Selection, "https://x.test/", "", time.Now()).Ratings {
				got = append(got, fmt.Sprintf("%q %v/%v ratings=%d reviews=%d", r.Item, r.Rating, r.Best, r.RatingCount, r.ReviewCount))
			}
			if strings.Join(got, "; ") != w {
				t.Errorf("ratings %v, want %s", got, w)
			}
		})
	}
}
