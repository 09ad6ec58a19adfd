// Package alerts turns flagged mentions into cases and routes them to the
// people who act on them, in stages shaped like Alertmanager's: the
// Dispatcher's loop (dispatch.go) drives the Notifier (notify.go, flush.go),
// which composes the Router (router.go), the Grouper and its timers
// (group.go), the Inhibitor (inhibit.go) over the storms StormWatch finds
// (storm.go), the Throttle with quiet hours (throttle.go, policy.go), the
// NotifyLog (notifylog.go) and the retrying Sender (retry.go); digests
// (digest.go) and escalation (escalate.go) are stages of their own, and
// the Composer (compose.go) gives every message its links and replies.
// Each stage reads and writes through its own narrow interface; the
// package knows no database. This file holds the routing tree, shaped like
// Alertmanager's (dispatch/route.go): depth first, the first matching child
// wins unless it says continue, and children inherit their parent's options.
package alerts

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// DefaultReceiver is used when the config routes nowhere: alerts are written
// as .eml files, so a fresh install shows them without any account.
const DefaultReceiver = "outbox"

// Labels are what routes match on.
type Labels struct {
	Brand, Location, Source, Kind, Lang, Severity string
	Aspects, Signals                              []string
}

// LabelsOf returns a mention's routing labels.
func LabelsOf(m mention.Mention) Labels {
	return Labels{Brand: m.Brand, Location: m.Location, Source: m.Source, Kind: m.Kind, Lang: m.Lang,
		Severity: m.Severity, Aspects: m.Aspects, Signals: m.Signals}
}

// values returns a label's values: one for most, any number for aspect and signal.
func (l Labels) values(name string) []string {
	switch name {
	case "brand":
		return []string{l.Brand}
	case "location":
		return []string{l.Location}
	case "source":
		return []string{l.Source}
	case "kind":
		return []string{l.Kind}
	case "lang":
		return []string{l.Lang}
	case "severity":
		return []string{l.Severity}
	case "aspect":
		return l.Aspects
	case "signal":
		return l.Signals
	}
	return nil
}

type matcher struct {
	label string
	value string         // equality when re is nil
	re    *regexp.Regexp // anchored
}

// matches is true when any value of the label matches (so "aspect: wait"
// matches a mention whose aspects include wait).
func (m matcher) matches(l Labels) bool {
	for _, v := range l.values(m.label) {
		if m.re != nil && m.re.MatchString(v) || m.re == nil && v == m.value {
			return true
		}
	}
	return false
}

// Route is a node of the routing tree.
type Route struct {
	Receiver      string
	GroupBy       []string
	GroupWait     time.Duration
	GroupInterval time.Duration
	AckWithin     time.Duration // SLA: acknowledge within (escalates)
	ResolveWithin time.Duration // SLA: resolve within (overdue in digests and case lists)
	EscalateTo    []string
	Continue      bool
	Routes        []*Route

	matchers    []matcher
	minSeverity int      // rank in mention.Severities; 0 matches all
	aspects     []string // any of, when set
	signals     []string // any of, when set
}

// Defaults for a root route that leaves them unset (Alertmanager's values).
const (
	defaultGroupWait     = 30 * time.Second
	defaultGroupInterval = 5 * time.Minute
)

// Tree builds the routing tree of a validated config. Without a route, all
// cases go to the first receiver, or to DefaultReceiver when there is none.
func Tree(cfg *config.Config) (*Route, error) {
	rc := cfg.Route
	if rc == nil {
		recv := DefaultReceiver
		if len(cfg.Receivers) > 0 {
			recv = cfg.Receivers[0].Name
		}
		rc = &config.Route{Receiver: recv}
	}
	root := &Route{GroupWait: defaultGroupWait, GroupInterval: defaultGroupInterval}
	return build(rc, root, "route")
}

func build(c *config.Route, parent *Route, path string) (*Route, error) {
	r := &Route{
		Receiver: or(c.Receiver, parent.Receiver), GroupBy: parent.GroupBy,
		GroupWait: orDur(c.GroupWait, parent.GroupWait), GroupInterval: orDur(c.GroupInterval, parent.GroupInterval),
		AckWithin: orDur(c.AckWithin, parent.AckWithin), ResolveWithin: orDur(c.ResolveWithin, parent.ResolveWithin), EscalateTo: parent.EscalateTo,
		Continue: c.Continue, aspects: c.Aspects, signals: c.Signals,
	}
	if c.GroupBy != nil {
		r.GroupBy = c.GroupBy
	}
	if c.EscalateTo != nil {
		r.EscalateTo = c.EscalateTo
	}
	if c.MinSeverity != "" {
		if r.minSeverity = mention.SeverityRank(c.MinSeverity); r.minSeverity < 0 {
			return nil, fmt.Errorf("%s.min_severity: unknown severity %q", path, c.MinSeverity)
		}
	}
	for _, k := range sortedKeys(c.Match) {
		r.matchers = append(r.matchers, matcher{label: k, value: c.Match[k]})
	}
	for _, k := range sortedKeys(c.MatchRE) {
		re, err := regexp.Compile("^(?:" + c.MatchRE[k] + ")$")
		if err != nil {
			return nil, fmt.Errorf("%s.match_re.%s: %w", path, k, err)
		}
		r.matchers = append(r.matchers, matcher{label: k, re: re})
	}
	for i, cc := range c.Routes {
		if cc == nil {
			continue
		}
		child, err := build(cc, r, fmt.Sprintf("%s.routes[%d]", path, i))
		if err != nil {
			return nil, err
		}
		r.Routes = append(r.Routes, child)
	}
	return r, nil
}

// Match returns the routes a case goes to: the deepest matching nodes,
// depth first, stopping after the first matching child unless it has
// Continue. A node none of whose children match handles the case itself.
func (r *Route) Match(l Labels) []*Route {
	if !r.matches(l) {
		return nil
	}
	var all []*Route
	for _, c := range r.Routes {
		m := c.Match(l)
		all = append(all, m...)
		if m != nil && !c.Continue {
			break
		}
	}
	if len(all) == 0 {
		all = []*Route{r}
	}
	return all
}

func (r *Route) matches(l Labels) bool {
	for _, m := range r.matchers {
		if !m.matches(l) {
			return false
		}
	}
	if r.minSeverity > 0 && mention.SeverityRank(l.Severity) < r.minSeverity {
		return false
	}
	if len(r.aspects) > 0 && !anyOf(r.aspects, l.Aspects) {
		return false
	}
	if len(r.signals) > 0 && !anyOf(r.signals, l.Signals) {
		return false
	}
	return true
}

// GroupKey identifies the group a case joins at this route: the receiver
// and the values of the route's group_by labels. Cases with equal keys
// arrive as one message.
func (r *Route) GroupKey(l Labels) string {
	parts := []string{r.Receiver}
	for _, g := range r.GroupBy {
		vals := append([]string(nil), l.values(g)...)
		sort.Strings(vals)
		parts = append(parts, g+"="+strings.Join(vals, ","))
	}
	return strings.Join(parts, "|")
}

func anyOf(want, have []string) bool {
	for _, w := range want {
		for _, h := range have {
			if w == h {
				return true
			}
		}
	}
	return false
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func orDur(a, b time.Duration) time.Duration {
	if a != 0 {
		return a
	}
	return b
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// byReceiverKey finds the route that queued a group from its receiver and
// group key alone (the flush decides due-ness before reading any mention):
// the nodes with that receiver and the key's group_by labels. When several
// differ in their timers, the shortest group_wait wins, so a case is never
// held longer than any route asked.
func (r *Route) byReceiverKey(recv, key string) *Route {
	parts := strings.Split(key, "|")
	var labels []string
	for _, p := range parts[1:] {
		name, _, _ := strings.Cut(p, "=")
		labels = append(labels, name)
	}
	var best *Route
	var walk func(n *Route)
	walk = func(n *Route) {
		if n.Receiver == recv && slices.Equal(n.GroupBy, labels) && (best == nil || n.GroupWait < best.GroupWait) {
			best = n
		}
		for _, c := range n.Routes {
			walk(c)
		}
	}
	walk(r)
	return best
}

// escalates reports whether any route has an escalation chain.
// escalation returns the shortest ack_within and the longest escalation
// chain of the routes that escalate (steps 0: none does).
func (r *Route) escalation() (ack time.Duration, steps int) {
	if r.AckWithin > 0 && len(r.EscalateTo) > 0 {
		ack, steps = r.AckWithin, len(r.EscalateTo)
	}
	for _, c := range r.Routes {
		a, k := c.escalation()
		if k == 0 {
			continue
		}
		if steps == 0 || a < ack {
			ack = a
		}
		steps = max(steps, k)
	}
	return ack, steps
}
