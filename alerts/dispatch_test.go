package alerts

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/mention"
)

// testClock is a settable clock safe for the notifier's per-receiver
// goroutines.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// memQueue is the case queue beside memCases: queue rows as the view
// writes them, Unrouted and OldestOpen as storage computes them, on the
// server's clock. It records each Unrouted call's since and every event
// write, so a case routed twice shows even though events collapse by id.
type memQueue struct {
	*memCases
	qmu    sync.Mutex
	rows   []caselog.Queued
	server func() time.Time
	sinces []time.Time
	writes []caselog.Event
}

func newMemQueue(server func() time.Time, ms ...mention.Mention) *memQueue {
	return &memQueue{memCases: newMem(ms...), server: server}
}

// enqueue adds a queue row, as inserting a negative mention does.
func (q *memQueue) enqueue(caseID, mentionID string, at time.Time) {
	q.qmu.Lock()
	defer q.qmu.Unlock()
	q.rows = append(q.rows, caselog.Queued{CaseID: caseID, MentionID: mentionID, OpenedAt: at})
}

func (q *memQueue) Unrouted(_ context.Context, since time.Time, after string, limit int) ([]caselog.Queued, time.Time, error) {
	q.qmu.Lock()
	defer q.qmu.Unlock()
	q.sinces = append(q.sinces, since)
	if len(q.sinces) > 1000 {
		return nil, time.Time{}, errors.New("memQueue: 1000 queries: the router loops")
	}
	q.memCases.mu.Lock()
	defer q.memCases.mu.Unlock()
	first := map[string]caselog.Queued{}
	for _, r := range q.rows {
		if r.OpenedAt.Before(since) || r.OpenedAt.Equal(since) && r.CaseID <= after {
			continue
		}
		if _, routed := q.events[routedID(r.CaseID)]; routed {
			continue
		}
		if f, ok := first[r.CaseID]; !ok || r.OpenedAt.Before(f.OpenedAt) {
			first[r.CaseID] = r
		}
	}
	var out []caselog.Queued
	for _, r := range first {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b caselog.Queued) int {
		return cmp.Or(a.OpenedAt.Compare(b.OpenedAt), strings.Compare(a.CaseID, b.CaseID))
	})
	return out[:min(len(out), max(limit, 1))], q.server(), nil
}

// OldestOpen: the oldest case of the window whose current state is open.
func (q *memQueue) OldestOpen(_ context.Context, since time.Time) (time.Time, bool, error) {
	q.qmu.Lock()
	defer q.qmu.Unlock()
	q.memCases.mu.Lock()
	defer q.memCases.mu.Unlock()
	var oldest time.Time
	found := false
	for _, r := range q.rows {
		if r.OpenedAt.Before(since) {
			continue
		}
		var state caselog.Event
		var opened time.Time
		for _, e := range q.events {
			if e.CaseID != r.CaseID {
				continue
			}
			if opened.IsZero() || e.At.Before(opened) {
				opened = e.At
			}
			if !slices.Contains([]string{"opened", "acknowledged", "held", "resumed", "resolved"}, e.Event) {
				continue
			}
			if state.Event == "" || e.Event != "opened" && (state.Event == "opened" || !e.At.Before(state.At)) {
				state = e
			}
		}
		if state.State == "open" && (!found || opened.Before(oldest)) {
			oldest, found = opened, true
		}
	}
	return oldest, found, nil
}

func (q *memQueue) AppendCaseEvents(ctx context.Context, evs []caselog.Event) error {
	q.qmu.Lock()
	q.writes = append(q.writes, evs...)
	q.qmu.Unlock()
	return q.memCases.AppendCaseEvents(ctx, evs)
}

// PendingNotifications as storage has it: a case counts as attempted
// while its intent row (collapsed by id) is a "sending" event.
func (q *memQueue) PendingNotifications(ctx context.Context, since time.Time) ([]caselog.Pending, error) {
	ps, err := q.memCases.PendingNotifications(ctx, since)
	q.memCases.mu.Lock()
	defer q.memCases.mu.Unlock()
	for i, p := range ps {
		e, ok := q.events[p.CaseID+":sending:"+p.Receiver+":0"]
		ps[i].Attempted = ok && e.Event == "sending"
		if !ps[i].Attempted {
			ps[i].AttemptID = ""
		}
	}
	return ps, err
}

// written counts the event writes of one kind for a case.
func (q *memQueue) written(caseID, event string) int {
	q.qmu.Lock()
	defer q.qmu.Unlock()
	n := 0
	for _, e := range q.writes {
		if e.CaseID == caseID && e.Event == event {
			n++
		}
	}
	return n
}

func (q *memQueue) writeCount() int {
	q.qmu.Lock()
	defer q.qmu.Unlock()
	return len(q.writes)
}

func (q *memQueue) event(id string) (caselog.Event, bool) {
	q.memCases.mu.Lock()
	defer q.memCases.mu.Unlock()
	e, ok := q.events[id]
	return e, ok
}

func (q *memQueue) deliveries(recv string) []caselog.Delivery {
	q.memCases.mu.Lock()
	defer q.memCases.mu.Unlock()
	var out []caselog.Delivery
	for _, d := range q.deliv {
		if d.Receiver == recv {
			out = append(out, d)
		}
	}
	return out
}

func (q *memQueue) lastSince() time.Time {
	q.qmu.Lock()
	defer q.qmu.Unlock()
	return q.sinces[len(q.sinces)-1]
}

// recvFake answers with its script (each answer with an error), then
// accepts; it records every attempt.
type recvFake struct {
	name     string
	mu       sync.Mutex
	script   []Delivery
	attempts []Message
	accepted []Message
	gate     chan struct{} // when set, each send waits for it (a hanging receiver)
}

func (r *recvFake) Name() string { return r.name }

func (r *recvFake) Send(_ context.Context, m Message) (Delivery, error) {
	r.mu.Lock()
	r.attempts = append(r.attempts, m)
	gate := r.gate
	r.mu.Unlock()
	if gate != nil {
		<-gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.script) > 0 {
		d := r.script[0]
		r.script = r.script[1:]
		if d.Unknown {
			return d, errors.New("no answer within the timeout")
		}
		return d, fmt.Errorf("HTTP %d", d.HTTPStatus)
	}
	r.accepted = append(r.accepted, m)
	return Delivery{HTTPStatus: 202}, nil
}

func (r *recvFake) counts() (attempts, accepted int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.attempts), len(r.accepted)
}

// acceptedCases lists the case ids of accepted messages, in order.
func (r *recvFake) acceptedCases() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, m := range r.accepted {
		for _, c := range m.Cases {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// dispatchRig: a dispatcher over memQueue, fake receivers, one clock for
// earshot and the server (unless a test moves them apart), and metrics.
type dispatchRig struct {
	d      *Dispatcher
	n      *Notifier
	q      *memQueue
	clock  *testClock
	server *testClock
	rcv    map[string]*recvFake
	m      *metrics.Metrics
	mu     sync.Mutex
	sleeps []time.Duration
}

var dispatchStart = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newDispatchRig(t *testing.T, yaml string, ms ...mention.Mention) *dispatchRig {
	t.Helper()
	cfg, err := config.Parse("d.yaml", []byte(yaml), config.Schema{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Tree(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &dispatchRig{clock: &testClock{t: dispatchStart}, server: &testClock{t: dispatchStart}, rcv: map[string]*recvFake{}, m: metrics.New()}
	r.q = newMemQueue(r.server.Now, ms...)
	rs := map[string]Receiver{}
	for _, c := range cfg.Receivers {
		r.rcv[c.Name] = &recvFake{name: c.Name}
		rs[c.Name] = r.rcv[c.Name]
	}
	r.n = &Notifier{Tree: tr, Receivers: rs, Store: r.q, Now: r.clock.Now, Metrics: r.m, Backoff: time.Second,
		Sleep: func(_ context.Context, d time.Duration) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.sleeps = append(r.sleeps, d)
			return nil
		}}
	r.d = &Dispatcher{Notifier: r.n, Queue: r.q, Metrics: r.m}
	return r
}

// tick moves earshot's and the server's clocks together.
func (r *dispatchRig) tick(d time.Duration) {
	r.clock.Add(d)
	r.server.Add(d)
}

func (r *dispatchRig) slept() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sleeps)
}

// metricValue reads one series ("name{labels}") from /metrics; 0 if absent.
func metricValue(t *testing.T, m *metrics.Metrics, series string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	return 0
}

func complaint(id, location, severity string) mention.Mention {
	return mention.Mention{ID: id, Brand: "Acme", Location: location, Text: "complaint " + id, Author: "a-" + id,
		Score: mention.Score{Negative: true, Severity: severity}}
}

const deskYAML = `
receivers: [{name: desk, kind: outbox}]
route: {receiver: desk, group_by: [location]}
`

// TestDispatcherRoutesEachCaseOnce: whatever the page size, a round opens
// and routes every queued case once, with "opened" (and "queued") at the
// time the case was queued and "routed" at routing time; the next round
// routes and sends nothing.
func TestDispatcherRoutesEachCaseOnce(t *testing.T) {
	for _, page := range []int{0, 1, 2, 5, 7} {
		t.Run(fmt.Sprintf("page size %d", page), func(t *testing.T) {
			var ms []mention.Mention
			for i := 1; i <= 5; i++ {
				ms = append(ms, complaint(fmt.Sprintf("m:%d", i), []string{"Zagreb", "Split"}[i%2], "medium"))
			}
			r := newDispatchRig(t, deskYAML, ms...)
			r.d.PageSize = page
			queuedAt := map[string]time.Time{}
			for i, m := range ms {
				at := dispatchStart.Add(-time.Hour + time.Duration(i)*time.Minute)
				queuedAt[CaseID(m)] = at
				r.q.enqueue(CaseID(m), m.ID, at)
			}
			// A repeat of the first mention (spool replay, rescore) queues
			// its case again later: still one case.
			r.q.enqueue(CaseID(ms[0]), ms[0].ID, dispatchStart.Add(-time.Minute))

			if err := r.d.Round(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			for id, at := range queuedAt {
				if n := r.q.written(id, "routed"); n != 1 {
					t.Errorf("%s routed %d times in the first round", id, n)
				}
				opened, ok1 := r.q.event(id + ":opened")
				queued, ok2 := r.q.event(queuedID(id, "desk"))
				routed, ok3 := r.q.event(routedID(id))
				if !ok1 || !ok2 || !ok3 {
					t.Errorf("%s: opened %v queued %v routed %v", id, ok1, ok2, ok3)
					continue
				}
				if !opened.At.Equal(at) || !queued.At.Equal(at) || opened.State != "open" {
					t.Errorf("%s: opened at %v (%s), queued at %v; want both at the queue time %v", id, opened.At, opened.State, queued.At, at)
				}
				if !routed.At.Equal(dispatchStart) || routed.Note != "desk" {
					t.Errorf("%s: routed at %v to %q; want now (%v), desk", id, routed.At, routed.Note, dispatchStart)
				}
				if want := "desk|location=" + ms[0].Location; id == CaseID(ms[0]) && queued.Note != want {
					t.Errorf("%s queued under group %q, want %q", id, queued.Note, want)
				}
			}
			got := r.rcv["desk"].acceptedCases()
			slices.Sort(got)
			want := []string{"case:m:1", "case:m:2", "case:m:3", "case:m:4", "case:m:5"}
			if !slices.Equal(got, want) {
				t.Errorf("sent cases %q, want each of %q once", got, want)
			}
			if v := metricValue(t, r.m, "earshot_cases_opened_total"); v != 5 {
				t.Errorf("earshot_cases_opened_total = %v, want 5", v)
			}

			attempts, _ := r.rcv["desk"].counts()
			writes, deliveries := r.q.writeCount(), len(r.q.deliveries("desk"))
			r.tick(time.Hour)
			if err := r.d.Round(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			if a, _ := r.rcv["desk"].counts(); a != attempts || r.q.writeCount() != writes || len(r.q.deliveries("desk")) != deliveries {
				t.Errorf("second round: %d sends, %d event writes, %d deliveries; want none (had %d, %d, %d)",
					a-attempts, r.q.writeCount()-writes, len(r.q.deliveries("desk"))-deliveries, attempts, writes, deliveries)
			}
			if v := metricValue(t, r.m, "earshot_cases_opened_total"); v != 5 {
				t.Errorf("after the second round earshot_cases_opened_total = %v, want 5", v)
			}
		})
	}
}

// TestDispatcherMissingMentionHoldsWatermark: a queue row whose mention
// cannot be read yet keeps the router's watermark at or before it, so it
// is routed once the mention appears, however late; the others are
// routed meanwhile.
func TestDispatcherMissingMentionHoldsWatermark(t *testing.T) {
	late, present := complaint("m:late", "Zagreb", "high"), complaint("m:ok", "Zagreb", "high")
	r := newDispatchRig(t, deskYAML, present)
	t0 := dispatchStart.Add(-10 * time.Minute)
	r.q.enqueue(CaseID(late), late.ID, t0)
	r.q.enqueue(CaseID(present), present.ID, t0.Add(time.Minute))

	ctx := context.Background()
	if err := r.d.Round(ctx, true); err != nil {
		t.Fatal(err)
	}
	if r.q.written(CaseID(present), "routed") != 1 || r.q.written(CaseID(late), "opened") != 0 {
		t.Fatalf("first round: present routed %d, late opened %d; want 1 and 0",
			r.q.written(CaseID(present), "routed"), r.q.written(CaseID(late), "opened"))
	}
	// An hour later (far past the router's overlap) the row is still
	// looked at.
	r.tick(time.Hour)
	if err := r.d.Round(ctx, true); err != nil {
		t.Fatal(err)
	}
	if s := r.q.lastSince(); s.After(t0) {
		t.Errorf("watermark %v moved past the unreadable row queued at %v", s, t0)
	}
	r.q.put(late)
	r.tick(time.Hour)
	if err := r.d.Round(ctx, true); err != nil {
		t.Fatal(err)
	}
	if n := r.q.written(CaseID(late), "routed"); n != 1 {
		t.Fatalf("late case routed %d times once its mention appeared, want 1", n)
	}
	if e, _ := r.q.event(CaseID(late) + ":opened"); !e.At.Equal(t0) {
		t.Errorf("late case opened at %v, want its queue time %v", e.At, t0)
	}
	if got := r.rcv["desk"].acceptedCases(); !slices.Equal(got, []string{CaseID(present), CaseID(late)}) {
		t.Errorf("sent %q", got)
	}
	// Nothing unreadable left: the watermark moves up.
	if err := r.d.Round(ctx, true); err != nil {
		t.Fatal(err)
	}
	r.tick(time.Minute)
	if err := r.d.Round(ctx, true); err != nil {
		t.Fatal(err)
	}
	if s := r.q.lastSince(); !s.After(t0) {
		t.Errorf("watermark %v still held at %v after the row was routed", s, t0)
	}
}

// TestDispatcherMissingMentionsDoNotBlockLaterCases: unreadable rows at
// the head of the queue hold the watermark but must not stop the cases
// queued after them from being routed, even when they fill a page.
func TestDispatcherMissingMentionsDoNotBlockLaterCases(t *testing.T) {
	tests := []struct {
		page, missing int
	}{
		{2, 1},
		{2, 2},
		{1, 1},
		{3, 4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("page %d, %d unreadable first", tt.page, tt.missing), func(t *testing.T) {
			var readable []mention.Mention
			for i := range 3 {
				readable = append(readable, complaint(fmt.Sprintf("m:ok%d", i), "Zagreb", "medium"))
			}
			r := newDispatchRig(t, deskYAML, readable...)
			r.d.PageSize = tt.page
			at := dispatchStart.Add(-time.Hour)
			for i := range tt.missing {
				r.q.enqueue(fmt.Sprintf("case:m:gone%d", i), fmt.Sprintf("m:gone%d", i), at)
				at = at.Add(time.Minute)
			}
			for _, m := range readable {
				r.q.enqueue(CaseID(m), m.ID, at)
				at = at.Add(time.Minute)
			}
			if err := r.d.Round(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			for _, m := range readable {
				if n := r.q.written(CaseID(m), "routed"); n != 1 {
					t.Errorf("%s routed %d times, want 1: unreadable rows ahead of it blocked the router", CaseID(m), n)
				}
			}
		})
	}
}

// TestNotifierParksReceiverAskingToWait: a receiver answering 429 with
// Retry-After 300 is not waited for: Flush returns, the other receiver's
// groups go out in the same flush, and the parked receiver (all its
// groups) is not tried again until the wait has passed.
func TestNotifierParksReceiverAskingToWait(t *testing.T) {
	ms := []mention.Mention{complaint("m:1", "Zagreb", "high"), complaint("m:2", "Zagreb", "high"), complaint("m:3", "Split", "high")}
	r := newDispatchRig(t, `
receivers: [{name: slow, kind: outbox}, {name: fast, kind: outbox}]
route:
  receiver: fast
  group_by: [location]
  routes:
    - {receiver: slow, continue: true}
    - {receiver: fast}
`, ms...)
	r.rcv["slow"].script = []Delivery{{HTTPStatus: 429, Retry: true, RetryAfter: 300 * time.Second}}
	for _, m := range ms {
		r.q.enqueue(CaseID(m), m.ID, dispatchStart.Add(-time.Minute))
	}
	ctx := context.Background()

	err := r.d.Round(ctx, true)
	var wait *waitError
	if !errors.As(err, &wait) || wait.d != 300*time.Second {
		t.Errorf("first round: %v; want the receiver's wait (300s) reported", err)
	}
	for _, d := range r.slept() {
		if d >= 10*time.Second {
			t.Errorf("Flush slept %v inline", d)
		}
	}
	if _, ok := r.rcv["fast"].counts(); ok != 2 {
		t.Errorf("fast got %d messages in the flush where slow asked to wait, want both groups (2)", ok)
	}
	if a, _ := r.rcv["slow"].counts(); a != 1 {
		t.Errorf("slow tried %d times, want once (its second group waits too)", a)
	}
	if ds := r.q.deliveries("slow"); len(ds) != 1 || ds[0].Status != "retry" || ds[0].HTTPStatus != 429 {
		t.Errorf("slow deliveries %+v, want one 429 retry row", ds)
	}

	for _, step := range []time.Duration{time.Minute, 3 * time.Minute, 59 * time.Second} { // 4m59s after
		r.tick(step)
		if err := r.d.Round(ctx, true); err != nil {
			t.Errorf("round while slow waits: %v", err)
		}
		if a, _ := r.rcv["slow"].counts(); a != 1 {
			t.Fatalf("slow tried again %v into its 300s wait", r.clock.Now().Sub(dispatchStart))
		}
	}
	r.tick(2 * time.Second)
	if err := r.d.Round(ctx, true); err != nil {
		t.Fatal(err)
	}
	if a, ok := r.rcv["slow"].counts(); a != 3 || ok != 2 {
		t.Errorf("after the wait slow got %d attempts, %d accepted; want both groups sent (3 attempts, 2 accepted)", a, ok)
	}
	got := r.rcv["slow"].acceptedCases()
	slices.Sort(got)
	if !slices.Equal(got, []string{"case:m:1", "case:m:2", "case:m:3"}) {
		t.Errorf("slow got %q", got)
	}
	if _, ok := r.rcv["fast"].counts(); ok != 2 {
		t.Errorf("fast got %d messages, want still 2", ok)
	}
}

// TestUnknownOutcomeThenResend: a receiver that took the request without
// answering ("unknown") gets the same message again, counted before it
// goes out ('attempt' row, duplicate) and marked duplicate when sent.
func TestUnknownOutcomeThenResend(t *testing.T) {
	m := complaint("m:1", "Zagreb", "high")
	r := newDispatchRig(t, deskYAML, m)
	r.rcv["desk"].script = []Delivery{{Unknown: true, Retry: true}}
	r.q.enqueue(CaseID(m), m.ID, dispatchStart.Add(-time.Minute))
	if err := r.d.Round(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	desk := r.rcv["desk"]
	if len(desk.attempts) != 2 || len(desk.accepted) != 1 || desk.attempts[0].ID == "" || desk.attempts[1].ID != desk.attempts[0].ID {
		t.Fatalf("attempts %d accepted %d; want 2 attempts of one message id", len(desk.attempts), len(desk.accepted))
	}
	id := desk.attempts[0].ID
	var rows []string
	for _, d := range r.q.deliveries("desk") {
		rows = append(rows, fmt.Sprintf("%s/%d/dup=%v/%s", d.Status, d.Attempt, d.Duplicate, cmp.Or(d.MessageID, "-")))
	}
	want := []string{"unknown/1/dup=false/" + id, "attempt/2/dup=true/" + id, "sent/2/dup=true/" + id}
	if !slices.Equal(rows, want) {
		t.Errorf("deliveries %q, want %q", rows, want)
	}
	if v := metricValue(t, r.m, `earshot_alerts_possible_duplicates_total{receiver="desk"}`); v != 1 {
		t.Errorf("possible duplicates = %v, want 1", v)
	}
	if v := metricValue(t, r.m, `earshot_alerts_total{outcome="unknown",receiver="desk"}`); v != 1 {
		t.Errorf("unknown outcomes = %v, want 1", v)
	}
	if _, ok := r.q.event(notifiedID(CaseID(m), "desk", 0)); !ok {
		t.Error("not recorded as notified after the resend was accepted")
	}
}

// TestAttemptedCaseResentWithItsMessageID: a case whose earlier send may
// have gone out (a "sending" intent, no "notified") is resent under the
// earlier message id, apart from new cases of its group, and counted as a
// possible duplicate; new cases are not.
func TestAttemptedCaseResentWithItsMessageID(t *testing.T) {
	tests := []struct {
		name     string
		attempts map[string]string // case (mention id) -> message id of its earlier attempt
		messages map[string][]string
	}{
		{"earlier message id kept", map[string]string{"m:1": "msg-earlier"},
			map[string][]string{"msg-earlier": {"case:m:1"}, "fresh": {"case:m:2", "case:m:3"}}},
		{"cases of one earlier message go together", map[string]string{"m:1": "msg-earlier", "m:3": "msg-earlier"},
			map[string][]string{"msg-earlier": {"case:m:1", "case:m:3"}, "fresh": {"case:m:2"}}},
		{"intent without an id: the stable id of the case", map[string]string{"m:2": ""},
			map[string][]string{"stable": {"case:m:2"}, "fresh": {"case:m:1", "case:m:3"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := []mention.Mention{complaint("m:1", "Zagreb", "high"), complaint("m:2", "Zagreb", "high"), complaint("m:3", "Zagreb", "high")}
			r := newDispatchRig(t, deskYAML, ms...)
			ctx := context.Background()
			var qs []caselog.Queued
			byID := map[string]mention.Mention{}
			for _, m := range ms {
				qs = append(qs, caselog.Queued{CaseID: CaseID(m), MentionID: m.ID, OpenedAt: dispatchStart.Add(-time.Hour)})
				byID[m.ID] = m
			}
			if err := r.n.Route(ctx, qs, byID); err != nil {
				t.Fatal(err)
			}
			// The process that sent them died before recording "notified".
			for mid, msgID := range tt.attempts {
				c := CaseID(byID[mid])
				if err := r.q.AppendCaseEvents(ctx, []caselog.Event{{EventID: c + ":sending:desk:0", CaseID: c, MentionID: mid,
					At: dispatchStart.Add(-30 * time.Minute), Event: "sending", State: "open", Receiver: "desk", Note: msgID}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.n.Flush(ctx, true); err != nil {
				t.Fatal(err)
			}
			desk := r.rcv["desk"]
			got := map[string][]string{}
			for _, m := range desk.accepted {
				var ids []string
				for _, c := range m.Cases {
					ids = append(ids, c.ID)
				}
				slices.Sort(ids)
				got[m.ID] = ids
			}
			for key, cases := range tt.messages {
				id := key
				switch key {
				case "fresh", "stable":
					var cs []Case
					for _, c := range cases {
						cs = append(cs, Case{ID: c})
					}
					id = MessageID("desk", 0, cs)
				}
				if !slices.Equal(got[id], cases) {
					t.Errorf("message %s (%s) carried %q, want %q; sent %v", id, key, got[id], cases, got)
				}
			}
			if len(got) != len(tt.messages) {
				t.Errorf("%d messages sent, want %d: %v", len(got), len(tt.messages), got)
			}
			// Deliveries: the resend announced ('attempt', duplicate) before
			// its 'sent' row (duplicate); the fresh message not duplicate.
			var attempts, dupSent, freshSent int
			seenAttempt := map[string]bool{}
			for _, d := range r.q.deliveries("desk") {
				switch {
				case d.Status == "attempt" && d.Duplicate:
					attempts += len(d.CaseIDs)
					seenAttempt[d.MessageID] = true
				case d.Status == "sent" && d.Duplicate:
					dupSent += len(d.CaseIDs)
					if !seenAttempt[d.MessageID] {
						t.Errorf("duplicate %s sent without an 'attempt' row before it", d.MessageID)
					}
				case d.Status == "sent":
					freshSent += len(d.CaseIDs)
				}
			}
			if attempts != len(tt.attempts) || dupSent != len(tt.attempts) || freshSent != 3-len(tt.attempts) {
				t.Errorf("attempt rows for %d cases, duplicate sends %d, fresh sends %d; want %d, %d, %d",
					attempts, dupSent, freshSent, len(tt.attempts), len(tt.attempts), 3-len(tt.attempts))
			}
			if v := metricValue(t, r.m, `earshot_alerts_possible_duplicates_total{receiver="desk"}`); int(v) != len(byMessage(tt.attempts)) {
				t.Errorf("possible duplicates = %v, want %d (one per resent message)", v, len(byMessage(tt.attempts)))
			}
			// All notified: the next flush sends nothing.
			if err := r.n.Flush(ctx, true); err != nil {
				t.Fatal(err)
			}
			if a, _ := desk.counts(); a != len(tt.messages) {
				t.Errorf("%d sends after a second flush, want %d", a, len(tt.messages))
			}
		})
	}
}

func byMessage(attempts map[string]string) map[string]bool {
	out := map[string]bool{}
	for _, id := range attempts {
		out[id] = true
	}
	return out
}

// TestRefusedSendIsNotCountedAsDuplicate: a receiver that answered "no"
// (429, 400, 503) did not take the message; sending it again later is
// not a possible duplicate (only a crash or an unanswered request in the
// send window is).
func TestRefusedSendIsNotCountedAsDuplicate(t *testing.T) {
	tests := []struct {
		name   string
		script []Delivery
	}{
		{"429 with a long Retry-After", []Delivery{{HTTPStatus: 429, Retry: true, RetryAfter: 300 * time.Second}}},
		{"400", []Delivery{{HTTPStatus: 400}}},
		{"503 until the retries ran out", []Delivery{{HTTPStatus: 503, Retry: true}, {HTTPStatus: 503, Retry: true}, {HTTPStatus: 503, Retry: true}, {HTTPStatus: 503, Retry: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := complaint("m:1", "Zagreb", "high")
			r := newDispatchRig(t, deskYAML, m)
			r.rcv["desk"].script = slices.Clone(tt.script)
			r.q.enqueue(CaseID(m), m.ID, dispatchStart.Add(-time.Minute))
			ctx := context.Background()
			if err := r.d.Round(ctx, true); err == nil {
				t.Fatal("the refusal was not reported")
			}
			r.tick(10 * time.Minute)
			if err := r.d.Round(ctx, true); err != nil {
				t.Fatal(err)
			}
			if _, ok := r.rcv["desk"].counts(); ok != 1 {
				t.Fatalf("accepted %d, want the later send accepted", ok)
			}
			for _, d := range r.q.deliveries("desk") {
				if d.Duplicate || d.Status == "attempt" {
					t.Errorf("delivery %s attempt %d marked a possible duplicate after the receiver refused the first send", d.Status, d.Attempt)
				}
			}
			if v := metricValue(t, r.m, `earshot_alerts_possible_duplicates_total{receiver="desk"}`); v != 0 {
				t.Errorf("possible duplicates = %v, want 0", v)
			}
		})
	}
}

// TestOldestOpenGauge: the dispatcher's gauge is the age of the oldest
// case nobody acknowledged; 0 when there is none.
func TestOldestOpenGauge(t *testing.T) {
	ms := []mention.Mention{complaint("m:1", "Zagreb", "high"), complaint("m:2", "Zagreb", "high")}
	r := newDispatchRig(t, deskYAML, ms...)
	r.q.enqueue(CaseID(ms[0]), ms[0].ID, dispatchStart.Add(-2*time.Hour))
	r.q.enqueue(CaseID(ms[1]), ms[1].ID, dispatchStart.Add(-time.Hour))
	ctx := context.Background()
	if err := r.d.Round(ctx, true); err != nil {
		t.Fatal(err)
	}
	gauge := func() float64 {
		r.d.gauge(ctx)
		return metricValue(t, r.m, "earshot_oldest_unacknowledged_case_seconds")
	}
	if v := gauge(); v != (2 * time.Hour).Seconds() {
		t.Errorf("gauge %v, want 7200 (the older case)", v)
	}
	ack := func(m mention.Mention) {
		c := CaseID(m)
		if err := r.q.AppendCaseEvents(ctx, []caselog.Event{{EventID: c + ":acknowledged", CaseID: c, At: dispatchStart,
			Event: "acknowledged", State: "acknowledged", Actor: "ana"}}); err != nil {
			t.Fatal(err)
		}
	}
	ack(ms[0])
	if v := gauge(); v != time.Hour.Seconds() {
		t.Errorf("gauge %v after acknowledging the older case, want 3600", v)
	}
	ack(ms[1])
	if v := gauge(); v != 0 {
		t.Errorf("gauge %v with every case acknowledged, want 0", v)
	}
}

// TestAsyncFlushDoesNotWaitForSlowReceiver: the daemon's flush (Async)
// returns while a receiver hangs, the others are served, and the hanging
// receiver gets no second send while its first is in flight; once it
// answers, its cases are recorded as notified and not sent again.
func TestAsyncFlushDoesNotWaitForSlowReceiver(t *testing.T) {
	ms := []mention.Mention{complaint("m:1", "Zagreb", "high"), complaint("m:2", "Zagreb", "high")}
	r := newDispatchRig(t, `
receivers: [{name: slow, kind: outbox}, {name: fast, kind: outbox}]
route:
  receiver: fast
  routes:
    - {receiver: slow, continue: true}
    - {receiver: fast}
`, ms...)
	r.n.Async = true
	gate := make(chan struct{})
	r.rcv["slow"].gate = gate
	released := false
	defer func() {
		if !released {
			close(gate)
		}
		r.n.Wait()
	}()
	for _, m := range ms {
		r.q.enqueue(CaseID(m), m.ID, dispatchStart.Add(-time.Minute)) // past group_wait (30s)
	}
	ctx := context.Background()
	round := func() {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- r.d.Round(ctx, false) }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("round: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the round waited for the hanging receiver")
		}
	}
	round()
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("after 5s: %s", what)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	waitUntil("fast served", func() bool { _, ok := r.rcv["fast"].counts(); return ok == 1 })
	waitUntil("slow's send in flight", func() bool { a, _ := r.rcv["slow"].counts(); return a == 1 })

	r.tick(time.Minute)
	round()
	if a, _ := r.rcv["slow"].counts(); a != 1 {
		t.Errorf("slow got %d sends while its first was in flight, want 1", a)
	}
	close(gate)
	released = true
	r.n.Wait()
	for _, m := range ms {
		if _, ok := r.q.event(notifiedID(CaseID(m), "slow", 0)); !ok {
			t.Errorf("%s not recorded as notified at slow after it answered", CaseID(m))
		}
	}
	r.tick(time.Minute)
	round()
	r.n.Wait()
	if a, ok := r.rcv["slow"].counts(); a != 1 || ok != 1 {
		t.Errorf("slow: %d sends, %d accepted; want the one send", a, ok)
	}
	if a, _ := r.rcv["fast"].counts(); a != 1 {
		t.Errorf("fast: %d sends, want 1", a)
	}
}

// TestDispatcherRoutesFromQueueLabels: a queue row with labels (migration
// 0013) routes by them without reading its mention; a row without labels
// (queued before) is routed from its mention.
func TestDispatcherRoutesFromQueueLabels(t *testing.T) {
	r := newDispatchRig(t, `
receivers: [{name: desk, kind: outbox}, {name: zagreb, kind: outbox}]
route:
  receiver: desk
  routes: [{match: {location: Zagreb}, receiver: zagreb}]
`, complaint("old", "Zagreb", "high"))
	r.q.enqueue("case:old", "old", dispatchStart.Add(-time.Minute))
	r.q.qmu.Lock()
	r.q.rows = append(r.q.rows, caselog.Queued{CaseID: "case:new", MentionID: "new", OpenedAt: dispatchStart.Add(-time.Minute),
		Labelled: true, Brand: "Acme", Location: "Zagreb", Source: "demo", Severity: "high"})
	r.q.qmu.Unlock()
	if err := r.d.Route(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.q.memCases.mu.Lock()
	defer r.q.memCases.mu.Unlock()
	for _, c := range []string{"case:old", "case:new"} {
		ev, ok := r.q.events[queuedID(c, "zagreb")]
		if !ok || ev.Location != "Zagreb" || ev.Severity != "high" {
			t.Errorf("%s: queued for zagreb %v (%+v)", c, ok, ev)
		}
	}
}
