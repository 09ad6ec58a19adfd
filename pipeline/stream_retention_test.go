package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

// flakyInserter is ClickHouse behind a real storage.Writer: while down it
// refuses every insert (and there is no spool), else it stores into the
// fake store.
type flakyInserter struct {
	s      *fakeStore
	mu     sync.Mutex
	down   bool
	failed int
}

func (f *flakyInserter) InsertMentions(_ context.Context, ms []mention.Mention) error {
	f.mu.Lock()
	down := f.down
	if down {
		f.failed++
	}
	f.mu.Unlock()
	if down {
		return errors.New("dial tcp 127.0.0.1:9000: connect: connection refused")
	}
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	for _, m := range ms {
		f.s.stored[m.ID] = true
	}
	return nil
}

func (f *flakyInserter) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *flakyInserter) failures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// feed is a push source the test drives: each pushed text is added, then
// checkpointed with the number of posts added so far.
type feed struct {
	in  chan string
	ack chan struct{}
	mu  sync.Mutex
	ids []string // in the order added
}

func newFeed() *feed { return &feed{in: make(chan string), ack: make(chan struct{}, 16)} }

func (f *feed) Collect(context.Context, string, collectors.Sink) (string, error) { return "", nil }

func (f *feed) Stream(ctx context.Context, _ string, sink collectors.Sink, checkpoint func(string)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case text := <-f.in:
			id := "f:" + text
			if err := sink.Add(ctx, mention.Mention{ID: id, Text: text}); err != nil {
				return err
			}
			f.mu.Lock()
			f.ids = append(f.ids, id)
			n := len(f.ids)
			f.mu.Unlock()
			checkpoint(strconv.Itoa(n))
			f.ack <- struct{}{}
		}
	}
}

// push hands the source one post and waits until it was added and
// checkpointed.
func (f *feed) push(t *testing.T, text string) {
	t.Helper()
	select {
	case f.in <- text:
	case <-time.After(5 * time.Second):
		t.Fatalf("the stream did not take %q", text)
	}
	select {
	case <-f.ack:
	case <-time.After(5 * time.Second):
		t.Fatalf("%q was not checkpointed", text)
	}
}

// covered lists the posts a cursor claims are done.
func (f *feed) covered(cursor string) []string {
	n, _ := strconv.Atoi(cursor)
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ids[:min(n, len(f.ids))])
}

// orderedStore records every cursor saved before all the posts it covers
// were stored.
type orderedStore struct {
	*fakeStore
	covered    func(cursor string) []string
	violations []string // under fakeStore.mu
}

func (o *orderedStore) SaveState(ctx context.Context, st storage.SourceState) error {
	o.mu.Lock()
	for _, id := range o.covered(st.Cursor) {
		if !o.stored[id] {
			o.violations = append(o.violations, fmt.Sprintf("cursor %q saved before %s was stored", st.Cursor, id))
		}
	}
	o.mu.Unlock()
	return o.fakeStore.SaveState(ctx, st)
}

func (o *orderedStore) check(t *testing.T) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, v := range o.violations {
		t.Error(v)
	}
}

// snapshot returns which of ids are stored and the source's cursor.
func (o *orderedStore) snapshot(source string, ids ...string) (stored int, cursor string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, id := range ids {
		if o.stored[id] {
			stored++
		}
	}
	return stored, o.state[source]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5s: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func streamPipeline(st Store, w Writer, f *feed, chunk int, every time.Duration) (*Pipeline, *config.Source) {
	cfg := &config.Config{Sources: []config.Source{{Name: "live", Kind: "feed", Brand: "B"}}}
	p := &Pipeline{Config: cfg, Store: st, Writer: w, ChunkSize: chunk, FlushEvery: every, RunWindow: time.Hour,
		Registry: collectors.Registry{"feed": {New: func(collectors.Env) (collectors.Collector, error) { return f, nil }}}}
	return p, &cfg.Sources[0]
}

// TestStreamWriterFailureKeepsBatchAndCursor: while the writer can neither
// store nor spool, a stream keeps its posts (in the writer) and never saves
// a cursor past a post that is not stored; once ClickHouse answers again
// the kept posts are stored and the cursor moves.
func TestStreamWriterFailureKeepsBatchAndCursor(t *testing.T) {
	tests := []struct {
		name      string
		batchSize int // of the storage.Writer
	}{
		{"Add fails: the writer's batch is full at once", 1},
		{"Flush fails: the writer buffers, the flush cannot write", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := newStore()
			f := newFeed()
			st := &orderedStore{fakeStore: base, covered: f.covered}
			ins := &flakyInserter{s: base, down: true}
			w := storage.NewWriter(ins, storage.WriterOptions{BatchSize: tt.batchSize, FlushInterval: time.Hour})
			t.Cleanup(func() { _ = w.Close(context.Background()) })
			p, src := streamPipeline(st, w, f, 500, 5*time.Millisecond)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- p.Stream(ctx, src) }()

			f.push(t, "a")
			f.push(t, "b")
			// Several flushes come and fail: nothing stored, nothing lost.
			waitFor(t, "three failed writes", func() bool {
				_, cur := st.snapshot("live")
				return ins.failures() >= 3 || cur != ""
			})
			if n, cur := st.snapshot("live", "f:a", "f:b"); n != 0 || cur != "" {
				t.Fatalf("writer down: %d stored, cursor %q; want 0 and no cursor", n, cur)
			}
			if got := w.Pending(); got != 2 {
				t.Errorf("the writer holds %d rows, want the 2 it could not write", got)
			}

			ins.setDown(false)
			waitFor(t, "a and b stored and cursor 2 once the writer works", func() bool {
				n, cur := st.snapshot("live", "f:a", "f:b")
				return n == 2 && cur == "2"
			})
			f.push(t, "c")
			waitFor(t, "c stored and cursor 3", func() bool {
				n, cur := st.snapshot("live", "f:a", "f:b", "f:c")
				return n == 3 && cur == "3"
			})
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Stream: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Stream did not stop")
			}
			st.check(t)
			if w.Pending() != 0 {
				t.Errorf("%d rows still in the writer", w.Pending())
			}
			base.mu.Lock()
			defer base.mu.Unlock()
			if len(base.runs) != 1 || base.runs[0].Errors == 0 || base.runs[0].Status != "partial" || !strings.Contains(base.runs[0].LastError, "store") {
				t.Errorf("runs %+v: want one partial run reporting the store errors", base.runs)
			}
		})
	}
}

// gatedSeen holds the dedup check of the batch holding gate until
// released: the time a chunk spends between leaving the sink and reaching
// the writer (a ClickHouse round trip, then scoring).
type gatedSeen struct {
	*orderedStore
	gate    string
	entered chan []string
	release chan struct{}
}

func (g *gatedSeen) Seen(ctx context.Context, ids []string) (map[string]bool, error) {
	if slices.Contains(ids, g.gate) {
		g.entered <- slices.Clone(ids)
		<-g.release
	}
	return g.orderedStore.Seen(ctx, ids)
}

// TestStreamCursorWaitsForChunkInFlight: a full chunk is flushed by the
// source's own goroutine (inside sink.Add); while it is on its way to the
// writer, the periodic flush must not save the cursor checkpointed after
// its posts, because they are not stored yet (a crash then would skip
// them for good).
func TestStreamCursorWaitsForChunkInFlight(t *testing.T) {
	base := newStore()
	f := newFeed()
	ins := &flakyInserter{s: base}
	st := &gatedSeen{orderedStore: &orderedStore{fakeStore: base, covered: f.covered}, gate: "f:c",
		entered: make(chan []string, 1), release: make(chan struct{})}
	w := storage.NewWriter(ins, storage.WriterOptions{FlushInterval: time.Hour})
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	// The chunk fills (3 posts) long before the first 50ms tick.
	p, src := streamPipeline(st, w, f, 3, 50*time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Stream(ctx, src) }()

	f.push(t, "a")
	f.push(t, "b")
	f.in <- "c" // fills the chunk: flushed by Add, held in Seen
	var batch []string
	select {
	case batch = <-st.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the chunk never reached the dedup check")
	}
	released := false
	release := func() {
		if !released {
			released = true
			close(st.release)
		}
	}
	defer release()
	if len(batch) != 3 {
		t.Skipf("a tick flushed before the chunk filled (batch %v): scenario not reached", batch)
	}
	// Several ticks pass while the chunk is in flight.
	time.Sleep(200 * time.Millisecond)
	if _, cur := st.snapshot("live"); cur != "" {
		t.Errorf("cursor %q saved while the posts before it were still on their way to the writer", cur)
	}
	release()
	<-f.ack
	waitFor(t, "a, b, c stored and cursor 3", func() bool {
		n, cur := st.snapshot("live", "f:a", "f:b", "f:c")
		return n == 3 && cur == "3"
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Stream: %v", err)
	}
	st.check(t)
}
