package alerts

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/internal/wait"
)

// DeliveryLog is the notification log a send writes to: one row per
// attempt (alert_deliveries). *storage.Store is one.
type DeliveryLog interface {
	RecordDelivery(ctx context.Context, d caselog.Delivery) error
}

// Sender is the retry stage (Alertmanager's RetryStage): it sends one
// message through a receiver, retrying what the receiver calls retryable
// with exponential backoff and jitter, and records every attempt in the
// delivery log. It decides nothing about what to send or when.
type Sender struct {
	Log     DeliveryLog
	Retries int           // extra attempts on retryable failures; default 3
	Backoff time.Duration // first wait; default 2s, doubling, jittered
	// MaxInlineWait is the longest retry wait Deliver sleeps through; a
	// longer one (Retry-After: 300) comes back as a *waitError, for a
	// later flush. Default 10s.
	MaxInlineWait time.Duration
	Sleep         func(ctx context.Context, d time.Duration) error
	Now           func() time.Time
	Logger        *slog.Logger
	Metrics       *metrics.Metrics
}

// Deliver sends msg, retrying, and records each attempt; it also tells telling whether the message may have reached the
// receiver despite an error: an earlier attempt might have (dup), or one
// of these got no answer (unknown). A failure that is not "maybe" was
// refused by the receiver every time: nothing was delivered.
func (s Sender) Deliver(ctx context.Context, rcv Receiver, msg Message, dup bool) (maybe bool, err error) {
	retries, backoff := s.Retries, s.Backoff
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
	ids = append(ids, msg.More...) // a capped message's other cases go out with it too
	for attempt := 1; ; attempt++ {
		start := s.now()
		if dup {
			// A possible duplicate is counted before it goes out: if this
			// process dies during the attempt, the count still holds it.
			s.Metrics.PossibleDuplicate(rcv.Name())
			if err := s.Log.RecordDelivery(ctx, caselog.Delivery{ID: newID(), CaseIDs: ids, GroupKey: msg.GroupKey, Receiver: rcv.Name(),
				Step: uint8(msg.Step), Attempt: uint16(attempt), At: start, Status: "attempt", MessageID: msg.ID, Duplicate: true,
				Error: "an earlier attempt may have delivered this message"}); err != nil {
				return dup, fmt.Errorf("alert to %s: record possible duplicate: %w", rcv.Name(), err)
			}
		}
		// Each attempt gets a fresh deadline: a retry never inherits an
		// expired one.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		d, err := rcv.Send(actx, msg)
		cancel()
		rec := caselog.Delivery{ID: newID(), CaseIDs: ids, GroupKey: msg.GroupKey, Receiver: rcv.Name(), Step: uint8(msg.Step),
			Attempt: uint16(attempt), At: start, HTTPStatus: uint16(d.HTTPStatus), Latency: s.now().Sub(start), Status: "sent",
			MessageID: msg.ID, Duplicate: dup}
		final := err == nil || !d.Retry || attempt > retries
		outcome := "sent"
		if err != nil {
			rec.Error = err.Error()
			rec.Status, outcome = "retry", "retried"
			if final {
				rec.Status, outcome = "failed", "failed"
			}
			if d.Unknown {
				// It may have arrived: the next attempt is a possible duplicate.
				rec.Status, outcome = "unknown", "unknown"
				dup = true
			}
		}
		s.Metrics.Alert(rcv.Name(), outcome)
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		rerr := s.Log.RecordDelivery(rctx, rec)
		rcancel()
		if rerr != nil {
			s.log().Error("delivery attempt not recorded", "receiver", rcv.Name(), "err", rerr)
		}
		if final {
			if err != nil {
				s.log().Warn("alert not delivered", "receiver", rcv.Name(), "attempts", attempt, "err", err)
				return dup, fmt.Errorf("alert to %s failed after %d attempts: %w", rcv.Name(), attempt, err)
			}
			return true, nil
		}
		wait := d.RetryAfter
		if wait <= 0 {
			wait = backoff<<(attempt-1)/2 + time.Duration(rand.Int64N(int64(backoff<<(attempt-1))))
		}
		if wait > cmp.Or(s.MaxInlineWait, 10*time.Second) {
			return dup, &waitError{d: min(wait, time.Hour), err: fmt.Errorf("alert to %s: %w", rcv.Name(), err)}
		}
		if err := s.sleep(ctx, wait); err != nil {
			return dup, err
		}
	}
}

func (s Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s Sender) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	return wait.Sleep(ctx, d)
}

func (s Sender) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}
