package alerts

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/mention"
)

type hookQueue struct {
	*memQueue
	mu   sync.Mutex
	hook func()
}

// SendHistory is read between the pending read and the in-flight check:
// the hook runs there.
func (h *hookQueue) SendHistory(ctx context.Context, since, countFrom time.Time) (caselog.SendHistory, error) {
	h.mu.Lock()
	f := h.hook
	h.hook = nil
	h.mu.Unlock()
	if f != nil {
		f()
	}
	return h.memQueue.SendHistory(ctx, since, countFrom)
}

// An async send finishing between a later Flush's pending read and its
// in-flight check is sent again although 'notified' was recorded.
func TestReviewAsyncResendAfterNotified(t *testing.T) {
	ms := []mention.Mention{complaint("m:1", "Zagreb", "high")}
	r := newDispatchRig(t, `
receivers: [{name: slow, kind: outbox}]
route:
  receiver: slow
`, ms...)
	hq := &hookQueue{memQueue: r.q}
	r.n.Store = hq
	r.n.Async = true
	gate := make(chan struct{})
	r.rcv["slow"].gate = gate
	r.q.enqueue(CaseID(ms[0]), ms[0].ID, dispatchStart.Add(-time.Minute))
	ctx := context.Background()
	if err := r.d.Round(ctx, false); err != nil {
		t.Fatal(err)
	}
	for a, _ := r.rcv["slow"].counts(); a != 1; a, _ = r.rcv["slow"].counts() {
		time.Sleep(time.Millisecond)
	}
	// Round 2 reads pending while the send is in flight; the receiver
	// answers and 'notified' is recorded before round 2 checks inflight.
	hq.mu.Lock()
	hq.hook = func() { close(gate); r.n.Wait() }
	hq.mu.Unlock()
	r.tick(time.Minute)
	if err := r.d.Round(ctx, false); err != nil {
		t.Fatal(err)
	}
	r.n.Wait()
	a, ok := r.rcv["slow"].counts()
	t.Logf("attempts %d accepted %d; notified recorded: %v", a, ok, func() bool { _, k := r.q.event(notifiedID(CaseID(ms[0]), "slow", 0)); return k }())
	if ok != 1 {
		t.Errorf("case accepted %d times, want 1", ok)
	}
}
