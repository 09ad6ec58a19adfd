// Package feed collects items from RSS, Atom and JSON Feed sources (Google
// Alerts, forums, blogs, news) with mmcdole/gofeed. Requests are conditional
// (ETag / Last-Modified), so an unchanged feed costs one 304; items are
// filtered by include and exclude terms; Google's redirect links are
// unwrapped to the article itself.
package feed

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/httpx"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// Options of a feed source.
type Options struct {
	URLs []string `yaml:"urls"`
	// Items must contain one of these (and the brand's keywords when
	// match_brand is set); items with an exclude term are dropped.
	Include    []string `yaml:"include"`
	Exclude    []string `yaml:"exclude"`
	MatchBrand bool     `yaml:"match_brand"`
}

// Validate checks the options at config load.
func (o *Options) Validate() []config.FieldError {
	var errs []config.FieldError
	if len(o.URLs) == 0 {
		errs = append(errs, config.FieldError{Field: "urls", Msg: "required: at least one feed URL"})
	}
	for i, u := range o.URLs {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, config.FieldError{Field: fmt.Sprintf("urls[%d]", i), Msg: fmt.Sprintf("%q is not an http(s) URL", u)})
		}
	}
	return errs
}

// Kind registers the feed source kind.
func Kind() collectors.Kind {
	return collectors.KindOf("feed", func(env collectors.Env, o *Options) (collectors.Collector, error) {
		var brand *config.Brand
		if o.MatchBrand {
			brand = env.Brand
		} else if env.Brand != nil {
			brand = &config.Brand{Exclude: env.Brand.Exclude}
		}
		var hosts []string
		for _, u := range o.URLs {
			p, _ := url.Parse(u)
			hosts = append(hosts, p.Hostname())
		}
		return &Collector{o: *o, match: collectors.NewMatcher(brand, o.Include, o.Exclude), http: httpx.FromConfig(env.HTTP, hosts...)}, nil
	})
}

// Collector polls feeds.
type Collector struct {
	o     Options
	match *collectors.Matcher
	http  *httpx.Client
}

// state is the cursor of one feed URL.
type state struct {
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Newest       time.Time `json:"newest,omitempty"`
}

// Collect fetches each feed (conditionally) and emits items newer than the
// newest one seen before; items without dates are always emitted (ids make
// that harmless). The cursor is JSON {url: state}.
func (c *Collector) Collect(ctx context.Context, cursor string, sink collectors.Sink) (string, error) {
	states := map[string]state{}
	if cursor != "" {
		if err := json.Unmarshal([]byte(cursor), &states); err != nil {
			sink.AddError(fmt.Errorf("cursor unreadable, starting over: %w", err))
			states = map[string]state{}
		}
	}
	fetched := 0
	var lastErr error
	parser := gofeed.NewParser()
	for _, u := range c.o.URLs {
		st := states[u]
		resp, err := c.http.Get(ctx, u, httpx.Conditional{ETag: st.ETag, LastModified: st.LastModified})
		if err != nil {
			if ctx.Err() != nil {
				return cursor, ctx.Err()
			}
			sink.AddError(fmt.Errorf("[url=%s]: %w", u, err))
			lastErr = err
			continue
		}
		fetched++
		if resp.NotModified {
			continue
		}
		f, err := parser.ParseString(string(resp.Body))
		if err != nil {
			sink.AddError(fmt.Errorf("[url=%s]: not a feed: %w", u, err))
			continue
		}
		newest := st.Newest
		for _, it := range f.Items {
			published := itemTime(it)
			if !published.IsZero() && !st.Newest.IsZero() && !published.After(st.Newest) {
				continue
			}
			if published.After(newest) {
				newest = published
			}
			m, ok := c.mention(it, published, f.Language)
			if !ok {
				continue
			}
			if err := sink.Add(ctx, m); err != nil {
				return cursor, err
			}
		}
		v := resp.Validators()
		states[u] = state{ETag: v.ETag, LastModified: v.LastModified, Newest: newest}
	}
	if fetched == 0 && lastErr != nil {
		return cursor, fmt.Errorf("feed: nothing fetched: %w", lastErr)
	}
	b, _ := json.Marshal(states)
	return string(b), nil
}

func itemTime(it *gofeed.Item) time.Time {
	switch {
	case it.PublishedParsed != nil:
		return it.PublishedParsed.UTC()
	case it.UpdatedParsed != nil:
		return it.UpdatedParsed.UTC()
	}
	return time.Time{}
}

func (c *Collector) mention(it *gofeed.Item, published time.Time, feedLang string) (mention.Mention, bool) {
	title := collectors.PlainText(it.Title)
	text := collectors.PlainText(it.Description)
	if c := collectors.PlainText(it.Content); len(c) > len(text) {
		text = c
	}
	if ok, _ := c.match.Match(title + "\n" + text); !ok {
		return mention.Mention{}, false
	}
	link := unwrap(it.Link)
	author := ""
	if it.Author != nil {
		author = strings.TrimSpace(it.Author.Name)
	} else if len(it.Authors) > 0 && it.Authors[0] != nil {
		author = strings.TrimSpace(it.Authors[0].Name)
	}
	id := it.GUID
	if id == "" {
		id = link
	}
	m := mention.Mention{
		ID:          mention.StableID("feed", id, link, author, text),
		Kind:        mention.KindPost,
		URL:         link,
		Author:      author,
		Title:       title,
		Text:        text,
		PublishedAt: published,
		Lang:        strings.ToLower(strings.SplitN(feedLang, "-", 2)[0]),
	}
	if m.Text == "" {
		m.Text = title
	}
	return m, true
}

// unwrap returns the target of a Google redirect link (google.com/url?url=).
func unwrap(link string) string {
	u, err := url.Parse(link)
	if err != nil || !strings.HasSuffix(u.Hostname(), "google.com") || u.Path != "/url" {
		return link
	}
	for _, k := range []string{"url", "q"} {
		if t := u.Query().Get(k); strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://") {
			return t
		}
	}
	return link
}
