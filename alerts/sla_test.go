package alerts

import (
	"context"
	"testing"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

func TestClockElapsed(t *testing.T) {
	zg, err := time.LoadLocation("Europe/Zagreb")
	if err != nil {
		t.Fatal(err)
	}
	office, err := NewClock(&config.BusinessHours{Start: "09:00", End: "17:00", Timezone: "Europe/Zagreb"})
	if err != nil {
		t.Fatal(err)
	}
	weekend, err := NewClock(&config.BusinessHours{Days: []string{"Sat", "sun"}, Start: "10:00", End: "14:00"})
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, zg)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name     string
		c        Clock
		from, to string
		want     time.Duration
	}{
		{"wall clock", WallClock, "2026-11-20 18:00", "2026-11-23 10:00", 64 * time.Hour},
		{"inside one day", office, "2026-11-23 10:00", "2026-11-23 12:30", 150 * time.Minute},
		{"before opening to after closing", office, "2026-11-23 06:00", "2026-11-23 20:00", 8 * time.Hour},
		{"Friday evening to Monday 10:00", office, "2026-11-20 18:00", "2026-11-23 10:00", time.Hour},
		{"Friday 16:00 to Monday 09:30", office, "2026-11-20 16:00", "2026-11-23 09:30", 90 * time.Minute},
		{"a whole week", office, "2026-11-23 00:00", "2026-11-30 00:00", 40 * time.Hour},
		{"over the DST change (Sunday 29 March)", office, "2026-03-27 16:00", "2026-03-30 10:00", 2 * time.Hour},
		{"backwards", office, "2026-11-23 12:00", "2026-11-23 10:00", 0},
		{"weekend shift, UTC", weekend, "2026-11-20 00:00", "2026-11-23 00:00", 8 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Elapsed(at(tc.from), at(tc.to)); got != tc.want {
				t.Errorf("Elapsed(%s, %s) = %s, want %s", tc.from, tc.to, got, tc.want)
			}
		})
	}
	for _, bad := range []config.BusinessHours{{Start: "9", End: "17:00"}, {Start: "17:00", End: "09:00"}, {Start: "09:00", End: "17:00", Days: []string{"funday"}},
		{Start: "09:00", End: "17:00", Timezone: "Mars/Olympus"}} {
		if _, err := NewClock(&bad); err == nil {
			t.Errorf("NewClock(%+v) accepted", bad)
		}
	}
}

func TestMeasure(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ev := func(event string, after time.Duration) caselog.Event {
		return caselog.Event{Event: event, At: t0.Add(after)}
	}
	now := t0.Add(10 * time.Hour)
	for _, tc := range []struct {
		name              string
		evs               []caselog.Event
		ack, resolve      time.Duration
		acked, done, hold bool
		overdue           string
	}{
		{"open, never touched", []caselog.Event{ev("opened", 0), ev("queued", 0), ev("notified", time.Minute)}, 10 * time.Hour, 10 * time.Hour, false, false, false,
			"not acknowledged within 2h"},
		{"acknowledged, open for 10h", []caselog.Event{ev("opened", 0), ev("acknowledged", time.Hour)}, time.Hour, 10 * time.Hour, true, false, false,
			"not resolved within 8h"},
		{"held 6h, resumed: the hold does not count", []caselog.Event{ev("opened", 0), ev("acknowledged", time.Hour), ev("held", 2*time.Hour),
			ev("resumed", 8*time.Hour)}, time.Hour, 4 * time.Hour, true, false, false, ""},
		{"on hold now", []caselog.Event{ev("held", 30*time.Minute), ev("opened", 0)}, 30 * time.Minute, 30 * time.Minute, true, false, true, ""},
		{"held, then resolved", []caselog.Event{ev("opened", 0), ev("held", time.Hour), ev("resolved", 9*time.Hour)}, time.Hour, time.Hour, true, true, false, ""},
		{"resolved at once", []caselog.Event{ev("opened", 0), ev("resolved", 20*time.Minute)}, 20 * time.Minute, 20 * time.Minute, true, true, false, ""},
		{"no opened event: nothing to measure", []caselog.Event{ev("acknowledged", time.Hour)}, 0, 0, false, false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Measure(tc.evs, WallClock, now)
			if s.ToAck != tc.ack || s.ToResolve != tc.resolve || s.Acked != tc.acked || s.Resolved != tc.done || s.OnHold != tc.hold {
				t.Errorf("Measure = %+v, want ack %s resolve %s acked %v resolved %v hold %v", s, tc.ack, tc.resolve, tc.acked, tc.done, tc.hold)
			}
			if got := s.Overdue(2*time.Hour, 8*time.Hour); got != tc.overdue {
				t.Errorf("Overdue = %q, want %q", got, tc.overdue)
			}
		})
	}
}

// A case opened on Friday evening at a desk with office hours escalates on
// Monday morning, not on Friday night.
func TestEscalationCountsBusinessHours(t *testing.T) {
	cfg, err := config.Parse("e.yaml", []byte(`
receivers:
  - {name: desk, kind: outbox, business_hours: {start: "09:00", end: "17:00", timezone: Europe/Zagreb}}
  - {name: lead, kind: outbox}
route:
  receiver: desk
  ack_within: 1h
  escalate_to: [lead]
`), config.Schema{})
	if err != nil {
		t.Fatal(err)
	}
	tree, _ := Tree(cfg)
	clocks, err := Clocks(cfg)
	if err != nil {
		t.Fatal(err)
	}
	friday := time.Date(2026, 11, 20, 17, 30, 0, 0, time.UTC) // 18:30 in Zagreb
	now := friday
	lead := &scripted{name: "lead"}
	m := mention.Mention{ID: "x:1", Text: "Nobody came.", Score: mention.Score{Negative: true, Severity: "high"}}
	if err := m.Normalize(friday); err != nil {
		t.Fatal(err)
	}
	store := &escStore{memCases: newMem(), state: "open", openedAt: friday, m: m}
	store.events[notifiedID(CaseID(m), "desk", 0)] = caselog.Event{CaseID: CaseID(m), Event: "notified", Receiver: "desk"} // desk got it
	n := &Notifier{Tree: tree, Receivers: map[string]Receiver{"desk": &scripted{name: "desk"}, "lead": lead}, Clocks: clocks,
		Store: store, Now: func() time.Time { return now }}
	for _, step := range []struct {
		at   time.Time
		want int
	}{
		{friday.Add(2 * time.Hour), 0},
		{time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC), 0}, // Sunday night
		{time.Date(2026, 11, 23, 8, 30, 0, 0, time.UTC), 0}, // Monday 09:30 in Zagreb: 30 min of office time
		{time.Date(2026, 11, 23, 9, 5, 0, 0, time.UTC), 1},  // 10:05: past the hour
	} {
		now = step.at
		if _, err := n.Escalate(context.Background(), store); err != nil {
			t.Fatal(err)
		}
		if len(lead.sent) != step.want {
			t.Errorf("at %s: lead got %d, want %d", now.Format(time.RFC1123), len(lead.sent), step.want)
		}
	}
	if ev := store.events[CaseID(m)+":escalated:1"]; ev.Note != "not acknowledged within 1h (business hours)" {
		t.Errorf("escalation note %q", ev.Note)
	}
}

func TestCaseSLA(t *testing.T) {
	cfg, err := config.Parse("s.yaml", []byte(`
receivers: [{name: desk, kind: stdout}, {name: legal, kind: stdout}]
route:
  receiver: desk
  routes:
    - receiver: legal
      signals: [legal]
      ack_within: 1h
      resolve_within: 8h
    - receiver: desk
      ack_within: 4h
`), config.Schema{})
	if err != nil {
		t.Fatal(err)
	}
	tree, _ := Tree(cfg)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ev := func(event string, after time.Duration) caselog.Event {
		return caselog.Event{Event: event, At: t0.Add(after)}
	}
	legal := mention.Mention{Score: mention.Score{Signals: []string{"legal"}}}
	for _, tc := range []struct {
		name string
		m    mention.Mention
		evs  []caselog.Event
		now  time.Duration
		want string
	}{
		{"legal threat, fresh", legal, []caselog.Event{ev("opened", 0)}, 25 * time.Minute, "ack in 35m"},
		{"legal threat, late", legal, []caselog.Event{ev("opened", 0)}, 2 * time.Hour, "OVERDUE 1h: not acknowledged within 1h"},
		{"legal threat, due this minute", legal, []caselog.Event{ev("opened", 0)}, time.Hour + 30*time.Second, "OVERDUE <1m: not acknowledged within 1h"},
		{"legal threat, acknowledged", legal, []caselog.Event{ev("opened", 0), ev("acknowledged", time.Hour/2)}, 3 * time.Hour, "resolve in 5h 0m"},
		{"legal threat, on hold", legal, []caselog.Event{ev("opened", 0), ev("held", time.Hour/2)}, 30 * time.Hour, "paused (on hold)"},
		{"legal threat, resolved", legal, []caselog.Event{ev("opened", 0), ev("resolved", time.Hour/2)}, 30 * time.Hour, ""},
		{"ordinary complaint", mention.Mention{}, []caselog.Event{ev("opened", 0)}, time.Hour, "ack in 3h 0m"},
		{"ordinary, acknowledged: no resolve deadline", mention.Mention{}, []caselog.Event{ev("opened", 0), ev("acknowledged", time.Hour)}, 9 * time.Hour, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CaseSLA(tree, nil, tc.m, tc.evs, t0.Add(tc.now)); got != tc.want {
				t.Errorf("CaseSLA = %q, want %q", got, tc.want)
			}
		})
	}
}
