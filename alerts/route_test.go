package alerts

import (
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/config"
)

const routes = `
brands: [{name: Acme, locations: [{name: Zagreb}, {name: Split}]}]
receivers:
  - {name: box, kind: outbox}
  - {name: zagreb-desk, kind: outbox}
  - {name: legal, kind: outbox}
  - {name: managers, kind: outbox}
  - {name: hr-team, kind: outbox}
route:
  receiver: box
  group_by: [location]
  routes:
    - receiver: legal
      signals: [legal, health]
      continue: true
      group_by: []
    - receiver: zagreb-desk
      match: {location: Zagreb}
      min_severity: medium
      ack_within: 2h
      escalate_to: [managers]
      routes:
        - receiver: managers
          match_re: {aspect: "safety|cleanliness"}
    - receiver: hr-team
      match_re: {lang: "hr|bs|sr"}
      match: {aspect: staff}
`

func tree(t *testing.T) *Route {
	t.Helper()
	cfg, err := config.Parse("routes.yaml", []byte(routes), config.Schema{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Tree(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMatch(t *testing.T) {
	root := tree(t)
	tests := []struct {
		name   string
		labels Labels
		want   string // receivers, in order
	}{
		{"nothing special goes to the root", Labels{Location: "Split", Severity: "low"}, "box"},
		{"zagreb, severe enough", Labels{Location: "Zagreb", Severity: "high"}, "zagreb-desk"},
		{"zagreb, below min severity falls through", Labels{Location: "Zagreb", Severity: "low"}, "box"},
		{"nested regex on a multi-valued label", Labels{Location: "Zagreb", Severity: "medium", Aspects: []string{"wait", "cleanliness"}}, "managers"},
		{"continue: legal and then the next match", Labels{Location: "Zagreb", Severity: "critical", Signals: []string{"legal"}}, "legal,zagreb-desk"},
		{"continue with no other match: legal only", Labels{Location: "Split", Severity: "low", Signals: []string{"health"}}, "legal"},
		{"equality and regex together", Labels{Location: "Split", Lang: "bs", Aspects: []string{"staff"}}, "hr-team"},
		{"regex is anchored", Labels{Location: "Split", Lang: "hrv", Aspects: []string{"staff"}}, "box"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range root.Match(tt.labels) {
				got = append(got, r.Receiver)
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("routed to %v, want %s", got, tt.want)
			}
		})
	}
}

func TestInheritance(t *testing.T) {
	root := tree(t)
	zg := root.Routes[1]
	mgr := zg.Routes[0]
	if mgr.AckWithin != 2*time.Hour || strings.Join(mgr.EscalateTo, ",") != "managers" || strings.Join(mgr.GroupBy, ",") != "location" {
		t.Errorf("child did not inherit: ack %v escalate %v group_by %v", mgr.AckWithin, mgr.EscalateTo, mgr.GroupBy)
	}
	if root.GroupWait != 30*time.Second || mgr.GroupInterval != 5*time.Minute {
		t.Errorf("defaults: wait %v interval %v", root.GroupWait, mgr.GroupInterval)
	}
	if legal := root.Routes[0]; len(legal.GroupBy) != 0 {
		t.Errorf("explicit empty group_by overridden: %v", legal.GroupBy)
	}
}

func TestGroupKey(t *testing.T) {
	root := tree(t)
	a := root.GroupKey(Labels{Location: "Split", Lang: "en"})
	b := root.GroupKey(Labels{Location: "Split", Lang: "hr"})
	c := root.GroupKey(Labels{Location: "Zagreb"})
	if a != b || a == c || a != "box|location=Split" {
		t.Errorf("keys %q %q %q", a, b, c)
	}
}

func TestTreeWithoutRoute(t *testing.T) {
	for yaml, want := range map[string]string{
		"brands: []\n": DefaultReceiver,
		"receivers: [{name: mail, kind: stdout}]\n": "mail",
	} {
		cfg, err := config.Parse("x.yaml", []byte(yaml), config.Schema{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := Tree(cfg)
		if err != nil || r.Receiver != want || len(r.Match(Labels{})) != 1 {
			t.Errorf("%q: receiver %q, %v; want %s", yaml, r.Receiver, err, want)
		}
	}
}
