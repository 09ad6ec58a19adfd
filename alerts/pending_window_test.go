package alerts

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/mention"
)

// sinceQueue applies PendingNotifications' window as storage does:
// case_id IN (SELECT case_id FROM case_queue WHERE opened_at >= since).
type sinceQueue struct {
	*memQueue
	failMentions atomic.Bool
}

func (q *sinceQueue) Mentions(ctx context.Context, ids []string) (map[string]mention.Mention, error) {
	if q.failMentions.Load() {
		return nil, errors.New("mentions: timeout")
	}
	return q.memQueue.Mentions(ctx, ids)
}

func (q *sinceQueue) PendingNotifications(ctx context.Context, since time.Time) ([]caselog.Pending, error) {
	ps, err := q.memQueue.PendingNotifications(ctx, since)
	q.qmu.Lock()
	defer q.qmu.Unlock()
	var out []caselog.Pending
	for _, p := range ps {
		for _, r := range q.rows {
			if r.CaseID == p.CaseID && !r.OpenedAt.Before(since) {
				out = append(out, p)
				break
			}
		}
	}
	return out, err
}

func TestReviewLateRoutedCaseNeverFlushed(t *testing.T) {
	ms := []mention.Mention{complaint("m:1", "Zagreb", "high")}
	r := newDispatchRig(t, `
receivers: [{name: desk, kind: outbox}]
route:
  receiver: desk
`, ms...)
	sq := &sinceQueue{memQueue: r.q}
	r.n.Store = sq
	r.d.Queue = sq
	ctx := context.Background()
	_ = r.d.Round(ctx, false) // empty store: watermarks set
	r.q.enqueue(CaseID(ms[0]), ms[0].ID, r.server.Now())
	sq.failMentions.Store(true) // routing fails for a while (Flush still works)
	for i := 0; i < 8; i++ {
		r.tick(2 * time.Minute)
		_ = r.d.Round(ctx, false)
	}
	sq.failMentions.Store(false)
	for i := 0; i < 10; i++ {
		r.tick(time.Minute)
		if err := r.d.Round(ctx, false); err != nil {
			t.Log(err)
		}
	}
	_, routed := r.q.event(routedID(CaseID(ms[0])))
	_, ok := r.rcv["desk"].counts()
	t.Logf("routed %v, accepted %d", routed, ok)
	if routed && ok == 0 {
		t.Errorf("case routed but never sent")
	}
}

func TestReviewServerClockBehind(t *testing.T) {
	ms := []mention.Mention{complaint("m:1", "Zagreb", "high")}
	r := newDispatchRig(t, `
receivers: [{name: desk, kind: outbox}]
route:
  receiver: desk
`, ms...)
	sq := &sinceQueue{memQueue: r.q}
	r.n.Store = sq
	r.d.Queue = sq
	r.server.Add(-15 * time.Minute) // ClickHouse's clock 15 min behind earshot's
	ctx := context.Background()
	_ = r.d.Round(ctx, false)
	r.q.enqueue(CaseID(ms[0]), ms[0].ID, r.server.Now())
	for i := 0; i < 10; i++ {
		r.tick(time.Minute)
		_ = r.d.Round(ctx, false)
	}
	_, routed := r.q.event(routedID(CaseID(ms[0])))
	_, ok := r.rcv["desk"].counts()
	t.Logf("routed %v, accepted %d", routed, ok)
	if routed && ok == 0 {
		t.Errorf("case routed but never sent")
	}
}
