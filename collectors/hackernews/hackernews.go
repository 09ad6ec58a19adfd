// Package hackernews collects Hacker News stories and comments that mention
// the brand, through the public Algolia search API (search_by_date), newest
// first, incrementally with numericFilters=created_at_i>cursor.
package hackernews

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/httpx"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// Options of a hackernews source.
type Options struct {
	Queries  []string `yaml:"queries"`   // default: the brand's keywords
	Tags     string   `yaml:"tags"`      // default (story,comment)
	Include  []string `yaml:"include"`   // extra match terms
	Exclude  []string `yaml:"exclude"`   // drop posts with these
	MaxPages int      `yaml:"max_pages"` // per query and pass; default 5
	BaseURL  string   `yaml:"base_url"`  // default https://hn.algolia.com
}

// Validate checks the options at config load.
func (o *Options) Validate() []config.FieldError {
	errs := collectors.CheckURL("base_url", o.BaseURL)
	if o.MaxPages < 0 {
		errs = append(errs, config.FieldError{Field: "max_pages", Msg: "must be positive"})
	}
	return errs
}

// Kind registers the hackernews source kind.
func Kind() collectors.Kind {
	return collectors.KindOf("hackernews", func(env collectors.Env, o *Options) (collectors.Collector, error) {
		if o.BaseURL == "" {
			o.BaseURL = "https://hn.algolia.com"
		}
		if o.Tags == "" {
			o.Tags = "(story,comment)"
		}
		if o.MaxPages == 0 {
			o.MaxPages = 5
		}
		m := collectors.NewMatcher(env.Brand, o.Include, o.Exclude)
		queries, err := collectors.SearchTerms("hackernews", env.Source.Name, o.Queries, m)
		if err != nil {
			return nil, err
		}
		u, _ := url.Parse(o.BaseURL)
		return &Collector{o: *o, queries: queries, match: m, http: httpx.FromConfig(env.HTTP, u.Hostname())}, nil
	})
}

// Collector polls the search API.
type Collector struct {
	o       Options
	queries []string
	match   *collectors.Matcher
	http    *httpx.Client
}

type hit struct {
	ObjectID    string  `json:"objectID"`
	CreatedAt   string  `json:"created_at"`
	CreatedAtI  int64   `json:"created_at_i"`
	Title       *string `json:"title"`
	URL         *string `json:"url"`
	Author      string  `json:"author"`
	Points      *int64  `json:"points"`
	StoryText   *string `json:"story_text"`
	CommentText *string `json:"comment_text"`
	NumComments *int64  `json:"num_comments"`
	StoryID     *int64  `json:"story_id"`
	ParentID    *int64  `json:"parent_id"`
	StoryTitle  *string `json:"story_title"`
}

type page struct {
	Hits    []hit `json:"hits"`
	Page    int   `json:"page"`
	NbPages int   `json:"nbPages"`
}

// Collect fetches, per query, the pages of hits newer than the cursor (a
// Unix time) and returns the newest creation time seen.
func (c *Collector) Collect(ctx context.Context, cursor string, sink collectors.Sink) (string, error) {
	since, _ := strconv.ParseInt(cursor, 10, 64)
	newest := since
	fetched := 0
	var lastErr error
	failed := false
	for _, q := range c.queries {
		for p := 0; p < c.o.MaxPages; p++ {
			v := url.Values{"query": {q}, "tags": {c.o.Tags}, "hitsPerPage": {"100"}, "page": {strconv.Itoa(p)}}
			if since > 0 {
				v.Set("numericFilters", "created_at_i>"+strconv.FormatInt(since, 10))
			}
			u := strings.TrimRight(c.o.BaseURL, "/") + "/api/v1/search_by_date?" + v.Encode()
			resp, err := c.http.Get(ctx, u, httpx.Conditional{})
			if err != nil {
				if ctx.Err() != nil {
					return cursor, ctx.Err()
				}
				sink.AddError(fmt.Errorf("[query=%q page=%d]: %w", q, p, err))
				lastErr, failed = err, true
				break
			}
			fetched++
			var pg page
			if err := json.Unmarshal(resp.Body, &pg); err != nil {
				sink.AddError(fmt.Errorf("[query=%q page=%d]: bad JSON: %w", q, p, err))
				failed = true
				break
			}
			for _, h := range pg.Hits {
				// Every hit moves the cursor, matched or not: otherwise a
				// filtered hit would be fetched again on every pass.
				newest = max(newest, h.CreatedAtI)
				if since > 0 && h.CreatedAtI <= since {
					continue // a server that ignored numericFilters
				}
				if m, ok := c.mention(h); ok {
					if err := sink.Add(ctx, m); err != nil {
						return cursor, err
					}
				}
			}
			if p+1 >= pg.NbPages || len(pg.Hits) == 0 {
				break
			}
		}
	}
	if fetched == 0 && lastErr != nil {
		return cursor, fmt.Errorf("hackernews: nothing fetched: %w", lastErr)
	}
	// After a failed page, keep the old cursor: the next pass fetches the
	// gap again and dedup drops what was already stored.
	if newest == 0 || failed {
		return cursor, nil
	}
	return strconv.FormatInt(newest, 10), nil
}

func (c *Collector) mention(h hit) (mention.Mention, bool) {
	text := collectors.PlainText(deref(h.CommentText))
	kind := mention.KindComment
	if h.CommentText == nil {
		kind = mention.KindPost
		text = collectors.PlainText(deref(h.StoryText))
	}
	title := deref(h.Title)
	if ok, _ := c.match.Match(title + "\n" + text); !ok {
		return mention.Mention{}, false
	}
	m := mention.Mention{
		ID:     "hackernews:" + h.ObjectID,
		Kind:   kind,
		URL:    "https://news.ycombinator.com/item?id=" + h.ObjectID,
		Author: h.Author,
		Title:  title,
		Text:   text,
	}
	if m.Text == "" {
		m.Text = deref(h.URL) // a link story: its title and link are the content
	}
	if t, err := time.Parse(time.RFC3339, h.CreatedAt); err == nil {
		m.PublishedAt = t
	} else if h.CreatedAtI > 0 {
		m.PublishedAt = time.Unix(h.CreatedAtI, 0)
	}
	if h.Points != nil && *h.Points > 0 {
		m.Likes = uint64(*h.Points)
	}
	if h.NumComments != nil && *h.NumComments > 0 {
		m.Replies = uint64(*h.NumComments)
	}
	if h.ParentID != nil {
		m.ParentID = "hackernews:" + strconv.FormatInt(*h.ParentID, 10)
	}
	return m, true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
