// Package reddit collects posts and comments that mention the brand from
// Reddit's public JSON: site search (/search.json, sort=new) and subreddit
// listings (/r/NAME/new.json), paging with `after` and stopping at the
// newest post the previous pass saw.
package reddit

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/httpx"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// Options of a reddit source. With subreddits, their new posts are read
// (and matched against the keywords); with queries, site search runs, limited
// to the subreddits when both are set.
type Options struct {
	Queries    []string `yaml:"queries"` // default: the brand's keywords
	Subreddits []string `yaml:"subreddits"`
	Include    []string `yaml:"include"`
	Exclude    []string `yaml:"exclude"`
	MaxPages   int      `yaml:"max_pages"` // per listing and pass; default 5
	BaseURL    string   `yaml:"base_url"`  // default https://www.reddit.com
}

var subName = regexp.MustCompile(`^[A-Za-z0-9_]{2,21}$`)

// Validate checks the options at config load.
func (o *Options) Validate() []config.FieldError {
	var errs []config.FieldError
	for i, s := range o.Subreddits {
		if !subName.MatchString(strings.TrimPrefix(s, "r/")) {
			errs = append(errs, config.FieldError{Field: fmt.Sprintf("subreddits[%d]", i), Msg: fmt.Sprintf("%q is not a subreddit name", s)})
		}
	}
	errs = append(errs, collectors.CheckURL("base_url", o.BaseURL)...)
	if o.MaxPages < 0 {
		errs = append(errs, config.FieldError{Field: "max_pages", Msg: "must be positive"})
	}
	return errs
}

// Kind registers the reddit source kind.
func Kind() collectors.Kind {
	return collectors.KindOf("reddit", func(env collectors.Env, o *Options) (collectors.Collector, error) {
		if o.BaseURL == "" {
			o.BaseURL = "https://www.reddit.com"
		}
		if o.MaxPages == 0 {
			o.MaxPages = 5
		}
		m := collectors.NewMatcher(env.Brand, o.Include, o.Exclude)
		c := &Collector{o: *o, match: m}
		base := strings.TrimRight(o.BaseURL, "/")
		queries := o.Queries
		if len(queries) == 0 && len(o.Subreddits) == 0 {
			queries = m.Terms()
		}
		for _, q := range queries {
			if len(o.Subreddits) == 0 {
				c.listings = append(c.listings, base+"/search.json?"+url.Values{"q": {q}, "sort": {"new"}}.Encode())
			}
			for _, s := range o.Subreddits {
				c.listings = append(c.listings, base+"/r/"+strings.TrimPrefix(s, "r/")+"/search.json?"+url.Values{"q": {q}, "sort": {"new"}, "restrict_sr": {"1"}}.Encode())
			}
		}
		if len(queries) == 0 {
			for _, s := range o.Subreddits {
				c.listings = append(c.listings, base+"/r/"+strings.TrimPrefix(s, "r/")+"/new.json?")
			}
		}
		if len(c.listings) == 0 {
			return nil, fmt.Errorf("reddit %s: no queries, subreddits or brand keywords", env.Source.Name)
		}
		u, _ := url.Parse(o.BaseURL)
		c.http = httpx.FromConfig(env.HTTP, u.Hostname())
		return c, nil
	})
}

// Collector reads listings.
type Collector struct {
	o        Options
	listings []string // URLs ending in ? or a query, to which paging is appended
	match    *collectors.Matcher
	http     *httpx.Client
}

type thing struct {
	Kind string `json:"kind"`
	Data struct {
		Name        string  `json:"name"`
		Title       string  `json:"title"`
		Selftext    string  `json:"selftext"`
		Body        string  `json:"body"`
		Author      string  `json:"author"`
		CreatedUTC  float64 `json:"created_utc"`
		Score       int64   `json:"score"`
		NumComments int64   `json:"num_comments"`
		Permalink   string  `json:"permalink"`
		ParentID    string  `json:"parent_id"`
		Subreddit   string  `json:"subreddit"`
		URL         string  `json:"url"`     // a link post's article (a self post's own permalink)
		IsSelf      bool    `json:"is_self"` // text post
	} `json:"data"`
}

type listing struct {
	Kind string `json:"kind"`
	Data struct {
		Children []thing `json:"children"`
		After    string  `json:"after"`
	} `json:"data"`
}

// Collect reads each listing newest first until it meets what the previous
// pass saw; the cursor is the newest created_utc (Unix seconds).
func (c *Collector) Collect(ctx context.Context, cursor string, sink collectors.Sink) (string, error) {
	var since float64
	fmt.Sscan(cursor, &since)
	newest := since
	fetched, failed := 0, false
	var lastErr error
	for _, base := range c.listings {
		after := ""
		for p := 0; p < c.o.MaxPages; p++ {
			u := base + "&" + url.Values{"limit": {"100"}, "raw_json": {"1"}}.Encode()
			if strings.HasSuffix(base, "?") {
				u = base + url.Values{"limit": {"100"}, "raw_json": {"1"}}.Encode()
			}
			if after != "" {
				u += "&after=" + url.QueryEscape(after)
			}
			resp, err := c.http.Get(ctx, u, httpx.Conditional{})
			if err != nil {
				if ctx.Err() != nil {
					return cursor, ctx.Err()
				}
				sink.AddError(fmt.Errorf("[listing=%s]: %w", u, err))
				lastErr, failed = err, true
				break
			}
			fetched++
			var l listing
			if err := json.Unmarshal(resp.Body, &l); err != nil || l.Kind != "Listing" {
				sink.AddError(fmt.Errorf("[listing=%s]: not a Listing: %v", u, err))
				failed = true
				break
			}
			older := false
			for _, t := range l.Data.Children {
				if since > 0 && t.Data.CreatedUTC <= since {
					older = true
					continue
				}
				newest = math.Max(newest, t.Data.CreatedUTC)
				if m, ok := c.mention(t); ok {
					if err := sink.Add(ctx, m); err != nil {
						return cursor, err
					}
				}
			}
			if older || l.Data.After == "" {
				break
			}
			after = l.Data.After
		}
	}
	if fetched == 0 && lastErr != nil {
		return cursor, fmt.Errorf("reddit: nothing fetched: %w", lastErr)
	}
	if failed || newest == 0 {
		return cursor, nil
	}
	return fmt.Sprintf("%.0f", newest), nil
}

func (c *Collector) mention(t thing) (mention.Mention, bool) {
	d := t.Data
	text := d.Selftext
	kind := mention.KindPost
	if t.Kind == "t1" {
		text, kind = d.Body, mention.KindComment
	}
	if ok, _ := c.match.Match(d.Title + "\n" + text); !ok || d.Name == "" {
		return mention.Mention{}, false
	}
	link := d.Permalink
	if i := strings.Index(link, "?"); i >= 0 {
		link = link[:i]
	}
	m := mention.Mention{
		ID:          "reddit:" + d.Name,
		Kind:        kind,
		URL:         "https://www.reddit.com" + link,
		Author:      d.Author,
		Title:       d.Title,
		Text:        text,
		PublishedAt: time.Unix(int64(d.CreatedUTC), 0).UTC(),
		Likes:       uint64(max(d.Score, 0)),
		Replies:     uint64(max(d.NumComments, 0)),
	}
	if m.Text == "" {
		m.Text = d.Title
	}
	// A link post is about the article it links: keep its URL (the
	// permalink stays the mention's URL, where staff would reply).
	if kind == mention.KindPost && !d.IsSelf && d.URL != "" && !strings.Contains(d.URL, d.Permalink) {
		m.Text += "\n" + d.URL
	}
	if kind == mention.KindComment && d.ParentID != "" {
		m.ParentID = "reddit:" + d.ParentID
	}
	return m, true
}
