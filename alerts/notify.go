package alerts

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/mention"
)

// EventLog is the case event log the stages write to and dedup by:
// "routed", "queued", "sending", "notified" ... with deterministic ids.
type EventLog interface {
	AppendCaseEvents(ctx context.Context, evs []caselog.Event) error
	HasEvents(ctx context.Context, ids []string) (map[string]bool, error)
}

// PendingLog is what the grouping stage reads: the cases queued and not
// yet notified, and the send history its timers and throttles decide by.
type PendingLog interface {
	PendingNotifications(ctx context.Context, since time.Time) ([]caselog.Pending, error)
	SendHistory(ctx context.Context, since, countFrom time.Time) (caselog.SendHistory, error)
}

// MentionReader reads stored mentions by id.
type MentionReader interface {
	Mentions(ctx context.Context, ids []string) (map[string]mention.Mention, error)
}

// CaseStore is everything the notifier's stages need, each through its
// own narrow interface; *storage.Store is one.
type CaseStore interface {
	EventLog
	DeliveryLog
	PendingLog
	MentionReader
}

// Notifier composes the alert stages, the way Alertmanager chains
// dispatch, inhibit, notify and its notification log:
//
//	Router      opens cases and queues them per receiver and group (router.go)
//	Grouper     reads what is queued, groups it, runs the group timers (group.go)
//	Inhibitor   holds back cases an active storm lists (inhibit.go)
//	Throttle    quiet hours and max_per_hour, deferring to the digest (throttle.go)
//	NotifyLog   records intent and outcome around each send (notifylog.go)
//	Sender      retries with backoff and logs every attempt (retry.go)
//	StormWatch, Digester, Escalator: storms, digests, escalation
//	Composer    links, replies and the listing cap of every message (compose.go)
//
// Each stage has its own narrow store interface and is tested alone; the
// Notifier holds the configuration, builds the stages from it at each
// call, and owns what must persist between calls: the pending window, the
// receivers still sending, the last storm check.
//
// Exactly once as staff see it: events have deterministic ids (case, event,
// receiver, step), so a re-run, a restart or the same review collected
// again finds "routed" or "notified" recorded and sends nothing; a send
// interrupted after its intent was recorded goes again as a possible
// duplicate, counted, never hidden (NotifyLog). Messages carry a stable ID
// (webhook Idempotency-Key) so a receiver can drop the repeat.
//
// Delivery is two steps, so that the state lives in ClickHouse and any
// worker can pick up where another stopped: Route opens and queues the
// cases, Flush sends what is due, one message per receiver and group.
// Critical cases skip the group wait, quiet hours, the throttle and
// storms; a receiver that asked to wait (Retry-After beyond a few
// seconds) is left alone until then, the others are not held up by it.
//
// The Dispatcher calls Route and Flush on its own loop, never from
// collection, and only in the one process holding the dispatch lock.
type Notifier struct {
	Tree      *Route
	Receivers map[string]Receiver
	Policies  map[string]Policy // per receiver: throttle and quiet hours
	Clocks    map[string]Clock  // per receiver: SLA clock (business hours); default wall clock
	// StormConfig and Storms enable CheckStorms and the inhibition of the
	// per-mention alerts an active storm covers; both nil: no storms.
	StormConfig []config.Storms
	Storms      StormStore
	StormEvery  time.Duration // least time between storm checks in Flush; default 30s
	// Async: Flush does not wait for its sends (the daemon): a slow or
	// hanging receiver holds up neither routing nor the other receivers;
	// it gets one send in flight at a time. Flush with force always waits.
	Async bool
	Store CaseStore
	// Composer: the links, replies and listing cap of every message.
	Composer
	Retries int           // extra attempts on retryable failures; default 3
	Backoff time.Duration // first wait; default 2s, doubling, jittered
	// MaxInlineWait is the longest retry wait Flush sleeps through; a
	// receiver asking for more (Retry-After: 300) is retried by a later
	// flush instead, so it never holds the others. Default 10s.
	MaxInlineWait time.Duration
	Sleep         func(ctx context.Context, d time.Duration) error
	Now           func() time.Time
	Logger        *slog.Logger
	Metrics       *metrics.Metrics

	flushMu        sync.Mutex // one flush at a time: concurrent passes would send a group twice
	window         Window     // the Grouper's pending window
	gate           gate       // receivers sending or asking to wait
	stormCheckedAt time.Time  // under flushMu
}

// CaseID is the case of a mention (caselog.CaseID): one per story.
func CaseID(m mention.Mention) string { return caselog.CaseID(m) }

// Notify opens and queues the cases of stored mentions that have not been
// routed yet, then sends whatever is due (see Flush). The dispatcher reads
// cases from the case queue instead; Notify serves tests and tools that
// hold the mentions already.
func (n *Notifier) Notify(ctx context.Context, ms []mention.Mention) error {
	qs, byID, err := n.router().Unrouted(ctx, ms)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	routeErr := n.Route(ctx, qs, byID)
	if err := n.Flush(ctx, false); err != nil && routeErr == nil {
		return err
	}
	return routeErr
}

// Route opens the given cases and queues each for its receivers (Router.Route).
func (n *Notifier) Route(ctx context.Context, qs []caselog.Queued, ms map[string]mention.Mention) error {
	return n.router().Route(ctx, qs, ms)
}

// SetFloor tells Flush how far the router has routed (its watermark in
// the server's clock); the zero time stops the pending window from moving.
func (n *Notifier) SetFloor(t time.Time) { n.window.SetFloor(t) }

// Wait waits for the sends an asynchronous Flush left running.
func (n *Notifier) Wait() { n.gate.sending.Wait() }

// CheckStorms runs the storm detectors now (StormWatch.Check) and returns
// the storms sent; without storms configured it does nothing.
func (n *Notifier) CheckStorms(ctx context.Context) ([]caselog.Storm, error) {
	if len(n.StormConfig) == 0 || n.Storms == nil {
		return nil, nil
	}
	w, now := n.stormWatch(), n.now()
	active, err := w.Active(ctx, now)
	if err != nil {
		return nil, err
	}
	return w.Check(ctx, now, active)
}

// Escalate sends overdue cases up their routes' chains (Escalator.Run)
// and returns how many messages it sent.
func (n *Notifier) Escalate(ctx context.Context, store EscalationStore) (int, error) {
	return Escalator{Tree: n.Tree, Clocks: n.Clocks, Receivers: n.Receivers, Sender: n.sender(), Compose: n.Composer,
		Now: n.Now, Logger: n.Logger}.Run(ctx, store)
}

// BuildDigest prepares a receiver's digest for the period ending at end
// (Digester.Build).
func (n *Notifier) BuildDigest(ctx context.Context, ds DigestStore, d config.Digest, end time.Time) (Message, error) {
	return n.digester().Build(ctx, ds, d, end)
}

// SendDigest builds and sends the digest of the period ending at end,
// once per period (Digester.Send).
func (n *Notifier) SendDigest(ctx context.Context, ds DigestStore, d config.Digest, end time.Time) (bool, error) {
	return n.digester().Send(ctx, ds, d, end)
}

// The stages, built from the notifier's configuration at each call (they
// are small values; the state they share lives in the Notifier).

func (n *Notifier) router() Router {
	return Router{Tree: n.Tree, Receivers: n.Receivers, Log: n.Store, Now: n.Now, Logger: n.Logger, Metrics: n.Metrics}
}

func (n *Notifier) grouper() Grouper {
	return Grouper{Tree: n.Tree, Pending: n.Store, Window: &n.window}
}

func (n *Notifier) sender() Sender {
	return Sender{Log: n.Store, Retries: n.Retries, Backoff: n.Backoff, MaxInlineWait: n.MaxInlineWait, Sleep: n.Sleep, Now: n.Now,
		Logger: n.Logger, Metrics: n.Metrics}
}

func (n *Notifier) notifyLog() NotifyLog {
	return NotifyLog{Events: n.Store, Sender: n.sender(), Now: n.Now, Logger: n.Logger, Metrics: n.Metrics}
}

func (n *Notifier) throttle() Throttle {
	return Throttle{Policies: n.Policies, Log: n.Store, Now: n.Now, Logger: n.Logger}
}

func (n *Notifier) inhibitor(storms []caselog.Storm) Inhibitor {
	return Inhibitor{Storms: storms, Log: n.Store, Now: n.Now, Logger: n.Logger}
}

func (n *Notifier) stormWatch() StormWatch {
	return StormWatch{Detectors: n.StormConfig, Store: n.Storms, Mentions: n.Store, Events: n.Store, Receivers: n.Receivers,
		Sender: n.sender(), Compose: n.Composer, Logger: n.Logger}
}

func (n *Notifier) digester() Digester {
	return Digester{Tree: n.Tree, Clocks: n.Clocks, Receivers: n.Receivers, Sender: n.sender(), Compose: n.Composer}
}

func (n *Notifier) now() time.Time { return nowOf(n.Now) }

func (n *Notifier) log() *slog.Logger { return logger(n.Logger) }

// MessageID is stable for the same receiver, step and cases, so a resend
// after a crash or timeout carries the id of the first attempt.
func MessageID(recv string, step int, cases []Case) string {
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = c.ID
	}
	slices.Sort(ids)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d", recv, step)
	for _, id := range ids {
		h.Write([]byte("\x00" + id))
	}
	return "msg-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// waitError is a receiver's request to come back later than Flush waits.
type waitError struct {
	d   time.Duration
	err error
}

func (e *waitError) Error() string {
	return fmt.Sprintf("%v (retrying in %s)", e.err, e.d.Round(time.Second))
}
func (e *waitError) Unwrap() error { return e.err }

func newID() string {
	b := make([]byte, 8)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}
