package alerts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// groupRig is a notifier over an in-memory store with a fake clock.
type groupRig struct {
	t     *testing.T
	n     *Notifier
	store *memCases
	now   time.Time
	rcv   map[string]*scripted
	seq   int
}

func newGroupRig(t *testing.T, yaml string, pol map[string]Policy, start time.Time) *groupRig {
	t.Helper()
	cfg, err := config.Parse("g.yaml", []byte(yaml), config.Schema{})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := Tree(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := &groupRig{t: t, store: newMem(), now: start, rcv: map[string]*scripted{}}
	rs := map[string]Receiver{}
	for _, r := range cfg.Receivers {
		g.rcv[r.Name] = &scripted{name: r.Name}
		rs[r.Name] = g.rcv[r.Name]
	}
	g.n = &Notifier{Tree: tree, Receivers: rs, Store: g.store, Policies: pol, Now: func() time.Time { return g.now }}
	return g
}

// notify stores and notifies one new negative mention.
func (g *groupRig) notify(location, severity string) {
	g.t.Helper()
	g.seq++
	m := mention.Mention{ID: fmt.Sprintf("t:%d", g.seq), Text: fmt.Sprintf("complaint %d", g.seq), Brand: "Sunrise", Location: location,
		Score: mention.Score{Negative: true, Severity: severity}}
	if err := m.Normalize(g.now); err != nil {
		g.t.Fatal(err)
	}
	g.store.put(m)
	if err := g.n.Notify(context.Background(), []mention.Mention{m}); err != nil {
		g.t.Fatal(err)
	}
}

func (g *groupRig) at(d time.Duration) { g.now = g.now.Add(d) }

func (g *groupRig) flush() {
	g.t.Helper()
	if err := g.n.Flush(context.Background(), false); err != nil {
		g.t.Fatal(err)
	}
}

// messages returns, per receiver, the number of cases in each message sent.
func (g *groupRig) messages(recv string) []int {
	var out []int
	for _, m := range g.rcv[recv].sent {
		out = append(out, len(m.Cases))
	}
	return out
}

func (g *groupRig) expect(recv string, want ...int) {
	g.t.Helper()
	if got := g.messages(recv); !slices.Equal(got, want) {
		g.t.Errorf("at %s: %s messages (cases each) %v, want %v", g.now.Format("15:04:05"), recv, got, want)
	}
}

func TestGrouping(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	g := newGroupRig(t, `
receivers: [{name: desk, kind: outbox}]
route: {receiver: desk, group_by: [location], group_wait: 30s, group_interval: 5m}
`, nil, t0)
	for range 5 {
		g.notify("Zagreb", "medium")
	}
	g.notify("Split", "low")
	g.expect("desk") // group_wait: nothing yet
	g.at(20 * time.Second)
	g.notify("Zagreb", "high") // joins the waiting Zagreb group
	g.flush()
	g.expect("desk")
	g.at(11 * time.Second) // 31 s after the first case
	g.flush()
	g.expect("desk", 6, 1) // one message per location, the burst as one
	g.at(time.Minute)
	g.notify("Zagreb", "low")
	g.at(time.Minute)
	g.flush()
	g.expect("desk", 6, 1) // group_interval holds the new Zagreb case
	g.at(3*time.Minute + 30*time.Second)
	g.flush()
	g.expect("desk", 6, 1, 1)
	g.notify("Zagreb", "critical") // critical skips the timers
	g.expect("desk", 6, 1, 1, 1)
	g.flush()
	g.expect("desk", 6, 1, 1, 1) // and is not sent twice
}

func TestQuietHours(t *testing.T) {
	zg, err := time.LoadLocation("Europe/Zagreb")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	pol, err := NewQuietHours("22:00", "07:00", zg, 0)
	if err != nil {
		t.Fatal(err)
	}
	night := time.Date(2026, 11, 23, 23, 0, 0, 0, zg)
	g := newGroupRig(t, `
receivers: [{name: desk, kind: outbox}]
route: {receiver: desk, group_wait: 30s}
`, map[string]Policy{"desk": pol}, night)
	g.notify("Zagreb", "medium")
	g.at(time.Minute)
	g.flush()
	g.expect("desk") // quiet
	g.notify("Zagreb", "critical")
	g.expect("desk", 1)                // critical overrides quiet hours
	g.at(8*time.Hour + 30*time.Minute) // 07:31
	g.flush()
	g.expect("desk", 1, 1) // the night's case after the quiet hours
	tests := []struct {
		clock string
		quiet bool
	}{{"21:59", false}, {"22:00", true}, {"03:00", true}, {"06:59", true}, {"07:00", false}, {"12:00", false}}
	for _, tt := range tests {
		c, _ := time.Parse("15:04", tt.clock)
		at := time.Date(2026, 11, 23, c.Hour(), c.Minute(), 0, 0, zg)
		if got := pol.Quiet(at.UTC()); got != tt.quiet {
			t.Errorf("%s quiet=%v, want %v", tt.clock, got, tt.quiet)
		}
	}
}

func TestThrottleDefersToDigest(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	g := newGroupRig(t, `
receivers: [{name: desk, kind: outbox}]
route: {receiver: desk, group_by: [location], group_wait: 1s}
`, map[string]Policy{"desk": {MaxPerHour: 2}}, t0)
	for _, loc := range []string{"A", "B", "C", "D"} {
		g.notify(loc, "medium")
	}
	g.at(time.Second)
	g.flush()
	g.expect("desk", 1, 1) // two messages, then the throttle
	g.notify("E", "critical")
	g.expect("desk", 1, 1, 1) // critical still goes
	deferred := 0
	for _, e := range g.store.events {
		if e.Event == "deferred" && e.Receiver == "desk" {
			deferred++
		}
	}
	throttled := 0
	for _, d := range g.store.deliv {
		if d.Status == "throttled" {
			throttled += len(d.CaseIDs)
		}
	}
	if deferred != 2 || throttled != 2 {
		t.Errorf("deferred events %d, throttled deliveries for %d cases; want 2 and 2", deferred, throttled)
	}
	g.at(2 * time.Hour)
	g.notify("F", "low")
	g.at(time.Second)
	g.flush()
	g.expect("desk", 1, 1, 1, 1) // the hour has passed; deferred cases stay with the digest
}

// A critical case goes out at once, alone; it must neither reset nor hold
// the timer of the group it shares a key with, nor another group's.
func TestCriticalDoesNotDelayGroup(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	g := newGroupRig(t, `
receivers: [{name: desk, kind: outbox}]
route: {receiver: desk, group_by: [location], group_wait: 30s, group_interval: 10m}
`, nil, t0)
	g.notify("Zagreb", "medium")
	g.notify("Split", "low")
	g.at(10 * time.Second)
	g.notify("Zagreb", "critical") // at once, on its own
	g.expect("desk", 1)
	g.at(21 * time.Second) // 31 s after the first cases: both groups are due
	g.flush()
	if got := g.messages("desk"); len(got) != 3 {
		t.Fatalf("messages %v: a critical case held back its location's group", got)
	}
	for _, m := range g.rcv["desk"].sent[1:] {
		if m.Cases[0].Mention.Severity == "critical" {
			t.Errorf("critical case sent twice")
		}
	}
	// The group's own interval still counts from its own message.
	g.at(time.Minute)
	g.notify("Zagreb", "low")
	g.at(time.Minute)
	g.flush()
	g.expect("desk", 1, 1, 1)
	g.at(9 * time.Minute)
	g.flush()
	g.expect("desk", 1, 1, 1, 1)
}

// Grouped messages list the worst case first, in every rendering.
func TestGroupWorstFirst(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	g := newGroupRig(t, `
receivers: [{name: desk, kind: outbox}]
route: {receiver: desk, group_by: [location], group_wait: 30s}
`, nil, t0)
	for _, sev := range []string{"low", "high", "medium"} {
		g.notify("Zagreb", sev)
	}
	g.at(31 * time.Second)
	g.flush()
	g.expect("desk", 3)
	m := g.rcv["desk"].sent[0]
	var sevs []string
	for _, c := range m.Cases {
		sevs = append(sevs, c.Mention.Severity)
	}
	if !slices.Equal(sevs, []string{"high", "medium", "low"}) {
		t.Errorf("order %v, want high, medium, low", sevs)
	}
	html, err := HTML(m)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"text": Text(m), "html": html} {
		hi, me, lo := strings.Index(body, "complaint 2"), strings.Index(body, "complaint 3"), strings.Index(body, "complaint 1")
		if hi < 0 || !(hi < me && me < lo) {
			t.Errorf("%s: positions high %d, medium %d, low %d", name, hi, me, lo)
		}
	}
}
