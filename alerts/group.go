package alerts

import (
	"context"
	"sync"
	"time"

	"github.com/earshot/earshot/caselog"
)

// Group is the queued cases of one receiver and group key in one flush.
type Group struct {
	Receiver, Key string
	Items         []caselog.Pending
	// Due: the group's timers let it go now (Grouper.Due); its critical
	// cases go out either way.
	Due bool
	ids []string // mentions the flush needs for it
}

// Window is the pending window a Grouper reads: the oldest queued case a
// flush must still look at, bounded by the router's watermark. Its zero
// value reads the widest window (caselog.PendingLookback).
type Window struct {
	mu    sync.Mutex
	since time.Time // oldest case the next read must include; zero: widest
	floor time.Time // the router's watermark; zero: do not move since
}

// SetFloor tells the window how far the router has routed (its watermark
// in the server's clock); the zero time stops the window from moving.
func (w *Window) SetFloor(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.floor = t
}

// pendingOverlap is how far before its last oldest-pending case the
// window looks again: cases become visible a little after their
// opened_at, and clocks differ a little between earshot and ClickHouse.
const pendingOverlap = 10 * time.Minute

// from is where a read at now starts.
func (w *Window) from(now time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.since.IsZero() {
		return now.Add(-caselog.PendingLookback)
	}
	return w.since
}

// advance starts the next read at the oldest case still pending, but
// never past what the router has routed (its watermark, in the server's
// clock: a case routed late keeps its queue time and must stay in the
// window). Without a floor (Notify, tests) the window stays as it is.
func (w *Window) advance(pend []caselog.Pending) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.floor.IsZero() {
		return
	}
	next := w.floor
	for _, p := range pend {
		if p.QueuedAt.Before(next) {
			next = p.QueuedAt
		}
	}
	w.since = next.Add(-pendingOverlap)
}

// Grouper is the aggregation stage (Alertmanager's aggregation groups and
// their timers): it reads the cases queued and not yet notified, groups
// them per receiver and group key, and decides which groups their timers
// let go. It reads the pending log only.
//
//   - a new group waits group_wait for more cases, then one message lists
//     them;
//   - later cases of a group wait until group_interval has passed since
//     its last message.
type Grouper struct {
	Tree    *Route
	Pending PendingLog
	Window  *Window // nil: always the widest window
}

// Groups reads the pending cases and groups them, in the order their
// first case was read.
func (g Grouper) Groups(ctx context.Context, now time.Time) ([]*Group, error) {
	w := g.Window
	if w == nil {
		w = &Window{}
	}
	pend, err := g.Pending.PendingNotifications(ctx, w.from(now)) // timed by the store
	if err != nil {
		return nil, err
	}
	w.advance(pend)
	var order []*Group
	groups := map[string]*Group{}
	for _, p := range pend {
		k := p.Receiver + "\x00" + p.GroupKey
		gr := groups[k]
		if gr == nil {
			gr = &Group{Receiver: p.Receiver, Key: p.GroupKey}
			groups[k] = gr
			order = append(order, gr)
		}
		gr.Items = append(gr.Items, p)
	}
	return order, nil
}

// History is the send history the timers and throttles decide by: the
// messages of the last hour per receiver and each group's last message.
func (g Grouper) History(ctx context.Context, now time.Time) (caselog.SendHistory, error) {
	return g.Pending.SendHistory(ctx, now.Add(-48*time.Hour), now.Add(-time.Hour))
}

// Due reports whether a group's timers let it go now; force (a one-shot
// pass about to exit) ignores them.
func (g Grouper) Due(gr *Group, hist caselog.SendHistory, now time.Time, force bool) bool {
	if force {
		return true
	}
	var wait, interval time.Duration
	if route := g.Tree.byReceiverKey(gr.Receiver, gr.Key); route != nil {
		wait, interval = route.GroupWait, route.GroupInterval
	}
	last, sentBefore := hist.LastSent[gr.Receiver+"\x00"+gr.Key]
	return !sentBefore && !gr.Items[0].QueuedAt.Add(wait).After(now) || sentBefore && !last.Add(interval).After(now)
}

// criticalKey is the group key critical cases are sent and recorded under
// (alert_deliveries.group_key): a route's keys are "receiver|label=values",
// so this one cannot be another group's.
func criticalKey(key string) string { return key + "|critical" }
