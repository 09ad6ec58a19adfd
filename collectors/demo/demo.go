// Package demo is a bundled, offline review site: static hotel-review pages
// in several languages with schema.org JSON-LD markup and pagination,
// embedded in the binary. A demo source serves the site on a loopback port
// for the length of one pass and crawls it with the schemaorg collector,
// so `make run` shows the whole flow on a fresh machine with no network.
package demo

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
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
func Kind() collectors.Kind {
	return collectors.KindOf("demo", func(env collectors.Env, o *Options) (collectors.Collector, error) {
		return &Collector{env: env, site: o.Site}, nil
	})
}

// Collector serves the site and crawls it.
type Collector struct {
	env  collectors.Env
	site string
}

// Handler serves the demo site.
func Handler() http.Handler {
	sub, _ := fs.Sub(files, "site")
	return http.FileServer(http.FS(sub))
}

// Serve starts the demo site on a free loopback port and returns its base
// URL and a function that stops it.
func Serve() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("demo site: %w", err)
	}
	srv := &http.Server{Handler: Handler(), ReadHeaderTimeout: 5 * time.Second}
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
	base, stop, err := Serve()
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
