package config_test

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/alerts/outbox"
	"github.com/earshot/earshot/alerts/sendgrid"
	"github.com/earshot/earshot/alerts/slack"
	"github.com/earshot/earshot/alerts/smtp"
	"github.com/earshot/earshot/alerts/stdout"
	"github.com/earshot/earshot/alerts/webhook"
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

// receiverKinds mirrors cmd/earshot's receiver registry (receivers.go), for
// the same reason and with the same check.
var receiverKinds = alerts.ReceiverRegistry{
	"outbox": outbox.Kind(), "sendgrid": sendgrid.Kind(), "slack": slack.Kind(), "smtp": smtp.Kind(),
	"stdout": stdout.Kind(), "webhook": webhook.Kind(),
}

var (
	sourceStart = regexp.MustCompile(`^\s*#?\s*- name:`)
	kindLine    = regexp.MustCompile(`^\s*#?\s+kind:\s*([\w-]+)`)
	keyLine     = regexp.MustCompile(`^\s*#?\s*(?:- )?([a-z_]+):`)
)

// exampleKeys reads a section (sources, receivers) of earshot.example.yaml,
// examples in comments included, as kind -> the keys its items show. next
// is the top-level key after the section.
func exampleKeys(t *testing.T, section, next string) map[string]map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../earshot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n"+section+":\n")
	end := -1
	if start >= 0 {
		end = strings.Index(text[start+1:], "\n"+next+":\n")
	}
	if start < 0 || end < 0 {
		t.Fatalf("no %s section before %s in earshot.example.yaml", section, next)
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

// kindOptions is a registry as kind -> a new options value (nil: none).
type kindOptions map[string]func() any

// TestExampleNamesEveryOption: earshot.example.yaml says it shows every
// option; every key of every kind's options type, sources' and receivers',
// must appear in one of its items of that kind.
func TestExampleNamesEveryOption(t *testing.T) {
	for _, sec := range []struct {
		section, next string
		kinds         kindOptions
	}{
		{"sources", "scoring", kinds.SourceKinds()},
		{"receivers", "route", receiverKinds.Kinds()},
	} {
		have := exampleKeys(t, sec.section, sec.next)
		for _, name := range sortedNames(sec.kinds) {
			if sec.kinds[name] == nil {
				continue
			}
			var missing []string
			for _, k := range yamlKeys(reflect.TypeOf(sec.kinds[name]())) {
				if !have[name][k] {
					missing = append(missing, k)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("earshot.example.yaml: %s kind %s lacks %s", sec.section, name, strings.Join(missing, ", "))
			}
		}
	}
}

func TestExampleNamesEveryKind(t *testing.T) {
	for _, sec := range []struct {
		section, next string
		kinds         kindOptions
	}{
		{"sources", "scoring", kinds.SourceKinds()},
		{"receivers", "route", receiverKinds.Kinds()},
	} {
		have := exampleKeys(t, sec.section, sec.next)
		for _, name := range sortedNames(sec.kinds) {
			if have[name] == nil {
				t.Errorf("earshot.example.yaml has no %s of kind %s", sec.section, name)
			}
		}
	}
}

func sortedNames(k kindOptions) []string {
	out := make([]string, 0, len(k))
	for n := range k {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
