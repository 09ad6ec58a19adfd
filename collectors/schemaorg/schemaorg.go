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
// brand and location from the source's config. A review without an id or
// a link of its own is identified by what it is (site host, reviewed item,
// author, normalised text, date), never by the listing page it was found
// on: newer reviews push it to page 2 without making it a new mention.
func toMention(r Review, page, lang string, now time.Time) mention.Mention {
	link := r.URL
	siteID := r.ID
	if siteID == page {
		siteID = ""
	}
	if link == page {
		link = ""
	}
	id := mention.StableID("schemaorg", siteID, link, r.Author, r.Body)
	if siteID == "" && link == "" {
		id = mention.ContentID("schemaorg", crawl.Host(page), r.ItemName, r.Author, r.Body, r.Published)
		link = page
	}
	m := mention.Mention{
		ID:          id,
		Kind:        mention.KindReview,
		URL:         link,
		Author:      r.Author,
		Title:       r.Title,
		Text:        r.Body,
		Lang:        first(strings.ToLower(r.Lang), lang),
		PublishedAt: r.Published,
		CollectedAt: now,
		// The review's own inLanguage/@language is trusted; the page's is a hint.
		LangFromPage: r.Lang == "" && lang != "",
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

// merge folds the same review marked up twice on one page (JSON-LD and
// microdata, texts differing in spacing or a trailing "Read more"): same
// author, and one normalised text a prefix of the other. The fuller text
// is kept, with what the other copy adds (rating, date, title, an id of
// the site's own).
func merge(ms []mention.Mention) []mention.Mention {
	out := ms[:0]
	norm := make([]string, 0, len(ms))
	for _, m := range ms {
		t := mention.NormalisedText(m.Text)
		a := mention.NormalisedText(m.Author)
		dup := -1
		for i, o := range out {
			if mention.NormalisedText(o.Author) != a {
				continue
			}
			u := norm[i]
			if t == "" && u == "" {
				if m.Rating == o.Rating && m.PublishedAt.Equal(o.PublishedAt) {
					dup = i
				}
			} else if t != "" && u != "" && (strings.HasPrefix(t, u) || strings.HasPrefix(u, t)) {
				dup = i
			}
			if dup >= 0 {
				break
			}
		}
		if dup < 0 {
			out = append(out, m)
			norm = append(norm, t)
			continue
		}
		o := out[dup]
		keep, other := o, m
		if len(t) > len(norm[dup]) {
			keep, other = m, o
			norm[dup] = t
		}
		if strings.HasPrefix(keep.ID, "schemaorg:c") && !strings.HasPrefix(other.ID, "schemaorg:c") {
			keep.ID, keep.URL = other.ID, other.URL
		}
		if keep.Rating == 0 {
			keep.Rating, keep.RatingMax = other.Rating, other.RatingMax
		}
		if keep.PublishedAt.IsZero() {
			keep.PublishedAt = other.PublishedAt
		}
		keep.Title = first(keep.Title, other.Title)
		out[dup] = keep
	}
	return out
}

func first(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
