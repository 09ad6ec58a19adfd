package config_test

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/appstore"
	"github.com/earshot/earshot/collectors/bluesky"
	"github.com/earshot/earshot/collectors/demo"
	"github.com/earshot/earshot/collectors/feed"
	"github.com/earshot/earshot/collectors/fileimport"
	"github.com/earshot/earshot/collectors/hackernews"
	"github.com/earshot/earshot/collectors/jetstream"
	"github.com/earshot/earshot/collectors/mastodon"
	"github.com/earshot/earshot/collectors/reddit"
	"github.com/earshot/earshot/collectors/schemaorg"
	"github.com/earshot/earshot/collectors/selector"
)

// kinds mirrors cmd/earshot's registry (which a test here cannot import);
// TestExampleNamesEveryKind fails when the example lacks a kind, which is
// also when a kind was added there and not here.
var kinds = collectors.Registry{
	"schemaorg": schemaorg.Kind(), "appstore": appstore.Kind(), "bluesky": bluesky.Kind(),
	"bluesky-stream": jetstream.Kind(), "demo": demo.Kind(), "feed": feed.Kind(), "hackernews": hackernews.Kind(),
	"import": fileimport.Kind(), "mastodon": mastodon.Kind(), "mastodon-stream": mastodon.StreamKind(),
	"reddit": reddit.Kind(), "selector": selector.Kind(),
}

var (
	sourceStart = regexp.MustCompile(`^\s*#?\s*- name:`)
	kindLine    = regexp.MustCompile(`^\s*#?\s+kind:\s*([\w-]+)`)
	keyLine     = regexp.MustCompile(`^\s*#?\s*(?:- )?([a-z_]+):`)
)

// exampleKeys reads the sources section of earshot.example.yaml, examples
// in comments included, as kind -> the keys its sources show.
func exampleKeys(t *testing.T) map[string]map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../earshot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\nsources:\n")
	end := strings.Index(text[start+1:], "\nscoring:\n")
	if start < 0 || end < 0 {
		t.Fatal("no sources section in earshot.example.yaml")
	}
	out := map[string]map[string]bool{}
	var block []string
	flush := func() {
		kind := ""
		for _, l := range block {
			if m := kindLine.FindStringSubmatch(l); m != nil {
				kind = m[1]
			}
		}
		if kind == "" {
			return
		}
		if out[kind] == nil {
			out[kind] = map[string]bool{}
		}
		for _, l := range block {
			if m := keyLine.FindStringSubmatch(l); m != nil {
				out[kind][m[1]] = true
			}
		}
	}
	for _, l := range strings.Split(text[start:start+1+end], "\n") {
		if sourceStart.MatchString(l) {
			flush()
			block = nil
		}
		block = append(block, l)
	}
	flush()
	return out
}

// yamlKeys lists the yaml keys of an options struct, embedded ones included.
func yamlKeys(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case f.Anonymous && name == "":
			out = append(out, yamlKeys(f.Type)...)
		case name != "" && name != "-" && f.IsExported():
			out = append(out, name)
		}
	}
	return out
}

// TestExampleNamesEveryOption: earshot.example.yaml says it shows every
// option; every key of every kind's options type must appear in one of its
// sources of that kind.
func TestExampleNamesEveryOption(t *testing.T) {
	have := exampleKeys(t)
	for _, name := range kinds.Names() {
		if kinds[name].Options == nil {
			continue
		}
		var missing []string
		for _, k := range yamlKeys(reflect.TypeOf(kinds[name].Options())) {
			if !have[name][k] {
				missing = append(missing, k)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("earshot.example.yaml: kind %s lacks %s", name, strings.Join(missing, ", "))
		}
	}
}

func TestExampleNamesEveryKind(t *testing.T) {
	have := exampleKeys(t)
	for _, name := range kinds.Names() {
		if have[name] == nil {
			t.Errorf("earshot.example.yaml has no %s source", name)
		}
	}
}
