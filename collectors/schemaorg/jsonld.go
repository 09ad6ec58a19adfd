package schemaorg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/crawl"
	"github.com/earshot/earshot/mention"
)

// Review is a schema.org Review found on a page.
type Review struct {
	ID          string // @id or url of the review, when the page gives one
	URL         string
	Author      string
	Title       string
	Body        string
	Rating      float64 // 0 when absent
	BestRating  float64 // default 5 when a rating is present
	WorstRating float64 // default 1
	Published   time.Time
	Date        string // the date as written, read with the page's language
	Lang        string // inLanguage, or the @language of the review's text
	ItemName    string // name of the reviewed thing (itemReviewed or enclosing item)
}

// maxDepth bounds recursion into hostile, deeply nested JSON.
const maxDepth = 32

// Aggregate is the AggregateRating of a reviewed item.
type Aggregate struct {
	Item        string
	Rating      float64
	Best, Worst float64
	RatingCount uint64
	ReviewCount uint64
}

// found is what one walk collects.
type found struct {
	reviews []Review
	ratings []Aggregate
}

// ExtractJSONLD returns the reviews in one JSON-LD block: a single object,
// an array, an @graph, reviews nested under a reviewed item ("review" or
// "reviews", object or list), or items named by itemReviewed.
func ExtractJSONLD(block []byte) ([]Review, error) {
	f, err := parseJSONLD(block)
	return f.reviews, err
}

func parseJSONLD(block []byte) (found, error) {
	block = bytes.TrimSpace(block)
	// Some sites wrap the JSON in HTML comments or CDATA.
	for _, p := range [][2]string{{"<!--", "-->"}, {"<![CDATA[", "]]>"}, {"//<![CDATA[", "//]]>"}} {
		if bytes.HasPrefix(block, []byte(p[0])) && bytes.HasSuffix(block, []byte(p[1])) {
			block = bytes.TrimSpace(block[len(p[0]) : len(block)-len(p[1])])
		}
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(block))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return found{}, fmt.Errorf("json-ld: %w", err)
	}
	var f found
	walk(v, "", 0, &f)
	return f, nil
}

// walk visits every object; item is the name of the nearest enclosing thing
// that is not a review, which is what a nested review or rating is about.
// Keys are visited in sorted order, so results do not depend on map order.
func walk(v any, item string, depth int, f *found) {
	if depth > maxDepth {
		return
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			walk(e, item, depth+1, f)
		}
	case map[string]any:
		if hasType(x, "Review", "UserReview", "CriticReview", "EmployerReview") {
			r := review(x)
			if r.ItemName == "" {
				r.ItemName = item
			}
			// A review needs words (a body, or a title with a rating) or a
			// rating by someone: a star-only review is a review. A bare name
			// without a rating (themes that mark whole articles as Review)
			// is not one.
			if r.Body != "" || r.Rating > 0 && (r.Title != "" || r.Author != "" || r.Date != "") {
				f.reviews = append(f.reviews, r)
			}
			return
		}
		if hasType(x, "AggregateRating", "EmployerAggregateRating") {
			// A stand-alone rating names its item; a nested one is about the enclosing item.
			name := item
			if ir := object(x["itemReviewed"]); ir != nil && text(ir["name"]) != "" {
				name = text(ir["name"])
			}
			if a, ok := aggregate(x, name); ok {
				f.ratings = append(f.ratings, a)
			}
			return
		}
		if n := text(x["name"]); n != "" && !hasType(x, "Person", "Organization", "WebPage", "WebSite", "BreadcrumbList") {
			item = n
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch k {
			case "@context":
			case "aggregateRating":
				// Often without @type in JSON-LD: read it here, for this item.
				if ar := object(x[k]); ar != nil {
					if a, ok := aggregate(ar, item); ok {
						f.ratings = append(f.ratings, a)
					}
				}
			default:
				walk(x[k], item, depth+1, f)
			}
		}
	}
}

// aggregate reads an AggregateRating object.
func aggregate(o map[string]any, item string) (Aggregate, bool) {
	value, best, worst := rating(o)
	if value == 0 {
		// Sites on a 10-point scale often omit bestRating (IMDb): a value
		// above schema.org's default of 5 but at most 10 is read as out of 10.
		if v, ok := number(o["ratingValue"]); ok && v > 5 && v <= 10 && o["bestRating"] == nil {
			value, best, worst = v, 10, 1
		} else {
			return Aggregate{}, false
		}
	}
	a := Aggregate{Item: item, Rating: value, Best: best, Worst: worst}
	if n, ok := number(o["ratingCount"]); ok && n > 0 {
		a.RatingCount = uint64(n)
	}
	if n, ok := number(o["reviewCount"]); ok && n > 0 {
		a.ReviewCount = uint64(n)
	}
	return a, true
}

func hasType(o map[string]any, types ...string) bool {
	var ts []string
	switch t := o["@type"].(type) {
	case string:
		ts = []string{t}
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				ts = append(ts, s)
			}
		}
	}
	for _, t := range ts {
		t = strings.TrimPrefix(strings.TrimPrefix(t, "http://schema.org/"), "https://schema.org/")
		t = strings.TrimPrefix(t, "schema:")
		for _, want := range types {
			if t == want {
				return true
			}
		}
	}
	return false
}

func review(o map[string]any) Review {
	r := Review{
		ID:     text(o["@id"]),
		URL:    text(o["url"]),
		Author: name(o["author"]),
		Title:  first(text(o["name"]), text(o["headline"])),
		Body:   body(first(text(o["reviewBody"]), text(o["description"]), text(o["text"]))),
		Lang:   first(text(o["inLanguage"]), valueLang(o["reviewBody"]), valueLang(o["description"]), valueLang(o["text"])),
		Date:   first(text(o["datePublished"]), text(o["dateCreated"])),
	}
	if r.Date != "" {
		r.Published, _ = collectors.ParseDate(r.Date, r.Lang, time.Now())
	}
	switch ir := o["itemReviewed"].(type) {
	case map[string]any:
		r.ItemName = text(ir["name"])
	case string:
		r.ItemName = strings.TrimSpace(ir)
	}
	r.Rating, r.BestRating, r.WorstRating = rating(o["reviewRating"])
	return r
}

// rating reads a Rating object (or a list of one), or a bare value ("4"),
// with schema.org's defaults of 1..5. An unusable rating is all zeros.
func rating(v any) (value, best, worst float64) {
	best, worst = 5, 1
	if rr := object(v); rr != nil {
		value, _ = number(rr["ratingValue"])
		if b, ok := number(rr["bestRating"]); ok && b > 0 {
			best = b
		}
		if w, ok := number(rr["worstRating"]); ok {
			worst = w
		}
	} else {
		value, _ = number(v)
	}
	if value <= 0 || value > best || value < worst || worst >= best {
		return 0, 0, 0
	}
	return value, best, worst
}

// object returns v as an object, or the first object of a list (some sites
// give reviewRating as a one-element array).
func object(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return x
	case []any:
		for _, e := range x {
			if o, ok := e.(map[string]any); ok {
				return o
			}
		}
	}
	return nil
}

// text returns a string value, the first string of a list, or the @value of
// a language-tagged value; anything else is "".
func text(v any) string {
	switch x := v.(type) {
	case string:
		// Some sites HTML-escape their JSON-LD (&apos;, &amp;): the value
		// is text, not HTML, so entities are decoded.
		if strings.Contains(x, "&") {
			x = html.UnescapeString(x)
		}
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case []any:
		for _, e := range x {
			if s := text(e); s != "" {
				return s
			}
		}
	case map[string]any:
		return text(x["@value"])
	}
	return ""
}

// body cleans a review text: HTML in a JSON-LD string (<br>, <p>) becomes
// line breaks, raw \r\n becomes \n, and the "Read more" / "Report as
// inappropriate" controls that inline markup drags in at the end go.
func body(s string) string {
	if strings.Contains(s, "<") {
		s = collectors.PlainText(s)
	}
	s = collectors.TidyText(s)
	for {
		t := strings.TrimSpace(uiTail.ReplaceAllString(s, ""))
		if t == s {
			return s
		}
		s = t
	}
}

// uiTail is a review site's control text at the end of a review block.
var uiTail = regexp.MustCompile(`(?i)[\s|/·•]*(?:read more|show more|see more|show less|report as inappropriate|report abuse|report this review|report review|was this review helpful\??|mehr anzeigen|weiterlesen|lire la suite|voir plus|leer más|signaler un abus)\s*[.…]*$`)

// valueLang is the @language of a language-tagged value, or of the first
// one in a list.
func valueLang(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return text(x["@language"])
	case []any:
		for _, e := range x {
			if l := valueLang(e); l != "" {
				return l
			}
		}
	}
	return ""
}

// name reads an author given as text, a Person/Organization, or a list.
func name(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return first(text(x["name"]), text(x["alternateName"]))
	case []any:
		var names []string
		for _, e := range x {
			if n := name(e); n != "" {
				names = append(names, n)
			}
		}
		return strings.Join(names, ", ")
	}
	return text(v)
}

// number reads 4, "4", "4.5" or "4,5".
func number(v any) (float64, bool) {
	s := strings.TrimSpace(strings.Replace(text(v), ",", ".", 1))
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// ExtractHTML returns the mentions in one HTML page: schema.org reviews in
// JSON-LD blocks, microdata and RDFa Lite. The same review marked up twice
// gets the same id (a hash of link, author and text), so it is stored once.
// pageURL resolves the mention URL and id when a review has neither.
func ExtractHTML(r io.Reader, pageURL string, now time.Time) ([]mention.Mention, error) {
	doc, err := goquery.NewDocumentFromReader(r)
	if err != nil {
		return nil, fmt.Errorf("parse html: %w", err)
	}
	pg := Extract(doc.Selection, pageURL, crawl.PageLang(doc.Find("html").AttrOr("lang", "")), now)
	if len(pg.Mentions) == 0 && len(pg.Errors) > 0 {
		return nil, errors.Join(pg.Errors...)
	}
	return pg.Mentions, nil
}

// Extract reads every review under root (JSON-LD, microdata, RDFa), one
// mention per distinct id, the reviewed items' aggregate ratings, and the
// errors of unreadable JSON-LD blocks. It is the schemaorg kind's
// crawl.Extractor.
func Extract(root *goquery.Selection, pageURL, lang string, now time.Time) crawl.Page {
	var all found
	var errs []error
	root.Find(`script[type="application/ld+json"]`).Each(func(i int, s *goquery.Selection) {
		f, err := parseJSONLD([]byte(s.Text()))
		if err != nil {
			errs = append(errs, fmt.Errorf("json-ld block %d: %w", i, err))
			return
		}
		all.reviews = append(all.reviews, f.reviews...)
		all.ratings = append(all.ratings, f.ratings...)
	})
	for _, n := range root.Nodes {
		for _, syn := range []syntax{microdata, rdfa} {
			walk(inlineItems(n, syn), "", 0, &all)
		}
	}
	reviews := all.reviews
	out := make([]mention.Mention, 0, len(reviews))
	seen := map[string]bool{}
	for _, rv := range reviews {
		// Dates are read in the review's or else the page's language: on a
		// European page 05/02/2024 is 5 February; without either language
		// an ambiguous date is an error for the pass, not a guess.
		rv.Published = time.Time{}
		if rv.Date != "" {
			t, err := collectors.ParseDate(rv.Date, first(rv.Lang, lang), now)
			if err != nil {
				errs = append(errs, fmt.Errorf("review by %q: %w", rv.Author, err))
			}
			rv.Published = t
		}
		m := toMention(rv, pageURL, lang, now)
		if !seen[m.ID] {
			seen[m.ID] = true
			out = append(out, m)
		}
	}
	out = merge(out)
	pg := crawl.Page{Mentions: out, Errors: errs}
	for _, a := range all.ratings {
		pg.Ratings = append(pg.Ratings, mention.ItemRating{Item: a.Item, URL: pageURL, Rating: a.Rating, Best: a.Best, Worst: a.Worst,
			RatingCount: a.RatingCount, ReviewCount: a.ReviewCount, ObservedAt: now})
	}
	return pg
}
