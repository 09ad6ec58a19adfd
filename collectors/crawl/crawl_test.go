package crawl

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/collectortest"
	"github.com/earshot/earshot/collectors/httpx"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// titles makes one mention of each page's <title>, so that tests see which
// pages were read.
func titles(root *goquery.Selection, page, _ string, now time.Time) Page {
	title := root.Find("title").Text()
	if title == "" {
		return Page{}
	}
	return Page{Mentions: []mention.Mention{{ID: page, URL: page, Text: title, PublishedAt: now, Kind: mention.KindReview}}}
}

func env(c config.Collect) collectors.Env {
	c.UserAgent, c.Timeout = "earshot-test", 2*time.Second
	c.MaxBodySize = 1 << 20
	return collectors.Env{Source: config.Source{Name: "test"}, HTTP: c}
}

// server counts its requests (robots.txt included) and serves pages.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path == "/robots.txt" {
			fmt.Fprint(w, "User-agent: *\nAllow: /\n")
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func texts(s *collectortest.Sink) string {
	var out []string
	for _, m := range s.Mentions {
		out = append(out, m.Text)
	}
	return strings.Join(out, ",")
}

func hasErr(s *collectortest.Sink, target error) int {
	n := 0
	for _, e := range s.Errors {
		if errors.Is(e, target) {
			n++
		}
	}
	return n
}

// TestOtherPortRefused: neither a redirect nor a next link may take the
// crawl to another port of an allowed host, where another service listens.
func TestOtherPortRefused(t *testing.T) {
	other, otherHits := server(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><title>internal</title></html>")
	})
	site, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, other.URL+"/admin", http.StatusFound)
		case "/list":
			fmt.Fprintf(w, `<html><title>list</title><a rel="next" href="%s/p2">next</a></html>`, other.URL)
		case "/here":
			http.Redirect(w, r, "/same", http.StatusMovedPermanently)
		default:
			fmt.Fprint(w, "<html><title>same server</title></html>")
		}
	})
	c := New(env(config.Collect{AllowPrivateNetworks: true}), Options{URLs: []string{site.URL + "/moved", site.URL + "/list", site.URL + "/here"}}, titles)
	sink := &collectortest.Sink{}
	if _, err := c.Collect(context.Background(), "", sink); err != nil {
		t.Fatal(err)
	}
	if otherHits.Load() != 0 {
		t.Errorf("%d requests reached the other port", otherHits.Load())
	}
	if n := hasErr(sink, httpx.ErrHost); n != 2 || len(sink.Errors) != 2 {
		t.Errorf("errors %v: want the redirect and the next link refused, once each", sink.Errors)
	}
	if got := texts(sink); got != "list,same server" {
		t.Errorf("pages read: %s", got)
	}
}

// TestPrivateAddresses: a host name resolving to loopback, and the metadata
// service, are refused at dial time unless allow_private_networks is set; an
// address the caller allows (the demo site) is reachable, and only it.
func TestPrivateAddresses(t *testing.T) {
	site, hits := server(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><title>local</title></html>")
	})
	other, otherHits := server(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><title>other</title></html>")
	})
	viaName := strings.Replace(site.URL, "127.0.0.1", "localhost", 1) + "/"
	ctx := context.Background()

	for _, u := range []string{viaName, "http://169.254.169.254/latest/meta-data/"} {
		sink := &collectortest.Sink{}
		start := time.Now()
		_, err := New(env(config.Collect{}), Options{URLs: []string{u}}, titles).Collect(ctx, "", sink)
		if !errors.Is(err, httpx.ErrPrivateAddress) || hasErr(sink, httpx.ErrPrivateAddress) != 1 {
			t.Errorf("%s: err %v, sink %v; want refused", u, err, sink.Errors)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v; the dial check should refuse before connecting", u, d)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests reached the server", hits.Load())
	}

	sink := &collectortest.Sink{}
	if _, err := New(env(config.Collect{AllowPrivateNetworks: true}), Options{URLs: []string{viaName}}, titles).Collect(ctx, "", sink); err != nil || texts(sink) != "local" {
		t.Errorf("with allow_private_networks: %v, %v", err, sink.Errors)
	}

	// Allowed by address, the site is crawled; the other server, though its
	// host and port are allowed, is not dialled.
	c := New(env(config.Collect{}), Options{URLs: []string{viaName, other.URL + "/"}}, titles)
	c.AllowAddr(netip.MustParseAddrPort(site.Listener.Addr().String()))
	sink = &collectortest.Sink{}
	if _, err := c.Collect(ctx, "", sink); err != nil || texts(sink) != "local" || hasErr(sink, httpx.ErrPrivateAddress) != 1 || otherHits.Load() != 0 {
		t.Errorf("allowed address: %v, read %q, errors %v, %d requests reached the other server", err, texts(sink), sink.Errors, otherHits.Load())
	}
}

// gzipBomb returns a valid gzip stream of inflated zero bytes (whole MiBs):
// one compressed MiB repeated as a multi-member stream, about a thousandth
// of its inflated size.
func gzipBomb(t *testing.T, inflated int) []byte {
	t.Helper()
	var one bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	if _, err := zw.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat(one.Bytes(), inflated>>20)
}

// TestGzipBomb: a 200 KB response inflating to 200 MiB, however it says it
// is compressed, is an error for that page, and memory stays low (colly
// v2.3 alone caps the compressed bytes and inflates the rest).
func TestGzipBomb(t *testing.T) {
	bomb := gzipBomb(t, 200<<20)
	tests := []struct {
		name   string
		path   string
		header []string
	}{
		{"Content-Encoding gzip, decoded by net/http", "/page", []string{"Content-Encoding", "gzip", "Content-Type", "text/html"}},
		{"Content-Encoding x-gzip, decoded by colly", "/page", []string{"Content-Encoding", "x-gzip", "Content-Type", "text/html"}},
		{"Content-Type application/x-gzip", "/page", []string{"Content-Type", "application/x-gzip"}},
		{"path ending in .xml.gz", "/sitemap.xml.gz", []string{"Content-Type", "application/octet-stream"}},
		{"robots.txt", "/robots.txt", []string{"Content-Encoding", "gzip", "Content-Type", "text/plain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == tt.path || tt.path == "/robots.txt" {
					for i := 0; i+1 < len(tt.header); i += 2 {
						w.Header().Set(tt.header[i], tt.header[i+1])
					}
					w.Write(bomb)
					return
				}
				http.NotFound(w, r)
			}))
			defer srv.Close()
			sink := &collectortest.Sink{}
			u := srv.URL + tt.path
			if tt.path == "/robots.txt" {
				u = srv.URL + "/page"
			}
			c := New(env(config.Collect{AllowPrivateNetworks: true}), Options{URLs: []string{u}}, titles)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := c.Collect(context.Background(), "", sink)
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 50<<20 {
				t.Errorf("allocated %d MiB for a 1 MiB cap", alloc>>20)
			}
			if !errors.Is(err, httpx.ErrTooLarge) || len(sink.Errors) != 1 || !strings.Contains(sink.Errors[0].Error(), "body larger than 1 MiB after decompression") {
				t.Errorf("err %v, sink %v: want one page error for the decompressed size", err, sink.Errors)
			}
		})
	}
}
