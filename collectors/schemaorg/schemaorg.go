// Package schemaorg collects schema.org Review items from review pages with
// gocolly/colly: JSON-LD blocks, microdata and RDFa Lite, following
// pagination (rel=next or a configured selector) up to a page limit. It
// honours robots.txt, a per-host delay, body-size caps and timeouts, and
// only visits the configured hosts.
package schemaorg

import (
	"strings"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/crawl"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// Options are the kind-specific keys of a schemaorg source: the crawl's.
type Options crawl.Options

// Validate checks the options at config load.
func (o *Options) Validate() []config.FieldError { return (*crawl.Options)(o).Validate() }

// Kind registers the schemaorg source kind.
func Kind() collectors.Kind {
	return collectors.KindOf("schemaorg", func(env collectors.Env, o *Options) (collectors.Collector, error) {
		return New(env, *o), nil
	})
}

// New returns a crawler that extracts schema.org reviews; it does no I/O.
func New(env collectors.Env, o Options) *crawl.Collector {
	return crawl.New(env, crawl.Options(o), Extract)
}

// toMention maps a review to the mention record; the pipeline fills source,
// brand and location from the source's config.
func toMention(r Review, page, lang string, now time.Time) mention.Mention {
	link := r.URL
	if link == "" {
		link = page
	}
	m := mention.Mention{
		ID:          mention.StableID("schemaorg", r.ID, link, r.Author, r.Body),
		Kind:        mention.KindReview,
		URL:         link,
		Author:      r.Author,
		Title:       r.Title,
		Text:        r.Body,
		Lang:        first(strings.ToLower(r.Lang), lang),
		PublishedAt: r.Published,
		CollectedAt: now,
	}
	if r.Rating > 0 {
		// Rescale to 1..best when the site's scale starts elsewhere (0..10).
		m.Rating, m.RatingMax = r.Rating, r.BestRating
		if r.WorstRating != 1 && r.BestRating > r.WorstRating {
			m.Rating = 1 + (r.Rating-r.WorstRating)*(r.BestRating-1)/(r.BestRating-r.WorstRating)
		}
	}
	return m
}
