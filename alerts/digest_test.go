package alerts

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// memDigest is DigestStore over memCases, mirroring the storage queries.
type memDigest struct{ *memCases }

func (s memDigest) SeriesBy(_ context.Context, by mention.CountBy, brand string, from, to time.Time, weekly bool) ([]caselog.Bucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	step := 24 * time.Hour
	first := from.UTC().Truncate(24 * time.Hour)
	if weekly {
		step = 7 * step
		first = first.AddDate(0, 0, -((int(first.Weekday()) + 6) % 7))
	}
	var out []caselog.Bucket
	for b := first; b.Before(to); b = b.Add(step) {
		out = append(out, caselog.Bucket{Start: b})
	}
	for _, m := range s.mentions {
		t := m.TimeBy(by)
		if (brand != "" && m.Brand != brand) || t.Before(from) || !t.Before(to) {
			continue
		}
		i := int(t.Sub(first) / step)
		out[i].Mentions++
		if m.Negative {
			out[i].Negative++
		}
	}
	return out, nil
}

func (s memDigest) PeriodVolumeBy(_ context.Context, by mention.CountBy, brand string, from, to time.Time) (caselog.Volume, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := caselog.Volume{NegativeByLocation: map[string]int{}, Aspects: map[string]int{}}
	for _, m := range s.mentions {
		t := m.TimeBy(by)
		if (brand != "" && m.Brand != brand) || t.Before(from) || !t.Before(to) {
			continue
		}
		v.Mentions++
		if m.Negative {
			v.Negative++
			v.NegativeByLocation[m.Location]++
			for _, a := range m.Aspects {
				v.Aspects[a]++
			}
			if mention.SeverityRank(m.Severity) >= mention.SeverityRank("high") {
				v.Severe++
			}
		}
	}
	return v, nil
}

func (s memDigest) CasesFor(_ context.Context, receiver, brand string, limit int) ([]caselog.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byCase := map[string][]caselog.Event{}
	for _, e := range s.events {
		byCase[e.CaseID] = append(byCase[e.CaseID], e)
	}
	var out []caselog.State
	for id, evs := range byCase {
		slices.SortFunc(evs, func(a, b caselog.Event) int { return a.At.Compare(b.At) })
		c := caselog.State{CaseID: id, State: "open", OpenedAt: evs[0].At}
		mine := false
		for _, e := range evs {
			mine = mine || e.Receiver == receiver
			c.MentionID, c.Brand, c.Location, c.Severity = cmpOr(c.MentionID, e.MentionID), cmpOr(c.Brand, e.Brand), cmpOr(c.Location, e.Location), cmpOr(c.Severity, e.Severity)
			if slices.Contains([]string{"opened", "acknowledged", "held", "resumed", "resolved"}, e.Event) {
				c.State, c.Actor, c.UpdatedAt = e.State, e.Actor, e.At
			}
		}
		if mine && c.State != "resolved" && (brand == "" || c.Brand == brand) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b caselog.State) int { return a.OpenedAt.Compare(b.OpenedAt) })
	return out[:min(limit, len(out))], nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s memDigest) CaseEvents(_ context.Context, ids []string) (map[string][]caselog.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]caselog.Event{}
	for _, e := range s.events {
		if slices.Contains(ids, e.CaseID) {
			out[e.CaseID] = append(out[e.CaseID], e)
		}
	}
	return out, nil
}

func (s memDigest) Delivered(_ context.Context, receiver, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.deliv, func(d caselog.Delivery) bool {
		return d.Receiver == receiver && d.GroupKey == key && d.Status == "sent"
	}), nil
}

const digestYAML = `
receivers:
  - {name: desk, kind: stdout, max_per_hour: 1}
  - {name: managers, kind: stdout}
route:
  receiver: desk
  group_by: [location]
  group_wait: 10s
  group_interval: 1s
  ack_within: 2h
  resolve_within: 12h
`

func TestDigest(t *testing.T) {
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	g := newGroupRig(t, digestYAML, map[string]Policy{"desk": {MaxPerHour: 1}}, start)
	ctx := context.Background()
	ds := memDigest{g.store}
	// Yesterday: one complaint; two weeks of history with one a day.
	for d := 1; d <= 14; d++ {
		g.store.put(mention.Mention{ID: fmt.Sprintf("old:%d", d), Brand: "Sunrise", Location: "Split", PublishedAt: start.AddDate(0, 0, -d),
			Score: mention.Score{Negative: true, Severity: "low", Aspects: []string{"noise"}}})
		g.store.put(mention.Mention{ID: fmt.Sprintf("ok:%d", d), Brand: "Sunrise", Location: "Split", PublishedAt: start.AddDate(0, 0, -d)})
	}
	// Today: four complaints at Zagreb; the first two go out as one
	// message, the third and fourth hit the hourly limit (1) and are
	// deferred to the digest.
	for i, sev := range []string{"high", "medium", "low", "medium"} {
		g.seq++
		m := mention.Mention{ID: fmt.Sprintf("t:%d", g.seq), Text: fmt.Sprintf("complaint <b>%d</b>", g.seq), Brand: "Sunrise", Location: "Zagreb",
			PublishedAt: g.now, Score: mention.Score{Negative: true, Severity: sev, Aspects: []string{"wait"}}}
		if err := m.Normalize(g.now); err != nil {
			t.Fatal(err)
		}
		g.store.put(m)
		if err := g.n.Notify(ctx, []mention.Mention{m}); err != nil {
			t.Fatal(err)
		}
		g.at(time.Duration(i+1) * time.Minute)
	}
	g.expect("desk", 2)
	// Case 2 is acknowledged, case 1 put on hold for most of the day.
	if _, err := Act(ctx, bookOf(g.store), "case:t:2", "ack", "ana", "", "", start.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	g.store.events["case:t:1:held"] = caselog.Event{EventID: "case:t:1:held", CaseID: "case:t:1", At: start.Add(10 * time.Minute),
		Event: "held", State: "on_hold", Actor: "ivo"}

	d := config.Digest{Receiver: "desk", Period: "daily", Schedule: "0 8 * * *"}
	end := start.Add(24 * time.Hour)
	msg, err := g.n.BuildDigest(ctx, ds, d, end)
	if err != nil {
		t.Fatal(err)
	}
	text := Text(msg)
	for _, want := range []string{
		"Daily digest for all brands: 4 negative of 4 mentions in the last 24 hours",
		"The 24 hours before: 2 mentions, 1 negative (50%)",
		"Negative by location: Zagreb 4.",
		"Top aspects: wait 4.",
		"Unresolved cases for desk: 2 open, 1 acknowledged, 1 on hold; 3 overdue. 2 were held back by the hourly limit",
		"open for 23h 54m; not alerted (hourly limit); OVERDUE: not acknowledged within 2h",
		"OVERDUE: not acknowledged within 2h",
		"acknowledged by ana; 23h 59m toward resolution; OVERDUE: not resolved within 12h",
		"on hold (by ivo) since Nov 22 09:10; clock paused at 10m",
		"not alerted (hourly limit)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("digest lacks %q:\n%s", want, text)
		}
	}
	// Overdue first (by severity, then age), the held case last.
	var order []string
	for _, c := range msg.Cases {
		order = append(order, c.ID)
	}
	if want := []string{"case:t:2", "case:t:4", "case:t:3", "case:t:1"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if len(msg.Attachments) != 1 {
		t.Fatalf("attachments %v", msg.Attachments)
	}
	img, err := png.Decode(bytes.NewReader(msg.Attachments[0].Data))
	if err != nil || img.Bounds().Dx() < 480 {
		t.Errorf("chart: %v %v", err, img)
	}

	// Sent once per period.
	for range 2 {
		if _, err := g.n.SendDigest(ctx, ds, d, end); err != nil {
			t.Fatal(err)
		}
	}
	if got := g.messages("desk"); !slices.Equal(got, []int{2, 4}) {
		t.Errorf("desk messages %v, want the digest (4 cases) once after the alert", got)
	}
	if sent, _ := g.n.SendDigest(ctx, ds, d, end.Add(24*time.Hour)); !sent {
		t.Error("next day's digest not sent")
	}
}

// bookOf gives Act a case book over memCases.
func bookOf(m *memCases) CaseBook { return digestBook{m} }

type digestBook struct{ *memCases }

func (b digestBook) Case(ctx context.Context, id string) (caselog.State, bool, error) {
	cs, _ := memDigest{b.memCases}.CasesFor(ctx, "desk", "", 1000)
	for _, c := range cs {
		if c.CaseID == id {
			return c, true, nil
		}
	}
	return caselog.State{}, false, nil
}

func TestTrendChart(t *testing.T) {
	day := time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)
	quiet, busy := make([]caselog.Bucket, 14), make([]caselog.Bucket, 14)
	for i := range quiet {
		quiet[i].Start = day.AddDate(0, 0, i)
		busy[i] = caselog.Bucket{Start: quiet[i].Start, Mentions: 300, Negative: 10 + 13*i}
	}
	red := func(b []byte) int {
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if r>>8 > 0xb0 && g>>8 < 0x50 && bl>>8 < 0x50 {
					n++
				}
			}
		}
		return n
	}
	q, err := TrendChart("Negative mentions per day, Sunrise", quiet, false)
	if err != nil {
		t.Fatalf("a quiet fortnight: %v", err)
	}
	b, err := TrendChart("Negative mentions per day, Sunrise", busy, false)
	if err != nil {
		t.Fatal(err)
	}
	// Zero-height bars still draw their 1-pixel outline.
	if rq, rb := red(q), red(b); rq > 1500 || rb < 20*rq {
		t.Errorf("red pixels: quiet %d, busy %d", rq, rb)
	}
	if _, err := TrendChart("x", nil, false); err == nil {
		t.Error("an empty series rendered")
	}
	for top, want := range map[float64]string{4: "[0 1 2 3 4]", 7: "[0 2 4 6 8]", 23: "[0 5 10 15 20 25]", 175: "[0 50 100 150 200]"} {
		var got []float64
		for _, tk := range ticks(top) {
			got = append(got, tk.Value)
		}
		if fmt.Sprint(got) != want {
			t.Errorf("ticks(%g) = %v, want %s", top, got, want)
		}
	}
}

// TestDigestCountBy: demo-like data (reviews the site dated a year ago,
// found by earshot in the last day) make an empty digest by publication
// time and a full one by collection time, and the summary says which.
func TestDigestCountBy(t *testing.T) {
	end := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	store := newMem()
	for i, neg := range []bool{true, true, true, false, false} {
		store.put(mention.Mention{ID: fmt.Sprintf("demo:%d", i), Brand: "Sunrise", Location: "Zagreb",
			PublishedAt: end.AddDate(-1, 0, -i), CollectedAt: end.Add(-2 * time.Hour),
			Score: mention.Score{Negative: neg, Severity: "medium", Aspects: []string{"wait"}}})
	}
	dg := Digester{Tree: &Route{Receiver: "desk"}}
	for _, tc := range []struct {
		by      string
		want    []string
		wantErr bool
	}{
		{"collected", []string{"3 negative of 5 mentions in the last 24 hours", "Negative by location: Zagreb 3.", "Top aspects: wait 3.",
			"Mentions counted by the day earshot collected them."}, false},
		{"published", []string{"0 negative of 0 mentions in the last 24 hours", "Mentions counted by publication date."}, false},
		{"", []string{"0 negative of 0 mentions", "Mentions counted by publication date."}, false},
		{"discovered", nil, true},
	} {
		t.Run(cmp.Or(tc.by, "default"), func(t *testing.T) {
			msg, err := dg.Build(context.Background(), memDigest{store}, config.Digest{Receiver: "desk", Period: "daily", CountBy: tc.by}, end)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			text := Text(msg)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("digest lacks %q:\n%s", w, text)
				}
			}
		})
	}
}
