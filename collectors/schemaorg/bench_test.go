package schemaorg

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/earshot/earshot/collectors/collectortest"
)

func fixturePages(b *testing.B) [][]byte {
	paths, _ := filepath.Glob("testdata/fixtures/*.html")
	var pages [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		pages = append(pages, data)
	}
	return pages
}

// BenchmarkExtract measures pages/s over the fixture pages (12 real pages,
// 17 reviews, 20 KB to 200 KB each) against parsing alone in the same run.
func BenchmarkExtract(b *testing.B) {
	pages := fixturePages(b)
	now := time.Now()
	b.Run("parse-only-baseline", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, p := range pages {
				if _, err := goquery.NewDocumentFromReader(bytes.NewReader(p)); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(pages))/b.Elapsed().Seconds(), "pages/s")
	})
	b.Run("extract-all-syntaxes", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, p := range pages {
				if _, err := ExtractHTML(bytes.NewReader(p), "https://x.test/", now); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(pages))/b.Elapsed().Seconds(), "pages/s")
	})
}

// siteOf1000 serves a chain of 1,000 review pages, 10 JSON-LD reviews each.
func siteOf1000() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p"))
		if err != nil || n < 1 || n > 1000 {
			http.NotFound(w, r)
			return
		}
		var items []string
		for i := 0; i < 10; i++ {
			items = append(items, fmt.Sprintf(`{"@type":"Review","@id":"r%d-%d","author":"a%d","reviewBody":"Review %d on page %d: the room was fine but check-in took forever.","reviewRating":{"ratingValue":"%d"}}`, n, i, i, i, n, 1+i%5))
		}
		next := ""
		if n < 1000 {
			next = fmt.Sprintf(`<link rel="next" href="/p%d">`, n+1)
		}
		fmt.Fprintf(w, `<html lang="en"><head>%s<script type="application/ld+json">{"@type":"Hotel","name":"H","review":[%s]}</script></head><body>%s</body></html>`,
			next, strings.Join(items, ","), strings.Repeat("<p>filler text of a real page</p>", 200))
	}))
}

// BenchmarkCrawl1000 crawls the 1,000-page site (robots.txt, pagination,
// extraction) against fetching the same pages with plain sequential GETs.
func BenchmarkCrawl1000(b *testing.B) {
	srv := siteOf1000()
	defer srv.Close()
	b.Run("plain-get-baseline", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for p := 1; p <= 1000; p++ {
				resp, err := http.Get(fmt.Sprintf("%s/p%d", srv.URL, p))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "pages/s")
	})
	b.Run("crawl", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			env := testEnv()
			c := New(env, Options{URLs: []string{srv.URL + "/p1"}, MaxPages: 1000})
			sink := &collectortest.Sink{}
			if _, err := c.Collect(context.Background(), "", sink); err != nil {
				b.Fatal(err)
			}
			if len(sink.Mentions) != 10000 {
				b.Fatalf("%d mentions, want 10000 (errors %v)", len(sink.Mentions), sink.Errors)
			}
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "pages/s")
	})
}
