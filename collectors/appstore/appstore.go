// Package appstore collects an app's reviews from Apple's public
// customer-reviews RSS feed (JSON), per storefront country, newest first.
// The feed serves at most 10 pages of 50; the cursor is the highest review
// id seen per country (ids grow over time), so a pass stops paging as soon
// as it reaches reviews it already has.
package appstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/httpx"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// Options of an appstore source.
type Options struct {
	AppID     string   `yaml:"app_id"`
	Countries []string `yaml:"countries"` // storefronts, default [us]
	MaxPages  int      `yaml:"max_pages"` // default and maximum 10
	BaseURL   string   `yaml:"base_url"`  // default https://itunes.apple.com
}

var (
	digits  = regexp.MustCompile(`^[0-9]+$`)
	country = regexp.MustCompile(`^[a-z]{2}$`)
)

// Validate checks the options at config load.
func (o *Options) Validate() []config.FieldError {
	var errs []config.FieldError
	if !digits.MatchString(o.AppID) {
		errs = append(errs, config.FieldError{Field: "app_id", Msg: "required: the numeric App Store id"})
	}
	for i, c := range o.Countries {
		if !country.MatchString(c) {
			errs = append(errs, config.FieldError{Field: fmt.Sprintf("countries[%d]", i), Msg: fmt.Sprintf("%q: want a two-letter lower-case country code", c)})
		}
	}
	if o.MaxPages < 0 || o.MaxPages > 10 {
		errs = append(errs, config.FieldError{Field: "max_pages", Msg: "between 1 and 10 (Apple serves no more)"})
	}
	return errs
}

// Kind registers the appstore source kind.
func Kind() collectors.Kind {
	return collectors.KindOf("appstore", func(env collectors.Env, o *Options) (collectors.Collector, error) {
		if o.BaseURL == "" {
			o.BaseURL = "https://itunes.apple.com"
		}
		if len(o.Countries) == 0 {
			o.Countries = []string{"us"}
		}
		if o.MaxPages == 0 {
			o.MaxPages = 10
		}
		u, err := url.Parse(o.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("appstore: base_url: %w", err)
		}
		return &Collector{o: *o, http: httpx.FromConfig(env.HTTP, u.Hostname())}, nil
	})
}

// Collector polls the feed.
type Collector struct {
	o    Options
	http *httpx.Client
}

type label struct {
	Label string `json:"label"`
}

type entry struct {
	ID     label `json:"id"`
	Author struct {
		Name label `json:"name"`
		URI  label `json:"uri"`
	} `json:"author"`
	Rating  label `json:"im:rating"`
	Version label `json:"im:version"`
	Title   label `json:"title"`
	Content label `json:"content"`
	Updated label `json:"updated"`
	VoteSum label `json:"im:voteSum"`
}

// entries accepts a list or, for a single review, one object.
type entries []entry

func (e *entries) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '{' {
		var one entry
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*e = entries{one}
		return nil
	}
	return json.Unmarshal(b, (*[]entry)(e))
}

type feed struct {
	Feed struct {
		Entry entries `json:"entry"`
	} `json:"feed"`
}

// Collect reads each country's pages until it meets a review it has seen.
// The cursor is JSON: {"us": "6918761820", ...}.
func (c *Collector) Collect(ctx context.Context, cursor string, sink collectors.Sink) (string, error) {
	seen := collectors.KeyCursor(cursor, sink)
	next := map[string]string{}
	for k, v := range seen {
		next[k] = v
	}
	fetched := 0
	var lastErr error
	for _, cc := range c.o.Countries {
		newest, done, failed := seen[cc], false, false
		for p := 1; p <= c.o.MaxPages && !done; p++ {
			u := fmt.Sprintf("%s/%s/rss/customerreviews/page=%d/id=%s/sortby=mostrecent/json", strings.TrimRight(c.o.BaseURL, "/"), cc, p, c.o.AppID)
			resp, err := c.http.Get(ctx, u, httpx.Conditional{})
			if err != nil {
				if ctx.Err() != nil {
					return cursor, ctx.Err()
				}
				sink.AddError(fmt.Errorf("[country=%s page=%d]: %w", cc, p, err))
				lastErr, failed = err, true
				break
			}
			fetched++
			if bytes.HasPrefix(bytes.TrimSpace(resp.Body), []byte("CustomerReviews RSS page depth")) {
				break // Apple's page limit, answered as plain text
			}
			var f feed
			if err := json.Unmarshal(resp.Body, &f); err != nil {
				sink.AddError(fmt.Errorf("[country=%s page=%d]: bad JSON: %w", cc, p, err))
				failed = true
				break
			}
			if len(f.Feed.Entry) == 0 {
				break
			}
			for _, e := range f.Feed.Entry {
				if !digits.MatchString(e.ID.Label) {
					continue
				}
				if seen[cc] != "" && !collectors.NewerID(e.ID.Label, seen[cc]) {
					done = true // from here on, reviews are already stored
					continue
				}
				if collectors.NewerID(e.ID.Label, newest) {
					newest = e.ID.Label
				}
				m, ok := c.mention(e, cc)
				if !ok {
					continue
				}
				if err := sink.Add(ctx, m); err != nil {
					return cursor, err
				}
			}
		}
		if !failed && newest != "" {
			next[cc] = newest
		}
	}
	if fetched == 0 && lastErr != nil {
		return cursor, fmt.Errorf("appstore: nothing fetched: %w", lastErr)
	}
	if len(next) == 0 {
		return cursor, nil
	}
	b, _ := json.Marshal(next)
	return string(b), nil
}

func (c *Collector) mention(e entry, cc string) (mention.Mention, bool) {
	rating, err := strconv.ParseFloat(e.Rating.Label, 64)
	if err != nil || e.Content.Label == "" && e.Title.Label == "" {
		return mention.Mention{}, false // the app's own entry in older feeds
	}
	m := mention.Mention{
		ID:         "appstore:" + e.ID.Label,
		Kind:       mention.KindReview,
		URL:        fmt.Sprintf("https://apps.apple.com/%s/app/id%s?see-all=reviews", cc, c.o.AppID),
		Author:     e.Author.Name.Label,
		Title:      e.Title.Label,
		Text:       e.Content.Label,
		Rating:     rating,
		RatingMax:  5,
		AppVersion: e.Version.Label,
	}
	if t, err := time.Parse(time.RFC3339, e.Updated.Label); err == nil {
		m.PublishedAt = t
	}
	if v, err := strconv.ParseInt(e.VoteSum.Label, 10, 64); err == nil && v > 0 {
		m.Likes = uint64(v)
	}
	return m, true
}
