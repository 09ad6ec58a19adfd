package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/earshot/earshot/caselog"
)

// EventWriter appends case events (case_events).
type EventWriter interface {
	AppendCaseEvents(ctx context.Context, evs []caselog.Event) error
}

// CaseWriter is what a stage that holds cases back records: an event per
// case and a delivery row saying why nothing was sent.
type CaseWriter interface {
	EventWriter
	DeliveryLog
}

// Throttle is the stage that mutes and limits a receiver (Alertmanager's
// mute-time intervals, plus a rate limit): in its quiet hours it gets
// nothing but critical cases, the rest wait until the hours end; past
// max_per_hour messages in the last hour its non-critical cases are
// deferred to its digest ("deferred" event, a "throttled" delivery row).
// It sees the cases that are not critical (they skip it).
type Throttle struct {
	Policies map[string]Policy // per receiver
	Log      CaseWriter
	Now      func() time.Time
	Logger   *slog.Logger
}

// Admit returns the cases that may go to recv now. due is the group
// timers' word; while a group waits, or the receiver is quiet, nothing
// goes and nothing is recorded: the cases stay queued. Over the hourly
// limit, they are deferred to the digest and recorded so.
func (t Throttle) Admit(ctx context.Context, recv, key string, cases []Case, hist caselog.SendHistory, due bool, now time.Time) ([]Case, error) {
	pol := t.Policies[recv]
	if !due || pol.Quiet(now) {
		return nil, nil // wait: for the group timer or the end of quiet hours
	}
	if len(cases) > 0 && pol.MaxPerHour > 0 && hist.SentSince[recv] >= pol.MaxPerHour {
		why := fmt.Sprintf("throttled: %d messages to %s in the last hour (max_per_hour %d)", hist.SentSince[recv], recv, pol.MaxPerHour)
		if err := t.Defer(ctx, recv, key, cases, why); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return cases, nil
}

// Defer hands cases to the receiver's digest instead of a message.
func (t Throttle) Defer(ctx context.Context, recv, key string, cases []Case, why string) error {
	ids := make([]string, len(cases))
	var evs []caselog.Event
	at := nowOf(t.Now)
	for i, c := range cases {
		ids[i] = c.ID
		m := c.Mention
		evs = append(evs, caselog.Event{EventID: caselog.DeferredID(c.ID, recv), CaseID: c.ID, MentionID: m.ID,
			At: at, Event: "deferred", State: "open", Actor: "earshot", Receiver: recv, Brand: m.Brand,
			Location: m.Location, Severity: m.Severity, Note: why})
	}
	if err := t.Log.AppendCaseEvents(ctx, evs); err != nil {
		return fmt.Errorf("defer to digest: %w", err)
	}
	if err := t.Log.RecordDelivery(ctx, caselog.Delivery{ID: newID(), CaseIDs: ids, GroupKey: key, Receiver: recv,
		Attempt: 1, At: at, Status: "throttled", Error: why}); err != nil {
		logger(t.Logger).Error("throttle not recorded", "receiver", recv, "err", err)
	}
	logger(t.Logger).Info("alerts deferred to digest", "receiver", recv, "cases", len(cases), "why", why)
	return nil
}
