package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/internal/metrics"
)

// NotifyLog is the notification-log stage (Alertmanager's nflog with its
// dedup and set-notifies stages) around the retry stage: before a message
// goes out its cases get a "sending" event (the intent), after it a
// "notified" event, or "unsent" when the receiver refused it every time.
// A case found with "sending" and no "notified" (the process died, or the
// receiver took the request and never answered) is sent again as a
// possible duplicate, never silently; the pending log reports it so.
type NotifyLog struct {
	Events  EventWriter
	Sender  Sender
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics *metrics.Metrics
}

// Send sends msg through rcv with its intent and outcome recorded for
// cases, every case the message stands for (a capped message lists some
// and counts the rest). dup marks a message an earlier attempt may have
// delivered; key is the group the "notified" events name; queued says
// when each case was queued, for the time-to-accept metric. A nil error
// means the receiver took it.
func (l NotifyLog) Send(ctx context.Context, rcv Receiver, msg Message, cases []Case, dup bool, key string, queued map[string]time.Time) error {
	recv := rcv.Name()
	// The intent goes first: if this process dies after the receiver
	// took the message, the next one knows a repeat may be a duplicate.
	var intent []caselog.Event
	for _, c := range cases {
		m := c.Mention
		intent = append(intent, caselog.Event{EventID: caselog.SendingID(c.ID, recv), CaseID: c.ID, MentionID: m.ID,
			At: l.now(), Event: "sending", State: "open", Actor: "earshot", Receiver: recv, Brand: m.Brand, Location: m.Location,
			Severity: m.Severity, Note: msg.ID})
	}
	if err := l.Events.AppendCaseEvents(ctx, intent); err != nil {
		return fmt.Errorf("group %s: record intent: %w", key, err) // not sent: without the intent a crash would hide a duplicate
	}
	maybe, err := l.Sender.Deliver(ctx, rcv, msg, dup)
	// What happened is recorded even when the process is being stopped
	// (SIGTERM cancels ctx): a lost "notified" would send it again.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	if err != nil {
		if !maybe {
			// Refused every time: nothing arrived, so the next attempt is
			// not a possible duplicate. The same event ids, written
			// again, replace the intent (ReplacingMergeTree, FINAL).
			for i := range intent {
				intent[i].Event, intent[i].At, intent[i].Note = "unsent", l.now(), "refused by the receiver: "+oneLine(err.Error(), 200)
			}
			if err := l.Events.AppendCaseEvents(rctx, intent); err != nil {
				logger(l.Logger).Warn("refused send not recorded; its retry will count as a possible duplicate", "receiver", recv, "err", err)
			}
		}
		return err
	}
	var evs []caselog.Event
	for _, c := range cases {
		m := c.Mention
		evs = append(evs, caselog.Event{EventID: caselog.NotifiedID(c.ID, recv, 0), CaseID: c.ID, MentionID: m.ID, At: l.now(),
			Event: "notified", State: "open", Actor: "earshot", Receiver: recv, Brand: m.Brand, Location: m.Location,
			Severity: m.Severity, Note: key})
	}
	if err := l.Events.AppendCaseEvents(rctx, evs); err != nil {
		logger(l.Logger).Error("notification not recorded; it may be sent again (counted as a possible duplicate)", "receiver", recv, "group", key, "err", err)
	}
	for _, c := range cases {
		l.Metrics.Accepted(recv, l.now().Sub(queued[c.ID]))
	}
	logger(l.Logger).Info("alert sent", "receiver", recv, "group", key, "cases", len(cases), "message", msg.ID, "possible_duplicate", dup)
	return nil
}

func (l NotifyLog) now() time.Time { return nowOf(l.Now) }
