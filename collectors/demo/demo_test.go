package demo

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/collectortest"
	"github.com/earshot/earshot/config"
)

func TestDemoSites(t *testing.T) {
	want := map[string]struct {
		n     int
		langs string
	}{
		"zagreb":  {5, "en,en,hr,hr,ru"},
		"yerevan": {3, "en,hy,ru"},
		"mumbai":  {2, "en,hi"},
		"manila":  {2, "tl,tl"},
	}
	if got := strings.Join(Sites(), ","); got != "manila,mumbai,yerevan,zagreb" {
		t.Fatalf("Sites() = %s", got)
	}
	for site, w := range want {
		t.Run(site, func(t *testing.T) {
			env := collectors.Env{Source: config.Source{Name: "demo-" + site}, Options: &Options{Site: site},
				HTTP: config.Collect{UserAgent: "test", Timeout: 5 * time.Second, MaxBodySize: 1 << 20}}
			c, err := Kind().New(env)
			if err != nil {
				t.Fatal(err)
			}
			sink := &collectortest.Sink{}
			cursor, err := c.Collect(context.Background(), "", sink)
			if err != nil || len(sink.Errors) > 0 {
				t.Fatalf("collect: %v %v", err, sink.Errors)
			}
			var langs []string
			for _, m := range sink.Mentions {
				langs = append(langs, m.Lang)
				if m.Rating < 1 || m.RatingMax != 5 || m.PublishedAt.IsZero() || m.Author == "" {
					t.Errorf("incomplete mention %+v", m)
				}
			}
			sort.Strings(langs)
			if len(sink.Mentions) != w.n || strings.Join(langs, ",") != w.langs {
				t.Errorf("%d mentions in %v, want %d in %s", len(sink.Mentions), langs, w.n, w.langs)
			}
			if cursor == "" {
				t.Error("no cursor")
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	if errs := (&Options{Site: "paris"}).Validate(); len(errs) != 1 {
		t.Errorf("unknown site accepted")
	}
}
