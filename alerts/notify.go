package alerts

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/internal/wait"
	"github.com/earshot/earshot/mention"
)

// EventLog is the case event log the stages write to and dedup by:
// "routed", "queued", "sending", "notified" ... with deterministic ids.
type EventLog interface {
	AppendCaseEvents(ctx context.Context, evs []caselog.Event) error
	HasEvents(ctx context.Context, ids []string) (map[string]bool, error)
}

// PendingLog is what the flush stage reads: the cases queued and not yet
// notified, and the send history its timers and throttles decide by.
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

// Notifier opens a case for each flagged story, routes it, sends it to each
// matched receiver with retries, and records every attempt
// (alert_deliveries) and every state change (case_events).
//
// Exactly once as staff see it: events have deterministic ids (case, event,
// receiver, step), so a re-run, a restart or the same review collected
// again finds "routed" or "notified" recorded and sends nothing. Before a
// message goes out, a "sending" event is recorded for its cases; a case
// found with "sending" but no "notified" (the process died, or the
// receiver took the request and never answered) is sent again, as a
// possible duplicate: counted in alert_deliveries (duplicate = 1) and in
// earshot_alerts_possible_duplicates_total, never hidden. Messages carry a
// stable ID (webhook Idempotency-Key) so a receiver can drop the repeat.
//
// Delivery is two steps, so that the state lives in ClickHouse and any
// worker can pick up where another stopped: Route opens and queues the
// cases the case queue holds (a "queued" event per receiver carrying the
// group key, and one "routed" event), and Flush sends what is due, one
// message per receiver and group:
//   - a new group waits group_wait for more cases, then one message lists
//     them; later cases of the same group wait until group_interval has
//     passed since its last message (Alertmanager's timers);
//   - a receiver in its quiet hours gets nothing but critical cases; the
//     rest wait until the hours end;
//   - a receiver that got max_per_hour messages in the last hour gets no
//     more: the non-critical cases are deferred to its digest ("deferred"
//     event, a "throttled" delivery row);
//   - a case an active storm covers is not sent on its own ("inhibited"
//     event): the storm's message lists it (see CheckStorms);
//   - critical cases skip the wait, quiet hours, the throttle and storms;
//   - a receiver that asked to wait (Retry-After beyond a few seconds) is
//     left alone until then; the others are not held up by it.
//
// The Dispatcher calls Route and Flush on its own loop, never from
// collection, and only in the one process holding the dispatch lock.
type Notifier struct {
	flushMu sync.Mutex // one flush at a time: concurrent passes would send a group twice

	Tree      *Route
	Receivers map[string]Receiver
	Policies  map[string]Policy // per receiver: throttle and quiet hours
	Clocks    map[string]Clock  // per receiver: SLA clock (business hours); default wall clock
	// StormConfig and Storms enable CheckStorms and the inhibition of the
	// per-mention alerts an active storm covers; both nil: no storms.
	StormConfig []config.Storms
	Storms      StormStore
	StormEvery  time.Duration // least time between storm checks in Flush; default 30s

	stormCheckedAt time.Time // under flushMu
	pendingSince   time.Time // under flushMu: oldest case Flush must still look at
	floor          time.Time // under flushMu: the router's watermark; zero: do not advance pendingSince

	recvMu       sync.Mutex
	blockedUntil map[string]time.Time // receivers that asked to wait
	inflight     map[string]bool      // receivers an asynchronous Flush is still sending to
	sending      sync.WaitGroup
	// Async: Flush does not wait for its sends (the daemon): a slow or
	// hanging receiver holds up neither routing nor the other receivers;
	// it gets one send in flight at a time. Flush with force always waits.
	Async bool
	Store CaseStore
	Links func(caseID string) (ack, resolve string) // optional signed links
	// MoreLink, optional, links a capped message to the page of all its
	// cases (Signer.MoreLink).
	MoreLink func(messageID string) string
	Contact  func(brand, location string) string // who customers can reach, for the suggested reply
	// Contacts, optional, is the same contact written per language
	// ({"ru": "Анна Хорват, администратор"}), used in replies in it.
	Contacts func(brand, location string) map[string]string
	// CaseURL, optional, is the address of a case's page in the web inbox
	// (server.base_url + /cases/{id}); messages link to it.
	CaseURL func(caseID string) string
	Retries int           // extra attempts on retryable failures; default 3
	Backoff time.Duration // first wait; default 2s, doubling, jittered
	// MaxInlineWait is the longest retry wait Flush sleeps through; a
	// receiver asking for more (Retry-After: 300) is retried by a later
	// flush instead, so it never holds the others. Default 10s.
	MaxInlineWait time.Duration
	// MaxListed is how many cases a message lists in full (default 25): a
	// larger group lists its worst cases and names the rest, so a bulk
	// import does not become a 30 MB mail.
	MaxListed int
	Sleep     func(ctx context.Context, d time.Duration) error
	Now       func() time.Time
	Logger    *slog.Logger
	Metrics   *metrics.Metrics
}

// CaseID is the case of a mention (caselog.CaseID): one per story.
func CaseID(m mention.Mention) string { return caselog.CaseID(m) }

// Notify opens and queues the cases of stored mentions that have not been
// routed yet, then sends whatever is due (see Flush). The dispatcher reads
// cases from the case queue instead; Notify serves tests and tools that
// hold the mentions already.
func (n *Notifier) Notify(ctx context.Context, ms []mention.Mention) error {
	var ids []string
	for _, m := range ms {
		if m.Negative {
			ids = append(ids, routedID(CaseID(m)))
		}
	}
	done, err := n.Store.HasEvents(ctx, ids)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	var qs []caselog.Queued
	byID := map[string]mention.Mention{}
	for _, m := range ms {
		if m.Negative && !done[routedID(CaseID(m))] {
			qs = append(qs, caselog.Queued{CaseID: CaseID(m), MentionID: m.ID, OpenedAt: n.now()})
			byID[m.ID] = m
		}
	}
	var firstErr error
	if err := n.Route(ctx, qs, byID); err != nil {
		firstErr = err
	}
	if err := n.Flush(ctx, false); err != nil && firstErr == nil {
		firstErr = err
	}
	return firstErr
}

// Route opens the given cases and queues each for the receivers its
// routes name, in one insert: per case an "opened" event (at the time its
// mention was stored), a "queued" event per receiver, and a "routed" event
// that tells the router it is done. Ids are deterministic, so routing a
// case twice (a crash before the router saw its insert succeed) collapses.
// A case whose mention is not readable yet is left for the next round.
func (n *Notifier) Route(ctx context.Context, qs []caselog.Queued, ms map[string]mention.Mention) error {
	if len(qs) == 0 {
		return nil
	}
	now := n.now()
	var evs, done []caselog.Event
	routed := 0
	seen := map[string]bool{}
	for _, q := range qs {
		m, ok := ms[q.MentionID]
		if !ok || seen[q.CaseID] {
			continue
		}
		seen[q.CaseID] = true
		at := q.OpenedAt
		if at.IsZero() {
			at = now
		}
		labels := LabelsOf(m)
		base := caselog.Event{CaseID: q.CaseID, MentionID: m.ID, Brand: m.Brand, Location: m.Location, Severity: m.Severity,
			State: "open", At: at, Actor: "earshot"}
		ev := base
		ev.EventID, ev.Event = caselog.OpenedID(q.CaseID), "opened"
		evs = append(evs, ev)
		var to []string
		for _, r := range n.Tree.Match(labels) {
			id := queuedID(q.CaseID, r.Receiver)
			if slices.Contains(to, r.Receiver) {
				continue // a second route to the same receiver queues once
			}
			if _, ok := n.Receivers[r.Receiver]; !ok {
				return fmt.Errorf("case %s: no receiver %q", q.CaseID, r.Receiver)
			}
			to = append(to, r.Receiver)
			ev := base
			ev.EventID, ev.Event, ev.Receiver, ev.Note = id, "queued", r.Receiver, r.GroupKey(labels)
			evs = append(evs, ev)
		}
		ev = base
		ev.EventID, ev.Event, ev.At, ev.Note = routedID(q.CaseID), "routed", now, strings.Join(to, ",")
		done = append(done, ev)
		routed++
	}
	// The "routed" marks go in a second insert, after the cases are opened
	// and queued: an insert spanning two months is one part per month, not
	// atomic, and a mark without its queued rows would lose the case.
	if err := n.Store.AppendCaseEvents(ctx, evs); err != nil {
		return fmt.Errorf("route %d cases: %w", routed, err)
	}
	if err := n.Store.AppendCaseEvents(ctx, done); err != nil {
		return fmt.Errorf("route %d cases: mark routed: %w", routed, err)
	}
	n.Metrics.CasesOpened(routed)
	if routed > 0 {
		n.log().Info("cases opened", "cases", routed)
	}
	return nil
}

func routedID(caseID string) string { return caselog.RoutedID(caseID) }

// pendingOverlap is how far before its last oldest-pending case Flush
// looks again: cases become visible a little after their opened_at, and
// clocks differ a little between earshot and ClickHouse.
const pendingOverlap = 10 * time.Minute

// Flush sends the queued cases that are due, grouped per receiver and group
// key. force ignores group_wait and group_interval (a one-shot pass about to
// exit), not quiet hours or throttles.
func (n *Notifier) Flush(ctx context.Context, force bool) error {
	n.flushMu.Lock()
	defer n.flushMu.Unlock()
	// Storms are checked here, before the queued cases go out, so that the
	// cases a storm covers are inhibited instead of sent one by one.
	now := n.now()
	var storms []caselog.Storm
	var stormErr error
	if len(n.StormConfig) > 0 && n.Storms != nil {
		if storms, stormErr = n.activeStorms(ctx, now); stormErr != nil {
			n.log().Warn("storm check", "err", stormErr)
		} else if force || now.Sub(n.stormCheckedAt) >= cmp.Or(n.StormEvery, 30*time.Second) {
			n.stormCheckedAt = now
			sent, err := n.checkStorms(ctx, now, storms)
			if err != nil {
				n.log().Warn("storm check", "err", err)
			}
			storms = append(storms, sent...)
		}
	}
	// Receivers still sending from an earlier (asynchronous) flush are left
	// out of this one, even if they finish while it runs: their cases read
	// below may have been notified meanwhile.
	n.recvMu.Lock()
	busy := make(map[string]bool, len(n.inflight))
	for r := range n.inflight {
		busy[r] = true
	}
	n.recvMu.Unlock()
	since := n.pendingSince
	if since.IsZero() {
		since = now.Add(-caselog.PendingLookback)
	}
	pend, err := n.Store.PendingNotifications(ctx, since) // timed by the store
	if err != nil {
		return err
	}
	// Next time, start from the oldest case still pending, but never past
	// what the router has routed (its watermark, in the server's clock: a
	// case routed late keeps its queue time and must stay in the window).
	// Without a router floor (Notify, tests) the window stays at its widest.
	if floor := n.floor; !floor.IsZero() {
		next := floor
		for _, p := range pend {
			if p.QueuedAt.Before(next) {
				next = p.QueuedAt
			}
		}
		n.pendingSince = next.Add(-pendingOverlap)
	}
	if len(pend) == 0 {
		return nil
	}
	if stormErr != nil {
		return stormErr // without the active storms, inhibition cannot be decided
	}
	now = n.now()
	hist, err := n.Store.SendHistory(ctx, now.Add(-48*time.Hour), now.Add(-time.Hour))
	if err != nil {
		return err
	}
	type group = flushGroupRef
	var order []*group
	groups := map[string]*group{}
	for _, p := range pend {
		k := p.Receiver + "\x00" + p.GroupKey
		g := groups[k]
		if g == nil {
			g = &group{receiver: p.Receiver, key: p.GroupKey}
			groups[k] = g
			order = append(order, g)
		}
		g.items = append(g.items, p)
	}
	// Which mentions are needed: the due groups', the critical cases' (they
	// skip the timers) and, while a storm is active, all (for inhibition).
	// Each group reads its own when its turn comes, by primary key, so a
	// flush holds one group's mentions at a time.
	needed := 0
	for _, g := range order {
		if n.blocked(g.receiver) {
			continue
		}
		g.due = n.due(g.receiver, g.key, g.items, hist, now, force)
		for _, p := range g.items {
			if g.due || p.Severity == "critical" || len(storms) > 0 {
				g.ids = append(g.ids, p.MentionID)
			}
		}
		needed += len(g.ids)
	}
	if needed == 0 {
		return nil
	}
	// Labels only (when the store can): a backlog of a million cases is
	// grouped and inhibited on its labels, and each message reads the
	// words of the cases it lists (fill).
	read := n.Store.Mentions
	if h, ok := n.Store.(headReader); ok {
		read = h.MentionHeads
	}
	// Receivers send side by side: a slow or hanging one delays only its
	// own groups. Each gets its own slice of the send history.
	byRecv := map[string][]*group{}
	var recvs []string
	for _, g := range order {
		if _, ok := byRecv[g.receiver]; !ok {
			recvs = append(recvs, g.receiver)
		}
		byRecv[g.receiver] = append(byRecv[g.receiver], g)
	}
	errs := make([]error, len(recvs))
	var wg sync.WaitGroup
	for i, recv := range recvs {
		h := caselog.SendHistory{SentSince: map[string]int{recv: hist.SentSince[recv]}, LastSent: map[string]time.Time{}}
		for _, g := range byRecv[recv] {
			if t, ok := hist.LastSent[recv+"\x00"+g.key]; ok {
				h.LastSent[recv+"\x00"+g.key] = t
			}
		}
		n.recvMu.Lock()
		if n.inflight[recv] || busy[recv] {
			n.recvMu.Unlock()
			continue // sending from an earlier flush: its cases wait for the next
		}
		if n.inflight == nil {
			n.inflight = map[string]bool{}
		}
		n.inflight[recv] = true
		n.recvMu.Unlock()
		wg.Add(1)
		n.sending.Add(1)
		go func() {
			defer func() {
				n.recvMu.Lock()
				delete(n.inflight, recv)
				n.recvMu.Unlock()
				n.sending.Done()
				wg.Done()
			}()
			// Mentions are read for several groups at once, up to
			// flushReadIDs: ids of a large backlog are spread over the whole
			// table, so each read costs about a scan, and fewer, larger
			// reads cost fewer scans while memory stays bounded.
			gs := byRecv[recv]
			var ms, full map[string]mention.Mention
			loaded := 0 // groups [0, loaded) have their mentions in ms
			for gi, g := range gs {
				if n.blocked(recv) {
					break
				}
				if len(g.ids) == 0 {
					continue
				}
				if gi >= loaded {
					var ids []string
					for loaded = gi; loaded < len(gs) && (loaded == gi || len(ids)+len(gs[loaded].ids) <= flushReadIDs); loaded++ {
						ids = append(ids, gs[loaded].ids...)
					}
					var err error
					if ms, err = read(ctx, ids); err != nil {
						errs[i] = cmp.Or(errs[i], fmt.Errorf("flush: %w", err))
						ms, loaded = nil, gi+1 // this group waits for the next flush
						continue
					}
					// The words of the cases these groups' messages will
					// likely list, in one read: read group by group, each
					// listed case is a granule of the text column.
					full = n.prefetch(ctx, gs[gi:loaded], ms)
				}
				err := n.flushGroup(ctx, recv, g.key, g.items, ms, full, &h, storms, g.due, now)
				for _, id := range g.ids {
					delete(ms, id) // sent or left for the next flush: let the memory go
				}
				g.items, g.ids = nil, nil
				var wait *waitError
				if errors.As(err, &wait) {
					n.recvMu.Lock()
					if n.blockedUntil == nil {
						n.blockedUntil = map[string]time.Time{}
					}
					n.blockedUntil[recv] = n.now().Add(wait.d)
					n.recvMu.Unlock()
				}
				if err != nil {
					if n.Async && !force {
						n.log().Warn("alert flush", "receiver", recv, "err", err)
					}
					errs[i] = cmp.Or(errs[i], err)
				}
			}
		}()
	}
	if n.Async && !force {
		// The daemon: a slow receiver finishes in the background, and the
		// next flush leaves it alone until it is done.
		return nil
	}
	wg.Wait()
	return errors.Join(errs...)
}

// blocked reports whether a receiver asked to be left alone until later.
func (n *Notifier) blocked(recv string) bool {
	n.recvMu.Lock()
	defer n.recvMu.Unlock()
	until, ok := n.blockedUntil[recv]
	if ok && !n.now().Before(until) {
		delete(n.blockedUntil, recv)
		return false
	}
	return ok
}

// SetFloor tells Flush how far the router has routed (its watermark in
// the server's clock); the zero time stops the pending window from moving.
func (n *Notifier) SetFloor(t time.Time) {
	n.flushMu.Lock()
	defer n.flushMu.Unlock()
	n.floor = t
}

// Wait waits for the sends an asynchronous Flush left running.
func (n *Notifier) Wait() { n.sending.Wait() }

// due reports whether a group's timers let it go now.
func (n *Notifier) due(recv, key string, items []caselog.Pending, hist caselog.SendHistory, now time.Time, force bool) bool {
	if force {
		return true
	}
	var wait, interval time.Duration
	if route := n.Tree.byReceiverKey(recv, key); route != nil {
		wait, interval = route.GroupWait, route.GroupInterval
	}
	last, sentBefore := hist.LastSent[recv+"\x00"+key]
	return !sentBefore && !items[0].QueuedAt.Add(wait).After(now) || sentBefore && !last.Add(interval).After(now)
}

func (n *Notifier) flushGroup(ctx context.Context, recv, key string, items []caselog.Pending, ms, full map[string]mention.Mention,
	hist *caselog.SendHistory, storms []caselog.Storm, due bool, now time.Time) error {
	rcv, ok := n.Receivers[recv]
	if !ok {
		return fmt.Errorf("queued cases for unknown receiver %q", recv)
	}
	var cases, critical []Case
	stored := map[string]time.Time{} // case -> when its mention was stored
	retry := map[string]string{}     // case -> id of the message an earlier attempt may have delivered
	for _, p := range items {
		m, found := ms[p.MentionID]
		if !found {
			continue // not needed this round, or not stored yet (spooled): next flush
		}
		c := Case{ID: p.CaseID, Mention: m} // its words, links and reply once listed (fill)
		if p.Attempted {
			retry[c.ID] = cmp.Or(p.AttemptID, "unknown")
		}
		if m.Severity == "critical" {
			critical = append(critical, c)
		} else if st, ok := inhibitedBy(m, storms); ok {
			n.inhibit(ctx, rcv, key, c, st)
		} else {
			cases = append(cases, c)
		}
		stored[c.ID] = p.QueuedAt
	}
	pol := n.Policies[recv]
	if !due || pol.Quiet(now) {
		cases = nil // wait: for the group timer or the end of quiet hours
	}
	if len(cases) > 0 && pol.MaxPerHour > 0 && hist.SentSince[recv] >= pol.MaxPerHour {
		if err := n.defer_(ctx, rcv, key, cases, fmt.Sprintf("throttled: %d messages to %s in the last hour (max_per_hour %d)", hist.SentSince[recv], recv, pol.MaxPerHour)); err != nil {
			return err
		}
		cases = nil
	}
	var firstErr error
	crit := splitRetries(critical, retry, recv)
	for i, out := range append(crit, splitRetries(cases, retry, recv)...) {
		batch, dup := out.cases, out.dup
		// Critical cases skip the group's timers: their sends are recorded
		// under a key of their own, so they neither reset nor hold the
		// timer of the group they share a location with.
		gk := key
		if i < len(crit) {
			gk = criticalKey(key)
		}
		msg := Message{ID: out.id, Receiver: recv, GroupKey: gk, Cases: batch}
		n.cap(&msg)
		if err := n.fill(ctx, &msg, full); err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("group %s: %w", key, err))
			continue // not sent: the next flush tries again
		}
		// The intent goes first: if this process dies after the receiver
		// took the message, the next one knows a repeat may be a duplicate.
		var intent []caselog.Event
		for _, c := range batch {
			m := c.Mention
			intent = append(intent, caselog.Event{EventID: caselog.SendingID(c.ID, recv), CaseID: c.ID, MentionID: m.ID,
				At: n.now(), Event: "sending", State: "open", Actor: "earshot", Receiver: recv, Brand: m.Brand, Location: m.Location,
				Severity: m.Severity, Note: msg.ID})
		}
		if err := n.Store.AppendCaseEvents(ctx, intent); err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("group %s: record intent: %w", key, err))
			continue // not sent: without the intent a crash would hide a duplicate
		}
		// What happened is recorded even when the process is being stopped
		// (SIGTERM cancels ctx): a lost "notified" would send it again.
		maybe, err := n.deliver(ctx, rcv, msg, dup)
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			if !maybe {
				// Refused every time: nothing arrived, so the next attempt is
				// not a possible duplicate. The same event ids, written
				// again, replace the intent (ReplacingMergeTree, FINAL).
				for i := range intent {
					intent[i].Event, intent[i].At, intent[i].Note = "unsent", n.now(), "refused by the receiver: "+oneLine(err.Error(), 200)
				}
				if err := n.Store.AppendCaseEvents(rctx, intent); err != nil {
					n.log().Warn("refused send not recorded; its retry will count as a possible duplicate", "receiver", recv, "err", err)
				}
			}
			rcancel()
			continue
		}
		hist.SentSince[recv]++
		hist.LastSent[recv+"\x00"+gk] = n.now()
		var evs []caselog.Event
		for _, c := range batch {
			m := c.Mention
			evs = append(evs, caselog.Event{EventID: notifiedID(c.ID, recv, 0), CaseID: c.ID, MentionID: m.ID, At: n.now(),
				Event: "notified", State: "open", Actor: "earshot", Receiver: recv, Brand: m.Brand, Location: m.Location,
				Severity: m.Severity, Note: key})
		}
		if err := n.Store.AppendCaseEvents(rctx, evs); err != nil {
			n.log().Error("notification not recorded; it may be sent again (counted as a possible duplicate)", "receiver", recv, "group", key, "err", err)
		}
		rcancel()
		for _, c := range batch {
			n.Metrics.Accepted(recv, n.now().Sub(stored[c.ID]))
		}
		n.log().Info("alert sent", "receiver", recv, "group", key, "cases", len(batch), "message", msg.ID, "possible_duplicate", dup)
	}
	return firstErr
}

// criticalKey is the group key critical cases are sent and recorded under
// (alert_deliveries.group_key): a route's keys are "receiver|label=values",
// so this one cannot be another group's.
func criticalKey(key string) string { return key + "|critical" }

// flushGroupRef is a group of pending cases in one flush.
type flushGroupRef struct {
	receiver, key string
	items         []caselog.Pending
	due           bool
	ids           []string // mentions this flush needs
}

// flushReadIDs bounds the mentions one read of a flush asks for.
const flushReadIDs = 50000

// headReader is a store that can read mentions without their words.
type headReader interface {
	MentionHeads(ctx context.Context, ids []string) (map[string]mention.Mention, error)
}

// fill gives each case a message lists its whole mention (from full, the
// prefetched ones, or read now in one query), links and suggested reply.
func (n *Notifier) fill(ctx context.Context, msg *Message, full map[string]mention.Mention) error {
	var missing []string
	for _, c := range msg.Cases {
		if _, ok := full[c.Mention.ID]; !ok {
			missing = append(missing, c.Mention.ID)
		}
	}
	got := full
	if len(missing) > 0 {
		ms, err := n.Store.Mentions(ctx, missing)
		if err != nil {
			return fmt.Errorf("read listed mentions: %w", err)
		}
		got = make(map[string]mention.Mention, len(msg.Cases))
		for _, c := range msg.Cases {
			if m, ok := full[c.Mention.ID]; ok {
				got[c.Mention.ID] = m
			} else if m, ok := ms[c.Mention.ID]; ok {
				got[c.Mention.ID] = m
			}
		}
	}
	for i, c := range msg.Cases {
		m, ok := got[c.Mention.ID]
		if !ok {
			m = c.Mention // read a moment ago: keep its labels
		}
		whole := n.caseFor(m)
		whole.ID = c.ID
		msg.Cases[i] = whole
	}
	return nil
}

// prefetch reads, in one query, the whole mentions of the cases that the
// groups' messages will list when capped as cap does (worst first), so
// that a flush of many groups does not read each group's few listed
// mentions on its own. A case a message lists that is not among them
// (a split message: retries, critical cases) is read by fill.
func (n *Notifier) prefetch(ctx context.Context, gs []*flushGroupRef, ms map[string]mention.Mention) map[string]mention.Mention {
	limit := cmp.Or(n.MaxListed, 25)
	var ids []string
	for _, g := range gs {
		// Critical cases go in a message of their own (flushGroup).
		var critical, rest []mention.Mention
		for _, id := range g.ids {
			if m, ok := ms[id]; !ok {
				continue
			} else if m.Severity == "critical" {
				critical = append(critical, m)
			} else {
				rest = append(rest, m)
			}
		}
		for _, cand := range [][]mention.Mention{critical, rest} {
			slices.SortStableFunc(cand, worstFirst)
			for _, m := range cand[:min(limit, len(cand))] {
				ids = append(ids, m.ID)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	full, err := n.Store.Mentions(ctx, ids)
	if err != nil {
		n.log().Debug("prefetch listed mentions", "err", err) // fill reads them again
		return nil
	}
	return full
}

// worstFirst orders mentions as a capped message lists them: severity,
// then newest.
func worstFirst(a, b mention.Mention) int {
	if c := cmp.Compare(mention.SeverityRank(b.Severity), mention.SeverityRank(a.Severity)); c != 0 {
		return c
	}
	return b.PublishedAt.Compare(a.PublishedAt)
}

// cap orders a group's message worst case first (severity, then newest:
// every renderer lists them in this order) and keeps a large one readable:
// the worst MaxListed cases in full, the others by id, with a line saying so.
func (n *Notifier) cap(msg *Message) {
	limit := cmp.Or(n.MaxListed, 25)
	cases := slices.Clone(msg.Cases)
	slices.SortStableFunc(cases, func(a, b Case) int { return worstFirst(a.Mention, b.Mention) })
	if len(cases) <= limit {
		msg.Cases = cases
		return
	}
	listed, rest := cases[:limit], cases[limit:]
	msg.Cases = listed
	for _, c := range rest {
		msg.More = append(msg.More, c.ID)
	}
	if n.MoreLink != nil && msg.ID != "" {
		msg.MoreURL = n.MoreLink(msg.ID)
	}
	c := listed[0].Mention
	msg.Title = fmt.Sprintf("%d negative mentions of %s%s", len(cases), c.Brand, at(c.Location))
	msg.Summary = append(msg.Summary, fmt.Sprintf("The %d most severe are below; %d more are open in this group: `earshot cases list` shows them, and the digest lists them until resolved.",
		limit, len(rest)))
}

// outgoing is one message to send: a resend keeps the id of the attempt it
// repeats, so a receiver that took the first can drop it by that id.
type outgoing struct {
	id    string
	cases []Case
	dup   bool
}

// splitRetries separates the cases an earlier attempt may have delivered,
// one message per earlier message id, from the new ones.
func splitRetries(cases []Case, retry map[string]string, recv string) []outgoing {
	var out []outgoing
	byID := map[string]int{}
	var fresh []Case
	for _, c := range cases {
		id, ok := retry[c.ID]
		if !ok {
			fresh = append(fresh, c)
			continue
		}
		i, seen := byID[id]
		if !seen {
			i = len(out)
			byID[id] = i
			out = append(out, outgoing{id: id, dup: true})
		}
		out[i].cases = append(out[i].cases, c)
	}
	for i := range out {
		if out[i].id == "unknown" {
			out[i].id = MessageID(recv, 0, out[i].cases)
		}
	}
	if len(fresh) > 0 {
		out = append(out, outgoing{id: MessageID(recv, 0, fresh), cases: fresh})
	}
	return out
}

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

// defer_ hands cases to the receiver's digest instead of a message.
func (n *Notifier) defer_(ctx context.Context, rcv Receiver, key string, cases []Case, why string) error {
	ids := make([]string, len(cases))
	var evs []caselog.Event
	for i, c := range cases {
		ids[i] = c.ID
		m := c.Mention
		evs = append(evs, caselog.Event{EventID: caselog.DeferredID(c.ID, rcv.Name()), CaseID: c.ID, MentionID: m.ID,
			At: n.now(), Event: "deferred", State: "open", Actor: "earshot", Receiver: rcv.Name(), Brand: m.Brand,
			Location: m.Location, Severity: m.Severity, Note: why})
	}
	if err := n.Store.AppendCaseEvents(ctx, evs); err != nil {
		return fmt.Errorf("defer to digest: %w", err)
	}
	if err := n.Store.RecordDelivery(ctx, caselog.Delivery{ID: newID(), CaseIDs: ids, GroupKey: key, Receiver: rcv.Name(),
		Attempt: 1, At: n.now(), Status: "throttled", Error: why}); err != nil {
		n.log().Error("throttle not recorded", "receiver", rcv.Name(), "err", err)
	}
	n.log().Info("alerts deferred to digest", "receiver", rcv.Name(), "cases", len(cases), "why", why)
	return nil
}

// inhibit records that an active storm's message covers a case, so its own
// alert is not sent (Alertmanager's inhibition). The case stays open.
func (n *Notifier) inhibit(ctx context.Context, rcv Receiver, key string, c Case, st caselog.Storm) {
	m := c.Mention
	why := fmt.Sprintf("inhibited by %s (%d negative mentions in %s)", st.ID, st.Count, caselog.Short(st.WindowEnd.Sub(st.WindowStart)))
	ev := caselog.Event{EventID: caselog.InhibitedID(c.ID, rcv.Name()), CaseID: c.ID, MentionID: m.ID, At: n.now(),
		Event: "inhibited", State: "open", Actor: "earshot", Receiver: rcv.Name(), Brand: m.Brand, Location: m.Location,
		Severity: m.Severity, Note: why}
	if err := n.Store.AppendCaseEvents(ctx, []caselog.Event{ev}); err != nil {
		n.log().Error("inhibition not recorded; the case stays queued", "case", c.ID, "err", err)
		return
	}
	if err := n.Store.RecordDelivery(ctx, caselog.Delivery{ID: newID(), CaseIDs: []string{c.ID}, GroupKey: key, Receiver: rcv.Name(),
		Attempt: 1, At: n.now(), Status: "suppressed", Error: why}); err != nil {
		n.log().Error("inhibition delivery row not recorded", "case", c.ID, "err", err)
	}
}

func queuedID(caseID, receiver string) string { return caselog.QueuedID(caseID, receiver) }

// send tries a message until it is delivered, the failure is final, or
// the attempts run out, recording each attempt. A receiver asking to wait
// longer than MaxInlineWait gets a *waitError back: the group stays queued
// for a later flush. dup marks a message an earlier attempt may already
// have delivered.
func (n *Notifier) send(ctx context.Context, rcv Receiver, msg Message, dup bool) error {
	_, err := n.deliver(ctx, rcv, msg, dup)
	return err
}

// deliver is send, also telling whether the message may have reached the
// receiver despite an error (Sender.Deliver).
func (n *Notifier) deliver(ctx context.Context, rcv Receiver, msg Message, dup bool) (maybe bool, err error) {
	return n.sender().Deliver(ctx, rcv, msg, dup)
}

// sender is the notifier's retry stage, configured from its fields.
func (n *Notifier) sender() Sender {
	return Sender{Log: n.Store, Retries: n.Retries, Backoff: n.Backoff, MaxInlineWait: n.MaxInlineWait, Sleep: n.Sleep, Now: n.Now,
		Logger: n.Logger, Metrics: n.Metrics}
}

// caseFor prepares a mention's case for a message: links and reply.
func (n *Notifier) caseFor(m mention.Mention) Case {
	c := Case{ID: CaseID(m), Mention: m}
	if n.Links != nil {
		c.AckURL, c.ResolveURL = n.Links(c.ID)
	}
	if n.CaseURL != nil {
		c.CaseURL = n.CaseURL(c.ID)
	}
	var rc ReplyContact
	if n.Contact != nil {
		rc.Default = n.Contact(m.Brand, m.Location)
	}
	if n.Contacts != nil {
		rc.ByLang = n.Contacts(m.Brand, m.Location)
	}
	c.Reply, c.ReplyNote = SuggestReplyTo(m, rc), ReplyAdvice(m)
	return c
}

func notifiedID(caseID, receiver string, step int) string {
	return caselog.NotifiedID(caseID, receiver, step)
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
