package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCrashMatrix kills `earshot collect` with SIGKILL at random points of
// its pass (while collecting, scoring, storing, routing, sending,
// recording) and, every fourth time, exactly while the receiver holds a
// message it is about to accept (the documented window), with new exports
// arriving meanwhile; then one pass runs to completion. Nothing may be
// lost or doubled, every negative mention must have exactly one case, and
// every case one accepted alert, a repeat allowed only where it was
// counted as a possible duplicate.
func TestCrashMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts earshot processes")
	}
	s := newSetup(t, configOpts{groupBy: "[location]"})
	kills, perFile := 22, 600
	if long() {
		kills, perFile = 80, 1500
	}
	rng := rand.New(rand.NewPCG(42, 1))
	total, negatives := 0, 0
	window, midStore := 0, 0
	for i := 0; i < kills; i++ {
		negatives += writeReviews(t, filepath.Join(s.inbox, fmt.Sprintf("export-%03d.jsonl", i)), fmt.Sprintf("r%d", i), perFile, 60, uint64(i))
		total += perFile
		before := s.count("SELECT count() FROM mentions")
		p := s.start("collect")
		switch i % 4 {
		case 1:
			// Kill between two batches of one pass: some rows stored, the
			// rest, the cursor and the run record not.
			ended := false
			waitFor(t, time.Minute, "a first batch stored", func() bool {
				select {
				case err := <-p.done:
					p.done <- err
					ended = true
					return true
				default:
				}
				return s.count("SELECT count() FROM mentions") > before
			})
			if !ended {
				p.kill()
				// Counted only when the pass was still in flight at the
				// kill (its journal entry survives it): a fast pass may
				// end between the poll and the kill.
				if s.journaled() > 0 {
					midStore++
				}
			}
		case 2:
			// Kill while the receiver has the request and before it answers:
			// the receiver accepts a message the sender never hears about.
			hit := make(chan struct{})
			s.sink.set(func(k *sink) {
				k.onRequest = func() {
					select {
					case <-hit:
					default:
						close(hit)
						p.kill()
					}
				}
			})
			select {
			case <-hit:
				window++
			case err := <-p.done:
				p.done <- err
				select {
				case <-hit: // killed by the hook: the two raced
					window++
				default: // nothing to send this time
				}
			case <-time.After(60 * time.Second):
				t.Fatalf("pass %d neither sent nor ended:\n%s", i, p.output())
			}
			s.sink.set(func(k *sink) { k.onRequest = nil })
		default:
			time.Sleep(time.Duration(rng.IntN(3000)) * time.Millisecond)
		}
		p.kill()
	}
	if out, err := s.run(3*time.Minute, "collect"); err != nil {
		t.Fatalf("final pass: %v\n%s", err, out)
	}
	v := s.check()
	t.Logf("%d kills (%d between batches, %d inside the send window): %d mentions, %d negative; %d cases delivered twice, %d counted as possible duplicates, %d unknown outcomes",
		kills, midStore, window, v.mentions, v.negatives, v.casesDeliveredTwice, v.countedDuplicates, v.unknownOutcomes)
	if v.mentions != uint64(total) || v.negatives != uint64(negatives) {
		t.Errorf("stored %d mentions (%d negative), want %d (%d)", v.mentions, v.negatives, total, negatives)
	}
	if v.duplicateRows != 0 {
		t.Errorf("%d duplicate rows after FINAL", v.duplicateRows)
	}
	if v.negativesWithoutCase != 0 {
		t.Errorf("%d negative mentions without a case", v.negativesWithoutCase)
	}
	if v.casesWithoutDelivery != 0 {
		t.Errorf("%d cases never alerted", v.casesWithoutDelivery)
	}
	dupMessages := 0
	s.sink.mu.Lock()
	for _, n := range s.sink.keys {
		if n > 1 {
			dupMessages++
		}
	}
	s.sink.mu.Unlock()
	t.Logf("messages accepted twice (same Idempotency-Key): %d; kills inside the send window: %d", dupMessages, window)
	if v.extraDeliveriesUncounted != 0 {
		t.Errorf("%d repeated deliveries not counted as possible duplicates (%d cases delivered twice)", v.extraDeliveriesUncounted, v.casesDeliveredTwice)
	}
	if n := s.count("SELECT count() FROM collection_runs WHERE status = 'interrupted'"); n < uint64(midStore) {
		t.Errorf("%d passes recorded as interrupted, want at least the %d killed between batches", n, midStore)
	}
	if window == 0 || midStore == 0 {
		t.Errorf("the matrix missed a point: %d kills between batches, %d in the send window", midStore, window)
	}
}

func TestInterruptedPassRecorded(t *testing.T) {
	s := newSetup(t, configOpts{})
	writeReviews(t, filepath.Join(s.inbox, "a.jsonl"), "a", 20000, 50, 1)
	p := s.start("collect")
	// Kill while the pass's journal entry exists, i.e. inside the pass,
	// rather than after a fixed sleep that a faster pass outruns.
	waitFor(t, time.Minute, "a pass in its journal", func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("the pass ended before it could be killed: %v\n%s", err, p.output())
		default:
		}
		return s.journaled() > 0
	})
	p.kill()
	t.Logf("first: %s", p.output())
	out, err := s.run(time.Minute, "collect")
	t.Logf("second: %v %s", err, out)
	if n := s.count("SELECT count() FROM collection_runs WHERE status = 'interrupted'"); n != 1 {
		t.Errorf("%d interrupted runs, want 1", n)
	}
}

// TestCrashDaemon kills `earshot run` with SIGKILL at random moments while
// exports keep arriving, restarting it each time; then lets the last one
// finish the work. Same verdict as the crash matrix.
func TestCrashDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("starts earshot processes")
	}
	s := newSetup(t, configOpts{groupBy: "[location]"})
	kills, perFile := 8, 400
	if long() {
		kills, perFile = 30, 1000
	}
	rng := rand.New(rand.NewPCG(7, 3))
	total, negatives := 0, 0
	for i := 0; i < kills; i++ {
		p := s.start("run")
		for j := 0; j < 2; j++ {
			negatives += writeReviews(t, filepath.Join(s.inbox, fmt.Sprintf("export-%03d-%d.jsonl", i, j)), fmt.Sprintf("d%d-%d", i, j), perFile, 60, uint64(100*i+j))
			total += perFile
			time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
		}
		p.kill()
	}
	p := s.start("run")
	waitFor(t, 2*time.Minute, "every case alerted", func() bool {
		v := s.check()
		return v.mentions == uint64(total) && v.casesWithoutDelivery == 0 && v.negatives == uint64(negatives)
	})
	p.stop(t)
	v := s.check()
	t.Logf("%d kills of the daemon: %d mentions, %d negative; %d cases delivered twice, %d counted as possible duplicates, %d interrupted passes",
		kills, v.mentions, v.negatives, v.casesDeliveredTwice, v.countedDuplicates, s.count("SELECT count() FROM collection_runs WHERE status = 'interrupted'"))
	if v.duplicateRows != 0 || v.negativesWithoutCase != 0 || v.casesWithoutDelivery != 0 || v.extraDeliveriesUncounted != 0 {
		t.Errorf("verdict %+v", v)
	}
}

// TestOutageUnderCollect stops ClickHouse in the middle of `earshot
// collect` (after its first batch is stored) for 14 s: the pass spools the
// rest (dedup and the repeat-complainer lookup fail: mentions are treated
// as new and scored without history), and the next pass replays the spool,
// opens every case and alerts each once.
func TestOutageUnderCollect(t *testing.T) {
	if testing.Short() {
		t.Skip("starts earshot processes and stops clickhouse-server")
	}
	s := newSetup(t, configOpts{groupBy: "[location]"})
	total, negatives := 0, 0
	// Enough rows that the pass is still storing when its first block is
	// in: a collect of import files stores blocks of 20,000 rows, each
	// scored and inserted in well under a second.
	for i := 0; i < 60; i++ {
		negatives += writeReviews(t, filepath.Join(s.inbox, fmt.Sprintf("export-%02d.jsonl", i)), fmt.Sprintf("o%d", i), 1000, 60, uint64(i))
		total += 1000
	}
	p := s.start("collect")
	waitFor(t, time.Minute, "a first batch stored", func() bool { return s.count("SELECT count() FROM mentions") > 0 })
	s.db.Srv.Kill()
	down := time.Now()
	select {
	case err := <-p.done: // the pass ends on its own: stored or spooled, the alerts left for later
		p.done <- err
	case <-time.After(2 * time.Minute):
		t.Fatalf("collect did not end with ClickHouse down:\n%s", p.output())
	}
	time.Sleep(time.Until(down.Add(14 * time.Second)))
	if err := s.db.Srv.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	spooled, _ := filepath.Glob(filepath.Join(s.dir, "spool", "*.jsonl"))
	if out, err := s.run(3*time.Minute, "collect"); err != nil {
		t.Fatalf("pass after the outage: %v\n%s", err, out)
	}
	v := s.check()
	t.Logf("ClickHouse down 14 s under collect: %d batches spooled; %d mentions, %d negative; %d negatives without a case, %d cases not alerted, %d delivered twice",
		len(spooled), v.mentions, v.negatives, v.negativesWithoutCase, v.casesWithoutDelivery, v.casesDeliveredTwice)
	if len(spooled) == 0 {
		t.Errorf("nothing was spooled: the outage missed the pass")
	}
	if v.mentions != uint64(total) || v.negatives != uint64(negatives) || v.duplicateRows != 0 || v.negativesWithoutCase != 0 ||
		v.casesWithoutDelivery != 0 || v.extraDeliveriesUncounted != 0 {
		t.Errorf("verdict %+v; want %d mentions, %d negative", v, total, negatives)
	}
}

// journaled counts the passes in flight (or killed in flight) by their
// run journal entries (pipeline/journal.go).
func (s *setup) journaled() int {
	m, _ := filepath.Glob(filepath.Join(s.dir, "spool", "runs", "*.json"))
	n := 0
	for _, f := range m {
		if st, err := os.Stat(f); err == nil && st.Size() > 0 {
			n++
		}
	}
	return n
}
