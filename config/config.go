// Package config reads and validates earshot.yaml. Every problem is reported
// as `FILE:LINE: path.to.field: what is wrong`, all at once. `${VAR}` and
// `${VAR:-default}` expand from the environment; secrets may only be written
// that way.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"github.com/earshot/earshot/mention"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"
)

// Secret is a value from the environment that never prints: fmt, slog,
// JSON and YAML all show "<secret>". Reveal returns the value.
type Secret string

func (Secret) String() string               { return "<secret>" }
func (Secret) GoString() string             { return "<secret>" }
func (Secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte("<secret>")) }
func (Secret) MarshalText() ([]byte, error) { return []byte("<secret>"), nil }
func (Secret) MarshalYAML() (any, error)    { return "<secret>", nil }
func (Secret) LogValue() slog.Value         { return slog.StringValue("<secret>") }

// Reveal returns the secret itself, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// ByteSize is a number of bytes, written as 5MB, 512KiB or a plain number.
type ByteSize int64

// File is the path the config was read from.
func (c *Config) File() string { return c.file }

// Line is the line of a field path such as "sources[2].url" (0 if unknown).
func (c *Config) Line(path string) int { return c.lines[path] }

// SourceByName returns the named source or nil.
func (c *Config) SourceByName(n string) *Source {
	return find(c.Sources, func(s *Source) bool { return s.Name == n })
}

// BrandByName returns the named brand or nil.
func (c *Config) BrandByName(n string) *Brand {
	return find(c.Brands, func(b *Brand) bool { return b.Name == n })
}

// Config is the whole file.
type Config struct {
	// UnsetSecrets: with Schema.DeferSecrets, the secrets left empty
	// because their variable is unset ("file:line: path: why").
	UnsetSecrets []string   `yaml:"-"`
	ClickHouse   ClickHouse `yaml:"clickhouse"`
	// Coordination: several `earshot run` workers sharing the sources and
	// electing one dispatcher through ZooKeeper; empty: one worker.
	Coordination Coordination `yaml:"coordination"`
	Collect      Collect      `yaml:"collect"`
	Brands       []Brand      `yaml:"brands"`
	Sources      []Source     `yaml:"sources"`
	Scoring      Scoring      `yaml:"scoring"`
	Receivers    []Receiver   `yaml:"receivers"`
	Route        *Route       `yaml:"route"`
	Storms       []Storms     `yaml:"storms"` // one detector, or a list (hourly and daily)
	Digests      []Digest     `yaml:"digests"`
	Server       Server       `yaml:"server"`
	Users        []User       `yaml:"users"` // who may use the web inbox and /api/v1 (users.go)

	file  string
	lines map[string]int
}

// ClickHouse says where durable state lives.
type ClickHouse struct {
	// DSN, e.g. clickhouse://user:${CH_PASSWORD}@host:9000/earshot. Empty:
	// earshot starts and manages a local clickhouse-server under LocalDir.
	DSN      string `yaml:"dsn"`
	LocalDir string `yaml:"local_dir"`
	// LocalTCPPort and LocalHTTPPort pin the local server's loopback
	// ports; 0 (the default): the ports it had last time, remembered
	// under LocalDir, else free ones.
	LocalTCPPort  int           `yaml:"local_tcp_port"`
	LocalHTTPPort int           `yaml:"local_http_port"`
	SpoolDir      string        `yaml:"spool_dir"`
	BatchSize     int           `yaml:"batch_size"`
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Cluster names a cluster of the servers' remote_servers: migrations
	// then run ON CLUSTER, as Replicated tables behind Distributed ones
	// (docs/scaling.md, "ClickHouse cluster"). Empty: one server.
	Cluster string `yaml:"cluster"`
}

// Coordination is the ZooKeeper that `earshot run` workers meet in
// (docs/scaling.md, "Workers").
type Coordination struct {
	ZooKeeper []string `yaml:"zookeeper"` // host:port of each server; empty: no coordination
	// SessionTimeout: a worker silent this long is gone, and its sources
	// and the dispatcher move (default 10s; ZooKeeper bounds it to 2..20
	// of its ticks).
	SessionTimeout time.Duration `yaml:"session_timeout"`
	Path           string        `yaml:"path"` // znode root; the workers live under <path>/<database>; default /earshot
}

// Collect holds the defaults every collector shares.
type Collect struct {
	UserAgent       string        `yaml:"user_agent"`
	Timeout         time.Duration `yaml:"timeout"`
	MaxBodySize     ByteSize      `yaml:"max_body_size"`
	HostDelay       time.Duration `yaml:"host_delay"` // minimum time between requests to one host
	Concurrency     int           `yaml:"concurrency"`
	IgnoreRobots    bool          `yaml:"ignore_robots_txt"`
	DefaultSchedule string        `yaml:"default_schedule"`
	// AllowPrivateNetworks lets collectors connect to loopback, private
	// (RFC 1918, fc00::/7), link-local (169.254.169.254, the cloud metadata
	// service) and other non-public addresses; off, a page or redirect
	// cannot turn a collector against the machine's own network.
	AllowPrivateNetworks bool `yaml:"allow_private_networks"`
}

// Brand is a business Earshot listens for.
type Brand struct {
	Name      string     `yaml:"name"`
	Keywords  []string   `yaml:"keywords"`
	Exclude   []string   `yaml:"exclude"`
	Locations []Location `yaml:"locations"`
}

// Location is one site of a brand (a shop, hotel, branch).
type Location struct {
	Name    string `yaml:"name"`
	Contact string `yaml:"contact"` // named in suggested replies: "Ana Horvat, front office manager"
	// Contacts is the contact as written in other languages, for replies
	// in them ({ru: "Анна Хорват, администратор"}); without one, a reply
	// in another language than English names the contact's name only (the
	// part before the first comma).
	Contacts map[string]string `yaml:"contacts"`
	Aliases  []string          `yaml:"aliases"`
	Address  string            `yaml:"address"`
	Timezone string            `yaml:"timezone"`
}

// Source is one thing to collect from. Keys other than the common ones are
// the kind's own options, decoded into the kind's options type (Options).
type Source struct {
	Name     string `yaml:"name"`
	Kind     string `yaml:"kind"`
	Brand    string `yaml:"brand"`
	Location string `yaml:"location"`
	Schedule string `yaml:"schedule"`
	Disabled bool   `yaml:"disabled"`

	Raw     *yaml.Node `yaml:",remain"`
	Options any        `yaml:"-"`
}

// Scoring options.
type Scoring struct {
	Languages     []string    `yaml:"languages"`
	MinConfidence float64     `yaml:"min_confidence"`
	Rules         []BrandRule `yaml:"rules"`
	// Model is a model file from earshot train combined with the lexicons;
	// empty: the model built into the binary; "none": lexicons only.
	Model string `yaml:"model"`
	// Models are per-brand model files (earshot train --feedback --brand).
	Models map[string]string `yaml:"models"`
}

// BrandRule adjusts scoring for one brand.
type BrandRule struct {
	Brand      string              `yaml:"brand"`
	AlwaysFlag []string            `yaml:"always_flag"`
	NeverFlag  []string            `yaml:"never_flag"`
	Aspects    map[string][]string `yaml:"aspects"`
}

// Receiver is somewhere alerts go. Kind-specific keys decode into Options.
type Receiver struct {
	Name       string      `yaml:"name"`
	Kind       string      `yaml:"kind"`
	MaxPerHour int         `yaml:"max_per_hour"`
	QuietHours *QuietHours `yaml:"quiet_hours"`
	// BusinessHours, when set, make the SLA clocks of cases routed here
	// (ack_within, resolve_within) count only those hours.
	BusinessHours *BusinessHours `yaml:"business_hours"`
	Raw           *yaml.Node     `yaml:",remain"`
	Options       any            `yaml:"-"`
}

// QuietHours suppress non-critical alerts to a receiver between two times.
type QuietHours struct {
	Start    string `yaml:"start"` // "22:00"
	End      string `yaml:"end"`   // "07:00"
	Timezone string `yaml:"timezone"`
}

// BusinessHours are the hours a receiver's staff work, for SLA clocks.
type BusinessHours struct {
	Days     []string `yaml:"days"`  // mon..sun; default mon-fri
	Start    string   `yaml:"start"` // "09:00"
	End      string   `yaml:"end"`   // "17:00"
	Timezone string   `yaml:"timezone"`
}

// Weekdays are the day names business_hours.days takes.
var Weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Route is a node of the alert routing tree (Alertmanager's shape).
type Route struct {
	Receiver      string            `yaml:"receiver"`
	Match         map[string]string `yaml:"match"`
	MatchRE       map[string]string `yaml:"match_re"`
	MinSeverity   string            `yaml:"min_severity"`
	Aspects       []string          `yaml:"aspects"`
	Signals       []string          `yaml:"signals"`
	Continue      bool              `yaml:"continue"`
	GroupBy       []string          `yaml:"group_by"`
	GroupWait     time.Duration     `yaml:"group_wait"`
	GroupInterval time.Duration     `yaml:"group_interval"`
	AckWithin     time.Duration     `yaml:"ack_within"`
	ResolveWithin time.Duration     `yaml:"resolve_within"`
	EscalateTo    []string          `yaml:"escalate_to"`
	Routes        []*Route          `yaml:"routes"`
}

// Storms configures a spike detector: negative volume per brand and
// location, and per aspect, in the last window against the windows before.
// `storms:` takes one detector (a mapping) or several (a list), e.g. the
// last hour against the 12 before and the last day against the 7 before.
type Storms struct {
	Receiver  string        `yaml:"receiver"`
	Window    time.Duration `yaml:"window"`    // default 1h
	Baselines int           `yaml:"baselines"` // previous windows to compare with; default 12
	K         float64       `yaml:"k"`         // standard deviations above the mean; default 3
	Ratio     float64       `yaml:"ratio"`     // and at least this many times the mean; default 3
	MinCount  int           `yaml:"min_count"` // and at least this many mentions; default 5
	Cooldown  time.Duration `yaml:"cooldown"`  // one alert per storm and key; default 6h
}

// Digest is a periodic summary mail to a receiver.
type Digest struct {
	Receiver string `yaml:"receiver"`
	Schedule string `yaml:"schedule"` // cron, default "0 8 * * *" (daily at 08:00)
	Period   string `yaml:"period"`   // daily or weekly; default daily
	Brand    string `yaml:"brand"`    // empty: every brand
	// CountBy: which time puts a mention in the period, published (the
	// default) or collected (what was discovered, however old).
	CountBy string `yaml:"count_by"`
}

// Server is earshot run's HTTP listener (inbox, ack links, /metrics).
type Server struct {
	Listen  string `yaml:"listen"`
	BaseURL string `yaml:"base_url"`
	// LinkKey signs the acknowledge/resolve links in alerts; without it,
	// alerts carry no links (use `earshot cases` instead). At least
	// MinLinkKeyBytes random bytes: `openssl rand -base64 48`.
	LinkKey Secret        `yaml:"link_key"`
	LinkTTL time.Duration `yaml:"link_ttl"`
}

// Headers are HTTP headers a receiver sends (a webhook's). A header that
// carries a credential, by its name or by an auth scheme in its value, must
// come from the environment like every secret; Parse checks the text as
// written in the file (validateHeaders), for any receiver options field of
// this type.
type Headers map[string]string

// Schema tells Load which source kinds exist and what options each takes.
// It is built explicitly by the caller (cmd/earshot), not by init().
type Schema struct {
	// SourceKinds maps a kind to a constructor of its options (a pointer to
	// a struct); nil means the kind takes no options.
	SourceKinds map[string]func() any
	// ReceiverKinds is the same for receiver kinds (alerts.ReceiverRegistry
	// .Kinds). Nil accepts any receiver kind and leaves its options
	// undecoded in Raw: for tests and tools that route but send nothing.
	ReceiverKinds map[string]func() any
	Getenv        func(string) (string, bool) // default os.LookupEnv
	// DeferSecrets: a secret whose variable is unset is left empty (listed
	// in Config.UnsetSecrets) instead of failing the load: for commands
	// that send nothing and sign nothing (cases list, report).
	DeferSecrets bool
}

// Labels routes may match on.
var RouteLabels = []string{"brand", "location", "source", "kind", "lang", "severity", "aspect", "signal"}

// Load reads, expands and validates a config file.
func Load(path string, schema Schema) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, schema)
}

// Parse is Load on bytes; name is used in error messages.
func Parse(name string, data []byte, schema Schema) (*Config, error) {
	if schema.Getenv == nil {
		schema.Getenv = osGetenv
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: name, Line: 1, Msg: "empty config"}}
		}
		return nil, Errors{yamlError(name, data, err)}
	}
	listify(&root, "storms")
	d := &decoder{file: name, lines: map[string]int{}, getenv: schema.Getenv, deferSecrets: schema.DeferSecrets}
	c := &Config{}
	d.decode(&root, reflect.ValueOf(c).Elem(), "")
	c.file, c.lines, c.UnsetSecrets = name, d.lines, d.unset
	c.defaults()
	c.validate(d, schema)
	if len(d.errs) > 0 {
		sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
		return c, d.errs
	}
	return c, nil
}

// listify turns a top-level key's single mapping into a one-item list, for
// keys that take one item or several.
func listify(root *yaml.Node, key string) {
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if v := doc.Content[i+1]; doc.Content[i].Value == key && v.Kind == yaml.MappingNode {
			doc.Content[i+1] = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: v.Line, Column: v.Column, Content: []*yaml.Node{v}}
		}
	}
}

func (c *Config) defaults() {
	if c.ClickHouse.LocalDir == "" {
		c.ClickHouse.LocalDir = "var/clickhouse"
	}
	if c.ClickHouse.SpoolDir == "" {
		c.ClickHouse.SpoolDir = "var/spool"
	}
	if c.ClickHouse.BatchSize == 0 {
		c.ClickHouse.BatchSize = 1000
	}
	if c.ClickHouse.FlushInterval == 0 {
		c.ClickHouse.FlushInterval = 2 * time.Second
	}
	c.Coordination.SessionTimeout = cmp.Or(c.Coordination.SessionTimeout, 10*time.Second)
	c.Coordination.Path = cmp.Or(c.Coordination.Path, "/earshot")
	if c.Collect.UserAgent == "" {
		c.Collect.UserAgent = "Earshot/0.1 (review monitoring; +https://github.com/earshot/earshot)"
	}
	if c.Collect.Timeout == 0 {
		c.Collect.Timeout = 20 * time.Second
	}
	if c.Collect.MaxBodySize == 0 {
		c.Collect.MaxBodySize = 5 << 20
	}
	if c.Collect.HostDelay == 0 {
		c.Collect.HostDelay = time.Second
	}
	if c.Collect.Concurrency == 0 {
		c.Collect.Concurrency = 4
	}
	if c.Collect.DefaultSchedule == "" {
		c.Collect.DefaultSchedule = "@every 15m"
	}
	// scoring.min_confidence left 0: the scorer's defaults (0.5 for the
	// lexicons, each model's own operating point for its probability).
	if c.Server.Listen == "" {
		c.Server.Listen = "127.0.0.1:8377"
	}
	for i := range c.Storms {
		st := &c.Storms[i]
		st.Window = cmp.Or(st.Window, time.Hour)
		st.Baselines = cmp.Or(st.Baselines, 12)
		st.K = cmp.Or(st.K, 3)
		st.Ratio = cmp.Or(st.Ratio, 3)
		st.MinCount = cmp.Or(st.MinCount, 5)
		st.Cooldown = cmp.Or(st.Cooldown, 6*time.Hour)
	}
	for i := range c.Receivers {
		if b := c.Receivers[i].BusinessHours; b != nil && len(b.Days) == 0 {
			b.Days = []string{"mon", "tue", "wed", "thu", "fri"}
		}
	}
	for i := range c.Digests {
		c.Digests[i].Schedule = cmp.Or(c.Digests[i].Schedule, "0 8 * * *")
		c.Digests[i].Period = cmp.Or(c.Digests[i].Period, "daily")
		c.Digests[i].CountBy = cmp.Or(c.Digests[i].CountBy, string(mention.ByPublished))
	}
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// MinEvery is the shortest "@every" schedule: cron runs a job at most once
// a second, and silently turns "@every 0s" or "@every 100ms" into every
// second.
const MinEvery = time.Second

// ParseSchedule parses a 5-field cron expression or a descriptor such as
// @hourly or "@every 15m".
func ParseSchedule(s string) (cron.Schedule, error) {
	if d, ok := strings.CutPrefix(strings.TrimSpace(s), "@every "); ok {
		if every, err := time.ParseDuration(strings.TrimSpace(d)); err == nil && every < MinEvery {
			return nil, fmt.Errorf("@every %s: shorter than the minimum, %s", strings.TrimSpace(d), MinEvery)
		}
	}
	return cronParser.Parse(s)
}

func (c *Config) validate(d *decoder, schema Schema) {
	if c.Collect.Concurrency < 0 {
		d.at("collect.concurrency", "must be positive")
	}
	if _, err := ParseSchedule(c.Collect.DefaultSchedule); err != nil {
		d.at("collect.default_schedule", "bad cron expression %q: %v", c.Collect.DefaultSchedule, err)
	}
	if c.ClickHouse.BatchSize < 0 {
		d.at("clickhouse.batch_size", "must be positive")
	}
	for _, p := range []struct {
		key  string
		port int
	}{{"local_tcp_port", c.ClickHouse.LocalTCPPort}, {"local_http_port", c.ClickHouse.LocalHTTPPort}} {
		if p.port < 0 || p.port > 65535 {
			d.at("clickhouse."+p.key, "want a port from 1 to 65535, or 0 for the last one used")
		}
	}
	if p := c.ClickHouse.LocalTCPPort; p != 0 && p == c.ClickHouse.LocalHTTPPort {
		d.at("clickhouse.local_http_port", "the same port as local_tcp_port (%d)", p)
	}
	if cl := c.ClickHouse.Cluster; cl != "" && !clusterName.MatchString(cl) {
		d.at("clickhouse.cluster", "want a cluster name of the servers' remote_servers (letters, digits, _), got %q", cl)
	}
	c.validateCoordination(d)

	brands := map[string]*Brand{}
	brandNames := map[string]bool{}
	for i := range c.Brands {
		b := &c.Brands[i]
		p := fmt.Sprintf("brands[%d]", i)
		if uniqueName(d, p+".name", "brand", b.Name, brandNames) {
			brands[b.Name] = b
		}
		locs := map[string]bool{}
		for j, l := range b.Locations {
			lp := fmt.Sprintf("%s.locations[%d].name", p, j)
			if strings.TrimSpace(l.Name) == "" {
				d.at(lp, "required")
			} else if locs[l.Name] {
				d.at(lp, "location %q defined twice in brand %q", l.Name, b.Name)
			}
			locs[l.Name] = true
			if l.Timezone != "" {
				if _, err := time.LoadLocation(l.Timezone); err != nil {
					d.at(fmt.Sprintf("%s.locations[%d].timezone", p, j), "unknown time zone %q", l.Timezone)
				}
			}
		}
	}

	names := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		p := fmt.Sprintf("sources[%d]", i)
		if uniqueName(d, p+".name", "source", s.Name, names) && !validName.MatchString(s.Name) {
			d.at(p+".name", "%q: use letters, digits, '-', '_' and '.' only", s.Name)
		}
		if s.Brand == "" {
			d.at(p+".brand", "required")
		} else if b := brands[s.Brand]; b == nil {
			d.at(p+".brand", "unknown brand %q%s", s.Brand, suggest(s.Brand, keys(brands)))
		} else if s.Location != "" && !hasLocation(b, s.Location) {
			d.at(p+".location", "brand %q has no location %q", s.Brand, s.Location)
		}
		if s.Schedule != "" {
			if _, err := ParseSchedule(s.Schedule); err != nil {
				d.at(p+".schedule", "bad cron expression %q: %v", s.Schedule, err)
			}
		}
		d.also = []string{"name", "kind", "brand", "location", "schedule", "disabled"}
		s.Options = decodeKind(d, p, s.Kind, s.Raw, schema.SourceKinds)
		d.also = nil
	}

	rnames := map[string]bool{}
	for i := range c.Receivers {
		r := &c.Receivers[i]
		p := fmt.Sprintf("receivers[%d]", i)
		uniqueName(d, p+".name", "receiver", r.Name, rnames)
		if r.MaxPerHour < 0 {
			d.at(p+".max_per_hour", "must be positive")
		}
		if q := r.QuietHours; q != nil {
			for _, f := range []struct{ k, v string }{{"start", q.Start}, {"end", q.End}} {
				if _, err := time.Parse("15:04", f.v); err != nil {
					d.at(p+".quiet_hours."+f.k, "want HH:MM, got %q", f.v)
				}
			}
			if _, err := time.LoadLocation(q.Timezone); q.Timezone != "" && err != nil {
				d.at(p+".quiet_hours.timezone", "unknown time zone %q", q.Timezone)
			}
		}
		if b := r.BusinessHours; b != nil {
			for _, f := range []struct{ k, v string }{{"start", b.Start}, {"end", b.End}} {
				if _, err := time.Parse("15:04", f.v); err != nil {
					d.at(p+".business_hours."+f.k, "want HH:MM, got %q", f.v)
				}
			}
			if b.Start >= b.End {
				d.at(p+".business_hours.end", "must be after start (%s); overnight shifts are not supported", b.Start)
			}
			if _, err := time.LoadLocation(b.Timezone); b.Timezone != "" && err != nil {
				d.at(p+".business_hours.timezone", "unknown time zone %q", b.Timezone)
			}
			for j, day := range b.Days {
				if !slices.Contains(Weekdays, strings.ToLower(day)) {
					d.at(fmt.Sprintf("%s.business_hours.days[%d]", p, j), "want one of %s, got %q", strings.Join(Weekdays, ", "), day)
				}
			}
		}
		if schema.ReceiverKinds == nil {
			if r.Kind == "" {
				d.at(p+".kind", "required")
			}
			continue
		}
		d.also = []string{"name", "kind", "max_per_hour", "quiet_hours", "business_hours"}
		r.Options = decodeKind(d, p, r.Kind, r.Raw, schema.ReceiverKinds)
		d.also = nil
		validateHeaders(d, p, r.Options, r.Raw)
	}
	if c.Route != nil {
		if c.Route.Receiver == "" {
			d.at("route.receiver", "the root route needs a default receiver")
		}
		c.validateRoute(d, "route", c.Route, rnames)
	}

	windows := map[time.Duration]bool{}
	for i, st := range c.Storms {
		p := fmt.Sprintf("storms[%d]", i)
		if !rnames[st.Receiver] {
			d.at(p+".receiver", "undefined receiver %q%s", st.Receiver, suggest(st.Receiver, keysB(rnames)))
		}
		if st.Window < time.Minute {
			d.at(p+".window", "must be at least 1m")
		}
		if windows[st.Window] {
			d.at(p+".window", "another detector already has window %s", st.Window)
		}
		windows[st.Window] = true
		if st.Baselines < 2 {
			d.at(p+".baselines", "need at least 2 windows to compare with")
		}
	}
	for i, dg := range c.Digests {
		p := fmt.Sprintf("digests[%d]", i)
		if !rnames[dg.Receiver] {
			d.at(p+".receiver", "undefined receiver %q%s", dg.Receiver, suggest(dg.Receiver, keysB(rnames)))
		}
		if _, err := ParseSchedule(dg.Schedule); err != nil {
			d.at(p+".schedule", "%v", err)
		}
		if dg.Period != "daily" && dg.Period != "weekly" {
			d.at(p+".period", "want daily or weekly, got %q", dg.Period)
		}
		if dg.Brand != "" && brands[dg.Brand] == nil {
			d.at(p+".brand", "unknown brand %q", dg.Brand)
		}
		if _, err := mention.ParseCountBy(dg.CountBy); err != nil {
			d.at(p+".count_by", "%v", err)
		}
	}
	for i, l := range c.Scoring.Languages {
		if known := mention.Languages(); !slices.Contains(known, l) {
			d.at(fmt.Sprintf("scoring.languages[%d]", i), "unknown language %q (known: %s)", l, strings.Join(known, ", "))
		}
	}
	if c.Scoring.MinConfidence < 0 || c.Scoring.MinConfidence > 1 {
		d.at("scoring.min_confidence", "must be between 0 and 1")
	}
	for i, r := range c.Scoring.Rules {
		if brands[r.Brand] == nil {
			d.at(fmt.Sprintf("scoring.rules[%d].brand", i), "unknown brand %q", r.Brand)
		}
	}
	if m := c.Scoring.Model; m != "" && m != "none" {
		if _, err := os.Stat(m); err != nil {
			d.at("scoring.model", "model file %s: %v", m, errors.Unwrap(err))
		}
	}
	for _, b := range slices.Sorted(maps.Keys(c.Scoring.Models)) {
		if brands[b] == nil {
			d.at("scoring.models."+b, "unknown brand %q", b)
		} else if _, err := os.Stat(c.Scoring.Models[b]); err != nil {
			d.at("scoring.models."+b, "model file %s: %v", c.Scoring.Models[b], errors.Unwrap(err))
		}
	}
	c.validateServer(d)
	c.validateUsers(d)
}

// checkListen accepts what net.Listen("tcp", addr) takes: host:port, with
// an empty host for every interface and port 0 for any free port.
func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port such as 127.0.0.1:8377 or :8377, got %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q: want a number from 0 to 65535", port)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("host %q: want a host name or an IP address", host)
	}
	return nil
}

// checkBaseURL wants the absolute http(s) URL staff reach the inbox at:
// links in alerts are built on it, and a relative one ("inbox.example.com")
// would make every link in every mail a dead one.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", raw, errors.Unwrap(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an absolute http:// or https:// URL such as https://earshot.example.com, got %q", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: no query or fragment: case links are appended to it", raw)
	}
	return nil
}

// MinLinkKeyBytes is the shortest server.link_key accepted: the key is all
// that stands between a guessed HMAC and a forged ack/resolve link, so it
// needs the full strength of HMAC-SHA256 (a 1-character key let a forged
// token resolve a case).
const MinLinkKeyBytes = 32

// linkKeyHint says how to make a good key.
const linkKeyHint = "generate one with `openssl rand -base64 48` and set it in the environment"

func (c *Config) validateCoordination(d *decoder) {
	co := c.Coordination
	for i, s := range co.ZooKeeper {
		if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
			d.at(fmt.Sprintf("coordination.zookeeper[%d]", i), "want host:port, got %q", s)
		}
	}
	if co.SessionTimeout < time.Second || co.SessionTimeout > 5*time.Minute {
		d.at("coordination.session_timeout", "want 1s to 5m, got %s", co.SessionTimeout)
	}
	if !strings.HasPrefix(co.Path, "/") || (len(co.Path) > 1 && strings.HasSuffix(co.Path, "/")) || strings.Contains(co.Path, "//") {
		d.at("coordination.path", "want an absolute znode path such as /earshot, got %q", co.Path)
	}
}

func (c *Config) validateServer(d *decoder) {
	if err := checkListen(c.Server.Listen); err != nil {
		d.at("server.listen", "%v", err)
	}
	if c.Server.BaseURL != "" {
		if err := checkBaseURL(c.Server.BaseURL); err != nil {
			d.at("server.base_url", "%v", err)
		}
	}
	k := c.Server.LinkKey.Reveal()
	if k == "" {
		return // no key: alerts carry no links
	}
	if len(k) < MinLinkKeyBytes {
		d.at("server.link_key", "too short (%d bytes): need at least %d random bytes; %s", len(k), MinLinkKeyBytes, linkKeyHint)
		return
	}
	// Length alone lets "changemechangemechangemechangeme" through; a
	// random key of 32 bytes or more (raw, hex or base64) all but never has
	// fewer than 8 distinct bytes.
	distinct := map[byte]bool{}
	for i := 0; i < len(k); i++ {
		distinct[k[i]] = true
	}
	if len(distinct) < 8 {
		d.at("server.link_key", "not random (only %d distinct characters); %s", len(distinct), linkKeyHint)
	}
}

// credentialHeaderName matches header names whose values are credentials
// (Authorization, Proxy-Authorization, X-Api-Key, X-Auth-Token, Cookie ...).
var credentialHeaderName = regexp.MustCompile(`(?i)auth|token|secret|key|passw|cookie|session`)

// credentialValue matches values that carry an auth scheme whatever the
// header is called.
var credentialValue = regexp.MustCompile(`(?i)^\s*(bearer|basic|token|digest|apikey)\b`)

// headerSecretRef is how a credential header may be written: ${VAR}, or an
// auth scheme followed by ${VAR} ("Bearer ${TOKEN}"); no ${VAR:-default},
// whose default would be a secret written in the file.
var headerSecretRef = regexp.MustCompile(`(?i)^\s*(?:(?:bearer|basic|token|digest|apikey|api-key|key|ssws|splunk|geniekey|hmac)\s+)?\$\{[A-Za-z_][A-Za-z0-9_]*\}\s*$`)

var headersType = reflect.TypeOf(Headers(nil))

// validateHeaders makes the credential headers of a receiver's options
// (every field of type Headers) come from the environment like every other
// secret. It reads the raw YAML (raw holds the receiver's kind-specific
// keys), because only the text before ${VAR} expansion tells whether the
// value was written into the file.
func validateHeaders(d *decoder, p string, opts any, raw *yaml.Node) {
	if opts == nil || raw == nil || raw.Kind != yaml.MappingNode {
		return
	}
	keys := map[string]bool{}
	t := reflect.TypeOf(opts)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.Type == headersType {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			keys[name] = true
		}
	}
	for i := 0; i+1 < len(raw.Content); i += 2 {
		if !keys[raw.Content[i].Value] {
			continue
		}
		key := raw.Content[i].Value
		h := raw.Content[i+1]
		if h.Kind == yaml.AliasNode {
			h = h.Alias
		}
		if h == nil || h.Kind != yaml.MappingNode {
			continue // the decoder has reported it
		}
		for j := 0; j+1 < len(h.Content); j += 2 {
			name, val := h.Content[j].Value, h.Content[j+1]
			if val.Kind == yaml.AliasNode {
				val = val.Alias
			}
			if val == nil || val.Kind != yaml.ScalarNode {
				continue
			}
			if !credentialHeaderName.MatchString(name) && !credentialValue.MatchString(val.Value) {
				continue
			}
			if !headerSecretRef.MatchString(val.Value) {
				d.at(p+"."+key+"."+name, "looks like a credential: secrets must come from the environment; write ${SOME_VAR} or e.g. \"Bearer ${SOME_VAR}\", not the value")
			}
		}
	}
}

func (c *Config) validateRoute(d *decoder, p string, r *Route, receivers map[string]bool) {
	if r.Receiver != "" && !receivers[r.Receiver] {
		d.at(p+".receiver", "undefined receiver %q used in route%s", r.Receiver, suggest(r.Receiver, keysB(receivers)))
	}
	for j, e := range r.EscalateTo {
		if !receivers[e] {
			d.at(fmt.Sprintf("%s.escalate_to[%d]", p, j), "undefined receiver %q used in escalation", e)
		}
	}
	if len(r.EscalateTo) > 0 && r.AckWithin == 0 {
		d.at(p+".ack_within", "required when escalate_to is set")
	}
	for k := range r.Match {
		if !slices.Contains(RouteLabels, k) {
			d.at(p+".match."+k, "unknown label (known: %s)", strings.Join(RouteLabels, ", "))
		}
	}
	for k, re := range r.MatchRE {
		if !slices.Contains(RouteLabels, k) {
			d.at(p+".match_re."+k, "unknown label (known: %s)", strings.Join(RouteLabels, ", "))
		}
		if _, err := regexp.Compile("^(?:" + re + ")$"); err != nil {
			d.at(p+".match_re."+k, "bad regular expression: %v", err)
		}
	}
	if r.MinSeverity != "" && !slices.Contains([]string{"none", "low", "medium", "high", "critical"}, r.MinSeverity) {
		d.at(p+".min_severity", "want none, low, medium, high or critical, got %q", r.MinSeverity)
	}
	for j, g := range r.GroupBy {
		if !slices.Contains(RouteLabels, g) {
			d.at(fmt.Sprintf("%s.group_by[%d]", p, j), "unknown label %q (known: %s)", g, strings.Join(RouteLabels, ", "))
		}
	}
	for i, child := range r.Routes {
		if child == nil {
			continue
		}
		c.validateRoute(d, fmt.Sprintf("%s.routes[%d]", p, i), child, receivers)
	}
}

// uniqueName reports a missing or repeated name and records it in seen.
func uniqueName(d *decoder, path, what, name string, seen map[string]bool) bool {
	switch {
	case strings.TrimSpace(name) == "":
		d.at(path, "required")
		return false
	case seen[name]:
		d.at(path, "%s %q defined twice", what, name)
		return false
	}
	seen[name] = true
	return true
}

// decodeKind checks kind and decodes the kind-specific keys in raw.
func decodeKind(d *decoder, p, kind string, raw *yaml.Node, kinds map[string]func() any) any {
	if kind == "" {
		d.at(p+".kind", "required (one of: %s)", strings.Join(sortedKeys(kinds), ", "))
		return nil
	}
	mk, ok := kinds[kind]
	if !ok {
		d.at(p+".kind", "unknown kind %q (one of: %s)", kind, strings.Join(sortedKeys(kinds), ", "))
		return nil
	}
	if mk == nil {
		if raw != nil {
			for i := 0; i+1 < len(raw.Content); i += 2 {
				d.errorf(raw.Content[i].Line, p+"."+raw.Content[i].Value, "unknown field (kind %q takes no options)", kind)
			}
		}
		return nil
	}
	opts := mk()
	if raw != nil {
		d.decode(raw, reflect.ValueOf(opts).Elem(), p)
	}
	if v, ok := opts.(interface{ Validate() []FieldError }); ok {
		for _, fe := range v.Validate() {
			d.at(join(p, fe.Field), "%s", fe.Msg)
		}
	}
	return opts
}

// FieldError is what an options type's Validate returns: the field (relative
// to the source or receiver) and what is wrong with it.
type FieldError struct{ Field, Msg string }

var validName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// clusterName is what ON CLUSTER takes unquoted.
var clusterName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func hasLocation(b *Brand, name string) bool {
	for _, l := range b.Locations {
		if l.Name == name {
			return true
		}
	}
	return false
}

func suggest(s string, names []string) string {
	if c := closest(s, names); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}

func keys(m map[string]*Brand) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func keysB(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sortedKeys(m map[string]func() any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func find[T any](list []T, ok func(*T) bool) *T {
	for i := range list {
		if ok(&list[i]) {
			return &list[i]
		}
	}
	return nil
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// yamlError turns a yaml.v3 syntax error into our one-line form, at the
// line where the problem is (see syntaxLine).
func yamlError(name string, data []byte, err error) Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = yamlLineRE.ReplaceAllString(err.Error(), "")
	}
	line, msg = syntaxLine(data, line, msg)
	return Error{File: name, Line: line, Msg: "YAML syntax: " + msg}
}
