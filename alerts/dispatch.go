package alerts

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/mention"
)

// QueueStore is what the dispatcher reads the case queue with;
// *storage.Store is one.
type QueueStore interface {
	Unrouted(ctx context.Context, since time.Time, after string, limit int) ([]caselog.Queued, time.Time, error)
	OldestOpen(ctx context.Context, since time.Time) (time.Time, bool, error)
}

// Dispatcher runs the alert side of the case pipeline on its own loop,
// apart from collection: it opens and routes the cases the case queue
// holds (rows written in the same INSERT as their negative mentions), then
// sends what is due (Notifier.Flush), and escalates. Collection never
// waits on it, and a slow receiver never delays collection.
//
// Only one process per machine may dispatch (the caller holds a
// flock.Lock); see the README's "one notifier" rule for several machines.
type Dispatcher struct {
	Notifier   *Notifier
	Queue      QueueStore
	Escalation EscalationStore // nil: no escalation
	Every      time.Duration   // between rounds; default 2s
	// EscalateEvery is the period of the escalation check; default 1m.
	EscalateEvery time.Duration
	PageSize      int // cases routed per query; default 5000
	Logger        *slog.Logger
	Metrics       *metrics.Metrics

	routedSince time.Time // the router's watermark, in the server's clock
}

// routeOverlap: the router looks this far behind its watermark again,
// because a row stamped opened_at = T may become visible a moment after
// the router read past T. Rows found again are routed already: skipped.
const routeOverlap = 5 * time.Minute

// Round routes every unrouted case, then sends what is due; force sends
// groups without waiting for their timers (a one-shot command about to
// exit).
func (d *Dispatcher) Round(ctx context.Context, force bool) error {
	routeErr := d.Route(ctx)
	// The notifier's pending window may move only as far as the router got.
	if routeErr == nil {
		d.Notifier.SetFloor(d.routedSince)
	} else {
		d.Notifier.SetFloor(time.Time{})
	}
	flushErr := d.Notifier.Flush(ctx, force)
	if routeErr != nil {
		return routeErr
	}
	return flushErr
}

// Route opens and routes the cases of the case queue that are not routed
// yet, a page at a time, and moves the watermark past them.
func (d *Dispatcher) Route(ctx context.Context) error {
	since := d.routedSince
	if since.IsZero() {
		since = d.Notifier.now().Add(-caselog.PendingLookback)
	}
	page := cmp.Or(d.PageSize, 5000)
	// A queue row whose mention cannot be read (it should not happen: they
	// are inserted together) holds the watermark back, so it is tried again
	// next round rather than forgotten; within this round the router pages
	// past it, so it never blocks the cases behind it.
	var oldestMissing time.Time
	done := func(serverNow time.Time) {
		next := serverNow.Add(-routeOverlap)
		if !oldestMissing.IsZero() && oldestMissing.Before(next) {
			next = oldestMissing
		}
		d.routedSince = next
	}
	after := ""
	for {
		qs, serverNow, err := d.Queue.Unrouted(ctx, since, after, page) // timed by the store
		if err != nil {
			return fmt.Errorf("route: %w", err)
		}
		if len(qs) == 0 {
			done(serverNow)
			return nil
		}
		// Queue rows carry their mention's labels; only rows queued before
		// they did need their mention read.
		ms := make(map[string]mention.Mention, len(qs))
		var read []string
		for _, q := range qs {
			if q.Labelled {
				ms[q.MentionID] = q.Mention()
			} else {
				read = append(read, q.MentionID)
			}
		}
		if len(read) > 0 {
			got, err := d.Notifier.Store.Mentions(ctx, read)
			if err != nil {
				return fmt.Errorf("route: %w", err)
			}
			maps.Copy(ms, got)
		}
		if err := d.Notifier.Route(ctx, qs, ms); err != nil {
			return err
		}
		missing := 0
		for _, q := range qs {
			if _, ok := ms[q.MentionID]; !ok {
				if oldestMissing.IsZero() || q.OpenedAt.Before(oldestMissing) {
					oldestMissing = q.OpenedAt
				}
				missing++
			}
		}
		if missing > 0 {
			d.log().Warn("queued cases whose mention is not readable yet", "cases", missing, "first", qs[0].CaseID)
		}
		if len(qs) < page {
			done(serverNow)
			return nil
		}
		// The next page starts after this one's last key: routed cases and
		// unreadable ones (behind the held watermark) are not read again.
		last := qs[len(qs)-1]
		since, after = last.OpenedAt, last.CaseID
	}
}

// Run dispatches until ctx ends: a round every Every, escalation every
// EscalateEvery, the oldest-open-case gauge every minute.
func (d *Dispatcher) Run(ctx context.Context) {
	round := time.NewTicker(cmp.Or(d.Every, 2*time.Second))
	defer round.Stop()
	esc := time.NewTicker(cmp.Or(d.EscalateEvery, time.Minute))
	defer esc.Stop()
	d.Metrics.Dispatching(true)
	defer d.Metrics.Dispatching(false)
	defer d.Notifier.Wait() // sends in flight record their outcome before the lock goes
	d.tick(ctx, false)
	d.gauge(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-round.C:
			d.tick(ctx, false)
		case <-esc.C:
			if d.Escalation != nil {
				done := d.Metrics.Query("escalation_pass")
				sent, err := d.Notifier.Escalate(ctx, d.Escalation)
				done()
				if err != nil {
					d.log().Warn("escalation check", "err", err)
				} else if sent > 0 {
					d.log().Info("escalations sent", "sent", sent)
				}
			}
			d.gauge(ctx)
		}
	}
}

func (d *Dispatcher) tick(ctx context.Context, force bool) {
	if err := d.Round(ctx, force); err != nil && ctx.Err() == nil {
		d.log().Warn("dispatch", "err", err)
	}
}

func (d *Dispatcher) gauge(ctx context.Context) {
	t, ok, err := d.Queue.OldestOpen(ctx, d.Notifier.now().Add(-caselog.PendingLookback))
	switch {
	case err != nil:
		d.log().Debug("oldest open case", "err", err)
	case ok:
		d.Metrics.OldestUnacknowledged(d.Notifier.now().Sub(t))
	default:
		d.Metrics.OldestUnacknowledged(0)
	}
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return d.Notifier.log()
}
