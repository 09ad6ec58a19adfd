package selector

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/collectortest"
	"github.com/earshot/earshot/config"
)

const page1 = `<html lang="hr"><body>
<div class="rv" data-id="101"><span class="who">Ana</span><span class="stars" style="width: 20%"></span>
  <time datetime="2026-11-21T10:00:00Z">2 days ago</time><p class="body">Hladna juha i &lt;script&gt;alert(1)&lt;/script&gt; neljubazno osoblje.</p>
  <a class="perma" href="/r/101">link</a></div>
<div class="rv" data-id="102"><span class="who">Ivo</span><span class="stars" style="width: 100%"></span>
  <time>3 days ago</time><p class="body">Sve super.</p></div>
<div class="rv" data-id="103"><span class="who">Bad</span><span class="stars" style="width: lots"></span><p class="body"></p></div>
<a class="older" href="/p2">older</a></body></html>`

const page2 = `<html><body><div class="rv" data-id="90"><span class="who">Old</span><span class="stars" style="width:60%"></span>
<time>Reviewed 1 November 2026</time><p class="body">Okay.</p></div></body></html>`

func TestSelectorCrawl(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/p1":
			fmt.Fprint(w, page1)
		case "/p2":
			fmt.Fprint(w, page2)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	o := &Options{URLs: []string{srv.URL + "/p1"}, NextSelector: "a.older", Review: "div.rv", Text: "p.body", Author: ".who",
		Rating: ".stars", RatingAttr: "style", Date: "time", Link: "a.perma", IDAttr: "data-id"}
	if errs := o.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	c, err := Kind().New(collectors.Env{Source: config.Source{Name: "sel"}, Options: o,
		HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}})
	if err != nil {
		t.Fatal(err)
	}
	sink := &collectortest.Sink{}
	if _, err := c.Collect(context.Background(), "", sink); err != nil {
		t.Fatal(err)
	}
	if len(sink.Mentions) != 3 {
		t.Fatalf("%d mentions, want 3 (two on page 1, one on page 2): %+v", len(sink.Mentions), sink.Mentions)
	}
	ana := sink.Mentions[0]
	host := strings.Split(strings.TrimPrefix(srv.URL, "http://"), ":")[0]
	if ana.Author != "Ana" || ana.Rating != 1 || ana.RatingMax != 5 || ana.Lang != "hr" || ana.URL != srv.URL+"/r/101" ||
		!strings.Contains(ana.Text, "<script>") || ana.ID != "selector:"+host+"/101" {
		t.Errorf("first review %+v", ana)
	}
	if ivo := sink.Mentions[1]; ivo.Rating != 5 || time.Since(ivo.PublishedAt) < 71*time.Hour {
		t.Errorf("second review %+v", ivo)
	}
	if old := sink.Mentions[2]; old.Rating != 3 || old.PublishedAt.Day() != 1 {
		t.Errorf("page 2 review %+v", old)
	}
	var noText bool
	for _, e := range sink.Errors {
		noText = noText || strings.Contains(e.Error(), "no text")
	}
	if !noText {
		t.Errorf("errors %v: want the empty review reported", sink.Errors)
	}
}

func TestValidate(t *testing.T) {
	errs := (&Options{URLs: []string{"https://x.test/"}, Review: "div[", Text: ""}).Validate()
	if len(errs) != 2 {
		t.Errorf("errors %v, want missing text and a bad selector", errs)
	}
}

func TestConformance(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><div class="rv" data-id="1"><p>Cold room.</p><time>2026-11-20</time></div>
<div class="rv" data-id="2"><p>Loud street.</p><time>2026-11-21</time></div></body></html>`)
	}))
	defer srv.Close()
	o := &Options{URLs: []string{srv.URL + "/"}, Review: "div.rv", Text: "p", Date: "time", IDAttr: "data-id"}
	collectortest.Conformance(t, func() collectors.Collector {
		c, err := Kind().New(collectors.Env{Source: config.Source{Name: "s"}, Options: o,
			HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20, AllowPrivateNetworks: true}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}
