package alerts

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

func stormOpts() config.Storms {
	return config.Storms{Receiver: "managers", Window: time.Hour, Baselines: 12, K: 3, Ratio: 3, MinCount: 5, Cooldown: 6 * time.Hour}
}

func TestDetect(t *testing.T) {
	series := func(cur int, base ...int) []int { return append([]int{cur}, base...) }
	for _, tc := range []struct {
		name   string
		counts []int
		want   bool
	}{
		{"quiet place, sudden burst", series(6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), true},
		{"quiet place, below min_count", series(4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), false},
		{"steady trickle, burst", series(12, 1, 2, 1, 0, 1, 2, 1, 1, 0, 2, 1, 1), true},
		{"steady trickle, a busy hour", series(4, 1, 2, 1, 0, 1, 2, 1, 1, 0, 2, 1, 1), false},
		{"busy place, usual volume", series(22, 20, 18, 25, 19, 21, 22, 20, 24, 18, 20, 23, 21), false},
		{"busy place, twice the usual: not 3x", series(42, 20, 18, 25, 19, 21, 22, 20, 24, 18, 20, 23, 21), false},
		{"busy place, 4x", series(85, 20, 18, 25, 19, 21, 22, 20, 24, 18, 20, 23, 21), true},
		{"noisy baseline hides a 3x hour", series(9, 0, 10, 0, 0, 8, 0, 0, 0, 9, 0, 0, 9), false},
		{"flat baseline, one more than usual", series(6, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5), false},
		{"no baseline", []int{10}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, got := Detect(tc.counts, stormOpts())
			if got != tc.want {
				t.Errorf("Detect(%v) = %v (count %d, mean %.2f, stddev %.2f), want %v", tc.counts, got, s.Count, s.Mean, s.Stddev, tc.want)
			}
		})
	}
}

// memStorms is StormStore over memCases' mentions, mirroring the storage
// queries (published time, else collected; negative only).
type memStorms struct {
	*memCases
	storms []caselog.Storm
}

func when(m mention.Mention) time.Time {
	if !m.PublishedAt.IsZero() {
		return m.PublishedAt
	}
	return m.CollectedAt
}

func (s *memStorms) NegativeBuckets(_ context.Context, end time.Time, window time.Duration, n int) (map[caselog.StormKey][]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[caselog.StormKey][]int{}
	add := func(k caselog.StormKey, b int) {
		if out[k] == nil {
			out[k] = make([]int, n+1)
		}
		out[k][b]++
	}
	for _, m := range s.mentions {
		t := when(m)
		if !m.Negative || !t.Before(end) || t.Before(end.Add(-time.Duration(n+1)*window)) {
			continue
		}
		b := int(end.Add(-time.Second).Sub(t) / window)
		add(caselog.StormKey{Brand: m.Brand, Location: m.Location}, b)
		for _, a := range m.Aspects {
			add(caselog.StormKey{Brand: m.Brand, Aspect: a}, b)
		}
	}
	return out, nil
}

func (s *memStorms) StormMentions(_ context.Context, k caselog.StormKey, from, to time.Time, limit int) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ms []mention.Mention
	for _, m := range s.mentions {
		t := when(m)
		if m.Negative && m.Brand == k.Brand && !t.Before(from) && t.Before(to) &&
			(k.Aspect == "" && m.Location == k.Location || k.Aspect != "" && slices.Contains(m.Aspects, k.Aspect)) {
			ms = append(ms, m)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return when(ms[i]).After(when(ms[j])) })
	var ids []string
	for _, m := range ms[:min(limit, len(ms))] {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

func (s *memStorms) RecordStorm(_ context.Context, st caselog.Storm) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.storms = append(s.storms, st)
	return nil
}

func (s *memStorms) StormsSince(_ context.Context, since time.Time) ([]caselog.Storm, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []caselog.Storm
	for _, st := range s.storms {
		if !st.At.Before(since) {
			out = append(out, st)
		}
	}
	return out, nil
}

const stormYAML = `
receivers:
  - {name: desk, kind: stdout}
  - {name: managers, kind: stdout}
route:
  receiver: desk
  group_by: [location]
  group_wait: 30s
`

func TestStormAlertsOnceAndInhibits(t *testing.T) {
	start := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	g := newGroupRig(t, stormYAML, nil, start)
	ms := &memStorms{memCases: g.store}
	o := stormOpts()
	g.n.StormConfig, g.n.Storms = []config.Storms{o}, ms
	ctx := context.Background()

	// Twelve hours of the usual: about one complaint an hour at Zagreb, one
	// every few hours at Split (stored, alerted long ago).
	for h := 12; h >= 1; h-- {
		for i := range 1 + h%2 {
			m := mention.Mention{ID: fmt.Sprintf("old:z:%d:%d", h, i), Text: "meh", Brand: "Sunrise", Location: "Zagreb",
				PublishedAt: start.Add(-time.Duration(h)*time.Hour + 10*time.Minute), Score: mention.Score{Negative: true, Severity: "low",
					Aspects: []string{"wait"}}}
			g.store.put(m)
		}
		if h%4 == 0 {
			g.store.put(mention.Mention{ID: fmt.Sprintf("old:s:%d", h), Brand: "Sunrise", Location: "Split",
				PublishedAt: start.Add(-time.Duration(h) * time.Hour), Score: mention.Score{Negative: true, Severity: "low"}})
		}
	}
	if got, err := g.n.CheckStorms(ctx); err != nil || len(got) != 0 {
		t.Fatalf("before the burst: storms %v, %v; want none", got, err)
	}

	// The burst: nine complaints about waiting at Zagreb within half a
	// minute (a post gone viral), one of them critical; one ordinary
	// complaint at Split.
	burst := func(loc, sev string, aspects ...string) {
		g.seq++
		m := mention.Mention{ID: fmt.Sprintf("t:%d", g.seq), Text: fmt.Sprintf("waited forever %d", g.seq), Brand: "Sunrise", Location: loc,
			PublishedAt: g.now, Score: mention.Score{Negative: true, Severity: sev, Aspects: aspects}}
		if err := m.Normalize(g.now); err != nil {
			t.Fatal(err)
		}
		g.store.put(m)
		if err := g.n.Notify(ctx, []mention.Mention{m}); err != nil {
			t.Fatal(err)
		}
	}
	g.at(20 * time.Minute)
	for i := range 9 {
		sev := "medium"
		if i == 4 {
			sev = "critical"
		}
		burst("Zagreb", sev, "wait", "staff")
		g.at(3 * time.Second)
	}
	burst("Split", "medium")
	// The critical case went out at once; the rest wait for group_wait.
	g.expect("desk", 1)

	storms, err := g.n.CheckStorms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(storms) != 1 {
		t.Fatalf("storms %+v, want one (Zagreb; the wait and staff aspect storms are the same cases)", storms)
	}
	st := storms[0]
	if st.Key != (caselog.StormKey{Brand: "Sunrise", Location: "Zagreb"}) || st.Count != 9 || len(st.CaseIDs) != 9 {
		t.Errorf("storm %+v", st)
	}
	g.expect("managers", 9)
	msg := g.rcv["managers"].sent[0]
	for _, want := range []string{"Storm: 9 negative mentions of Sunrise at Zagreb in the last 1h", "1.5 on average", "Mostly about: staff (9), wait (9)"} {
		if !strings.Contains(Subject(msg)+"\n"+Text(msg), want) {
			t.Errorf("storm message lacks %q:\n%s", want, Text(msg))
		}
	}

	// Inhibition: after group_wait the Zagreb cases are covered by the
	// storm and not sent one by one; Split's goes out as usual.
	g.at(30 * time.Second)
	g.flush()
	g.expect("desk", 1, 1)
	if c := g.rcv["desk"].sent[1].Cases[0].Mention.Location; c != "Split" {
		t.Errorf("second desk message is about %s, want Split", c)
	}
	inhibited := 0
	for _, e := range g.store.events {
		if e.Event == "inhibited" {
			inhibited++
			if !strings.Contains(e.Note, st.ID) {
				t.Errorf("inhibited event note %q does not name the storm", e.Note)
			}
		}
	}
	if inhibited != 8 {
		t.Errorf("%d inhibited events, want 8 (9 minus the critical one)", inhibited)
	}
	if p, _ := g.store.PendingNotifications(ctx, time.Time{}); len(p) != 0 {
		t.Errorf("still pending after inhibition: %+v", p)
	}

	// Still storming ten minutes later: one alert per cooldown.
	g.at(10 * time.Minute)
	burst("Zagreb", "low", "wait")
	if got, _ := g.n.CheckStorms(ctx); len(got) != 0 {
		t.Errorf("second storm alert inside the cooldown: %+v", got)
	}
	g.at(time.Minute)
	g.flush()
	g.expect("desk", 1, 1)

	// Past the cooldown, a new burst alerts again.
	// Past the cooldown, a new burst alerts again, found by the flushes
	// themselves (every 30 s) as soon as it reaches min_count; the cases
	// after that are inhibited.
	g.at(o.Cooldown)
	for range 7 {
		burst("Zagreb", "low", "billing")
		g.at(40 * time.Second)
	}
	g.expect("managers", 9, 5)
	g.at(time.Minute)
	g.flush()
	// The first two cases went out together after group_wait (the Zagreb
	// group had no message of its own yet: the critical case's does not
	// count as one), before the storm was visible; the next ones waited for
	// group_interval and were inhibited.
	g.expect("desk", 1, 1, 2)
	if p, _ := g.store.PendingNotifications(ctx, time.Time{}); len(p) != 0 {
		t.Errorf("still pending: %+v", p)
	}
}

func TestStormMessageEscapesAndCuts(t *testing.T) {
	st := caselog.Storm{ID: "storm:x", At: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Key: caselog.StormKey{Brand: "B<script>", Aspect: "wait"},
		Receiver: "r"}
	st.WindowEnd = st.At
	st.WindowStart = st.At.Add(-time.Hour)
	c := Case{ID: "case:1", Mention: mention.Mention{Brand: "B<script>", Text: strings.Repeat("<img src=x onerror=alert(1)> ", 40),
		URL: "javascript:alert(1)"}}
	msg := stormMessage(st, Spike{Count: 7}, stormOpts(), []Case{c})
	html, err := HTML(msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<img src=x", "javascript:"} {
		if strings.Contains(html, bad) {
			t.Errorf("html contains %q", bad)
		}
	}
	if !strings.Contains(msg.Title, "no negative mentions before") {
		t.Errorf("title %q", msg.Title)
	}
	if txt := Text(msg); strings.Count(txt, "<img") > 8 {
		t.Errorf("compact entry not cut: %d image tags quoted", strings.Count(txt, "<img"))
	}
}

// An hourly and a daily detector: a slow day-long rise is the daily one's
// to find; a burst the hourly one reported is not reported again by the
// daily one.
func TestHourlyAndDailyDetectors(t *testing.T) {
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	g := newGroupRig(t, stormYAML, nil, start)
	ms := &memStorms{memCases: g.store}
	hourly := stormOpts()
	daily := config.Storms{Receiver: "managers", Window: 24 * time.Hour, Baselines: 7, K: 3, Ratio: 3, MinCount: 10, Cooldown: 24 * time.Hour}
	g.n.StormConfig, g.n.Storms = []config.Storms{hourly, daily}, ms
	ctx := context.Background()
	put := func(id, loc string, at time.Time) {
		g.store.put(mention.Mention{ID: id, Brand: "Sunrise", Location: loc, PublishedAt: at, Score: mention.Score{Negative: true, Severity: "low"}})
	}
	// A week of two complaints a day at Zagreb and Split.
	for d := 1; d <= 7; d++ {
		for i := range 2 {
			put(fmt.Sprintf("old:z:%d:%d", d, i), "Zagreb", start.AddDate(0, 0, -d).Add(time.Duration(6+6*i)*time.Hour))
			put(fmt.Sprintf("old:s:%d:%d", d, i), "Split", start.AddDate(0, 0, -d).Add(time.Duration(6+6*i)*time.Hour))
		}
	}
	// Today Zagreb gets 12 complaints spread over the day: never 5 in an
	// hour, but six times its usual day.
	for h := range 12 {
		put(fmt.Sprintf("z:%d", h), "Zagreb", start.Add(time.Duration(2*h)*time.Hour))
	}
	g.now = start.Add(23*time.Hour + 30*time.Minute)
	got, err := g.n.CheckStorms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key.Location != "Zagreb" || got[0].WindowEnd.Sub(got[0].WindowStart) != 24*time.Hour || got[0].Count != 12 {
		t.Fatalf("storms %+v, want Zagreb's day", got)
	}
	if txt := Subject(g.rcv["managers"].sent[0]); !strings.Contains(txt, "in the last 24h (6.0× the usual)") {
		t.Errorf("subject %q", txt)
	}

	// The next day, a burst at Split: 11 in half an hour. The hourly
	// detector reports it; the daily one sees the same cases and stays quiet.
	g.now = start.Add(36 * time.Hour)
	for i := range 11 {
		put(fmt.Sprintf("s:%d", i), "Split", g.now.Add(-time.Duration(i)*2*time.Minute))
	}
	got, err = g.n.CheckStorms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key.Location != "Split" || got[0].WindowEnd.Sub(got[0].WindowStart) != time.Hour {
		t.Errorf("storms %+v, want only Split's hour", got)
	}
}
