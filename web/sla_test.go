package web

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chtest"
)

func TestCutoff(t *testing.T) {
	biz, err := alerts.NewClock(&config.BusinessHours{Start: "09:00", End: "17:00", Timezone: "Europe/Zagreb"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		clock  alerts.Clock
		within time.Duration
		now    time.Time
	}{
		{"wall 1h", alerts.WallClock, time.Hour, time.Date(2026, 11, 18, 10, 17, 23, 500, time.UTC)},
		{"wall 72h", alerts.WallClock, 72 * time.Hour, time.Date(2026, 11, 18, 10, 17, 23, 0, time.UTC)},
		{"business 4h on a Wednesday", biz, 4 * time.Hour, time.Date(2026, 11, 18, 10, 17, 23, 0, time.UTC)},
		{"business 4h on a Sunday", biz, 4 * time.Hour, time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC)},
		{"business 72h across the DST change", biz, 72 * time.Hour, time.Date(2026, 10, 27, 8, 30, 0, 0, time.UTC)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := cutoff(tt.clock, tt.within, tt.now)
			if c.IsZero() {
				t.Fatal("no cutoff")
			}
			// The cut is late, a second later is not: exact to the second.
			if got := tt.clock.Elapsed(c, tt.now); got <= tt.within {
				t.Errorf("opened at the cut %s: %s elapsed, want more than %s", c, got, tt.within)
			}
			if got := tt.clock.Elapsed(c.Add(time.Second), tt.now); got > tt.within {
				t.Errorf("opened a second after the cut %s: %s elapsed, want at most %s", c, got, tt.within)
			}
		})
	}
}

func TestRouteLabels(t *testing.T) {
	r := &config.Route{Receiver: "a", Routes: []*config.Route{
		{MinSeverity: "high"}, {Match: map[string]string{"location": "Zagreb"}, Routes: []*config.Route{{Aspects: []string{"wait"}}}},
	}}
	if got := routeLabels(r); !slices.Equal(got, []string{"location", "severity", "aspect"}) {
		t.Errorf("labels %v", got)
	}
	if got := routeLabels(nil); got != nil {
		t.Errorf("no route: %v", got)
	}
}

// TestOverdueExact builds cases in every state, on a wall-clock and a
// business-hours route, some held and resumed across nights and weekends,
// and checks that the overdue view (SQL) holds exactly the cases whose
// SLA text (alerts.CaseSLA, per case) says OVERDUE, on every page, and
// that the SLA sort puts earlier due times first.
func TestOverdueExact(t *testing.T) {
	db := chtest.New(t)
	ctx := context.Background()
	st, err := storage.Open(ctx, db.DSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 18, 10, 17, 23, 0, time.UTC) // a Wednesday
	rng := rand.New(rand.NewPCG(7, 11))
	locs := []string{"Zagreb", "Manila", "Split"}
	var ms []mention.Mention
	var evs []storage.CaseEvent
	for i := range 240 {
		id := fmt.Sprintf("t:%03d", i)
		m := mention.Mention{ID: id, Source: "demo", Kind: "review", Brand: "Sunrise", Location: locs[rng.IntN(len(locs))], Text: "slow and rude " + id,
			Lang: "en", PublishedAt: now.Add(-40 * 24 * time.Hour)}
		m.Negative, m.Severity = true, mention.Severities[1+rng.IntN(4)]
		m.Aspects = [][]string{{"staff"}, {"wait"}, {"wait", "staff"}, nil}[rng.IntN(4)]
		if err := m.Normalize(now); err != nil {
			t.Fatal(err)
		}
		m.StoryID = ""
		ms = append(ms, m)
		cid := "case:" + id
		// Openings cluster near the deadlines' cuts: the last 3 weeks.
		at := now.Add(-time.Duration(rng.Int64N(int64(21 * 24 * time.Hour))))
		at = at.Truncate(time.Second)
		ev := func(event, state string, at time.Time) {
			evs = append(evs, storage.CaseEvent{EventID: cid + ":" + event + ":" + at.Format(time.RFC3339), CaseID: cid, MentionID: id, At: at,
				Event: event, State: state, Actor: "t", Brand: m.Brand, Location: m.Location, Severity: m.Severity, Outcome: "no_action"})
		}
		ev("opened", "open", at)
		step := func() time.Time {
			at = at.Add(time.Duration(rng.Int64N(int64(60 * time.Hour)))).Truncate(time.Second)
			return at
		}
		switch rng.IntN(6) {
		case 0: // open
		case 1: // acknowledged
			ev("acknowledged", "acknowledged", step())
		case 2, 3: // held and resumed, maybe more than once
			for range 1 + rng.IntN(2) {
				ev("held", "on_hold", step())
				ev("resumed", "acknowledged", step())
			}
		case 4: // on hold now
			ev("held", "on_hold", step())
		case 5:
			ev("resolved", "resolved", step())
		}
		if at.After(now) { // keep every event in the past
			evs = slices.DeleteFunc(evs, func(e storage.CaseEvent) bool { return e.CaseID == cid && e.Event != "opened" })
		}
	}
	if err := st.InsertMentions(ctx, ms); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendCaseEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, routes string
	}{
		{"brand, location and severity routes", `
  routes:
    - {receiver: oncall, min_severity: critical, ack_within: 1h, resolve_within: 24h}
    - {receiver: oncall, match: {location: Manila}, ack_within: 2h}`},
		{"an aspect route (labels from case_inbox)", `
  routes:
    - {receiver: oncall, min_severity: critical, ack_within: 1h, resolve_within: 24h}
    - {receiver: desk, aspects: [wait], ack_within: 30m, resolve_within: 8h}
    - {receiver: oncall, match_re: {location: "Man.*"}, ack_within: 2h}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			yaml := fmt.Sprintf(`brands: [{name: Sunrise, keywords: [sunrise], locations: [{name: Zagreb}, {name: Manila}, {name: Split}]}]
receivers:
  - {name: desk, kind: outbox, dir: %q, business_hours: {start: "09:00", end: "17:00", timezone: Europe/Zagreb}}
  - {name: oncall, kind: outbox, dir: %q}
route:
  receiver: desk
  ack_within: 4h
  resolve_within: 72h`+tt.routes+"\n", t.TempDir(), t.TempDir())
			cfg, err := config.Parse("t.yaml", []byte(yaml), config.Schema{})
			if err != nil {
				t.Fatal(err)
			}
			svc, err := NewService(st, cfg)
			if err != nil {
				t.Fatal(err)
			}
			svc.Now = func() time.Time { return now }
			admin := User{Name: "admin", Role: "admin"}
			all, err := svc.List(ctx, admin, Filter{PerPage: 1000})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, c := range all.Cases {
				if c.Overdue {
					want = append(want, c.ID)
				}
			}
			if len(want) < 20 || len(want) > len(all.Cases)-20 {
				t.Fatalf("%d of %d cases overdue: the fixture should have both kinds", len(want), len(all.Cases))
			}
			svc.versionOnce.Do(func() {}) // set below: both ways of counting
			for _, per := range []int{1000, 7, -7} {
				svc.limitCounts = per > 0
				per = max(per, -per)
				var got []string
				for page := 1; ; page++ {
					l, err := svc.List(ctx, admin, Filter{Overdue: true, PerPage: per, Page: page})
					if err != nil {
						t.Fatal(err)
					}
					if int(l.Total) != len(want) {
						t.Errorf("per page %d: total %d, want %d", per, l.Total, len(want))
					}
					for _, c := range l.Cases {
						if !c.Overdue {
							t.Errorf("%s in the overdue view, SLA %q", c.ID, c.SLA)
						}
						got = append(got, c.ID)
					}
					if len(l.Cases) < per {
						break
					}
				}
				slices.Sort(got)
				w := slices.Sorted(slices.Values(want))
				if !slices.Equal(got, w) {
					t.Errorf("per page %d: overdue view %d cases, want %d\nmissing %v\nextra %v", per, len(got), len(w), minus(w, got), minus(got, w))
				}
			}
			// The sort: worst first; within a severity, cases with a
			// running deadline first, by due time (opening + the next
			// deadline + time on hold, counting every hour), then the others.
			ids := make([]string, len(all.Cases))
			for i, c := range all.Cases {
				ids[i] = c.ID
			}
			evs, err := st.CaseEvents(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			due := func(c CaseSummary) time.Time {
				l := alerts.Labels{Brand: c.Brand, Location: c.Location, Severity: c.Severity, Source: c.Source, Kind: c.Kind, Lang: c.Lang,
					Aspects: c.Aspects, Signals: c.Signals}
				for _, r := range svc.Tree.Match(l) {
					if r.AckWithin <= 0 && r.ResolveWithin <= 0 {
						continue
					}
					switch {
					case c.State == "open" && r.AckWithin > 0 && (r.ResolveWithin <= 0 || r.AckWithin < r.ResolveWithin):
						return c.OpenedAt.Add(r.AckWithin)
					case c.State == "open" || c.State == "acknowledged" && r.ResolveWithin > 0:
						var held time.Duration
						var from time.Time
						for _, e := range evs[c.ID] {
							switch e.Event {
							case "held":
								from = e.At
							case "resumed":
								held += e.At.Sub(from)
							}
						}
						return c.OpenedAt.Add(held + r.ResolveWithin)
					}
					return time.Time{}
				}
				return time.Time{}
			}
			for i := 1; i < len(all.Cases); i++ {
				a, b := all.Cases[i-1], all.Cases[i]
				ra, rb := mention.SeverityRank(a.Severity), mention.SeverityRank(b.Severity)
				if ra < rb {
					t.Fatalf("%s (%s) before %s (%s)", a.ID, a.Severity, b.ID, b.Severity)
				}
				da, db := due(a), due(b)
				if ra == rb && (da.IsZero() && !db.IsZero() || !da.IsZero() && !db.IsZero() && da.After(db)) {
					t.Errorf("%s (%s, due %s) before %s (%s, due %s)", a.ID, a.State, da, b.ID, b.State, db)
				}
			}
		})
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
