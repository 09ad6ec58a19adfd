// Package bluesky collects posts that mention the brand through
// app.bsky.feed.searchPosts on the public AppView, newest first, with cursor
// paging inside a pass and `since` (the newest post seen) across passes.
package bluesky

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/httpx"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// Options of a bluesky source.
type Options struct {
	Queries  []string `yaml:"queries"` // default: the brand's keywords
	Lang     string   `yaml:"lang"`    // only posts in this language
	Include  []string `yaml:"include"`
	Exclude  []string `yaml:"exclude"`
	MaxPages int      `yaml:"max_pages"` // per query and pass; default 5
	BaseURL  string   `yaml:"base_url"`  // default https://public.api.bsky.app
}

// Validate checks the options at config load.
func (o *Options) Validate() []config.FieldError {
	errs := collectors.CheckURL("base_url", o.BaseURL)
	if o.MaxPages < 0 {
		errs = append(errs, config.FieldError{Field: "max_pages", Msg: "must be positive"})
	}
	return errs
}

// Kind registers the bluesky source kind.
func Kind() collectors.Kind {
	return collectors.KindOf("bluesky", func(env collectors.Env, o *Options) (collectors.Collector, error) {
		if o.BaseURL == "" {
			o.BaseURL = "https://public.api.bsky.app"
		}
		if o.MaxPages == 0 {
			o.MaxPages = 5
		}
		m := collectors.NewMatcher(env.Brand, o.Include, o.Exclude)
		queries, err := collectors.SearchTerms("bluesky", env.Source.Name, o.Queries, m)
		if err != nil {
			return nil, err
		}
		u, _ := url.Parse(o.BaseURL)
		return &Collector{o: *o, queries: queries, match: m, http: httpx.FromConfig(env.HTTP, u.Hostname())}, nil
	})
}

// Collector polls the search endpoint.
type Collector struct {
	o       Options
	queries []string
	match   *collectors.Matcher
	http    *httpx.Client
}

// Post is a postView as searchPosts returns it.
type Post struct {
	URI    string `json:"uri"`
	Author struct {
		DID         string `json:"did"`
		Handle      string `json:"handle"`
		DisplayName string `json:"displayName"`
	} `json:"author"`
	Record struct {
		Text      string   `json:"text"`
		CreatedAt string   `json:"createdAt"`
		Facets    []Facet  `json:"facets"`
		Langs     []string `json:"langs"`
		Reply     *struct {
			Parent struct {
				URI string `json:"uri"`
			} `json:"parent"`
		} `json:"reply"`
	} `json:"record"`
	LikeCount   int64 `json:"likeCount"`
	RepostCount int64 `json:"repostCount"`
	ReplyCount  int64 `json:"replyCount"`
	QuoteCount  int64 `json:"quoteCount"`
}

// Facet marks a byte range of a post's text; a link facet carries the
// full URL of a link the client shortened in the text ("example.com/a...").
type Facet struct {
	Index struct {
		ByteStart int `json:"byteStart"`
		ByteEnd   int `json:"byteEnd"`
	} `json:"index"`
	Features []struct {
		Type string `json:"$type"`
		URI  string `json:"uri"`
	} `json:"features"`
}

// expandLinks replaces each link facet's range of text with its full URL.
// Ranges are UTF-8 byte offsets; bad or overlapping ones are skipped.
func expandLinks(text string, facets []Facet) string {
	type span struct {
		start, end int
		uri        string
	}
	var spans []span
	for _, f := range facets {
		for _, ft := range f.Features {
			if ft.Type == "app.bsky.richtext.facet#link" && ft.URI != "" {
				spans = append(spans, span{f.Index.ByteStart, f.Index.ByteEnd, ft.URI})
			}
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var b strings.Builder
	at := 0
	for _, sp := range spans {
		if sp.start < at || sp.end > len(text) || sp.start >= sp.end {
			continue
		}
		b.WriteString(text[at:sp.start])
		b.WriteString(sp.uri)
		at = sp.end
	}
	b.WriteString(text[at:])
	return b.String()
}

type page struct {
	Posts  []Post `json:"posts"`
	Cursor string `json:"cursor"`
}

// Collect fetches, per query, pages of posts newer than the cursor (the
// RFC 3339 time of the newest post seen) and returns the new newest time.
func (c *Collector) Collect(ctx context.Context, cursor string, sink collectors.Sink) (string, error) {
	since, _ := time.Parse(time.RFC3339Nano, cursor)
	newest := since
	fetched, failed := 0, false
	var lastErr error
	for _, q := range c.queries {
		pageCursor := ""
		for p := 0; p < c.o.MaxPages; p++ {
			v := url.Values{"q": {q}, "sort": {"latest"}, "limit": {"100"}}
			if !since.IsZero() {
				v.Set("since", since.UTC().Format(time.RFC3339Nano))
			}
			if c.o.Lang != "" {
				v.Set("lang", c.o.Lang)
			}
			if pageCursor != "" {
				v.Set("cursor", pageCursor)
			}
			u := strings.TrimRight(c.o.BaseURL, "/") + "/xrpc/app.bsky.feed.searchPosts?" + v.Encode()
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
			older := false
			for _, post := range pg.Posts {
				created, _ := time.Parse(time.RFC3339Nano, post.Record.CreatedAt)
				if !since.IsZero() && !created.After(since) {
					older = true // servers that ignore `since`: stop at known posts
					continue
				}
				if created.After(newest) {
					newest = created
				}
				m, ok := c.mention(post, created)
				if !ok {
					continue
				}
				if err := sink.Add(ctx, m); err != nil {
					return cursor, err
				}
			}
			if older || pg.Cursor == "" || len(pg.Posts) == 0 {
				break
			}
			pageCursor = pg.Cursor
		}
	}
	if fetched == 0 && lastErr != nil {
		return cursor, fmt.Errorf("bluesky: nothing fetched: %w", lastErr)
	}
	if failed || newest.IsZero() {
		return cursor, nil
	}
	return newest.UTC().Format(time.RFC3339Nano), nil
}

func (c *Collector) mention(p Post, created time.Time) (mention.Mention, bool) {
	if ok, _ := c.match.Match(p.Record.Text); !ok {
		return mention.Mention{}, false
	}
	m := mention.Mention{
		ID:          "bluesky:" + p.URI,
		Kind:        mention.KindPost,
		URL:         webURL(p),
		Author:      p.Author.Handle,
		Text:        expandLinks(p.Record.Text, p.Record.Facets),
		PublishedAt: created,
		Likes:       uint64(max(p.LikeCount, 0)),
		Shares:      uint64(max(p.RepostCount+p.QuoteCount, 0)),
		Replies:     uint64(max(p.ReplyCount, 0)),
	}
	if len(p.Record.Langs) > 0 {
		m.Lang = strings.SplitN(p.Record.Langs[0], "-", 2)[0]
	}
	if p.Record.Reply != nil && p.Record.Reply.Parent.URI != "" {
		m.Kind = mention.KindComment
		m.ParentID = "bluesky:" + p.Record.Reply.Parent.URI
	}
	return m, true
}

// webURL turns at://did/app.bsky.feed.post/rkey into the bsky.app link.
func webURL(p Post) string {
	rkey := p.URI[strings.LastIndex(p.URI, "/")+1:]
	who := p.Author.Handle
	if who == "" {
		who = p.Author.DID
	}
	return "https://bsky.app/profile/" + who + "/post/" + rkey
}
