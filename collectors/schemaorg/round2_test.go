package schemaorg

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/collectortest"
	"github.com/earshot/earshot/mention"
)

// TestReviewMovesToPage2: a review with no id or link of its own keeps its
// id when newer reviews push it from page 1 to page 2, so the store (keyed
// by id) holds it once and its case is opened once.
func TestReviewMovesToPage2(t *testing.T) {
	review := func(author, text string) string {
		return fmt.Sprintf(`{"@type":"Review","author":{"@type":"Person","name":%q},"reviewBody":%q,"reviewRating":{"ratingValue":1}}`, author, text)
	}
	listing := func(next string, rs ...string) string {
		link := ""
		if next != "" {
			link = fmt.Sprintf(`<a rel="next" href="%s">next</a>`, next)
		}
		return fmt.Sprintf(`<html lang="en"><head><script type="application/ld+json">{"@type":"Hotel","name":"Sunrise","review":[%s]}</script></head><body>%s</body></html>`,
			strings.Join(rs, ","), link)
	}
	var mu sync.Mutex
	pages := map[string]string{
		"/reviews":        listing("/reviews?page=2", review("Ana", "Staff rude, never again."), review("Bo", "Fine.")),
		"/reviews?page=2": listing("", review("Cy", "Old one.")),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if body, ok := pages[r.URL.RequestURI()]; ok {
			fmt.Fprint(w, body)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	pass := func(cursor string) (map[string]string, string) {
		sink := &collectortest.Sink{}
		next, err := New(testEnv(), Options{URLs: []string{srv.URL + "/reviews"}}).Collect(context.Background(), cursor, sink)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		for _, m := range sink.Mentions {
			ids[m.Author] = m.ID
		}
		return ids, next
	}
	first, cursor := pass("")
	mu.Lock()
	pages["/reviews"] = listing("/reviews?page=2", review("Dee", "Brand new."), review("Eve", "Newer still."))
	pages["/reviews?page=2"] = listing("", review("Ana", "Staff rude,  never again."), review("Bo", "Fine."), review("Cy", "Old one."))
	mu.Unlock()
	second, _ := pass(cursor)
	for _, who := range []string{"Ana", "Bo", "Cy"} {
		if first[who] == "" || first[who] != second[who] {
			t.Errorf("%s: id %q on the first pass, %q after moving to page 2", who, first[who], second[who])
		}
	}
	if second["Dee"] == "" || second["Dee"] == second["Eve"] {
		t.Errorf("new reviews: %v", second)
	}
}

func extract(t *testing.T, page string) ([]mention.Mention, []error) {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 3, 20, 12, 0, 0, 0, time.UTC)
	lang := strings.ToLower(strings.SplitN(doc.Find("html").AttrOr("lang", ""), "-", 2)[0])
	pg := Extract(doc.Selection, "https://reviews.test/hotel?page=1", lang, now)
	return pg.Mentions, pg.Errors
}

func TestRound2Extraction(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	type want struct {
		author, text string
		rating       float64
		published    time.Time
		lang         string
	}
	tests := []struct {
		name    string
		page    string
		want    []want
		errWant error // an error of this kind is reported for the page
	}{
		{"json-ld and microdata copy of one review",
			`<html lang="en"><head><script type="application/ld+json">{"@type":"Hotel","name":"Sunrise","review":{"@type":"Review","author":"Ana","reviewBody":"Staff  rude,\r\nnever again.","datePublished":"2024-02-05","reviewRating":{"ratingValue":"1"}}}</script></head>
			<body><div itemscope itemtype="https://schema.org/Hotel"><span itemprop="name">Sunrise</span>
			<div itemprop="review" itemscope itemtype="https://schema.org/Review"><span itemprop="author">Ana</span>
			<div itemprop="reviewBody">Staff rude,<br>never again. The room smelled of smoke.<p><a>Read more</a> <a>Report as inappropriate</a></p></div></div></div></body></html>`,
			[]want{{"Ana", "Staff rude,\nnever again. The room smelled of smoke.", 1, day(2024, 2, 5), "en"}}, nil},
		{"block boundaries in microdata", `<div itemscope itemtype="http://schema.org/Review"><span itemprop="author">Bo</span>
			<div itemprop="reviewBody">Staff rude<br>never again<ul><li>cold room</li><li>no towels</li></ul></div></div>`,
			[]want{{"Bo", "Staff rude\nnever again\ncold room\nno towels", 0, time.Time{}, ""}}, nil},
		{"block boundaries in rdfa", `<div vocab="http://schema.org/" typeof="Review"><span property="author">Cy</span>
			<div property="reviewBody"><p>Waited an hour.</p><p>Cancelled.</p></div></div>`,
			[]want{{"Cy", "Waited an hour.\nCancelled.", 0, time.Time{}, ""}}, nil},
		{"rating-only review with author and date kept, bare name dropped",
			`<html lang="de"><script type="application/ld+json">[{"@type":"Review","author":"Dora","datePublished":"2024-02-05","reviewRating":{"ratingValue":1}},{"@type":"Review","name":"Not a review"}]</script></html>`,
			[]want{{"Dora", "", 1, day(2024, 2, 5), "de"}}, nil},
		{"european page: day first", `<html lang="hr"><script type="application/ld+json">{"@type":"Review","author":"Iva","reviewBody":"Loše.","datePublished":"05/02/2024"}</script></html>`,
			[]want{{"Iva", "Loše.", 0, day(2024, 2, 5), "hr"}}, nil},
		{"words in the page's language", `<html lang="hr"><script type="application/ld+json">{"@type":"Review","author":"Iva","reviewBody":"Loše.","datePublished":"5. veljače 2024."}</script></html>`,
			[]want{{"Iva", "Loše.", 0, day(2024, 2, 5), "hr"}}, nil},
		{"ambiguous date without a language is an error", `<script type="application/ld+json">{"@type":"Review","author":"X","reviewBody":"Meh.","datePublished":"05/02/2024"}</script>`,
			[]want{{"X", "Meh.", 0, time.Time{}, ""}}, collectors.ErrAmbiguousDate},
		{"@language kept over the page's", `<html lang="en"><script type="application/ld+json">{"@type":"Review","author":"Zoé","reviewBody":{"@value":"Service lamentable.","@language":"fr"}}</script></html>`,
			[]want{{"Zoé", "Service lamentable.", 0, time.Time{}, "fr"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, errs := extract(t, tt.page)
			if len(ms) != len(tt.want) {
				t.Fatalf("%d mentions %+v, want %d", len(ms), ms, len(tt.want))
			}
			for i, w := range tt.want {
				m := ms[i]
				if m.Author != w.author || m.Text != w.text || m.Rating != w.rating || !m.PublishedAt.Equal(w.published) || m.Lang != w.lang {
					t.Errorf("mention %d = author %q text %q rating %v published %v lang %q; want %+v", i, m.Author, m.Text, m.Rating, m.PublishedAt, m.Lang, w)
				}
				if err := m.Normalize(time.Now()); err != nil {
					t.Errorf("mention %d dropped by Normalize: %v", i, err)
				}
			}
			var got error
			for _, e := range errs {
				if tt.errWant != nil && errors.Is(e, tt.errWant) {
					got = e
				}
			}
			if tt.errWant != nil && got == nil {
				t.Errorf("errors %v, want %v", errs, tt.errWant)
			}
			if tt.errWant == nil && len(errs) > 0 {
				t.Errorf("unexpected errors %v", errs)
			}
		})
	}
}

// TestPageLangIsAHint: a review takes the page's lang attribute marked as
// a hint (the scorer may overrule it); its own inLanguage is not.
func TestPageLangIsAHint(t *testing.T) {
	page := `<html lang="en"><body><script type="application/ld+json">{"@context":"https://schema.org","@type":"Product","name":"Hotel",
"review":[{"@type":"Review","author":"Ana","reviewBody":"Le personnel était très impoli."},
{"@type":"Review","author":"Ivo","inLanguage":"hr","reviewBody":"Osoblje je bilo vrlo neljubazno."}]}</script></body></html>`
	ms, _ := extract(t, page)
	if len(ms) != 2 {
		t.Fatalf("%d reviews, want 2", len(ms))
	}
	for _, m := range ms {
		wantHint := m.Author == "Ana"
		if m.LangFromPage != wantHint {
			t.Errorf("%s: lang %q, from page %v; want from page %v", m.Author, m.Lang, m.LangFromPage, wantHint)
		}
	}
}
