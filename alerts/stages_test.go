package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// logFake is the case event log and delivery log of the stage tests: it
// keeps what was written in order and fails appends when told to.
type logFake struct {
	mu         sync.Mutex
	events     []caselog.Event
	deliveries []caselog.Delivery
	appendErr  error // every AppendCaseEvents fails with it
	failAfter  int   // with appendErr: the first failAfter appends succeed
	appends    int
}

func (l *logFake) AppendCaseEvents(_ context.Context, evs []caselog.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.appends++
	if l.appendErr != nil && l.appends > l.failAfter {
		return l.appendErr
	}
	l.events = append(l.events, evs...)
	return nil
}

func (l *logFake) HasEvents(_ context.Context, ids []string) (map[string]bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]bool{}
	for _, e := range l.events {
		if slices.Contains(ids, e.EventID) {
			out[e.EventID] = true
		}
	}
	return out, nil
}

func (l *logFake) RecordDelivery(_ context.Context, d caselog.Delivery) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deliveries = append(l.deliveries, d)
	return nil
}

// kinds lists the events written as "event:receiver" (receiver omitted
// when empty), in order.
func (l *logFake) kinds() []string {
	var out []string
	for _, e := range l.events {
		out = append(out, strings.TrimSuffix(e.Event+":"+e.Receiver, ":"))
	}
	return out
}

func (l *logFake) statuses() []string {
	var out []string
	for _, d := range l.deliveries {
		out = append(out, d.Status)
	}
	return out
}

var stageNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func stageClock() time.Time { return stageNow }

func neg(id, location, severity string) mention.Mention {
	return mention.Mention{ID: id, Brand: "Acme", Location: location, Text: "complaint " + id, Author: "a-" + id, PublishedAt: stageNow,
		Score: mention.Score{Negative: true, Severity: severity, Aspects: []string{"wait"}}}
}

func TestRouterStage(t *testing.T) {
	cfg, err := config.Parse("r.yaml", []byte(`
receivers: [{name: desk, kind: outbox}, {name: legal, kind: outbox}]
route:
  receiver: desk
  group_by: [location]
  routes:
    - {receiver: legal, match: {severity: critical}, continue: true}
    - {receiver: desk, match: {brand: Acme}}
`), config.Schema{})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := Tree(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rs := map[string]Receiver{"desk": &scripted{name: "desk"}, "legal": &scripted{name: "legal"}}
	for _, tc := range []struct {
		name    string
		tree    *Route
		ms      []mention.Mention
		routed  []string // cases already routed
		drop    bool     // the mention is not readable (not given to Route)
		fail    error
		want    []string // events written
		wantErr string
	}{
		{name: "one receiver", tree: tree, ms: []mention.Mention{neg("1", "Zagreb", "high")},
			want: []string{"opened", "queued:desk", "routed"}},
		{name: "critical: two receivers", tree: tree, ms: []mention.Mention{neg("1", "Zagreb", "critical")},
			want: []string{"opened", "queued:legal", "queued:desk", "routed"}},
		{name: "already routed", tree: tree, ms: []mention.Mention{neg("1", "Zagreb", "high")}, routed: []string{CaseID(neg("1", "Zagreb", "high"))}},
		{name: "not negative", tree: tree, ms: []mention.Mention{{ID: "2", Text: "fine", Brand: "Acme"}}},
		{name: "mention not readable yet", tree: tree, ms: []mention.Mention{neg("1", "Zagreb", "high")}, drop: true},
		{name: "unknown receiver", tree: &Route{Receiver: "nobody"}, ms: []mention.Mention{neg("1", "Zagreb", "high")},
			wantErr: `no receiver "nobody"`},
		{name: "log down", tree: tree, ms: []mention.Mention{neg("1", "Zagreb", "high")}, fail: errors.New("down"),
			wantErr: "route 1 cases: down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &logFake{}
			for _, c := range tc.routed {
				log.events = append(log.events, caselog.Event{EventID: caselog.RoutedID(c), CaseID: c, Event: "routed"})
			}
			before := len(log.events)
			r := Router{Tree: tc.tree, Receivers: rs, Log: log, Now: stageClock}
			qs, ms, err := r.Unrouted(context.Background(), tc.ms)
			if err != nil {
				t.Fatal(err)
			}
			if tc.drop {
				ms = nil
			}
			log.appendErr = tc.fail
			err = r.Route(context.Background(), qs, ms)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if len(log.events) != before {
					t.Errorf("wrote %v on error", log.kinds())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.events = log.events[before:]
			if got := log.kinds(); !slices.Equal(got, tc.want) {
				t.Errorf("events %v, want %v", got, tc.want)
			}
			for _, e := range log.events {
				if e.Event == "queued" && !strings.HasPrefix(e.Note, e.Receiver+"|") {
					t.Errorf("queued event without its group key: %+v", e)
				}
			}
		})
	}
}

// pendingFake is a PendingLog that remembers where each read started.
type pendingFake struct {
	pend  []caselog.Pending
	hist  caselog.SendHistory
	since []time.Time
}

func (p *pendingFake) PendingNotifications(_ context.Context, since time.Time) ([]caselog.Pending, error) {
	p.since = append(p.since, since)
	return p.pend, nil
}

func (p *pendingFake) SendHistory(context.Context, time.Time, time.Time) (caselog.SendHistory, error) {
	return p.hist, nil
}

func TestGrouperStage(t *testing.T) {
	tree := &Route{Receiver: "desk", GroupBy: []string{"location"}, GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute}
	key := "desk|location=Zagreb"
	items := []caselog.Pending{{CaseID: "c1", Receiver: "desk", GroupKey: key, QueuedAt: stageNow}}
	never := caselog.SendHistory{LastSent: map[string]time.Time{}}
	sentAt := func(t time.Time) caselog.SendHistory {
		return caselog.SendHistory{LastSent: map[string]time.Time{"desk\x00" + key: t}}
	}
	for _, tc := range []struct {
		name  string
		hist  caselog.SendHistory
		at    time.Duration // after the case was queued
		force bool
		want  bool
	}{
		{"new group waits group_wait", never, 10 * time.Second, false, false},
		{"new group goes after group_wait", never, 30 * time.Second, false, true},
		{"force skips the wait", never, 0, true, true},
		{"group sent recently waits group_interval", sentAt(stageNow.Add(-time.Minute)), 0, false, false},
		{"group sent long ago goes", sentAt(stageNow.Add(-5 * time.Minute)), 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := Grouper{Tree: tree}
			if got := g.Due(&Group{Receiver: "desk", Key: key, Items: items}, tc.hist, stageNow.Add(tc.at), tc.force); got != tc.want {
				t.Errorf("Due = %v, want %v", got, tc.want)
			}
		})
	}

	// Groups: one per receiver and key, in first-seen order; the window
	// moves to the oldest pending case, never past the router's floor.
	p := &pendingFake{pend: []caselog.Pending{
		{CaseID: "a", Receiver: "desk", GroupKey: "k1", QueuedAt: stageNow.Add(-time.Hour)},
		{CaseID: "b", Receiver: "legal", GroupKey: "k1", QueuedAt: stageNow},
		{CaseID: "c", Receiver: "desk", GroupKey: "k1", QueuedAt: stageNow},
	}}
	w := &Window{}
	g := Grouper{Tree: tree, Pending: p, Window: w}
	gs, err := g.Groups(context.Background(), stageNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[0].Receiver != "desk" || len(gs[0].Items) != 2 || gs[1].Receiver != "legal" {
		t.Fatalf("groups %+v", gs)
	}
	w.SetFloor(stageNow.Add(-time.Minute))
	for range 2 {
		if _, err := g.Groups(context.Background(), stageNow); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Time{stageNow.Add(-caselog.PendingLookback), stageNow.Add(-caselog.PendingLookback), stageNow.Add(-time.Hour - pendingOverlap)}
	if !slices.Equal(p.since, want) {
		t.Errorf("reads from %v, want %v", p.since, want)
	}
}

func TestThrottleStage(t *testing.T) {
	quiet, err := NewQuietHours("11:00", "13:00", time.UTC, 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := []Case{{ID: "c1", Mention: neg("1", "Zagreb", "high")}, {ID: "c2", Mention: neg("2", "Zagreb", "low")}}
	for _, tc := range []struct {
		name       string
		pol        Policy
		sent       int // messages in the last hour
		due        bool
		fail       error
		admitted   int
		events     []string
		deliveries []string
		wantErr    bool
	}{
		{name: "due, no policy", due: true, admitted: 2},
		{name: "not due: wait, record nothing", due: false},
		{name: "quiet hours: wait, record nothing", pol: quiet, due: true},
		{name: "under the hourly limit", pol: Policy{MaxPerHour: 3}, sent: 2, due: true, admitted: 2},
		{name: "at the hourly limit: deferred", pol: Policy{MaxPerHour: 3}, sent: 3, due: true,
			events: []string{"deferred:desk", "deferred:desk"}, deliveries: []string{"throttled"}},
		{name: "deferral not recorded: error, cases stay queued", pol: Policy{MaxPerHour: 1}, sent: 1, due: true,
			fail: errors.New("down"), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &logFake{appendErr: tc.fail}
			th := Throttle{Policies: map[string]Policy{"desk": tc.pol}, Log: log, Now: stageClock}
			hist := caselog.SendHistory{SentSince: map[string]int{"desk": tc.sent}}
			got, err := th.Admit(context.Background(), "desk", "desk|location=Zagreb", cases, hist, tc.due, stageNow)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if len(got) != tc.admitted || !slices.Equal(log.kinds(), tc.events) || !slices.Equal(log.statuses(), tc.deliveries) {
				t.Errorf("admitted %d, events %v, deliveries %v; want %d, %v, %v", len(got), log.kinds(), log.statuses(),
					tc.admitted, tc.events, tc.deliveries)
			}
		})
	}
}

func TestInhibitorStage(t *testing.T) {
	loc := caselog.Storm{ID: "storm:loc", Key: caselog.StormKey{Brand: "Acme", Location: "Zagreb"}, WindowStart: stageNow.Add(-time.Hour),
		WindowEnd: stageNow, Count: 9}
	asp := caselog.Storm{ID: "storm:wait", Key: caselog.StormKey{Brand: "Acme", Aspect: "billing"}, WindowStart: stageNow.Add(-time.Hour),
		WindowEnd: stageNow, Count: 7}
	old := neg("old", "Zagreb", "high")
	old.PublishedAt = stageNow.Add(-2 * time.Hour)
	undated := neg("undated", "Zagreb", "high")
	undated.PublishedAt, undated.CollectedAt = time.Time{}, stageNow
	billing := neg("bill", "Split", "low")
	billing.Aspects = []string{"billing"}
	other := neg("other", "Zagreb", "low")
	other.Brand = "Other"
	for _, tc := range []struct {
		name   string
		storms []caselog.Storm
		m      mention.Mention
		want   string // storm id, "" none
	}{
		{"same location in the window", []caselog.Storm{loc}, neg("1", "Zagreb", "low"), "storm:loc"},
		{"other location", []caselog.Storm{loc}, neg("1", "Split", "low"), ""},
		{"before the window", []caselog.Storm{loc}, old, ""},
		{"undated: collected time", []caselog.Storm{loc}, undated, "storm:loc"},
		{"aspect storm, any location", []caselog.Storm{loc, asp}, billing, "storm:wait"},
		{"other brand", []caselog.Storm{loc}, other, ""},
		{"no storms", nil, neg("1", "Zagreb", "low"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &logFake{}
			in := Inhibitor{Storms: tc.storms, Log: log, Now: stageClock}
			st, ok := in.Covering(tc.m)
			if ok != (tc.want != "") || st.ID != tc.want {
				t.Fatalf("Covering = %q %v, want %q", st.ID, ok, tc.want)
			}
			left := in.Filter(context.Background(), "desk", "k", []Case{{ID: "c", Mention: tc.m}})
			if inhibited := len(left) == 0; inhibited != ok {
				t.Errorf("Filter left %d cases", len(left))
			}
			if ok && (!slices.Equal(log.kinds(), []string{"inhibited:desk"}) || !slices.Equal(log.statuses(), []string{"suppressed"}) ||
				!strings.Contains(log.events[0].Note, tc.want)) {
				t.Errorf("recorded %v %v %+v", log.kinds(), log.statuses(), log.events)
			}
			if !ok && (len(log.events) > 0 || len(log.deliveries) > 0) {
				t.Errorf("recorded %v %v for a case no storm covers", log.kinds(), log.statuses())
			}
		})
	}
}

func TestNotifyLogStage(t *testing.T) {
	cases := []Case{{ID: "c1", Mention: neg("1", "Zagreb", "high")}, {ID: "c2", Mention: neg("2", "Zagreb", "high")}}
	for _, tc := range []struct {
		name      string
		script    []Delivery // the receiver's failures, in order
		failAfter int        // appends that succeed before the log fails (-1: never)
		sent      bool
		events    []string
		wantErr   bool
	}{
		{name: "accepted", failAfter: -1, sent: true,
			events: []string{"sending:desk", "sending:desk", "notified:desk", "notified:desk"}},
		{name: "refused: unsent, not a duplicate next time", script: []Delivery{{HTTPStatus: 400}}, failAfter: -1,
			events: []string{"sending:desk", "sending:desk", "unsent:desk", "unsent:desk"}, wantErr: true},
		{name: "no answer: the intent stays", script: []Delivery{{Unknown: true}}, failAfter: -1,
			events: []string{"sending:desk", "sending:desk"}, wantErr: true},
		{name: "intent not recorded: nothing sent", failAfter: 0, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &logFake{}
			if tc.failAfter >= 0 {
				log.appendErr, log.failAfter = errors.New("down"), tc.failAfter
			}
			rcv := &scripted{name: "desk", script: tc.script}
			nl := NotifyLog{Events: log, Sender: Sender{Log: log, Now: stageClock}, Now: stageClock}
			msg := Message{ID: "msg-1", Receiver: "desk", Cases: cases[:1], More: []string{"c2"}}
			err := nl.Send(context.Background(), rcv, msg, cases, false, "k", map[string]time.Time{})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if sent := len(rcv.sent) == 1; sent != tc.sent {
				t.Errorf("sent %v, want %v", sent, tc.sent)
			}
			if !slices.Equal(log.kinds(), tc.events) {
				t.Errorf("events %v, want %v", log.kinds(), tc.events)
			}
		})
	}
}

func TestSenderStage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		script   []Delivery
		dup      bool
		statuses []string
		slept    int
		wait     bool // a *waitError comes back
		maybe    bool
		wantErr  bool
	}{
		{name: "first attempt", statuses: []string{"sent"}, maybe: true},
		{name: "retryable, then sent", script: []Delivery{{HTTPStatus: 503, Retry: true}}, statuses: []string{"retry", "sent"}, slept: 1, maybe: true},
		{name: "final refusal", script: []Delivery{{HTTPStatus: 400}}, statuses: []string{"failed"}, wantErr: true},
		{name: "retries run out", script: []Delivery{{Retry: true}, {Retry: true}, {Retry: true}},
			statuses: []string{"retry", "retry", "failed"}, slept: 2, wantErr: true},
		{name: "asks to wait longer than a flush", script: []Delivery{{HTTPStatus: 429, Retry: true, RetryAfter: time.Minute}},
			statuses: []string{"retry"}, wait: true, wantErr: true},
		{name: "possible duplicate counted first", dup: true, statuses: []string{"attempt", "sent"}, maybe: true},
		{name: "no answer: maybe delivered", script: []Delivery{{Unknown: true}}, statuses: []string{"unknown"}, maybe: true, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &logFake{}
			slept := 0
			s := Sender{Log: log, Retries: 2, Backoff: time.Second, Now: stageClock,
				Sleep: func(context.Context, time.Duration) error { slept++; return nil }}
			maybe, err := s.Deliver(context.Background(), &scripted{name: "desk", script: tc.script},
				Message{ID: "m", Receiver: "desk", Cases: []Case{{ID: "c1"}}}, tc.dup)
			if (err != nil) != tc.wantErr || maybe != tc.maybe || slept != tc.slept {
				t.Errorf("err %v maybe %v slept %d; want err %v maybe %v slept %d", err, maybe, slept, tc.wantErr, tc.maybe, tc.slept)
			}
			var w *waitError
			if errors.As(err, &w) != tc.wait {
				t.Errorf("wait error: %v", err)
			}
			if !slices.Equal(log.statuses(), tc.statuses) {
				t.Errorf("delivery rows %v, want %v", log.statuses(), tc.statuses)
			}
		})
	}
}

// stormsSince is a StormStore holding recorded storms only.
type stormsSince struct {
	StormStore
	storms []caselog.Storm
}

func (s stormsSince) StormsSince(_ context.Context, since time.Time) ([]caselog.Storm, error) {
	var out []caselog.Storm
	for _, st := range s.storms {
		if !st.At.Before(since) {
			out = append(out, st)
		}
	}
	return out, nil
}

func TestStormWatchActive(t *testing.T) {
	hourly := stormOpts() // window 1h, cooldown 6h
	daily := stormOpts()
	daily.Window, daily.Cooldown = 24*time.Hour, 48*time.Hour
	storm := func(window, age time.Duration) caselog.Storm {
		return caselog.Storm{ID: fmt.Sprintf("%s-%s", window, age), At: stageNow.Add(-age), WindowStart: stageNow.Add(-age - window),
			WindowEnd: stageNow.Add(-age)}
	}
	for _, tc := range []struct {
		name  string
		st    caselog.Storm
		other bool // a daily detector is configured too
		want  bool
	}{
		{"hourly storm in its cooldown", storm(time.Hour, 5*time.Hour), false, true},
		{"hourly storm past its cooldown", storm(time.Hour, 7*time.Hour), true, false},
		{"daily storm in its longer cooldown", storm(24*time.Hour, 30*time.Hour), true, true},
		{"storm of a removed detector: the longest cooldown", storm(2*time.Hour, 5*time.Hour), false, true},
		{"storm of a removed detector, past it", storm(2*time.Hour, 7*time.Hour), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dets := []config.Storms{hourly}
			if tc.other {
				dets = append(dets, daily)
			}
			w := StormWatch{Detectors: dets, Store: stormsSince{storms: []caselog.Storm{tc.st}}}
			got, err := w.Active(context.Background(), stageNow)
			if err != nil || (len(got) == 1) != tc.want {
				t.Errorf("active %v, err %v; want active %v", got, err, tc.want)
			}
		})
	}
}

// TestEscalatorRetriesAFailedStep: a step whose send fails is not
// recorded, and the next run sends it, not the step after it.
func TestEscalatorRetriesAFailedStep(t *testing.T) {
	cfg, err := config.Parse("e.yaml", []byte(`
receivers: [{name: desk, kind: outbox}, {name: lead, kind: outbox}, {name: manager, kind: outbox}]
route: {receiver: desk, ack_within: 1h, escalate_to: [lead, manager]}
`), config.Schema{})
	if err != nil {
		t.Fatal(err)
	}
	tree, _ := Tree(cfg)
	m := neg("e1", "Zagreb", "high")
	store := &escStore{memCases: newMem(), state: "open", openedAt: stageNow.Add(-150 * time.Minute), m: m}
	id := CaseID(m)
	store.events[notifiedID(id, "desk", 0)] = caselog.Event{EventID: notifiedID(id, "desk", 0), CaseID: id, Event: "notified", Receiver: "desk"}
	lead, manager := &scripted{name: "lead", script: []Delivery{{HTTPStatus: 400}}}, &scripted{name: "manager"}
	e := Escalator{Tree: tree, Receivers: map[string]Receiver{"lead": lead, "manager": manager}, Sender: Sender{Log: store, Now: stageClock},
		Now: stageClock}
	for i, want := range []struct{ sent, lead, manager int }{{0, 0, 0}, {2, 1, 1}, {0, 1, 1}} {
		sent, err := e.Run(context.Background(), store)
		if (err != nil) != (i == 0) || sent != want.sent || len(lead.sent) != want.lead || len(manager.sent) != want.manager {
			t.Errorf("run %d: sent %d, lead %d, manager %d, err %v; want %+v", i+1, sent, len(lead.sent), len(manager.sent), err, want)
		}
	}
}
