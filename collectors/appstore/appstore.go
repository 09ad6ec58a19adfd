// Package appstore collects an app's reviews from Apple's public
// customer-reviews RSS feed, per storefront country, newest first. The
// XML (Atom) variant is read because it carries each review's date
// (`updated`), which the JSON variant leaves out; JSON is still understood.
// The feed serves at most 10 pages of 50; the cursor is the highest review
// id seen per country (ids grow over time), so a pass stops paging as soon
// as it reaches reviews it already has.
package appstore

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
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

// atom is the XML variant of the feed.
type atom struct {
	Entries []struct {
		ID      string `xml:"id"`
		Updated string `xml:"updated"`
		Title   string `xml:"title"`
		Content []struct {
			Type string `xml:"type,attr"`
			Text string `xml:",chardata"`
		} `xml:"content"`
		Rating  string `xml:"http://itunes.apple.com/rss rating"`
		Version string `xml:"http://itunes.apple.com/rss version"`
		VoteSum string `xml:"http://itunes.apple.com/rss voteSum"`
		Author  struct {
			Name string `xml:"name"`
		} `xml:"author"`
	} `xml:"entry"`
}

// parse reads a feed page in either variant.
func parse(body []byte) (entries, error) {
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '<' {
		var a atom
		if err := xml.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("bad XML: %w", err)
		}
		out := make(entries, 0, len(a.Entries))
		for _, x := range a.Entries {
			var e entry
			e.ID.Label, e.Updated.Label, e.Title.Label = strings.TrimSpace(x.ID), strings.TrimSpace(x.Updated), x.Title
			e.Rating.Label, e.Version.Label, e.VoteSum.Label = strings.TrimSpace(x.Rating), x.Version, x.VoteSum
			e.Author.Name.Label = x.Author.Name
			for _, c := range x.Content {
				if c.Type == "text" || c.Type == "" {
					e.Content.Label = strings.TrimSpace(c.Text)
					break
				}
			}
			out = append(out, e)
		}
		return out, nil
	}
	var f feed
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	return f.Feed.Entry, nil
}

// Collect reads each country's pages until it meets a review it has seen.
// The cursor is JSON: {"us": "6918761820", ...}.
func (c *Collector) Collect(ctx context.Context, cursor string, sink collectors.Sink) (string, error) {
	seen := collectors.KeyCursor(cursor, sink)
	next := map[string]string{}
	for k, v := range seen {
		next[k] = v
	}
	fetched, found := 0, 0
	firstPagesOK := true
	var lastErr error
	for _, cc := range c.o.Countries {
		newest, done, failed := seen[cc], false, false
		for p := 1; p <= c.o.MaxPages && !done; p++ {
			u := fmt.Sprintf("%s/%s/rss/customerreviews/page=%d/id=%s/sortby=mostrecent/xml", strings.TrimRight(c.o.BaseURL, "/"), cc, p, c.o.AppID)
			resp, err := c.http.Get(ctx, u, httpx.Conditional{})
			if err != nil {
				if ctx.Err() != nil {
					return cursor, ctx.Err()
				}
				sink.AddError(fmt.Errorf("[country=%s page=%d]: %w", cc, p, err))
				lastErr, failed = err, true
				firstPagesOK = firstPagesOK && p > 1
				break
			}
			fetched++
			if bytes.HasPrefix(bytes.TrimSpace(resp.Body), []byte("CustomerReviews RSS page depth")) {
				break // Apple's page limit, answered as plain text
			}
			page, err := parse(resp.Body)
			if err != nil {
				sink.AddError(fmt.Errorf("[country=%s page=%d]: %w", cc, p, err))
				failed = true
				firstPagesOK = firstPagesOK && p > 1
				break
			}
			if len(page) == 0 {
				break
			}
			found += len(page)
			for _, e := range page {
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
	// Apple answers an unknown app with the same empty feed as an app
	// without reviews: on a first pass that found nothing anywhere, ask
	// the lookup API whether the app exists, so a wrong app_id is an
	// error instead of "ok" forever.
	if found == 0 && len(seen) == 0 && firstPagesOK {
		if err := c.checkApp(ctx); errors.Is(err, errNoSuchApp) {
			return cursor, err
		} else if err != nil {
			sink.AddError(err) // undecided: counted on the pass, not failed
		}
	}
	if len(next) == 0 {
		return cursor, nil
	}
	b, _ := json.Marshal(next)
	return string(b), nil
}

// errNoSuchApp is returned when the lookup API does not know app_id.
var errNoSuchApp = errors.New("no such app in the App Store (check app_id)")

func (c *Collector) checkApp(ctx context.Context) error {
	u := strings.TrimRight(c.o.BaseURL, "/") + "/lookup?id=" + url.QueryEscape(c.o.AppID)
	resp, err := c.http.Get(ctx, u, httpx.Conditional{})
	if err != nil {
		return fmt.Errorf("appstore: app_id %s: no reviews, and the lookup failed: %w", c.o.AppID, err)
	}
	var r struct {
		ResultCount *int `json:"resultCount"`
	}
	if err := json.Unmarshal(resp.Body, &r); err != nil || r.ResultCount == nil {
		return fmt.Errorf("appstore: app_id %s: no reviews, and the lookup answer is unreadable: %v", c.o.AppID, err)
	}
	if *r.ResultCount == 0 {
		return fmt.Errorf("appstore: app_id %s: %w", c.o.AppID, errNoSuchApp)
	}
	return nil
}

func (c *Collector) mention(e entry, cc string) (mention.Mention, bool) {
	if e.Content.Label == "" && e.Title.Label == "" {
		return mention.Mention{}, false // the app's own entry in older feeds
	}
	// A review with text but an empty im:rating is kept, unrated.
	rating, err := strconv.ParseFloat(strings.TrimSpace(e.Rating.Label), 64)
	if err != nil || rating < 1 || rating > 5 {
		rating = 0
	}
	if e.Rating.Label == "" && e.Author.Name.Label == "" && e.Version.Label == "" {
		return mention.Mention{}, false // the app's own entry: no rating, author or version
	}
	m := mention.Mention{
		ID:         "appstore:" + e.ID.Label,
		Kind:       mention.KindReview,
		URL:        fmt.Sprintf("https://apps.apple.com/%s/app/id%s?see-all=reviews", cc, c.o.AppID),
		Author:     e.Author.Name.Label,
		Title:      e.Title.Label,
		Text:       e.Content.Label,
		Rating:     rating,
		AppVersion: e.Version.Label,
	}
	if rating > 0 {
		m.RatingMax = 5
	}
	if t, err := time.Parse(time.RFC3339, e.Updated.Label); err == nil {
		m.PublishedAt = t.UTC()
	}
	if v, err := strconv.ParseInt(e.VoteSum.Label, 10, 64); err == nil && v > 0 {
		m.Likes = uint64(v)
	}
	return m, true
}
