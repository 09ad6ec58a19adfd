package collectortest

import (
	"context"
	"testing"
	"time"

	"github.com/earshot/earshot/collectors"
)

// Conformance checks what every source kind promises (collectors.Collector):
//   - a pass finds something (the test's server must serve content) and
//     every mention is a valid record with a unique, stable-looking id;
//   - a second pass from the returned cursor, over unchanged content,
//     adds nothing it added before;
//   - a cancelled context ends a pass promptly with no mentions.
//
// newCollector must return a fresh collector for the same content each call.
func Conformance(t *testing.T, newCollector func() collectors.Collector) {
	t.Helper()
	t.Run("first pass", func(t *testing.T) {
		sink := &Sink{}
		if _, err := newCollector().Collect(context.Background(), "", sink); err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if len(sink.Mentions) == 0 {
			t.Fatal("first pass found nothing")
		}
		seen := map[string]bool{}
		for _, m := range sink.Mentions {
			if seen[m.ID] {
				t.Errorf("id %s added twice in one pass", m.ID)
			}
			seen[m.ID] = true
			if len(m.ID) < 3 || m.ID == m.URL {
				t.Errorf("id %q is not a stable kind-prefixed id", m.ID)
			}
			n := m
			if err := n.Normalize(time.Now()); err != nil {
				t.Errorf("mention %s is not valid: %v", m.ID, err)
			}
		}
	})
	t.Run("second pass adds nothing new", func(t *testing.T) {
		first := &Sink{}
		c := newCollector()
		cursor, err := c.Collect(context.Background(), "", first)
		if err != nil {
			t.Fatal(err)
		}
		before := map[string]bool{}
		for _, m := range first.Mentions {
			before[m.ID] = true
		}
		second := &Sink{}
		if _, err := newCollector().Collect(context.Background(), cursor, second); err != nil {
			t.Fatal(err)
		}
		repeated := 0
		for _, m := range second.Mentions {
			if before[m.ID] {
				repeated++
			}
		}
		// A source may re-read the newest item at its cursor (equal
		// timestamps); ids make that harmless. More would mean the cursor
		// does not work.
		if repeated > 1 {
			t.Errorf("second pass repeated %d of %d mentions", repeated, len(first.Mentions))
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		sink := &Sink{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = newCollector().Collect(ctx, "", sink)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Collect ignored a cancelled context for 10s")
		}
		if len(sink.Mentions) > 0 {
			t.Errorf("%d mentions added after cancellation", len(sink.Mentions))
		}
	})
}
