// Package mastodon collects statuses about the brand from a Mastodon
// instance: hashtag timelines (/api/v1/timelines/tag/NAME) and status search
// (/api/v2/search?type=statuses, which most instances answer only with an
// access token). The first pass reads the newest pages backwards (max_id);
// later passes read forwards from the cursor (min_id), so no gap is skipped.
// Boosts count as shares of the original, which is what gets stored.
package mastodon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/httpx"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// Options of a mastodon source.
type Options struct {
	Instance string   `yaml:"instance"` // e.g. https://mastodon.social
	Hashtags []string `yaml:"hashtags"` // without '#'
	Queries  []string `yaml:"queries"`  // status search; default none
	Include  []string `yaml:"include"`
	Exclude  []string `yaml:"exclude"`
	MaxPages int      `yaml:"max_pages"` // per timeline and pass; default 5
	// AccessToken is needed for status search on most instances.
	AccessToken config.Secret `yaml:"access_token"`
}

var tagName = regexp.MustCompile(`^[\pL\pN_]+$`)

// Validate checks the options at config load.
func (o *Options) Validate() []config.FieldError {
	var errs []config.FieldError
	if u, err := url.Parse(o.Instance); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, config.FieldError{Field: "instance", Msg: "required: the instance URL, e.g. https://mastodon.social"})
	}
	for i, h := range o.Hashtags {
		if !tagName.MatchString(strings.TrimPrefix(h, "#")) {
			errs = append(errs, config.FieldError{Field: fmt.Sprintf("hashtags[%d]", i), Msg: fmt.Sprintf("%q is not a hashtag", h)})
		}
	}
	if len(o.Hashtags) == 0 && len(o.Queries) == 0 {
		errs = append(errs, config.FieldError{Field: "hashtags", Msg: "set hashtags, queries or both"})
	}
	if o.MaxPages < 0 {
		errs = append(errs, config.FieldError{Field: "max_pages", Msg: "must be positive"})
	}
	return errs
}

// Kind registers the mastodon source kind.
func Kind() collectors.Kind {
	return collectors.KindOf("mastodon", func(env collectors.Env, o *Options) (collectors.Collector, error) {
		if o.MaxPages == 0 {
			o.MaxPages = 5
		}
		base := strings.TrimRight(o.Instance, "/")
		c := &Collector{o: *o, match: collectors.NewMatcher(env.Brand, o.Include, o.Exclude)}
		for _, h := range o.Hashtags {
			c.timelines = append(c.timelines, timeline{key: "tag:" + strings.TrimPrefix(h, "#"),
				url: base + "/api/v1/timelines/tag/" + url.PathEscape(strings.TrimPrefix(h, "#")) + "?limit=40", tag: true})
		}
		for _, q := range o.Queries {
			c.timelines = append(c.timelines, timeline{key: "search:" + q,
				url: base + "/api/v2/search?" + url.Values{"q": {q}, "type": {"statuses"}, "limit": {"40"}}.Encode(), search: true})
		}
		u, _ := url.Parse(o.Instance)
		c.http = httpx.FromConfig(env.HTTP, u.Hostname())
		if o.AccessToken != "" {
			c.http = c.http.WithHeader(http.Header{"Authorization": {"Bearer " + o.AccessToken.Reveal()}})
		}
		return c, nil
	})
}

type timeline struct {
	key, url    string
	tag, search bool
}

// Collector reads timelines.
type Collector struct {
	o         Options
	timelines []timeline
	match     *collectors.Matcher // keywords required, excludes dropped
	http      *httpx.Client
}

// flexID reads ids sent as strings (current) or numbers (old instances).
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*f = flexID(n.String())
		return nil
	}
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s != nil {
		*f = flexID(*s)
	}
	return nil
}

// Status is the part of a Mastodon status Earshot uses.
type Status struct {
	ID          flexID    `json:"id"`
	CreatedAt   time.Time `json:"created_at"`
	URL         string    `json:"url"`
	URI         string    `json:"uri"`
	Content     string    `json:"content"`
	SpoilerText string    `json:"spoiler_text"`
	Language    string    `json:"language"`
	InReplyToID flexID    `json:"in_reply_to_id"`
	Favourites  int64     `json:"favourites_count"`
	Reblogs     int64     `json:"reblogs_count"`
	Replies     int64     `json:"replies_count"`
	Account     struct {
		Acct      string `json:"acct"`
		Followers int64  `json:"followers_count"`
	} `json:"account"`
	Reblog *Status `json:"reblog"`
	Poll   *struct {
		Options []struct {
			Title string `json:"title"`
		} `json:"options"`
	} `json:"poll"`
}

// Collect reads each timeline; the cursor is JSON {"tag:acme": "newest id"}.
func (c *Collector) Collect(ctx context.Context, cursor string, sink collectors.Sink) (string, error) {
	seen := collectors.KeyCursor(cursor, sink)
	next := map[string]string{}
	for k, v := range seen {
		next[k] = v
	}
	fetched := 0
	var lastErr error
	instance, _ := url.Parse(c.o.Instance)
	for _, tl := range c.timelines {
		newest, failed := seen[tl.key], false
		minID, maxID := seen[tl.key], ""
		for p := 0; p < c.o.MaxPages; p++ {
			u := tl.url
			if minID != "" {
				u += "&min_id=" + url.QueryEscape(minID)
			} else if maxID != "" {
				u += "&max_id=" + url.QueryEscape(maxID)
			}
			resp, err := c.http.Get(ctx, u, httpx.Conditional{})
			if err != nil {
				if ctx.Err() != nil {
					return cursor, ctx.Err()
				}
				sink.AddError(fmt.Errorf("[%s]: %w", tl.key, err))
				lastErr, failed = err, true
				break
			}
			fetched++
			statuses, err := decode(resp.Body, tl.search)
			if err != nil {
				sink.AddError(fmt.Errorf("[%s]: bad JSON: %w", tl.key, err))
				failed = true
				break
			}
			if len(statuses) == 0 {
				break
			}
			oldest, youngest := string(statuses[0].ID), string(statuses[0].ID)
			for _, s := range statuses {
				id := string(s.ID)
				if collectors.NewerID(id, youngest) {
					youngest = id
				}
				if collectors.NewerID(oldest, id) {
					oldest = id
				}
				if collectors.NewerID(id, newest) {
					newest = id
				}
				if seen[tl.key] != "" && !collectors.NewerID(id, seen[tl.key]) {
					continue
				}
				if m, ok := c.mention(s, tl, instance.Hostname()); ok {
					if err := sink.Add(ctx, m); err != nil {
						return cursor, err
					}
				}
			}
			if minID != "" {
				minID = youngest // forward: the next page starts after the newest one
			} else {
				maxID = oldest // backward: the next page ends before the oldest one
			}
		}
		if !failed && newest != "" {
			next[tl.key] = newest
		}
	}
	if fetched == 0 && lastErr != nil {
		return cursor, fmt.Errorf("mastodon: nothing fetched: %w", lastErr)
	}
	if len(next) == 0 {
		return cursor, nil
	}
	b, _ := json.Marshal(next)
	return string(b), nil
}

func decode(body []byte, search bool) ([]Status, error) {
	if search {
		var r struct {
			Statuses []Status `json:"statuses"`
		}
		err := json.Unmarshal(body, &r)
		return r.Statuses, err
	}
	var ss []Status
	err := json.Unmarshal(body, &ss)
	return ss, err
}

func (c *Collector) mention(s Status, tl timeline, host string) (mention.Mention, bool) {
	orig := s
	if s.Reblog != nil {
		orig = *s.Reblog // a boost: the original post is the mention
	}
	text := collectors.PlainText(orig.Content)
	if orig.SpoilerText != "" {
		text = orig.SpoilerText + "\n" + text
	}
	if orig.Poll != nil {
		// A poll's options are part of what the post says.
		for _, o := range orig.Poll.Options {
			if t := strings.TrimSpace(o.Title); t != "" {
				text += "\n- " + t
			}
		}
	}
	// Hashtag timelines are matched like search results: every social
	// kind keeps only posts with the brand's keywords (README, Sources).
	if ok, _ := c.match.Match(text); !ok || text == "" {
		return mention.Mention{}, false
	}
	link := orig.URL
	if link == "" {
		link = orig.URI
	}
	out := mention.Mention{
		// The status URI is global; ids are per instance, so the URI is the
		// id when there is one and the same post seen via two instances is one.
		ID:          "mastodon:" + string(orig.ID) + "@" + host,
		Kind:        mention.KindPost,
		URL:         link,
		Author:      orig.Account.Acct,
		Text:        text,
		Lang:        orig.Language,
		PublishedAt: orig.CreatedAt,
		Likes:       uint64(max(orig.Favourites, 0)),
		Shares:      uint64(max(orig.Reblogs, 0)),
		Replies:     uint64(max(orig.Replies, 0)),
		Followers:   uint64(max(orig.Account.Followers, 0)),
	}
	if orig.URI != "" {
		out.ID = "mastodon:" + orig.URI
	}
	if orig.InReplyToID != "" {
		// Only the instance-local id of the parent is known here.
		out.Kind = mention.KindComment
		out.ParentID = "mastodon:" + string(orig.InReplyToID) + "@" + host
	}
	return out, true
}
