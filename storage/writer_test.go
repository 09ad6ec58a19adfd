package storage

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage/chtest"
)

// fakeInserter fails while down is set, and refuses rows whose id is bad.
type fakeInserter struct {
	mu      sync.Mutex
	down    bool
	batches [][]mention.Mention
}

func (f *fakeInserter) InsertMentions(_ context.Context, ms []mention.Mention) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("dial tcp 127.0.0.1:9000: connect: connection refused")
	}
	for _, m := range ms {
		if m.ID == "bad" {
			return &clickhouse.Exception{Code: 27, Message: "cannot parse input"}
		}
	}
	f.batches = append(f.batches, append([]mention.Mention(nil), ms...))
	return nil
}

func (f *fakeInserter) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, b := range f.batches {
		for _, m := range b {
			out = append(out, m.ID)
		}
	}
	return out
}

func TestWriterBatchesBySizeAndTime(t *testing.T) {
	f := &fakeInserter{}
	w := NewWriter(f, WriterOptions{BatchSize: 10, FlushInterval: 20 * time.Millisecond})
	ctx := context.Background()
	if err := w.Add(ctx, sample(25, "b")...); err != nil {
		t.Fatal(err)
	}
	if got := len(f.ids()); got != 20 {
		t.Errorf("after 25 adds with batch 10: %d written, want 20", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(f.ids()) < 25 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := len(f.ids()); got != 25 {
		t.Errorf("timer flush: %d written, want 25", got)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWriterSpoolsAndReplaysInOrder(t *testing.T) {
	f := &fakeInserter{}
	sp, err := OpenSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f, WriterOptions{BatchSize: 5, FlushInterval: time.Hour, Spool: sp})
	ctx := context.Background()
	ms := sample(20, "o")
	if err := w.Add(ctx, ms[:5]...); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.down = true
	f.mu.Unlock()
	if err := w.Add(ctx, ms[5:15]...); err != nil {
		t.Fatalf("add while down: %v (want spooled, no error)", err)
	}
	if sp.Len() != 2 {
		t.Fatalf("spool has %d batches, want 2", sp.Len())
	}
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	// The next batch must wait for the spool: order is preserved.
	if err := w.Add(ctx, ms[15:]...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := f.ids()
	if len(got) != 20 {
		t.Fatalf("stored %d rows, want 20", len(got))
	}
	for i, id := range got {
		if id != ms[i].ID {
			t.Fatalf("row %d is %s, want %s (order lost)", i, id, ms[i].ID)
		}
	}
	st := w.Stats()
	if st.Written != 10 || st.Spooled != 10 || st.Replayed != 10 {
		t.Errorf("stats = %+v, want 10 written, 10 spooled, 10 replayed", st)
	}
	if sp.Len() != 0 {
		t.Errorf("spool not drained: %d", sp.Len())
	}
}

func TestWriterKeepsRejectedBatch(t *testing.T) {
	f := &fakeInserter{}
	dir := t.TempDir()
	sp, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f, WriterOptions{BatchSize: 2, FlushInterval: time.Hour, Spool: sp})
	ms := sample(2, "x")
	ms[1].ID = "bad"
	err = w.Add(context.Background(), ms...)
	if err == nil {
		t.Fatal("refused batch: no error")
	}
	rejected, _ := OpenSpool(dir + "/rejected")
	names, _ := rejected.Pending()
	if len(names) != 1 {
		t.Fatalf("rejected/ holds %d batches, want 1 (err %v)", len(names), err)
	}
	back, err := rejected.Read(names[0])
	if err != nil || len(back) != 2 {
		t.Errorf("rejected batch readback: %d rows, %v", len(back), err)
	}
}

// TestWriterSurvivesServerKill stops a real ClickHouse in the middle of a
// stream of batches, keeps writing, restarts it and checks nothing was lost.
// It kills the shared server, so it must not run in parallel with others.
func TestWriterSurvivesServerKill(t *testing.T) {
	s, db := openTest(t)
	sp, err := OpenSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w := NewWriter(s, WriterOptions{BatchSize: 100, FlushInterval: time.Hour, Spool: sp})
	ms := sample(1000, "k")
	if err := w.Add(ctx, ms[:400]...); err != nil {
		t.Fatal(err)
	}
	db.Srv.Kill()
	if err := w.Add(ctx, ms[400:800]...); err != nil {
		t.Fatalf("add while server down: %v", err)
	}
	if sp.Len() == 0 {
		t.Fatal("nothing spooled while the server was down")
	}
	if err := db.Srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	// Re-send part of the stream, as a re-run pass would.
	if err := w.Add(ctx, ms[300:]...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := db.Count(t, "SELECT count() FROM mentions FINAL"); n != 1000 {
		t.Errorf("after kill, restart and replay: %d rows, want 1000", n)
	}
	if sp.Len() != 0 {
		t.Errorf("spool still holds %d batches", sp.Len())
	}
	t.Logf("stats: %+v", w.Stats())
}

// TestWriterAddBlock: a block is one insert whatever BatchSize says, rows
// queued by Add go first, and a block that cannot reach the server is
// spooled whole and replayed before anything newer.
func TestWriterAddBlock(t *testing.T) {
	f := &fakeInserter{}
	sp, err := OpenSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f, WriterOptions{BatchSize: 10, FlushInterval: time.Hour, Spool: sp})
	ctx := context.Background()
	if err := w.Add(ctx, sample(3, "q")...); err != nil {
		t.Fatal(err)
	}
	if err := w.AddBlock(ctx, sample(25, "k")); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	sizes := []int{}
	for _, b := range f.batches {
		sizes = append(sizes, len(b))
	}
	f.mu.Unlock()
	if len(sizes) != 2 || sizes[0] != 3 || sizes[1] != 25 {
		t.Errorf("batches %v, want [3 25]: queued rows first, then the block whole", sizes)
	}
	f.mu.Lock()
	f.down = true
	f.mu.Unlock()
	if err := w.AddBlock(ctx, sample(30, "d")); err != nil {
		t.Fatalf("block while down: %v (want spooled)", err)
	}
	if st := w.Stats(); st.Spooled != 30 || sp.Len() != 1 {
		t.Errorf("stats %+v, spool %d; want the block spooled whole", st, sp.Len())
	}
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	if err := w.AddBlock(ctx, sample(5, "n")); err != nil {
		t.Fatal(err)
	}
	ids := f.ids()
	if len(ids) != 63 || ids[28] != sample(30, "d")[0].ID || ids[58] != sample(5, "n")[0].ID {
		t.Errorf("order after replay: %d ids; want the spooled block before the newer one", len(ids))
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkInsertMentions compares the column-wise insert with the
// row-by-row one it replaced, on a real server (client CPU is the point).
func BenchmarkInsertMentions(b *testing.B) {
	db := chtest.New(b)
	s, err := Open(context.Background(), db.DSN, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	ms := sample(50000, "bench")
	for i := range ms {
		ms[i].Text = strings.Repeat("The staff ignored us and the room was dirty. ", 10)
		ms[i].Aspects = []string{"staff", "cleanliness"}
	}
	for _, tc := range []struct {
		name string
		fn   func(context.Context, []mention.Mention) error
	}{{"columns", s.InsertMentions}, {"rows", s.insertMentionsRows}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := tc.fn(context.Background(), ms); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(ms)*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
