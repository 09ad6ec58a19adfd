package alerts

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/earshot/earshot/internal/wait"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

// CaseStore is what the notifier needs from storage; *storage.Store is one.
type CaseStore interface {
	AppendCaseEvents(ctx context.Context, evs []storage.CaseEvent) error
	HasEvents(ctx context.Context, ids []string) (map[string]bool, error)
	RecordDelivery(ctx context.Context, d storage.Delivery) error
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
// Grouping, throttling, quiet hours and escalation are not done here yet:
// each case is sent on its own, at once.
type Notifier struct {
	Tree      *Route
	Receivers map[string]Receiver
	Store     CaseStore
	Links     func(caseID string) (ack, resolve string) // optional signed links
	Contact   func(brand, location string) string       // who customers can reach, for the suggested reply
	Retries   int                                       // extra attempts on retryable failures; default 3
	Backoff   time.Duration                             // first wait; default 2s, doubling, jittered
	Sleep     func(ctx context.Context, d time.Duration) error
	Now       func() time.Time
	Logger    *slog.Logger
}

// CaseID is the case of a mention: one per story, so the same review posted
// on two sites is one case.
func CaseID(m mention.Mention) string {
	if m.StoryID != "" {
		return "case:" + m.StoryID
	}
	return "case:" + m.ID
}

// Notify implements pipeline.Alerter for new, stored mentions.
func (n *Notifier) Notify(ctx context.Context, ms []mention.Mention) error {
	var firstErr error
	for _, m := range ms {
		if !m.Negative {
			continue
		}
		if err := n.notify(ctx, m); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func (n *Notifier) notify(ctx context.Context, m mention.Mention) error {
	caseID := CaseID(m)
	routes := n.Tree.Match(LabelsOf(m))
	opened := caseID + ":opened"
	ids := []string{opened}
	for _, r := range routes {
		ids = append(ids, notifiedID(caseID, r.Receiver, 0))
	}
	done, err := n.Store.HasEvents(ctx, ids)
	if err != nil {
		// Cannot tell what was sent: send anyway (at-least-once) and say so.
		n.log().Warn("case history unavailable; alerting anyway", "case", caseID, "err", err)
		done = map[string]bool{}
	}
	base := storage.CaseEvent{CaseID: caseID, MentionID: m.ID, Brand: m.Brand, Location: m.Location, Severity: m.Severity}
	if !done[opened] {
		ev := base
		ev.EventID, ev.Event, ev.State, ev.At, ev.Actor = opened, "opened", "open", n.now(), "earshot"
		if err := n.Store.AppendCaseEvents(ctx, []storage.CaseEvent{ev}); err != nil {
			n.log().Error("case not recorded", "case", caseID, "err", err)
		}
	}
	c := n.caseFor(m)
	var firstErr error
	for _, r := range routes {
		id := notifiedID(caseID, r.Receiver, 0)
		if done[id] {
			continue
		}
		rcv, ok := n.Receivers[r.Receiver]
		if !ok {
			firstErr = fmt.Errorf("case %s: no receiver %q", caseID, r.Receiver)
			continue
		}
		msg := Message{Receiver: r.Receiver, GroupKey: r.GroupKey(LabelsOf(m)), Cases: []Case{c}}
		if err := n.send(ctx, rcv, msg); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		ev := base
		ev.EventID, ev.Event, ev.State, ev.At, ev.Actor, ev.Receiver = id, "notified", "open", n.now(), "earshot", r.Receiver
		if err := n.Store.AppendCaseEvents(ctx, []storage.CaseEvent{ev}); err != nil {
			n.log().Error("notification not recorded; it may be sent again", "case", caseID, "receiver", r.Receiver, "err", err)
		}
	}
	return firstErr
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
