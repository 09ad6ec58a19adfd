// Package crawl is the page crawler the schemaorg and selector kinds share,
// built on gocolly/colly: start URLs and their pagination (rel=next or a
// configured selector) up to a page limit, robots.txt, a per-host delay,
// body-size caps (after decompression) and timeouts, only the configured
// hosts and ports (redirects included), and no private network addresses
// unless allowed. What a page holds is read by the kind's Extractor.
package crawl

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/gocolly/colly/v2"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/httpx"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// Options are the crawl keys every page kind shares.
type Options struct {
	URLs         []string `yaml:"urls"`
	MaxPages     int      `yaml:"max_pages"`     // per start URL; default 20
	NextSelector string   `yaml:"next_selector"` // default: link[rel=next], a[rel=next]
	// Host or host:port entries (see httpx.Hosts; without a port, the
	// scheme's default port). The start URLs' own host:port are always
	// allowed; default: only those.
	AllowedHosts []string `yaml:"allowed_hosts"`
}

// Validate checks the options at config load.
func (o *Options) Validate() []config.FieldError {
	var errs []config.FieldError
	if len(o.URLs) == 0 {
		errs = append(errs, config.FieldError{Field: "urls", Msg: "required: at least one page URL"})
	}
	for i, u := range o.URLs {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, config.FieldError{Field: fmt.Sprintf("urls[%d]", i), Msg: fmt.Sprintf("%q is not an http(s) URL", u)})
		}
	}
	if o.MaxPages < 0 {
		errs = append(errs, config.FieldError{Field: "max_pages", Msg: "must be positive"})
	}
	return errs
}

// Page is what an extractor found on one page. Errors are reported per
// page and do not stop the crawl.
type Page struct {
	Mentions []mention.Mention
	Ratings  []mention.ItemRating
	Errors   []error
}

// Extractor reads one parsed page.
type Extractor func(root *goquery.Selection, pageURL, lang string, now time.Time) Page

// Collector crawls the configured pages.
type Collector struct {
	env     collectors.Env
	opts    Options
	extract Extractor
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error // nil: real waits
	addrs   []netip.AddrPort                           // dialable even when private
}

// SetSleep replaces the waits between retries (tests).
func (c *Collector) SetSleep(f func(context.Context, time.Duration) error) { c.sleep = f }

// AllowAddr lets the crawl connect to ap even when private networks are not
// allowed: for a server the caller started itself (the demo site). Host
// checks still apply.
func (c *Collector) AllowAddr(ap netip.AddrPort) { c.addrs = append(c.addrs, ap) }

// New returns a collector; it does no I/O.
func New(env collectors.Env, o Options, extract Extractor) *Collector {
	if o.MaxPages == 0 {
		o.MaxPages = 20
	}
	if o.NextSelector == "" {
		o.NextSelector = `link[rel="next"], a[rel="next"]`
	}
	return &Collector{env: env, opts: o, extract: extract, now: time.Now}
}

// state is the crawl cursor: the newest publication time seen and the
// validators of each start page, for conditional requests.
type state struct {
	Since time.Time             `json:"since,omitempty"`
	Pages map[string]validators `json:"pages,omitempty"`
}

type validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// parseState reads a cursor; a bare RFC 3339 time is the older form.
func parseState(cursor string) state {
	var st state
	if strings.HasPrefix(cursor, "{") {
		_ = json.Unmarshal([]byte(cursor), &st)
	} else if cursor != "" {
		st.Since, _ = time.Parse(time.RFC3339, cursor)
	}
	return st
}

// Collect crawls every start URL and its pagination. Pages are assumed
// newest first: a page with reviews but none newer than the cursor ends
// that pagination, and a start page answering 304 Not Modified (to the
// ETag / Last-Modified it sent last time) means nothing new behind it.
func (c *Collector) Collect(ctx context.Context, cursor string, sink collectors.Sink) (string, error) {
	prev := parseState(cursor)
	since := prev.Since
	next := state{Pages: map[string]validators{}}
	// Our own host:port check instead of colly.AllowedDomains, which
	// compares host names only and so lets a page send the crawler to any
	// other port of an allowed host.
	hosts := httpx.Hosts(slices.Clone(c.opts.AllowedHosts))
	for _, u := range c.opts.URLs {
		if p, err := url.Parse(u); err == nil {
			hosts = append(hosts, httpx.HostPort(p))
		}
	}
	allowed := func(raw string) error {
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("%q: %w", raw, err)
		}
		if !hosts.Allows(u) {
			return fmt.Errorf("%s: %w", httpx.HostPort(u), httpx.ErrHost)
		}
		return nil
	}
	h := c.env.HTTP
	h.MaxBodySize = cmp.Or(h.MaxBodySize, 5<<20) // an Env built without it: still capped
	col := colly.NewCollector(
		colly.StdlibContext(ctx),
		colly.UserAgent(h.UserAgent),
		colly.MaxBodySize(int(h.MaxBodySize)),
	)
	col.IgnoreRobotsTxt = h.IgnoreRobots
	// 429 and 5xx are retried with backoff, honouring Retry-After; dials
	// refuse private addresses; bodies are capped after decompression,
	// robots.txt included (colly reads it with no limit).
	transport := httpx.NewTransport(httpx.Guard{AllowPrivate: h.AllowPrivateNetworks, Allow: c.addrs}, int64(h.MaxBodySize))
	defer transport.CloseIdleConnections() // made for this pass
	col.WithTransport(&httpx.RetryTransport{Base: transport, Sleep: c.sleep})
	col.SetRequestTimeout(h.Timeout)
	// Replaces colly's own handler (and its limit of 10 redirects); colly
	// still refuses redirects to pages already visited before calling it.
	col.SetRedirectHandler(func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		if err := allowed(req.URL.String()); err != nil {
			return fmt.Errorf("redirect to %w", err)
		}
		return nil
	})
	if err := col.Limit(&colly.LimitRule{DomainGlob: "*", Delay: h.HostDelay, Parallelism: 1}); err != nil {
		return cursor, fmt.Errorf("crawl: rate limit: %w", err)
	}

	var (
		mu         sync.Mutex
		newest     = since
		pages      = map[string]int{}  // start URL -> pages visited
		unchanged  = map[string]bool{} // start URLs that answered 304
		reported   = map[string]bool{} // start URLs whose error OnError counted
		ratedItems = map[string]bool{}
		addErr     error
		visited    int
	)
	col.OnRequest(func(r *colly.Request) {
		if ctx.Err() != nil {
			r.Abort()
		}
	})
	col.OnResponse(func(r *colly.Response) {
		mu.Lock()
		visited++
		if start := r.Ctx.Get("start"); r.Ctx.Get("first") == "1" {
			next.Pages[start] = validators{ETag: r.Headers.Get("ETag"), LastModified: r.Headers.Get("Last-Modified")}
		}
		mu.Unlock()
		// colly cuts a body at MaxBodySize without saying so: say it, since
		// reviews past the cut are lost from this page.
		if h.MaxBodySize > 0 && int64(len(r.Body)) >= int64(h.MaxBodySize) {
			sink.AddError(fmt.Errorf("[url=%s]: body cut at %d bytes (collect.max_body_size)", r.Request.URL, h.MaxBodySize))
		}
	})
	col.OnHTML("html", func(e *colly.HTMLElement) {
		page := e.Request.URL.String()
		start := e.Request.Ctx.Get("start")
		pg := c.extract(e.DOM, page, PageLang(e.Attr("lang")), c.now())
		ms := pg.Mentions
		for _, err := range pg.Errors {
			sink.AddError(fmt.Errorf("[url=%s] %w", page, err))
		}
		if rs, ok := sink.(collectors.RatingSink); ok {
			for _, r := range pg.Ratings {
				mu.Lock()
				dup := ratedItems[r.Item] // paginated pages repeat the item's rating
				ratedItems[r.Item] = true
				mu.Unlock()
				if dup {
					continue
				}
				r.Source = c.env.Source.Name
				if err := rs.AddRating(ctx, r); err != nil {
					sink.AddError(fmt.Errorf("[url=%s] rating: %w", page, err))
				}
			}
		}
		found, fresh := len(ms), 0
		for _, m := range ms {
			if !since.IsZero() && !m.PublishedAt.IsZero() && m.PublishedAt.Before(since) {
				continue
			}
			fresh++
			m.Source = c.env.Source.Name
			if err := sink.Add(ctx, m); err != nil {
				mu.Lock()
				addErr = err
				mu.Unlock()
				return
			}
			mu.Lock()
			if m.PublishedAt.After(newest) {
				newest = m.PublishedAt
			}
			mu.Unlock()
		}
		if found > 0 && fresh == 0 {
			return // everything here is older than the cursor: stop paging
		}
		next := e.ChildAttr(c.opts.NextSelector, "href")
		if next == "" {
			return
		}
		mu.Lock()
		pages[start]++
		n := pages[start]
		mu.Unlock()
		if n >= c.opts.MaxPages {
			return
		}
		ctx := colly.NewContext()
		ctx.Put("start", start)
		link := e.Request.AbsoluteURL(next)
		// Checked here, not in OnRequest: colly fetches the link's
		// robots.txt before OnRequest runs.
		if err := allowed(link); err != nil {
			sink.AddError(fmt.Errorf("[url=%s] next page: %w", page, err))
			return
		}
		if err := col.Request("GET", link, nil, ctx, nil); err != nil && !isBenign(err) {
			sink.AddError(fmt.Errorf("[url=%s] next page: %w", page, err))
		}
	})
	col.OnError(func(r *colly.Response, err error) {
		if r != nil && r.StatusCode == http.StatusNotModified {
			mu.Lock()
			visited++
			start := r.Ctx.Get("start")
			next.Pages[start] = prev.Pages[start] // unchanged: keep the validators
			unchanged[start] = true
			mu.Unlock()
			return
		}
		status := ""
		if r != nil && r.StatusCode != 0 {
			status = fmt.Sprintf(" (HTTP %d)", r.StatusCode)
		}
		if r.Ctx.Get("first") == "1" {
			mu.Lock()
			reported[r.Ctx.Get("start")] = true // col.Request returns it too: count it once
			mu.Unlock()
		}
		sink.AddError(fmt.Errorf("[url=%s]%s: %w", r.Request.URL, status, err))
	})
	var firstErr error
	for _, u := range c.opts.URLs {
		cctx := colly.NewContext()
		cctx.Put("start", u)
		cctx.Put("first", "1")
		hdr := http.Header{}
		if v := prev.Pages[u]; v.ETag != "" || v.LastModified != "" {
			if v.ETag != "" {
				hdr.Set("If-None-Match", v.ETag)
			}
			if v.LastModified != "" {
				hdr.Set("If-Modified-Since", v.LastModified)
			}
		}
		err := col.Request("GET", u, nil, cctx, hdr)
		mu.Lock()
		notModified := unchanged[u] // colly returns 304 as an error too
		counted := reported[u]
		mu.Unlock()
		if err != nil && !isBenign(err) && !notModified {
			if !counted {
				sink.AddError(fmt.Errorf("[url=%s]: %w", u, err))
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	col.Wait()
	if addErr != nil {
		return cursor, addErr
	}
	if err := ctx.Err(); err != nil {
		return cursor, err
	}
	if visited == 0 && firstErr != nil {
		return cursor, fmt.Errorf("crawl: no page fetched: %w", firstErr)
	}
	next.Since = newest
	b, err := json.Marshal(next)
	if err != nil {
		return cursor, err
	}
	return string(b), nil
}

func isBenign(err error) bool {
	var av *colly.AlreadyVisitedError
	return errors.As(err, &av) || errors.Is(err, colly.ErrMaxDepth)
}

// PageLang reads a page's language from its lang attribute ("de-DE" -> "de").
func PageLang(attr string) string {
	return strings.ToLower(strings.SplitN(strings.TrimSpace(attr), "-", 2)[0])
}

// Resolve makes href absolute against base; unparseable input returns href.
func Resolve(base, href string) string {
	b, err := url.Parse(base)
	if err != nil {
		return href
	}
	h, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return href
	}
	return b.ResolveReference(h).String()
}

// Host is the host name of a URL ("" when it has none).
func Host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// SinceOf returns the publication-time part of a crawl cursor.
func SinceOf(cursor string) time.Time { return parseState(cursor).Since }
