package alerts

import (
	"context"
	"fmt"
	"time"

	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

// EscalationStore is what escalation reads and writes; *storage.Store is one.
type EscalationStore interface {
	CaseStore
	Cases(ctx context.Context, state string, limit int) ([]storage.CaseState, error)
	Mention(ctx context.Context, id string) (mention.Mention, bool, error)
}

// Escalate sends open cases nobody acknowledged in time up their route's
// chain: step k goes to escalate_to[k-1] once k*ack_within has passed since
// the case opened. Each step is recorded (escalated and notified events with
// the step in their ids), so it happens once. Acknowledged, held and
// resolved cases do not escalate. It returns how many messages it sent.
//
// The clock is the route receiver's: business hours when it has them (a
// case opened on Friday evening escalates on Monday), else the wall clock.
// Holding a case counts as acting on it: held cases do not escalate.
func (n *Notifier) Escalate(ctx context.Context, store EscalationStore) (int, error) {
	if !n.Tree.escalates() {
		return 0, nil // no route escalates: nothing to read
	}
	open, err := store.Cases(ctx, "open", 100000)
	if err != nil {
		return 0, err
	}
	now := n.now()
	sent := 0
	var firstErr error
	for _, c := range open {
		m, found, err := store.Mention(ctx, c.MentionID)
		if err != nil || !found {
			continue
		}
		for _, r := range n.Tree.Match(LabelsOf(m)) {
			if r.AckWithin <= 0 || len(r.EscalateTo) == 0 {
				continue
			}
			due := int(n.clock(r.Receiver).Elapsed(c.OpenedAt, now) / r.AckWithin)
			for step := 1; step <= min(due, len(r.EscalateTo)); step++ {
				recv := r.EscalateTo[step-1]
				evID := fmt.Sprintf("%s:escalated:%d", c.CaseID, step)
				done, err := store.HasEvents(ctx, []string{evID})
				if err != nil || done[evID] {
					continue
				}
				rcv, ok := n.Receivers[recv]
				if !ok {
					continue
				}
				cs := n.caseFor(m)
				cs.ID = c.CaseID
				msg := Message{Receiver: recv, GroupKey: r.GroupKey(LabelsOf(m)), Step: step, Cases: []Case{cs}}
				msg.ID = MessageID(recv, step, msg.Cases)
				if err := n.send(ctx, rcv, msg, false); err != nil {
					if firstErr == nil {
						firstErr = err
					}
					break // try this step again next time; do not skip ahead
				}
				sent++
				base := storage.CaseEvent{CaseID: c.CaseID, MentionID: m.ID, At: now, State: "open", Actor: "earshot", Receiver: recv,
					Step: uint8(step), Brand: m.Brand, Location: m.Location, Severity: m.Severity}
				esc, note := base, base
				esc.EventID, esc.Event = evID, "escalated"
				esc.Note = fmt.Sprintf("not acknowledged within %s", short(time.Duration(step)*r.AckWithin))
				if n.clock(r.Receiver).business {
					esc.Note += " (business hours)"
				}
				note.EventID, note.Event = notifiedID(c.CaseID, recv, step), "notified"
				if err := store.AppendCaseEvents(ctx, []storage.CaseEvent{esc, note}); err != nil {
					n.log().Error("escalation not recorded; it may be sent again", "case", c.CaseID, "step", step, "err", err)
				}
			}
		}
	}
	return sent, firstErr
}

// clock is a receiver's SLA clock (the wall clock when it has none).
func (n *Notifier) clock(receiver string) Clock {
	if c, ok := n.Clocks[receiver]; ok {
		return c
	}
	return WallClock
}
