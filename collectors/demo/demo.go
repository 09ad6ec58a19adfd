// Package demo is a bundled, offline review site: static hotel-review pages
// in several languages with schema.org JSON-LD markup and pagination,
// embedded in the binary. A demo source serves the site on a loopback port
// for the length of one pass and crawls it with the schemaorg collector,
// so `make run` shows the whole flow on a fresh machine with no network.
package demo

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/schemaorg"
	"github.com/earshot/earshot/config"
)

//go:embed site
var files embed.FS

// Options pick which hotel's pages a demo source crawls.
type Options struct {
	Site string `yaml:"site"` // a folder of the demo site: zagreb, yerevan, mumbai, manila
}

// Sites lists the demo site's hotels.
func Sites() []string {
	entries, _ := fs.ReadDir(files, "site")
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// Validate checks the site exists.
func (o *Options) Validate() []config.FieldError {
	for _, s := range Sites() {
		if s == o.Site {
			return nil
		}
	}
	return []config.FieldError{{Field: "site", Msg: fmt.Sprintf("want one of %s, got %q", strings.Join(Sites(), ", "), o.Site)}}
}

// Kind registers the demo source kind.
func Kind() collectors.Kind { return KindAt(time.Now) }

// KindAt is Kind with a clock: the site's dates count back from now().
func KindAt(now func() time.Time) collectors.Kind {
	return collectors.KindOf("demo", func(env collectors.Env, o *Options) (collectors.Collector, error) {
		return &Collector{env: env, site: o.Site, now: now}, nil
	})
}

// Collector serves the site and crawls it.
type Collector struct {
	env  collectors.Env
	site string
	now  func() time.Time
}

// Written is the day the site's pages are dated as of: their newest review
// is from the day before. Served, every date moves forward by the whole
// days from Written to now, so the reviews stay 1 to 11 days old: a demo
// run a year from now still fills this month's and this week's reports,
// and a run on the same day shows the same dates (ids never depend on
// them: each review has its own @id).
func Written() time.Time { return time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) }

// pageDate is a date as the pages write it, in JSON-LD (2026-11-21T19:40:00Z)
// and in text (2026-11-21).
var pageDate = regexp.MustCompile(`\b(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}:\d{2}Z)?\b`)

// Shift rewrites a page's dates as the same number of days before now as
// they are before Written.
func Shift(page []byte, now time.Time) []byte {
	days := int(now.UTC().Truncate(24*time.Hour).Sub(Written()) / (24 * time.Hour))
	if days == 0 {
		return page
	}
	return pageDate.ReplaceAllFunc(page, func(m []byte) []byte {
		layout := "2006-01-02"
		if len(m) > len(layout) {
			layout = time.RFC3339
		}
		t, err := time.Parse(layout, string(m))
		if err != nil {
			return m
		}
		return []byte(t.AddDate(0, 0, days).Format(layout))
	})
}

// Handler serves the demo site with its dates counted back from now().
func Handler(now func() time.Time) http.Handler {
	sub, _ := fs.Sub(files, "site")
	static := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" || strings.HasSuffix(r.URL.Path, "/") {
			name = path.Join(name, "index.html")
		}
		if !strings.HasSuffix(name, ".html") {
			static.ServeHTTP(w, r)
			return
		}
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// No Last-Modified or ETag: the page changes with the date.
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(Shift(b, now())))
	})
}

// Serve starts the demo site on a free loopback port and returns its base
// URL and a function that stops it.
func Serve(now func() time.Time) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("demo site: %w", err)
	}
	srv := &http.Server{Handler: Handler(now), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return "http://" + l.Addr().String(), stop, nil
}

// Collect runs one pass of the schemaorg collector over the served site.
func (c *Collector) Collect(ctx context.Context, cursor string, sink collectors.Sink) (string, error) {
	now := c.now
	if now == nil {
		now = time.Now
	}
	base, stop, err := Serve(now)
	if err != nil {
		return cursor, err
	}
	defer stop()
	env := c.env
	// Our own loopback server: no need to wait between requests.
	env.HTTP.HostDelay = 0
	crawler := schemaorg.New(env, schemaorg.Options{URLs: []string{base + "/" + c.site + "/"}})
	// Let the crawl dial this server, and no other loopback or private
	// address, without collect.allow_private_networks.
	ap, err := netip.ParseAddrPort(strings.TrimPrefix(base, "http://"))
	if err != nil {
		return cursor, fmt.Errorf("demo site address %s: %w", base, err)
	}
	crawler.AllowAddr(ap)
	return crawler.Collect(ctx, cursor, sink)
}
