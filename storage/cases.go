package storage

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/mention"
)

// CaseEvent is one change to a case (a row of case_events).
type CaseEvent = caselog.Event

// CaseEvents returns cases' events, oldest first per case: the one reader
// of case_events by case, for the inbox, a case's page, the digest and
// the API. It reads by key (PREWHERE case_id) without FINAL, which would
// merge every monthly partition, and does FINAL's work itself: of the rows
// an event id has (a retry writes the same event again; a refused send
// rewrites "sending" as "unsent"), the latest written counts. A rewrite
// carries a time no earlier than what it replaces, so latest is the one
// with the latest `at` (see replaces for a tie).
func (s *Store) CaseEvents(ctx context.Context, caseIDs []string) (map[string][]CaseEvent, error) {
	byID := map[string]CaseEvent{}
	for len(caseIDs) > 0 {
		chunk := caseIDs[:min(len(caseIDs), 500)]
		caseIDs = caseIDs[len(chunk):]
		in, args := inList(chunk)
		rows, err := s.conn.Query(ctx, `SELECT event_id, case_id, mention_id, at, at_us, event, toString(state), actor, receiver, step, outcome,
			note, brand, location, toString(severity) FROM case_events PREWHERE case_id IN `+in, args...)
		if err != nil {
			return nil, fmt.Errorf("case events: %w", err)
		}
		for rows.Next() {
			var e CaseEvent
			var us uint32
			if err := rows.Scan(&e.EventID, &e.CaseID, &e.MentionID, &e.At, &us, &e.Event, &e.State, &e.Actor, &e.Receiver, &e.Step,
				&e.Outcome, &e.Note, &e.Brand, &e.Location, &e.Severity); err != nil {
				rows.Close()
				return nil, fmt.Errorf("case events: %w", err)
			}
			e.At = e.At.Add(time.Duration(us) * time.Microsecond)
			if old, ok := byID[e.EventID]; !ok || replaces(e, old) {
				byID[e.EventID] = e
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("case events: %w", err)
		}
	}
	out := map[string][]CaseEvent{}
	for _, e := range byID {
		out[e.CaseID] = append(out[e.CaseID], e)
	}
	for _, evs := range out {
		slices.SortFunc(evs, func(a, b CaseEvent) int {
			return cmp.Or(a.At.Compare(b.At), strings.Compare(a.EventID, b.EventID))
		})
	}
	return out, nil
}

// replaces reports whether e, a row of the same event id as old, is the
// later write: the later time (to the microsecond; rows written before
// at_us existed have whole seconds), and at a tie the "unsent" rewrite of
// a refused send over its "sending" intent (the intent of a retry comes
// from a later flush).
// PendingNotifications applies the same rule in SQL (its argMax key
// (at in microseconds)*2 + unsent): change both together.
func replaces(e, old CaseEvent) bool {
	if !e.At.Equal(old.At) {
		return e.At.After(old.At)
	}
	return e.Event == "unsent" || old.Event != "unsent"
}

// AppendCaseEvents writes events.
func (s *Store) AppendCaseEvents(ctx context.Context, evs []CaseEvent) error {
	if len(evs) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, `INSERT INTO case_events (event_id, case_id, mention_id, at, at_us, event, state, actor,
		receiver, step, outcome, note, brand, location, severity)`)
	if err != nil {
		return fmt.Errorf("case events: %w", err)
	}
	for _, e := range evs {
		at := e.At.UTC()
		if err := b.Append(e.EventID, e.CaseID, e.MentionID, at, uint32(at.Nanosecond()/1000), e.Event, e.State, e.Actor, e.Receiver, e.Step,
			e.Outcome, e.Note, e.Brand, e.Location, severityOr(e.Severity)); err != nil {
			_ = b.Abort()
			return fmt.Errorf("case events: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("case events: %w", err)
	}
	return nil
}

// HasEvents returns which of the event ids are already recorded: what
// makes a re-run pass send nothing twice. It reads case_event_ids, ordered
// by event id (0014_case_event_ids.sql): the sorted ids of a call are a few
// granules, whatever the length of the history.
func (s *Store) HasEvents(ctx context.Context, ids []string) (map[string]bool, error) {
	defer s.timed("has_events")()
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := inList(ids)
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT event_id FROM case_event_ids WHERE event_id IN "+in, args...)
	if err != nil {
		return nil, fmt.Errorf("case events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// CaseState is a case's current state, derived from its events.
type CaseState = caselog.State

// StateEvents are the events that change a case's state; the others
// (queued, notified, deferred, escalated) record delivery and must not
// reopen a case that someone acknowledged meanwhile.
const StateEvents = `event IN ('opened', 'acknowledged', 'held', 'resumed', 'resolved')`

// stateKey orders state events, as case_state's view does
// (0020_case_event_order.sql) and caselog.stateLess: "opened" below every
// other (a case is opened once, but its row may be written again later by
// a retried routing, and must never reopen a case someone acknowledged);
// then by time, to the microsecond (at, at_us); then, for events of the
// same microsecond, by how far along the workflow the state is. Packed
// into one UInt64: 18.16 keeps tuple-valued argMax states unreliably.
const stateKey = `toUInt64(event != 'opened') * 1152921504606846976 + toUInt64(toUInt32(at)) * 268435456 + toUInt64(at_us) * 256 + toUInt8(state)`

// caseSelect reads cases' current state from case_state (one pre-aggregated
// row per case and part, fed by case_events), so a list costs one row per
// case, not one per event. A WHERE clause (case_id is the key) and GROUP BY
// case_id, HAVING and ordering are appended by the callers; st and opened
// name the state and the opening time for them.
const caseSelect = `SELECT case_id, anyIfMerge(mention),
	arrayElement(['open', 'acknowledged', 'on_hold', 'resolved'], argMaxIfMerge(cur_state) + 1) AS st,
	anyIfMerge(case_brand), anyIfMerge(case_location),
	arrayElement(['none', 'low', 'medium', 'high', 'critical'], maxMerge(max_severity) + 1),
	minMerge(opened_at) AS opened, maxMerge(updated_at),
	argMaxIfMerge(cur_actor), argMaxIfMerge(cur_outcome), maxIfMerge(escalated)
	FROM case_state`

func (s *Store) queryCases(ctx context.Context, q string, args ...any) ([]CaseState, error) {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("cases: %w", err)
	}
	defer rows.Close()
	var out []CaseState
	for rows.Next() {
		var c CaseState
		if err := rows.Scan(&c.CaseID, &c.MentionID, &c.State, &c.Brand, &c.Location, &c.Severity, &c.OpenedAt, &c.UpdatedAt, &c.Actor, &c.Outcome, &c.Escalated); err != nil {
			return nil, fmt.Errorf("cases: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CasesByID returns the cases among ids that exist, by id: one query for a
// bulk action's cases.
func (s *Store) CasesByID(ctx context.Context, ids []string) (map[string]CaseState, error) {
	out := map[string]CaseState{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := inList(ids)
	cs, err := s.queryCases(ctx, caseSelect+" WHERE case_id IN "+in+" GROUP BY case_id HAVING opened > toDateTime(0)", args...)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		out[c.CaseID] = c
	}
	return out, nil
}

// Cases lists cases, newest first; state "" means every state.
func (s *Store) Cases(ctx context.Context, state string, limit int) ([]CaseState, error) {
	q := caseSelect + " GROUP BY case_id"
	var args []any
	if state != "" {
		q += " HAVING st = ?"
		args = append(args, state)
	}
	return s.queryCases(ctx, q+fmt.Sprintf(" ORDER BY opened DESC, case_id LIMIT %d", max(limit, 1)), args...)
}

// Overdue lists, in case id order after `after`, up to limit open cases
// opened at or before `before` whose escalation has not reached step
// `steps`: escalation's candidates. A case that went through its whole
// chain, or that someone acted on, is not read again; callers page with
// the last case id until a page comes back short, so no case is skipped.
func (s *Store) Overdue(ctx context.Context, before time.Time, steps uint8, after string, limit int) ([]CaseState, error) {
	q := caseSelect + ` WHERE case_id > ? GROUP BY case_id
	HAVING st = 'open' AND opened <= ? AND maxIfMerge(escalated) < ?
	ORDER BY case_id LIMIT ` + fmt.Sprint(max(limit, 1))
	return s.queryCases(ctx, q, after, clampTime(before), steps)
}

// MessageCases lists the cases a message covered (its "sending" events
// carry the message id), worst first, for the page a capped message links
// to. It runs when someone opens that link, not on a schedule; since (the
// link's lifetime) prunes case_events' monthly partitions.
func (s *Store) MessageCases(ctx context.Context, messageID string, since time.Time, limit int) ([]CaseState, error) {
	q := caseSelect + ` WHERE case_id ` + s.in() + ` (SELECT case_id FROM case_events WHERE event = 'sending' AND note = ? AND at >= ?)
	GROUP BY case_id ORDER BY maxMerge(max_severity) DESC, opened DESC, case_id LIMIT ` + fmt.Sprint(max(limit, 1))
	return s.queryCases(ctx, q, messageID, clampTime(since))
}

// Delivery is one send attempt (a row of alert_deliveries).
type Delivery = caselog.Delivery

// RecordDelivery appends a delivery attempt.
func (s *Store) RecordDelivery(ctx context.Context, d Delivery) error {
	if err := s.insertRow(ctx, `INSERT INTO alert_deliveries (delivery_id, case_ids, group_key, receiver, step, attempt, at,
		status, http_status, latency_ms, error, message_id, duplicate)`, d.ID, nonNil(d.CaseIDs), d.GroupKey, d.Receiver, d.Step, d.Attempt, d.At.UTC(),
		d.Status, d.HTTPStatus, uint32(d.Latency.Milliseconds()), d.Error, d.MessageID, boolU8(d.Duplicate)); err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	return nil
}

// Case returns one case's current state.
func (s *Store) Case(ctx context.Context, id string) (CaseState, bool, error) {
	cs, err := s.queryCases(ctx, caseSelect+" WHERE case_id = ? GROUP BY case_id", id)
	if err != nil || len(cs) == 0 {
		return CaseState{}, false, err
	}
	return cs[0], true, nil
}

// Mention returns the stored mention with id (its newest version).
func (s *Store) Mention(ctx context.Context, id string) (mention.Mention, bool, error) {
	ms, err := s.Mentions(ctx, []string{id})
	if err != nil {
		return mention.Mention{}, false, fmt.Errorf("mention %s: %w", id, err)
	}
	m, ok := ms[id]
	return m, ok, nil
}
