// Package selector collects reviews from sites without schema.org markup,
// using CSS selectors from the config for the review block and its parts.
// It crawls like the schemaorg kind (collectors/crawl): pagination, page
// limit, robots.txt, per-host delay, allowed hosts.
package selector

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/crawl"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// Options of a selector source. Selectors inside the review block are
// relative to it. An empty *_attr reads the element's text.
type Options struct {
	URLs         []string `yaml:"urls"`
	MaxPages     int      `yaml:"max_pages"`
	NextSelector string   `yaml:"next_selector"`
	AllowedHosts []string `yaml:"allowed_hosts"`

	Review     string  `yaml:"review"` // one element per review (required)
	Text       string  `yaml:"text"`   // required; several matches are joined with newlines
	Title      string  `yaml:"title"`
	Author     string  `yaml:"author"`
	Rating     string  `yaml:"rating"`      // "4 out of 5", "★★★★☆", a width:80% bar...
	RatingAttr string  `yaml:"rating_attr"` // e.g. style, data-rating, aria-label
	RatingMax  float64 `yaml:"rating_max"`  // scale when the rating text has none; default 5
	Date       string  `yaml:"date"`
	DateAttr   string  `yaml:"date_attr"` // e.g. datetime
	Link       string  `yaml:"link"`      // an <a> whose href is the review's own URL
	ID         string  `yaml:"id"`        // element holding the site's review id
	IDAttr     string  `yaml:"id_attr"`   // e.g. data-review-id (on the id element, or the block)
	Lang       string  `yaml:"lang"`      // when the page does not say
	// RatingCount counts matching elements as the rating ("i.star-full":
	// four full stars are 4 of rating_max).
	RatingCount string `yaml:"rating_count"`
	// Regex maps a field (text, title, author, rating, date, id) to a
	// regular expression applied to what its selector read: with a group,
	// the first group is kept ("^(.*?) am " for the author in "Georg N. am
	// 10.4.2020"); without one, the matches are removed.
	Regex map[string]string `yaml:"regex"`
}

// regexFields are the fields Regex may name.
var regexFields = []string{"text", "title", "author", "rating", "date", "id"}

func (o *Options) crawl() crawl.Options {
	return crawl.Options{URLs: o.URLs, MaxPages: o.MaxPages, NextSelector: o.NextSelector, AllowedHosts: o.AllowedHosts}
}

// Validate checks the options, selectors included, at config load.
func (o *Options) Validate() []config.FieldError {
	c := o.crawl()
	errs := c.Validate()
	if o.Review == "" {
		errs = append(errs, config.FieldError{Field: "review", Msg: "required: the CSS selector of one review"})
	}
	if o.Text == "" {
		errs = append(errs, config.FieldError{Field: "text", Msg: "required: the CSS selector of the review text"})
	}
	for field, sel := range map[string]string{"review": o.Review, "text": o.Text, "title": o.Title, "author": o.Author,
		"rating": o.Rating, "date": o.Date, "link": o.Link, "id": o.ID, "next_selector": o.NextSelector} {
		if sel == "" {
			continue
		}
		if _, err := cascadia.ParseGroup(sel); err != nil {
			errs = append(errs, config.FieldError{Field: field, Msg: fmt.Sprintf("bad CSS selector %q: %v", sel, err)})
		}
	}
	if o.RatingCount != "" {
		if _, err := cascadia.ParseGroup(o.RatingCount); err != nil {
			errs = append(errs, config.FieldError{Field: "rating_count", Msg: fmt.Sprintf("bad CSS selector %q: %v", o.RatingCount, err)})
		}
	}
	if o.RatingMax < 0 {
		errs = append(errs, config.FieldError{Field: "rating_max", Msg: "must be positive"})
	}
	for field, expr := range o.Regex {
		if !slices.Contains(regexFields, field) {
			errs = append(errs, config.FieldError{Field: "regex." + field, Msg: "want one of " + strings.Join(regexFields, ", ")})
		} else if _, err := regexp.Compile(expr); err != nil {
			errs = append(errs, config.FieldError{Field: "regex." + field, Msg: fmt.Sprintf("bad regular expression: %v", err)})
		}
	}
	return errs
}

// apply runs the field's regex, if any, on v.
func (o *Options) apply(field, v string) string {
	expr, ok := o.Regex[field]
	if !ok || v == "" {
		return v
	}
	re, err := regexp.Compile(expr) // checked by Validate; cached by the caller's page loop is not needed at this size
	if err != nil {
		return v
	}
	if re.NumSubexp() > 0 {
		m := re.FindStringSubmatch(v)
		if m == nil {
			return ""
		}
		return strings.TrimSpace(m[1])
	}
	return strings.TrimSpace(re.ReplaceAllString(v, ""))
}

// Kind registers the selector source kind.
func Kind() collectors.Kind {
	return collectors.KindOf("selector", func(env collectors.Env, o *Options) (collectors.Collector, error) {
		return crawl.New(env, o.crawl(), o.Extract), nil
	})
}

// Extract reads the reviews under root by the configured selectors. Dates
// are read in the page's language (else the source's lang); an ambiguous
// date without either is reported, not guessed. A review without words but
// with a rating (star-only reviews on map and app pages) is kept.
func (o *Options) Extract(root *goquery.Selection, pageURL, lang string, now time.Time) crawl.Page {
	fromPage := lang != "" // the page's lang attribute: a hint; the source's lang: the user's word
	if lang == "" {
		lang = o.Lang
	}
	var out []mention.Mention
	var errs []error
	root.Find(o.Review).Each(func(i int, b *goquery.Selection) {
		m := mention.Mention{Kind: mention.KindReview, URL: pageURL, Lang: lang, LangFromPage: fromPage, CollectedAt: now,
			Text:   o.apply("text", allText(b, o.Text)),
			Title:  o.apply("title", text(b, o.Title)),
			Author: o.apply("author", text(b, o.Author))}
		switch {
		case o.RatingCount != "":
			if n := b.Find(o.RatingCount).Length(); n > 0 {
				m.Rating, m.RatingMax = float64(n), cmp.Or(o.RatingMax, 5)
				if m.Rating > m.RatingMax {
					errs = append(errs, fmt.Errorf("review %d: %d elements at %q, more than rating_max %v", i+1, n, o.RatingCount, m.RatingMax))
					m.Rating, m.RatingMax = 0, 0
				}
			}
		case o.Rating != "" || o.RatingAttr != "":
			raw := o.apply("rating", value(b, o.Rating, o.RatingAttr))
			if r, scale, ok := ParseRating(raw, o.RatingMax); ok {
				m.Rating, m.RatingMax = r, scale
			} else if raw != "" {
				errs = append(errs, fmt.Errorf("review %d: rating %q not understood", i+1, raw))
			}
		}
		if m.Text == "" && m.Rating == 0 {
			errs = append(errs, fmt.Errorf("review %d: no text at %q and no rating", i+1, o.Text))
			return
		}
		if o.Date != "" || o.DateAttr != "" {
			raw := o.apply("date", value(b, o.Date, o.DateAttr))
			if raw != "" {
				t, err := collectors.ParseDate(raw, lang, now)
				if err != nil {
					errs = append(errs, fmt.Errorf("review %d: %w", i+1, err))
				}
				m.PublishedAt = t
			}
		}
		if o.Link != "" {
			if href, ok := b.Find(o.Link).First().Attr("href"); ok {
				m.URL = crawl.Resolve(pageURL, href)
			}
		}
		siteID := ""
		if o.ID != "" || o.IDAttr != "" {
			siteID = o.apply("id", value(b, o.ID, o.IDAttr))
		}
		switch {
		case siteID != "" || m.URL != pageURL:
			m.ID = mention.StableID("selector", siteIDWithHost(siteID, pageURL), m.URL, m.Author, m.Text)
		default:
			// No id and no link of its own: identified by what it says,
			// not by the listing page it is on (page 1 today, page 2 later).
			m.ID = mention.ContentID("selector", crawl.Host(pageURL), "", m.Author, m.Text, m.PublishedAt)
		}
		out = append(out, m)
	})
	return crawl.Page{Mentions: out, Errors: errs}
}

// text is the text of the first match of sel in b, block boundaries kept
// as line breaks.
func text(b *goquery.Selection, sel string) string {
	if sel == "" {
		return ""
	}
	el := b.Find(sel).First()
	if el.Length() == 0 {
		return ""
	}
	return collectors.NodeText(el.Get(0))
}

// allText joins the texts of every match of sel in b with newlines (a
// review split over several paragraphs, or "liked" and "disliked" parts).
func allText(b *goquery.Selection, sel string) string {
	var parts []string
	b.Find(sel).Each(func(_ int, s *goquery.Selection) {
		if t := collectors.NodeText(s.Get(0)); t != "" {
			parts = append(parts, t)
		}
	})
	return strings.Join(parts, "\n")
}

// value reads an attribute (of the matched element, or of the block when
// sel is empty) or else the text.
func value(b *goquery.Selection, sel, attr string) string {
	el := b
	if sel != "" {
		el = b.Find(sel).First()
	}
	if attr != "" {
		v, _ := el.Attr(attr)
		return strings.TrimSpace(v)
	}
	return strings.Join(strings.Fields(el.Text()), " ")
}

// siteIDWithHost scopes a site's review id to its host, since the kind is
// generic and two sites may both have a review "123".
func siteIDWithHost(id, pageURL string) string {
	if id == "" {
		return ""
	}
	return crawl.Host(pageURL) + "/" + id
}
