// Package caselog is the case model every other package shares: a case's
// events and current state, the state machine the workflow follows, its
// SLA clocks, and the records of deliveries, queued cases and storms. It
// is pure (no I/O, no ClickHouse): storage writes and reads these records,
// alerts decides with them, and neither needs the other for that.
package caselog

import (
	"fmt"
	"time"

	"github.com/earshot/earshot/mention"
)

// Event is one change to a case (a row of case_events). EventID is
// deterministic for machine events (a retry writes the same row, which
// collapses after FINAL).
type Event struct {
	EventID   string
	CaseID    string
	MentionID string
	At        time.Time
	Event     string // opened, queued, routed, sending, notified, unsent, deferred, inhibited, storm, acknowledged, held, resumed, resolved, escalated
	State     string // open, acknowledged, on_hold, resolved
	Actor     string
	Receiver  string
	Step      uint8
	Outcome   string
	Note      string
	Brand     string
	Location  string
	Severity  string
}

// State is a case's current state, derived from its events.
type State struct {
	CaseID, MentionID, State, Brand, Location, Severity string
	OpenedAt, UpdatedAt                                 time.Time
	Actor, Outcome                                      string
	Escalated                                           uint8 // highest escalation step recorded
}

// Delivery is one send attempt (a row of alert_deliveries).
type Delivery struct {
	ID         string
	CaseIDs    []string
	GroupKey   string
	Receiver   string
	Step       uint8
	Attempt    uint16
	At         time.Time
	Status     string // sent, retry, failed, throttled, suppressed, attempt, unknown (sent, no answer)
	HTTPStatus uint16
	Latency    time.Duration
	Error      string
	MessageID  string // stable across resends of the same message
	Duplicate  bool   // an earlier attempt may already have delivered it
}

// Queued is a case the case queue holds (filled in the same INSERT as its
// negative mention) and the router has not routed yet, with its mention's
// routing labels.
type Queued struct {
	CaseID    string
	MentionID string
	OpenedAt  time.Time
	// Labelled: the labels below come from the queue row. Rows queued
	// before migration 0013 have none; the router reads their mention.
	Labelled                            bool
	Brand, Location, Source, Kind, Lang string
	Severity                            string
	Aspects, Signals                    []string
}

// Mention is the part of a mention routing uses, from its queue row.
func (q Queued) Mention() mention.Mention {
	m := mention.Mention{ID: q.MentionID, Brand: q.Brand, Location: q.Location, Source: q.Source, Kind: q.Kind, Lang: q.Lang}
	m.Negative, m.Severity, m.Aspects, m.Signals = true, q.Severity, q.Aspects, q.Signals
	return m
}

// PendingLookback is how far back the notifier looks for queued cases: an
// alert that could not be delivered for this long is no longer retried
// (its case stays open, listed and in the digest).
const PendingLookback = 7 * 24 * time.Hour

// Pending is a case queued for a receiver and not yet notified there (nor
// deferred to its digest), while the case is still open.
type Pending struct {
	CaseID    string
	MentionID string
	Receiver  string
	GroupKey  string
	Severity  string
	QueuedAt  time.Time
	// Attempted: a message for this case and receiver was about to go out
	// before ("sending" event) and was never recorded as notified. Sending
	// again may duplicate it.
	Attempted bool
	AttemptID string // the message id of that attempt
}

// SendHistory is what throttling and group timers need: per receiver, the
// messages sent since a time; per group, when its last message went out.
type SendHistory struct {
	SentSince map[string]int       // receiver -> messages sent
	LastSent  map[string]time.Time // receiver + "\x00" + group key -> last message
}

// StormKey is what a storm is about: a brand and location, or a brand and
// an aspect (Location empty).
type StormKey struct {
	Brand, Location, Aspect string
}

// String is a stable text form, used in storm ids and group keys.
func (k StormKey) String() string {
	if k.Aspect != "" {
		return k.Brand + "|aspect=" + k.Aspect
	}
	return k.Brand + "|location=" + k.Location
}

// Storm is a spike of negative mentions that was alerted (a row of storms).
type Storm struct {
	ID                     string
	At                     time.Time
	WindowStart, WindowEnd time.Time
	Key                    StormKey
	Count                  int
	Mean, Stddev           float64
	Receiver               string
	CaseIDs                []string
}

// Bucket is one bar of a trend: mentions and negative mentions from Start.
type Bucket struct {
	Start              time.Time
	Mentions, Negative int
}

// Volume is what a digest says about a period.
type Volume struct {
	Mentions, Negative, Severe int            // severe: high or critical
	NegativeByLocation         map[string]int // "" for mentions without a location
	Aspects                    map[string]int // of negative mentions
}

// CaseID is the case of a mention: one per story, so the same review posted
// on two sites is one case. The case queue's materialized view computes
// the same id in SQL (schemas/migrations/0010_case_queue.sql).
func CaseID(m mention.Mention) string {
	if m.StoryID != "" {
		return "case:" + m.StoryID
	}
	return "case:" + m.ID
}

// Machine events have deterministic ids, so that writing one twice (a
// retry, a restart, a second worker) collapses to one row.

// OpenedID is the id of a case's "opened" event.
func OpenedID(caseID string) string { return caseID + ":opened" }

// RoutedID is the id of the event that tells the router a case is done.
func RoutedID(caseID string) string { return caseID + ":routed" }

// QueuedID is the id of a case's "queued" event for a receiver.
func QueuedID(caseID, receiver string) string { return fmt.Sprintf("%s:queued:%s", caseID, receiver) }

// NotifiedID is the id of a case's "notified" event for a receiver and
// escalation step.
func NotifiedID(caseID, receiver string, step int) string {
	return fmt.Sprintf("%s:notified:%s:%d", caseID, receiver, step)
}

// EscalatedID is the event id of a case's escalation step.
func EscalatedID(caseID string, step int) string { return fmt.Sprintf("%s:escalated:%d", caseID, step) }

// DeferredID is the id of a case's "deferred" (to the digest) event.
func DeferredID(caseID, receiver string) string {
	return fmt.Sprintf("%s:deferred:%s", caseID, receiver)
}

// InhibitedID is the id of a case's "inhibited" (by a storm) event.
func InhibitedID(caseID, receiver string) string {
	return fmt.Sprintf("%s:inhibited:%s", caseID, receiver)
}

// StormEventID is the id of a case's "storm" event (a storm listed it).
func StormEventID(caseID string) string { return caseID + ":storm" }

// SendingID is the id of the intent recorded before a message goes out.
func SendingID(caseID, receiver string) string {
	return fmt.Sprintf("%s:sending:%s:0", caseID, receiver)
}
