package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type feedOptions struct {
	URL      string   `yaml:"url"`
	Include  []string `yaml:"include"`
	MaxPages int      `yaml:"max_pages"`
}

func (o *feedOptions) Validate() []FieldError {
	if o.URL == "" {
		return []FieldError{{"url", "required"}}
	}
	return nil
}

// Receiver options shaped like alerts/sendgrid's and alerts/webhook's
// (which import config, so a test here cannot use them).
type mailOptions struct {
	APIKey Secret   `yaml:"api_key"`
	From   string   `yaml:"from"`
	To     []string `yaml:"to"`
}

type dirOptions struct {
	Dir string `yaml:"dir"`
}

type hookOptions struct {
	URL     string  `yaml:"url"`
	Headers Headers `yaml:"headers"`
}

func testSchema(env map[string]string) Schema {
	return Schema{
		SourceKinds: map[string]func() any{"feed": func() any { return &feedOptions{} }, "demo": nil},
		ReceiverKinds: map[string]func() any{"sendgrid": func() any { return &mailOptions{} }, "outbox": func() any { return &dirOptions{} },
			"webhook": func() any { return &hookOptions{} }},
		Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}
}

const good = `
clickhouse:
  dsn: ${CH_DSN:-}
  flush_interval: 5s
brands:
  - name: Acme
    keywords: [acme, "@acme"]
    locations:
      - name: Zagreb
        timezone: Europe/Zagreb
sources:
  - name: news
    kind: feed
    brand: Acme
    location: Zagreb
    schedule: "*/10 * * * *"
    url: https://example.com/feed.xml
    include: acme
  - name: demo
    kind: demo
    brand: Acme
receivers:
  - name: email
    kind: sendgrid
    api_key: ${SENDGRID_API_KEY}
    from: earshot@example.com
    to: [ops@example.com]
  - name: box
    kind: outbox
    dir: var/outbox
route:
  receiver: box
  group_by: [location]
  routes:
    - receiver: email
      min_severity: high
      match_re: {lang: "en|hr"}
      ack_within: 2h
      escalate_to: [box]
scoring:
  languages: [en, hr, ru]
`

func TestParseGood(t *testing.T) {
	c, err := Parse("good.yaml", []byte(good), testSchema(map[string]string{"SENDGRID_API_KEY": "SG.key"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClickHouse.FlushInterval != 5*time.Second || c.ClickHouse.BatchSize != 1000 {
		t.Errorf("clickhouse = %+v", c.ClickHouse)
	}
	opts, ok := c.Sources[0].Options.(*feedOptions)
	if !ok || opts.URL != "https://example.com/feed.xml" || len(opts.Include) != 1 {
		t.Errorf("feed options = %#v", c.Sources[0].Options)
	}
	sg := c.Receivers[0].Options.(*mailOptions)
	if sg.APIKey.Reveal() != "SG.key" {
		t.Errorf("api key not expanded")
	}
	if s := fmt.Sprintf("%v %+v %s", sg.APIKey, sg, sg.APIKey); strings.Contains(s, "SG.key") {
		t.Errorf("secret leaked in formatting: %s", s)
	}
	if c.Line("sources[0].url") != 17 {
		t.Errorf("line of sources[0].url = %d, want 17", c.Line("sources[0].url"))
	}
}

func TestParseErrors(t *testing.T) {
	env := map[string]string{"SENDGRID_API_KEY": "k"}
	tests := []struct {
		name string
		yaml string
		want []string // each must appear, in order, one per line
	}{
		{"unknown top key", "brandz: []\n", []string{`x.yaml:1: brandz: unknown field (did you mean "brands"?)`}},
		{"wrong type", "clickhouse:\n  batch_size: lots\n", []string{`x.yaml:2: clickhouse.batch_size: expected an integer, got "lots"`}},
		{"bad duration", "clickhouse:\n  flush_interval: soon\n", []string{`x.yaml:2: clickhouse.flush_interval: bad duration "soon"`}},
		{"yaml syntax", "brands: [\n", []string{`x.yaml:1: YAML syntax:`}},
		{"empty", "", []string{"x.yaml:1: empty config"}},
		{"unknown brand and bad cron", `
brands: [{name: Acme}]
sources:
  - name: s1
    kind: demo
    brand: Acmee
    schedule: "61 * * * *"
`, []string{
			`x.yaml:6: sources[0].brand: unknown brand "Acmee" (did you mean "Acme"?)`,
			`x.yaml:7: sources[0].schedule: bad cron expression "61 * * * *"`,
		}},
		{"unknown kind and kind option", `
brands: [{name: A}]
sources:
  - {name: a, kind: rss, brand: A}
  - name: b
    kind: feed
    brand: A
    urll: x
`, []string{
			`x.yaml:4: sources[0].kind: unknown kind "rss" (one of: demo, feed)`,
			`x.yaml:5: sources[1].url: required`,
			`x.yaml:8: sources[1].urll: unknown field (did you mean "url"?)`,
		}},
		{"route to unknown receiver", `
receivers: [{name: box, kind: outbox}]
route:
  receiver: box
  routes:
    - receiver: pager
      match_re: {brand: "("}
`, []string{
			`x.yaml:6: route.routes[0].receiver: undefined receiver "pager" used in route`,
			`x.yaml:7: route.routes[0].match_re.brand: bad regular expression`,
		}},
		{"literal secret", `
receivers:
  - name: e
    kind: sendgrid
    api_key: SG.abc
    from: a@b.c
    to: [x@y.z]
`, []string{`x.yaml:5: receivers[0].api_key: secrets must come from the environment`}},
		{"unset env", "clickhouse:\n  dsn: ${NOPE}\n", []string{`x.yaml:2: clickhouse.dsn: environment variable NOPE is not set`}},
		{"duplicate source", `
brands: [{name: A}]
sources:
  - {name: a, kind: demo, brand: A}
  - {name: a, kind: demo, brand: A}
`, []string{`x.yaml:5: sources[1].name: source "a" defined twice`}},
		{"list expected", "brands:\n  name: A\n", []string{`x.yaml:2: brands: expected a list, got a mapping`}},
		{"unknown language", "scoring:\n  languages: [en, xx]\n", []string{`x.yaml:2: scoring.languages[1]: unknown language "xx"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.yaml), testSchema(env))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want config.Errors", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("error %d = %q\nwant prefix  %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestExpand(t *testing.T) {
	env := func(k string) (string, bool) { v, ok := map[string]string{"A": "1", "E": ""}[k]; return v, ok }
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"${A}", "1"},
		{"x${A}y${B:-z}", "x1yz"},
		{"$$A ${E:-d}", "$A d"},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, env)
		if err != nil || got != tt.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := expand("${B}", env); err == nil {
		t.Error("unset variable: no error")
	}
}

func TestParseSizesAndDurations(t *testing.T) {
	for in, want := range map[string]ByteSize{"5MB": 5e6, "512KiB": 512 << 10, "100": 100, "1.5 MiB": 1.5 * (1 << 20)} {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]time.Duration{"7d": 168 * time.Hour, "1d12h": 36 * time.Hour, "90s": 90 * time.Second} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"5XB", "-1", "abc"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q): no error", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("sources: [{name: a, kind: feed, brand: X, url: ${A:-x}}]\nroute: {receiver: r, routes: [{match_re: {brand: '('}}]}"))
	f.Add([]byte("brands: &a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data, testSchema(map[string]string{"SENDGRID_API_KEY": "k"}))
		var errs Errors
		if err != nil && !errors.As(err, &errs) {
			t.Fatalf("error is not config.Errors: %v", err)
		}
		for _, e := range errs {
			if e.Line < 1 || strings.Contains(e.Msg, "\n") {
				t.Errorf("bad error: %+v", e)
			}
		}
		if err == nil && c == nil {
			t.Error("nil config without error")
		}
	})
}

func TestStormsOneOrMany(t *testing.T) {
	for _, tc := range []struct {
		yaml    string
		windows []time.Duration
		err     string
	}{
		{"storms: {receiver: r}", []time.Duration{time.Hour}, ""},
		{"storms:\n  - {receiver: r}\n  - {receiver: r, window: 24h, baselines: 7}", []time.Duration{time.Hour, 24 * time.Hour}, ""},
		{"storms:\n  - {receiver: r}\n  - {receiver: r, window: 60m}", nil, "x.yaml:4: storms[1].window: another detector already has window 1h0m0s"},
		{"storms: {receiver: nobody, baselines: 1}", nil, "x.yaml:2: storms[0].baselines: need at least 2 windows"},
	} {
		c, err := Parse("x.yaml", []byte("receivers: [{name: r, kind: stdout}]\n"+tc.yaml), Schema{})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.yaml, err)
			continue
		}
		var got []time.Duration
		for _, s := range c.Storms {
			got = append(got, s.Window)
		}
		if !slices.Equal(got, tc.windows) || c.Storms[0].MinCount != 5 || c.Storms[0].Cooldown != 6*time.Hour {
			t.Errorf("%q: %+v", tc.yaml, c.Storms)
		}
	}
}

// TestDeferSecrets: with DeferSecrets an unset secret is left empty and
// listed; without it, the load fails and names the variable.
func TestDeferSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("brands:\n  - name: Acme\nserver:\n  base_url: http://127.0.0.1:8377\n  link_key: ${NOT_SET_ANYWHERE}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(string) (string, bool) { return "", false }
	if _, err := Load(path, Schema{Getenv: env}); err == nil || !strings.Contains(err.Error(), "NOT_SET_ANYWHERE") {
		t.Errorf("strict load: %v, want an error naming the variable", err)
	}
	c, err := Load(path, Schema{Getenv: env, DeferSecrets: true})
	if err != nil {
		t.Fatalf("deferred load: %v", err)
	}
	if len(c.UnsetSecrets) != 1 || !strings.Contains(c.UnsetSecrets[0], "c.yaml:5: server.link_key") {
		t.Errorf("unset secrets %v", c.UnsetSecrets)
	}
}

// TestValidateRoughEdges: each mistake is one error, at its line, naming
// the field and what is wrong.
func TestValidateRoughEdges(t *testing.T) {
	const head = "brands:\n  - name: Acme\nsources:\n  - name: s\n    kind: demo\n    brand: Acme\n" // lines 1-6
	for _, tc := range []struct {
		name, yaml string
		want       string // "" means valid
	}{
		{"every 1s is the minimum", head + "    schedule: \"@every 1s\"\n", ""},
		{"every 0s", head + "    schedule: \"@every 0s\"\n", `x.yaml:7: sources[0].schedule: bad cron expression "@every 0s": @every 0s: shorter than the minimum, 1s`},
		{"every 100ms", head + "collect:\n  default_schedule: \"@every 100ms\"\n", `x.yaml:8: collect.default_schedule: bad cron expression "@every 100ms": @every 100ms: shorter than the minimum, 1s`},
		{"digest every 0s", head + "receivers: [{name: r, kind: outbox}]\ndigests:\n  - receiver: r\n    schedule: \"@every 0s\"\n", "x.yaml:10: digests[0].schedule: @every 0s: shorter than the minimum, 1s"},
		{"listen without port", head + "server:\n  listen: localhost\n", `x.yaml:8: server.listen: want host:port such as 127.0.0.1:8377 or :8377, got "localhost"`},
		{"listen port out of range", head + "server:\n  listen: 127.0.0.1:99999\n", `x.yaml:8: server.listen: port "99999": want a number from 0 to 65535`},
		{"listen every interface", head + "server:\n  listen: \":8377\"\n", ""},
		{"base_url without scheme", head + "server:\n  base_url: inbox.example.com\n", `x.yaml:8: server.base_url: want an absolute http:// or https:// URL such as https://earshot.example.com, got "inbox.example.com"`},
		{"base_url ftp", head + "server:\n  base_url: ftp://example.com\n", "x.yaml:8: server.base_url: want an absolute http:// or https:// URL"},
		{"base_url with a query", head + "server:\n  base_url: https://example.com/?a=1\n", "x.yaml:8: server.base_url: \"https://example.com/?a=1\": no query or fragment"},
		{"base_url not a URL", head + "server:\n  base_url: \"http://exa mple.com\"\n", "x.yaml:8: server.base_url: \"http://exa mple.com\" is not a URL"},
		{"base_url fine", head + "server:\n  base_url: https://inbox.example.com/earshot\n", ""},
		{"duplicate key", head + "    schedule: \"@hourly\"\n    schedule: \"@daily\"\n", `x.yaml:8: sources[0].schedule: defined twice (first on line 7)`},
		{"duplicate top-level key", head + "brands:\n  - name: Other\n", "x.yaml:7: brands: defined twice (first on line 1)"},
		{"duplicate map key", head + "route:\n  receiver: r\n  match: {brand: Acme, brand: Other}\nreceivers: [{name: r, kind: outbox}]\n", "x.yaml:9: route.match.brand: defined twice (first on line 9)"},
		{"indented too little", head + "   location: Zagreb\n", "x.yaml:7: YAML syntax: did not find expected '-' indicator (check this line's indentation)"},
		{"indented too much", head + "      location: Zagreb\n", "x.yaml:7: YAML syntax: mapping values are not allowed in this context (check this line's indentation)"},
		{"nested too little", "server:\n  listen: 127.0.0.1:1\nbrands:\n  - name: Acme\n    locations:\n      - name: Zagreb\n     contact: Ana\n", "x.yaml:7: YAML syntax: did not find expected key (check this line's indentation)"},
		{"tab", head + "\tschedule: \"@hourly\"\n", "x.yaml:7: YAML syntax: found a tab character that violates indentation"},
		{"local ports", head + "clickhouse:\n  local_tcp_port: 19000\n  local_http_port: 18123\n", ""},
		{"local port out of range", head + "clickhouse:\n  local_tcp_port: 70000\n", "x.yaml:8: clickhouse.local_tcp_port: want a port from 1 to 65535, or 0 for the last one used"},
		{"local ports the same", head + "clickhouse:\n  local_tcp_port: 19000\n  local_http_port: 19000\n", "x.yaml:9: clickhouse.local_http_port: the same port as local_tcp_port (19000)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml), testSchema(nil))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("want one error %q, got %v", tc.want, err)
			}
			if !strings.HasPrefix(es[0].Error(), tc.want) {
				t.Errorf("got  %s\nwant %s", es[0].Error(), tc.want)
			}
		})
	}
}
