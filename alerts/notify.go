package alerts

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/internal/wait"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

// CaseStore is what the notifier needs from storage; *storage.Store is one.
type CaseStore interface {
	AppendCaseEvents(ctx context.Context, evs []storage.CaseEvent) error
	HasEvents(ctx context.Context, ids []string) (map[string]bool, error)
	RecordDelivery(ctx context.Context, d storage.Delivery) error
	PendingNotifications(ctx context.Context) ([]storage.Pending, error)
	SendHistory(ctx context.Context, since, countFrom time.Time) (storage.SendHistory, error)
	Mention(ctx context.Context, id string) (mention.Mention, bool, error)
}

// Notifier opens a case for each flagged story, routes it, sends it to each
// matched receiver with retries, and records every attempt
// (alert_deliveries) and every state change (case_events).
//
// Exactly once as staff see it: events have deterministic ids (case, event,
// receiver, step), so a re-run pass, a restart or the same review collected
// again finds "notified" recorded and sends nothing. The one window left is
// a crash after a receiver accepted a message and before "notified" was
// written: that message is sent again on the next pass (at-least-once).
//
// Delivery is two steps, so that the state lives in ClickHouse and any
// worker can pick up where another stopped: Notify queues each new case for
// the receivers its route names (a "queued" event carrying the group key),
// and Flush sends what is due, one message per receiver and group:
//   - a new group waits group_wait for more cases, then one message lists
//     them; later cases of the same group wait until group_interval has
//     passed since its last message (Alertmanager's timers);
//   - a receiver in its quiet hours gets nothing but critical cases; the
//     rest wait until the hours end;
//   - a receiver that got max_per_hour messages in the last hour gets no
//     more: the non-critical cases are deferred to its digest ("deferred"
//     event, a "throttled" delivery row);
//   - a case an active storm covers is not sent on its own ("inhibited"
//     event): the storm's message lists it (see CheckStorms);
//   - critical cases skip the wait, quiet hours, the throttle and storms.
//
// `earshot run` flushes every few seconds; a one-shot `earshot collect`
// flushes with force at the end of its pass (group timers do not hold a
// process that is about to exit; quiet hours and throttles still do).
// Flushes are serialised within a process. Several workers (--shard) each
// flush every queued case, so two may send the same group in the same
// second: at-least-once, the same window as a crash between send and record.
type Notifier struct {
	flushMu sync.Mutex // one flush at a time: concurrent passes would send a group twice

	Tree      *Route
	Receivers map[string]Receiver
	Policies  map[string]Policy // per receiver: throttle and quiet hours
	Clocks    map[string]Clock  // per receiver: SLA clock (business hours); default wall clock
	// StormConfig and Storms enable CheckStorms and the inhibition of the
	// per-mention alerts an active storm covers; both nil: no storms.
	StormConfig []config.Storms
	Storms      StormStore
	StormEvery  time.Duration // least time between storm checks in Flush; default 30s

	stormCheckedAt time.Time // under flushMu
	Store          CaseStore
	Links          func(caseID string) (ack, resolve string) // optional signed links
	Contact        func(brand, location string) string       // who customers can reach, for the suggested reply
	Retries        int                                       // extra attempts on retryable failures; default 3
	Backoff        time.Duration                             // first wait; default 2s, doubling, jittered
	Sleep          func(ctx context.Context, d time.Duration) error
	Now            func() time.Time
	Logger         *slog.Logger
}

// CaseID is the case of a mention: one per story, so the same review posted
// on two sites is one case.
func CaseID(m mention.Mention) string {
	if m.StoryID != "" {
		return "case:" + m.StoryID
	}
	return "case:" + m.ID
}

// Notify implements pipeline.Alerter for new, stored mentions: it opens and
// queues their cases, then sends whatever is due (see Flush).
func (n *Notifier) Notify(ctx context.Context, ms []mention.Mention) error {
	var firstErr error
	for _, m := range ms {
		if !m.Negative {
			continue
		}
		if err := n.queue(ctx, m); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if err := n.Flush(ctx, false); err != nil && firstErr == nil {
		firstErr = err
	}
	return firstErr
}

// queue opens the case of m (once) and queues it for each matching route's
// receiver (once per receiver).
func (n *Notifier) queue(ctx context.Context, m mention.Mention) error {
	caseID := CaseID(m)
	labels := LabelsOf(m)
	routes := n.Tree.Match(labels)
	opened := caseID + ":opened"
	ids := []string{opened}
	for _, r := range routes {
		ids = append(ids, queuedID(caseID, r.Receiver), notifiedID(caseID, r.Receiver, 0))
	}
	done, err := n.Store.HasEvents(ctx, ids)
	if err != nil {
		return fmt.Errorf("case %s: history: %w", caseID, err)
	}
	base := storage.CaseEvent{CaseID: caseID, MentionID: m.ID, Brand: m.Brand, Location: m.Location, Severity: m.Severity,
		State: "open", At: n.now(), Actor: "earshot"}
	var evs []storage.CaseEvent
	if !done[opened] {
		ev := base
		ev.EventID, ev.Event = opened, "opened"
		evs = append(evs, ev)
	}
	for _, r := range routes {
		id := queuedID(caseID, r.Receiver)
		if done[id] || done[notifiedID(caseID, r.Receiver, 0)] {
			continue
		}
		if _, ok := n.Receivers[r.Receiver]; !ok {
			return fmt.Errorf("case %s: no receiver %q", caseID, r.Receiver)
		}
		ev := base
		ev.EventID, ev.Event, ev.Receiver, ev.Note = id, "queued", r.Receiver, r.GroupKey(labels)
		evs = append(evs, ev)
		done[id] = true // a second route to the same receiver queues once
	}
	if err := n.Store.AppendCaseEvents(ctx, evs); err != nil {
		return fmt.Errorf("case %s: %w", caseID, err)
	}
	return nil
}

// Flush sends the queued cases that are due, grouped per receiver and group
// key. force ignores group_wait and group_interval (a one-shot pass about to
// exit), not quiet hours or throttles.
func (n *Notifier) Flush(ctx context.Context, force bool) error {
	n.flushMu.Lock()
	defer n.flushMu.Unlock()
	// Storms are checked here, before the queued cases go out, so that the
	// cases a storm covers are inhibited instead of sent one by one.
	now := n.now()
	var storms []storage.Storm
	var stormErr error
	if len(n.StormConfig) > 0 && n.Storms != nil {
		if storms, stormErr = n.activeStorms(ctx, now); stormErr != nil {
			n.log().Warn("storm check", "err", stormErr)
		} else if force || now.Sub(n.stormCheckedAt) >= cmp.Or(n.StormEvery, 30*time.Second) {
			n.stormCheckedAt = now
			sent, err := n.checkStorms(ctx, now, storms)
			if err != nil {
				n.log().Warn("storm check", "err", err)
			}
			storms = append(storms, sent...)
		}
	}
	pend, err := n.Store.PendingNotifications(ctx)
	if err != nil || len(pend) == 0 {
		return err
	}
	if stormErr != nil {
		return stormErr // without the active storms, inhibition cannot be decided
	}
	now = n.now()
	hist, err := n.Store.SendHistory(ctx, now.Add(-48*time.Hour), now.Add(-time.Hour))
	if err != nil {
		return err
	}
	type group struct {
		receiver, key string
		items         []storage.Pending
	}
	var order []*group
	groups := map[string]*group{}
	for _, p := range pend {
		k := p.Receiver + "\x00" + p.GroupKey
		g := groups[k]
		if g == nil {
			g = &group{receiver: p.Receiver, key: p.GroupKey}
			groups[k] = g
			order = append(order, g)
		}
		g.items = append(g.items, p)
	}
	var firstErr error
	for _, g := range order {
		if err := n.flushGroup(ctx, g.receiver, g.key, g.items, &hist, storms, now, force); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func (n *Notifier) flushGroup(ctx context.Context, recv, key string, items []storage.Pending, hist *storage.SendHistory, storms []storage.Storm, now time.Time, force bool) error {
	rcv, ok := n.Receivers[recv]
	if !ok {
		return fmt.Errorf("queued cases for unknown receiver %q", recv)
	}
	var cases, critical []Case
	var route *Route
	for _, p := range items {
		m, found, err := n.Store.Mention(ctx, p.MentionID)
		if err != nil {
			return fmt.Errorf("group %s: %w", key, err)
		}
		if !found {
			continue // not stored yet (spooled): next flush
		}
		if route == nil {
			route = n.routeFor(m, recv, key)
		}
		c := n.caseFor(m)
		c.ID = p.CaseID
		if m.Severity == "critical" {
			critical = append(critical, c)
		} else if st, ok := inhibitedBy(m, storms); ok {
			n.inhibit(ctx, rcv, key, c, st)
		} else {
			cases = append(cases, c)
		}
	}
	var wait, interval time.Duration
	if route != nil {
		wait, interval = route.GroupWait, route.GroupInterval
	}
	last, sentBefore := hist.LastSent[recv+"\x00"+key]
	due := force || !sentBefore && !items[0].QueuedAt.Add(wait).After(now) || sentBefore && !last.Add(interval).After(now)
	pol := n.Policies[recv]
	if !due || pol.Quiet(now) {
		cases = nil // wait: for the group timer or the end of quiet hours
	}
	if len(cases) > 0 && pol.MaxPerHour > 0 && hist.SentSince[recv] >= pol.MaxPerHour {
		if err := n.defer_(ctx, rcv, key, cases, fmt.Sprintf("throttled: %d messages to %s in the last hour (max_per_hour %d)", hist.SentSince[recv], recv, pol.MaxPerHour)); err != nil {
			return err
		}
		cases = nil
	}
	var firstErr error
	for _, batch := range [][]Case{critical, cases} {
		if len(batch) == 0 {
			continue
		}
		msg := Message{Receiver: recv, GroupKey: key, Cases: batch}
		if err := n.send(ctx, rcv, msg); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		hist.SentSince[recv]++
		hist.LastSent[recv+"\x00"+key] = n.now()
		var evs []storage.CaseEvent
		for _, c := range batch {
			m := c.Mention
			evs = append(evs, storage.CaseEvent{EventID: notifiedID(c.ID, recv, 0), CaseID: c.ID, MentionID: m.ID, At: n.now(),
				Event: "notified", State: "open", Actor: "earshot", Receiver: recv, Brand: m.Brand, Location: m.Location,
				Severity: m.Severity, Note: key})
		}
		if err := n.Store.AppendCaseEvents(ctx, evs); err != nil {
			n.log().Error("notification not recorded; it may be sent again", "receiver", recv, "group", key, "err", err)
		}
	}
	return firstErr
}

// defer_ hands cases to the receiver's digest instead of a message.
func (n *Notifier) defer_(ctx context.Context, rcv Receiver, key string, cases []Case, why string) error {
	ids := make([]string, len(cases))
	var evs []storage.CaseEvent
	for i, c := range cases {
		ids[i] = c.ID
		m := c.Mention
		evs = append(evs, storage.CaseEvent{EventID: fmt.Sprintf("%s:deferred:%s", c.ID, rcv.Name()), CaseID: c.ID, MentionID: m.ID,
			At: n.now(), Event: "deferred", State: "open", Actor: "earshot", Receiver: rcv.Name(), Brand: m.Brand,
			Location: m.Location, Severity: m.Severity, Note: why})
	}
	if err := n.Store.AppendCaseEvents(ctx, evs); err != nil {
		return fmt.Errorf("defer to digest: %w", err)
	}
	if err := n.Store.RecordDelivery(ctx, storage.Delivery{ID: newID(), CaseIDs: ids, GroupKey: key, Receiver: rcv.Name(),
		Attempt: 1, At: n.now(), Status: "throttled", Error: why}); err != nil {
		n.log().Error("throttle not recorded", "receiver", rcv.Name(), "err", err)
	}
	n.log().Info("alerts deferred to digest", "receiver", rcv.Name(), "cases", len(cases), "why", why)
	return nil
}

// inhibit records that an active storm's message covers a case, so its own
// alert is not sent (Alertmanager's inhibition). The case stays open.
func (n *Notifier) inhibit(ctx context.Context, rcv Receiver, key string, c Case, st storage.Storm) {
	m := c.Mention
	why := fmt.Sprintf("inhibited by %s (%d negative mentions in %s)", st.ID, st.Count, short(st.WindowEnd.Sub(st.WindowStart)))
	ev := storage.CaseEvent{EventID: fmt.Sprintf("%s:inhibited:%s", c.ID, rcv.Name()), CaseID: c.ID, MentionID: m.ID, At: n.now(),
		Event: "inhibited", State: "open", Actor: "earshot", Receiver: rcv.Name(), Brand: m.Brand, Location: m.Location,
		Severity: m.Severity, Note: why}
	if err := n.Store.AppendCaseEvents(ctx, []storage.CaseEvent{ev}); err != nil {
		n.log().Error("inhibition not recorded; the case stays queued", "case", c.ID, "err", err)
		return
	}
	if err := n.Store.RecordDelivery(ctx, storage.Delivery{ID: newID(), CaseIDs: []string{c.ID}, GroupKey: key, Receiver: rcv.Name(),
		Attempt: 1, At: n.now(), Status: "suppressed", Error: why}); err != nil {
		n.log().Error("inhibition delivery row not recorded", "case", c.ID, "err", err)
	}
}

// routeFor finds the route that queued a case for recv under key.
func (n *Notifier) routeFor(m mention.Mention, recv, key string) *Route {
	labels := LabelsOf(m)
	for _, r := range n.Tree.Match(labels) {
		if r.Receiver == recv && r.GroupKey(labels) == key {
			return r
		}
	}
	return nil
}

func queuedID(caseID, receiver string) string {
	return fmt.Sprintf("%s:queued:%s", caseID, receiver)
}

// send tries a message until it is delivered, the failure is final, or
// the attempts run out, recording each attempt.
func (n *Notifier) send(ctx context.Context, rcv Receiver, msg Message) error {
	retries, backoff := n.Retries, n.Backoff
	if retries == 0 {
		retries = 3
	}
	if backoff == 0 {
		backoff = 2 * time.Second
	}
	ids := make([]string, len(msg.Cases))
	for i, c := range msg.Cases {
		ids[i] = c.ID
	}
	for attempt := 1; ; attempt++ {
		start := n.now()
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		d, err := rcv.Send(actx, msg)
		cancel()
		rec := storage.Delivery{ID: newID(), CaseIDs: ids, GroupKey: msg.GroupKey, Receiver: rcv.Name(), Step: uint8(msg.Step),
			Attempt: uint16(attempt), At: start, HTTPStatus: uint16(d.HTTPStatus), Latency: n.now().Sub(start), Status: "sent"}
		final := err == nil || !d.Retry || attempt > retries
		if err != nil {
			rec.Error = err.Error()
			rec.Status = "retry"
			if final {
				rec.Status = "failed"
			}
		}
		if rerr := n.Store.RecordDelivery(ctx, rec); rerr != nil {
			n.log().Error("delivery attempt not recorded", "receiver", rcv.Name(), "err", rerr)
		}
		if final {
			if err != nil {
				return fmt.Errorf("alert to %s failed after %d attempts: %w", rcv.Name(), attempt, err)
			}
			return nil
		}
		wait := d.RetryAfter
		if wait <= 0 {
			wait = backoff<<(attempt-1)/2 + time.Duration(rand.Int64N(int64(backoff<<(attempt-1))))
		}
		if err := n.sleep(ctx, min(wait, 5*time.Minute)); err != nil {
			return err
		}
	}
}

// caseFor prepares a mention's case for a message: links and reply.
func (n *Notifier) caseFor(m mention.Mention) Case {
	c := Case{ID: CaseID(m), Mention: m}
	if n.Links != nil {
		c.AckURL, c.ResolveURL = n.Links(c.ID)
	}
	contact := ""
	if n.Contact != nil {
		contact = n.Contact(m.Brand, m.Location)
	}
	c.Reply = SuggestReply(m, contact)
	return c
}

func notifiedID(caseID, receiver string, step int) string {
	return fmt.Sprintf("%s:notified:%s:%d", caseID, receiver, step)
}

func (n *Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

func (n *Notifier) sleep(ctx context.Context, d time.Duration) error {
	if n.Sleep != nil {
		return n.Sleep(ctx, d)
	}
	return wait.Sleep(ctx, d)
}

func (n *Notifier) log() *slog.Logger {
	if n.Logger != nil {
		return n.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func newID() string {
	b := make([]byte, 8)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}
