// Package selector collects reviews from sites without schema.org markup,
// using CSS selectors from the config for the review block and its parts.
// It crawls like the schemaorg kind (collectors/crawl): pagination, page
// limit, robots.txt, per-host delay, allowed hosts.
package selector

import (
	"fmt"
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
	Text       string  `yaml:"text"`   // required
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
}

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
	if o.RatingMax < 0 {
		errs = append(errs, config.FieldError{Field: "rating_max", Msg: "must be positive"})
	}
	return errs
}

// Kind registers the selector source kind.
func Kind() collectors.Kind {
	return collectors.KindOf("selector", func(env collectors.Env, o *Options) (collectors.Collector, error) {
		return crawl.New(env, o.crawl(), o.Extract), nil
	})
}

// Extract reads the reviews under root by the configured selectors.
func (o *Options) Extract(root *goquery.Selection, pageURL, lang string, now time.Time) crawl.Page {
	if lang == "" {
		lang = o.Lang
	}
	var out []mention.Mention
	var errs []error
	root.Find(o.Review).Each(func(i int, b *goquery.Selection) {
		m := mention.Mention{Kind: mention.KindReview, URL: pageURL, Lang: lang, CollectedAt: now,
			Text: text(b, o.Text), Title: text(b, o.Title), Author: text(b, o.Author)}
		if m.Text == "" {
			errs = append(errs, fmt.Errorf("review %d: no text at %q", i+1, o.Text))
			return
		}
		if o.Rating != "" || o.RatingAttr != "" {
			raw := value(b, o.Rating, o.RatingAttr)
			if r, scale, ok := ParseRating(raw, o.RatingMax); ok {
				m.Rating, m.RatingMax = r, scale
			} else if raw != "" {
				errs = append(errs, fmt.Errorf("review %d: rating %q not understood", i+1, raw))
			}
		}
		if o.Date != "" || o.DateAttr != "" {
			raw := value(b, o.Date, o.DateAttr)
			if t, ok := ParseDate(raw, now); ok {
				m.PublishedAt = t
			} else if raw != "" {
				errs = append(errs, fmt.Errorf("review %d: date %q not understood", i+1, raw))
			}
		}
		if o.Link != "" {
			if href, ok := b.Find(o.Link).First().Attr("href"); ok {
				m.URL = crawl.Resolve(pageURL, href)
			}
		}
		siteID := ""
		if o.ID != "" || o.IDAttr != "" {
			siteID = value(b, o.ID, o.IDAttr)
		}
		m.ID = mention.StableID("selector", siteIDWithHost(siteID, pageURL), m.URL, m.Author, m.Text)
		out = append(out, m)
	})
	return crawl.Page{Mentions: out, Errors: errs}
}

// text is the whitespace-collapsed text of the first match of sel in b.
func text(b *goquery.Selection, sel string) string {
	if sel == "" {
		return ""
	}
	return strings.Join(strings.Fields(b.Find(sel).First().Text()), " ")
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
