package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/earshot/earshot/caselog"
)

// PendingLookback is how far back PendingNotifications looks for queued
// cases.
const PendingLookback = caselog.PendingLookback

// eventSlack is how far before a window's start its cases' events are
// read (see PendingNotifications).
const eventSlack = time.Hour

// currentState is case_state's cur_state computed from case_events rows:
// the state of the latest state-changing event (to the microsecond),
// "opened" ranking below any other event (0020_case_event_order.sql).
const currentState = `argMaxIf(toUInt8(state), ` + stateKey + `,
    event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved'))`

// Pending is a case queued for a receiver and not yet notified there.
type Pending = caselog.Pending

// PendingNotifications lists what the notifier still has to send: "queued"
// events without a "notified" or "deferred" event for the same case and
// receiver, nor an "inhibited" one (a storm's message covers it), for cases
// whose current state is open. Oldest first.
//
// Only cases opened since `since` (at most PendingLookback ago) are
// considered, and only their events since then: a case's opened and
// queued events carry its queue time and everything after comes later, so
// the time filter prunes case_events' monthly partitions and the case
// queue's key gives the few ids to look up inside them. The current state
// comes from the same events (case_state's key, computed inline), so a
// store with years of delivered cases costs what an empty one does. The
// dispatcher moves `since` up to its oldest undelivered case. An alert
// that could not be delivered for PendingLookback is no longer retried;
// its case stays open, in `earshot cases list` and in the receiver's
// digest.
func (s *Store) PendingNotifications(ctx context.Context, since time.Time) ([]Pending, error) {
	defer s.timed("pending_notifications")()
	if floor := time.Now().Add(-PendingLookback); since.Before(floor) {
		since = floor
	}
	since = since.UTC()
	// eventSlack: events are stamped by earshot's clock, the queue by the
	// server's; an hour covers any skew a working deployment has.
	from := since.Add(-eventSlack)
	recent := `at >= ? AND case_id ` + s.in() + ` (SELECT case_id FROM case_queue WHERE opened_at >= ?)`
	// No FINAL (it would read the ranges single-threaded): the query does
	// its work per event id instead. Of the rows one id has, the latest
	// written counts (the rule of replaces in cases.go: later (at, at_us),
	// and at a tie an "unsent" rewrite over its "sending" intent), so a
	// refused send is not read as attempted before a merge folds the two
	// rows, nor the retry that follows it within the second as refused.
	rows, err := s.conn.Query(ctx, `SELECT case_id, mention_id, receiver, group_key, toString(severity), queued_at, attempted, attempt_id
FROM (
  SELECT case_id, receiver, anyIf(mid, ev = 'queued') AS mention_id, anyIf(nt, ev = 'queued') AS group_key,
    max(sev) AS severity, minIf(t, ev = 'queued') AS queued_at,
    countIf(ev IN ('notified', 'deferred', 'inhibited')) AS done, countIf(ev = 'queued') AS queued, countIf(ev = 'sending') > 0 AS attempted, anyIf(nt, ev = 'sending') AS attempt_id
  FROM (
    SELECT case_id, receiver, event_id, argMax(event, v) AS ev, argMax(note, v) AS nt, argMax(mention_id, v) AS mid,
      argMax(severity, v) AS sev, argMax(at, v) AS t
    FROM (
      SELECT case_id, receiver, event_id, event, note, mention_id, severity, at, (toUInt64(toUInt32(at)) * 1000000 + at_us) * 2 + (event = 'unsent') AS v
      FROM case_events
      WHERE receiver != '' AND step = 0 AND `+recent+`
    )
    GROUP BY case_id, receiver, event_id
  )
  GROUP BY case_id, receiver
  HAVING queued > 0 AND done = 0
) ANY INNER JOIN (
  SELECT case_id, `+currentState+` AS current FROM case_events WHERE `+recent+` GROUP BY case_id
) USING case_id
WHERE current = 0
ORDER BY queued_at, case_id`, from, since, from, since)
	if err != nil {
		return nil, fmt.Errorf("pending notifications: %w", err)
	}
	defer rows.Close()
	var out []Pending
	for rows.Next() {
		var p Pending
		var attempted uint8
		if err := rows.Scan(&p.CaseID, &p.MentionID, &p.Receiver, &p.GroupKey, &p.Severity, &p.QueuedAt, &attempted, &p.AttemptID); err != nil {
			return nil, fmt.Errorf("pending notifications: %w", err)
		}
		p.Attempted = attempted == 1
		out = append(out, p)
	}
	return out, rows.Err()
}

// SendHistory is what throttling and group timers need.
type SendHistory = caselog.SendHistory

// SendHistory reads alert_deliveries: last sends per group since a time,
// and messages per receiver since countFrom (the throttle window).
//
// alert_deliveries is partitioned by month and ordered by (receiver, at):
// the time filter prunes partitions and key ranges.
func (s *Store) SendHistory(ctx context.Context, since, countFrom time.Time) (SendHistory, error) {
	defer s.timed("send_history")()
	h := SendHistory{SentSince: map[string]int{}, LastSent: map[string]time.Time{}}
	rows, err := s.conn.Query(ctx, `SELECT receiver, group_key, countIf(at >= ?), max(at) FROM alert_deliveries
WHERE status = 'sent' AND at >= ? GROUP BY receiver, group_key`, countFrom.UTC(), since.UTC())
	if err != nil {
		return h, fmt.Errorf("send history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var recv, key string
		var n uint64
		var last time.Time
		if err := rows.Scan(&recv, &key, &n, &last); err != nil {
			return h, fmt.Errorf("send history: %w", err)
		}
		h.SentSince[recv] += int(n)
		h.LastSent[recv+"\x00"+key] = last
	}
	return h, rows.Err()
}
