package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/mention"
)

// Flush sends the queued cases that are due, grouped per receiver and group
// key: storms first (so the cases they cover are inhibited, not sent one by
// one), then per group the Grouper's timers, the Inhibitor, the Throttle,
// and the NotifyLog around the Sender. force ignores group_wait and
// group_interval (a one-shot pass about to exit), not quiet hours or
// throttles. Receivers send side by side: a slow or hanging one delays
// only its own groups.
func (n *Notifier) Flush(ctx context.Context, force bool) error {
	n.flushMu.Lock()
	defer n.flushMu.Unlock()
	now := n.now()
	storms, stormErr := n.flushStorms(ctx, now, force)
	// Receivers still sending from an earlier (asynchronous) flush are left
	// out of this one, even if they finish while it runs: their cases read
	// below may have been notified meanwhile.
	busy := n.gate.busy()
	g := n.grouper()
	groups, err := g.Groups(ctx, now)
	if err != nil || len(groups) == 0 {
		return err
	}
	if stormErr != nil {
		return stormErr // without the active storms, inhibition cannot be decided
	}
	now = n.now()
	hist, err := g.History(ctx, now)
	if err != nil {
		return err
	}
	// Which mentions are needed: the due groups', the critical cases' (they
	// skip the timers) and, while a storm is active, all (for inhibition).
	// Each group reads its own when its turn comes, by primary key, so a
	// flush holds one group's mentions at a time.
	needed := 0
	for _, gr := range groups {
		if n.gate.blocked(gr.Receiver, n.now()) {
			continue
		}
		gr.Due = g.Due(gr, hist, now, force)
		for _, p := range gr.Items {
			if gr.Due || p.Severity == "critical" || len(storms) > 0 {
				gr.ids = append(gr.ids, p.MentionID)
			}
		}
		needed += len(gr.ids)
	}
	if needed == 0 {
		return nil
	}
	byRecv := map[string][]*Group{}
	var recvs []string
	for _, gr := range groups {
		if _, ok := byRecv[gr.Receiver]; !ok {
			recvs = append(recvs, gr.Receiver)
		}
		byRecv[gr.Receiver] = append(byRecv[gr.Receiver], gr)
	}
	errs := make([]error, len(recvs))
	var wg sync.WaitGroup
	for i, recv := range recvs {
		// Each receiver gets its own slice of the send history.
		h := caselog.SendHistory{SentSince: map[string]int{recv: hist.SentSince[recv]}, LastSent: map[string]time.Time{}}
		for _, gr := range byRecv[recv] {
			if t, ok := hist.LastSent[recv+"\x00"+gr.Key]; ok {
				h.LastSent[recv+"\x00"+gr.Key] = t
			}
		}
		if busy[recv] || !n.gate.take(recv) {
			continue // sending from an earlier flush: its cases wait for the next
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer n.gate.release(recv)
			errs[i] = n.flushReceiver(ctx, recv, byRecv[recv], &h, storms, now, force)
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

// flushStorms returns the active storms Flush inhibits by, checking the
// detectors first when StormEvery has passed (or force).
func (n *Notifier) flushStorms(ctx context.Context, now time.Time, force bool) ([]caselog.Storm, error) {
	if len(n.StormConfig) == 0 || n.Storms == nil {
		return nil, nil
	}
	w := n.stormWatch()
	storms, err := w.Active(ctx, now)
	if err != nil {
		n.log().Warn("storm check", "err", err)
		return nil, err
	}
	if force || now.Sub(n.stormCheckedAt) >= cmp.Or(n.StormEvery, 30*time.Second) {
		n.stormCheckedAt = now
		sent, err := w.Check(ctx, now, storms)
		if err != nil {
			n.log().Warn("storm check", "err", err)
		}
		storms = append(storms, sent...)
	}
	return storms, nil
}

// flushReadIDs bounds the mentions one read of a flush asks for.
const flushReadIDs = 50000

// headReader is a store that can read mentions without their words.
type headReader interface {
	MentionHeads(ctx context.Context, ids []string) (map[string]mention.Mention, error)
}

// flushReceiver sends one receiver's due groups in order, until it asks
// to wait.
func (n *Notifier) flushReceiver(ctx context.Context, recv string, gs []*Group, hist *caselog.SendHistory, storms []caselog.Storm,
	now time.Time, force bool) error {
	// Labels only (when the store can): a backlog of a million cases is
	// grouped and inhibited on its labels, and each message reads the
	// words of the cases it lists (Composer.Fill).
	read := n.Store.Mentions
	if h, ok := n.Store.(headReader); ok {
		read = h.MentionHeads
	}
	st := stages{inhibit: n.inhibitor(storms), throttle: n.throttle(), notify: n.notifyLog()}
	var firstErr error
	// Mentions are read for several groups at once, up to flushReadIDs:
	// ids of a large backlog are spread over the whole table, so each read
	// costs about a scan, and fewer, larger reads cost fewer scans while
	// memory stays bounded.
	var ms, full map[string]mention.Mention
	loaded := 0 // groups [0, loaded) have their mentions in ms
	for gi, gr := range gs {
		if n.gate.blocked(recv, n.now()) {
			break
		}
		if len(gr.ids) == 0 {
			continue
		}
		if gi >= loaded {
			var ids []string
			for loaded = gi; loaded < len(gs) && (loaded == gi || len(ids)+len(gs[loaded].ids) <= flushReadIDs); loaded++ {
				ids = append(ids, gs[loaded].ids...)
			}
			var err error
			if ms, err = read(ctx, ids); err != nil {
				firstErr = cmp.Or(firstErr, fmt.Errorf("flush: %w", err))
				ms, loaded = nil, gi+1 // this group waits for the next flush
				continue
			}
			// The words of the cases these groups' messages will likely
			// list, in one read: read group by group, each listed case is
			// a granule of the text column.
			full = n.prefetch(ctx, gs[gi:loaded], ms)
		}
		err := n.flushGroup(ctx, st, gr, ms, full, hist, now)
		for _, id := range gr.ids {
			delete(ms, id) // sent or left for the next flush: let the memory go
		}
		gr.Items, gr.ids = nil, nil
		var wait *waitError
		if errors.As(err, &wait) {
			n.gate.block(recv, n.now().Add(wait.d))
		}
		if err != nil {
			if n.Async && !force {
				n.log().Warn("alert flush", "receiver", recv, "err", err)
			}
			firstErr = cmp.Or(firstErr, err)
		}
	}
	return firstErr
}

// stages are the per-group stages of one receiver's flush.
type stages struct {
	inhibit  Inhibitor
	throttle Throttle
	notify   NotifyLog
}

// flushGroup sends one group's due cases: critical ones in a message of
// their own, past every gate; the others through the inhibitor and the
// throttle; retries of earlier attempts apart, under their first id.
func (n *Notifier) flushGroup(ctx context.Context, st stages, gr *Group, ms, full map[string]mention.Mention,
	hist *caselog.SendHistory, now time.Time) error {
	recv, key := gr.Receiver, gr.Key
	rcv, ok := n.Receivers[recv]
	if !ok {
		return fmt.Errorf("queued cases for unknown receiver %q", recv)
	}
	var cases, critical []Case
	queued := map[string]time.Time{} // case -> when it was queued
	retry := map[string]string{}     // case -> id of the message an earlier attempt may have delivered
	for _, p := range gr.Items {
		m, found := ms[p.MentionID]
		if !found {
			continue // not needed this round, or not stored yet (spooled): next flush
		}
		c := Case{ID: p.CaseID, Mention: m} // its words, links and reply once listed (Fill)
		if p.Attempted {
			retry[c.ID] = cmp.Or(p.AttemptID, "unknown")
		}
		if m.Severity == "critical" {
			critical = append(critical, c)
		} else {
			cases = append(cases, c)
		}
		queued[c.ID] = p.QueuedAt
	}
	cases = st.inhibit.Filter(ctx, recv, key, cases)
	cases, err := st.throttle.Admit(ctx, recv, key, cases, *hist, gr.Due, now)
	if err != nil {
		return err
	}
	var firstErr error
	crit := splitRetries(critical, retry, recv)
	for i, out := range append(crit, splitRetries(cases, retry, recv)...) {
		// Critical cases skip the group's timers: their sends are recorded
		// under a key of their own, so they neither reset nor hold the
		// timer of the group they share a location with.
		gk := key
		if i < len(crit) {
			gk = criticalKey(key)
		}
		msg := Message{ID: out.id, Receiver: recv, GroupKey: gk, Cases: out.cases}
		n.Cap(&msg)
		if err := n.Fill(ctx, n.Store, &msg, full); err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("group %s: %w", key, err))
			continue // not sent: the next flush tries again
		}
		if err := st.notify.Send(ctx, rcv, msg, out.cases, out.dup, key, queued); err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		hist.SentSince[recv]++
		hist.LastSent[recv+"\x00"+gk] = n.now()
	}
	return firstErr
}

// prefetch reads, in one query, the whole mentions of the cases that the
// groups' messages will list when capped as Cap does (worst first), so
// that a flush of many groups does not read each group's few listed
// mentions on its own. A case a message lists that is not among them
// (a split message: retries, critical cases) is read by Fill.
func (n *Notifier) prefetch(ctx context.Context, gs []*Group, ms map[string]mention.Mention) map[string]mention.Mention {
	limit := n.listed()
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
		n.log().Debug("prefetch listed mentions", "err", err) // Fill reads them again
		return nil
	}
	return full
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

// gate keeps, per receiver, whether a send of an earlier asynchronous
// flush is still running (one in flight per receiver) and until when it
// asked to be left alone (Retry-After beyond what a flush waits).
type gate struct {
	mu           sync.Mutex
	blockedUntil map[string]time.Time
	inflight     map[string]bool
	sending      sync.WaitGroup
}

// busy is the receivers sending now.
func (g *gate) busy() map[string]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]bool, len(g.inflight))
	for r := range g.inflight {
		out[r] = true
	}
	return out
}

// take marks recv as sending; false when it already is.
func (g *gate) take(recv string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inflight[recv] {
		return false
	}
	if g.inflight == nil {
		g.inflight = map[string]bool{}
	}
	g.inflight[recv] = true
	g.sending.Add(1)
	return true
}

func (g *gate) release(recv string) {
	g.mu.Lock()
	delete(g.inflight, recv)
	g.mu.Unlock()
	g.sending.Done()
}

// block leaves recv alone until then.
func (g *gate) block(recv string, until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.blockedUntil == nil {
		g.blockedUntil = map[string]time.Time{}
	}
	g.blockedUntil[recv] = until
}

// blocked reports whether recv asked to be left alone past now.
func (g *gate) blocked(recv string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.blockedUntil[recv]
	if ok && !now.Before(until) {
		delete(g.blockedUntil, recv)
		return false
	}
	return ok
}
