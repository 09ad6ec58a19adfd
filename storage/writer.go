package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/mention"
)

// Inserter writes one batch of mentions; *Store is one.
type Inserter interface {
	InsertMentions(ctx context.Context, ms []mention.Mention) error
}

// WriterOptions tune batching.
type WriterOptions struct {
	BatchSize     int           // flush when this many rows wait; default 1000
	FlushInterval time.Duration // flush rows older than this; default 2s
	Spool         *Spool        // where batches go while ClickHouse is down; nil: errors are returned
	Logger        *slog.Logger
	Metrics       *metrics.Metrics
}

// WriterStats counts rows by where they went.
type WriterStats struct {
	Written  uint64 // inserted directly
	Spooled  uint64 // written to the spool
	Replayed uint64 // inserted later from the spool
	Rejected uint64 // refused by the server, kept in spool/rejected
}

// Writer batches mentions into ClickHouse by size and by time. While the
// server is unreachable, batches go to the spool; once it answers again,
// spooled batches are replayed oldest first, before any newer batch, so
// rows arrive in order. Replays that repeat an insert are harmless: rows
// collapse by id and version after FINAL.
type Writer struct {
	ins  Inserter
	opt  WriterOptions
	log  *slog.Logger
	mu   sync.Mutex
	buf  []mention.Mention
	st   WriterStats
	stop chan struct{}
	done chan struct{}
}

// NewWriter starts a writer whose timer flushes in the background.
func NewWriter(ins Inserter, opt WriterOptions) *Writer {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = 2 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{ins: ins, opt: opt, log: opt.Logger, stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

func (w *Writer) loop() {
	defer close(w.done)
	t := time.NewTicker(w.opt.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := w.Flush(ctx); err != nil {
				w.log.Error("timed flush", "err", err)
			}
			cancel()
		}
	}
}

// Add queues mentions, flushing when a batch is full. A full flush blocks
// the caller: that is the backpressure on collectors. On error the rows
// stay in the writer's buffer (neither stored nor spooled yet) and go out
// with a later flush; the caller must not move its cursor past them.
func (w *Writer) Add(ctx context.Context, ms ...mention.Mention) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, ms...)
	for len(w.buf) >= w.opt.BatchSize {
		batch := w.buf[:w.opt.BatchSize:w.opt.BatchSize]
		if err := w.write(ctx, batch); err != nil {
			return err
		}
		w.buf = w.buf[w.opt.BatchSize:]
	}
	return nil
}

// AddBlock stores one block of a bulk load (an import's 100,000 rows, say)
// as a single insert, without cutting it to BatchSize: ClickHouse takes one
// big insert for much less work than many small ones. Rows queued by Add go
// first, so order holds. As with a batch, a block that cannot reach the
// server is spooled (nil error) and one the server refuses is kept in
// rejected/ (error); without a spool any failure is returned and the block
// is neither stored nor kept.
func (w *Writer) AddBlock(ctx context.Context, block []mention.Mention) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		if err := w.write(ctx, w.buf); err != nil {
			return err
		}
		w.buf = nil
	}
	if len(block) == 0 {
		return nil
	}
	return w.write(ctx, block)
}

// StreamInserter opens inserts fed in several blocks; *Store is one.
type StreamInserter interface {
	BeginMentions(ctx context.Context) (*MentionStream, error)
}

// BeginStream opens one insert for a bulk load that can produce its rows
// again (a file it can re-read): the rows go out block by block through
// the stream and the caller keeps none of them. Rows queued by Add and
// spooled batches go first. When the stream fails (Append or Commit), the
// caller must hand the same rows again through AddBlock, which stores,
// spools or rejects them as usual. ok is false when the writer cannot
// stream (its inserter cannot, or the spool could not be drained): use
// AddBlock then.
func (w *Writer) BeginStream(ctx context.Context) (_ *Stream, ok bool, err error) {
	si, can := w.ins.(StreamInserter)
	if !can {
		return nil, false, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		if err := w.write(ctx, w.buf); err != nil {
			return nil, false, err
		}
		w.buf = nil
	}
	if w.opt.Spool != nil && w.opt.Spool.Len() > 0 {
		if _, err := w.replay(ctx); err != nil {
			if IsUnavailable(err) {
				return nil, false, nil // blocks will be spooled behind the rest
			}
			return nil, false, err
		}
	}
	st, err := si.BeginMentions(ctx)
	if err != nil {
		if IsUnavailable(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return &Stream{w: w, s: st}, true, nil
}

// Stream is a bulk insert opened by BeginStream.
type Stream struct {
	w *Writer
	s *MentionStream
}

// Append sends one block.
func (s *Stream) Append(block []mention.Mention) error {
	if err := s.s.Append(block); err != nil {
		s.s.Abort()
		return err
	}
	return nil
}

// Commit ends the insert and counts its rows as written.
func (s *Stream) Commit() error {
	if err := s.s.Send(); err != nil {
		s.s.Abort()
		return err
	}
	s.w.mu.Lock()
	s.w.st.Written += uint64(s.s.Rows())
	s.w.mu.Unlock()
	s.w.opt.Metrics.Written("written", s.s.Rows())
	return nil
}

// Rows is how many rows were appended.
func (s *Stream) Rows() int { return s.s.Rows() }

// Abort drops the insert (nothing it sent counts as stored).
func (s *Stream) Abort() { s.s.Abort() }

// Flush writes whatever waits, and replays the spool if it can. It returns
// nil only when every row added so far is stored or spooled.
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		_, err := w.replay(ctx)
		if err != nil && IsUnavailable(err) {
			return nil // still down; the rows are safe on disk
		}
		return err
	}
	if err := w.write(ctx, w.buf); err != nil {
		return err
	}
	w.buf = nil
	return nil
}

// Close flushes and stops the timer. Rows that cannot reach ClickHouse stay
// in the spool for the next process.
func (w *Writer) Close(ctx context.Context) error {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return w.Flush(ctx)
}

// Spool is the writer's spool (nil without one).
func (w *Writer) Spool() *Spool { return w.opt.Spool }

// Stats returns the counters so far.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st
}

// Pending is the number of rows buffered in memory.
func (w *Writer) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.buf)
}

// write stores one batch: after the spool drains, directly; else to the spool.
func (w *Writer) write(ctx context.Context, batch []mention.Mention) error {
	if w.opt.Spool != nil && w.opt.Spool.Len() > 0 {
		if _, err := w.replay(ctx); err != nil {
			if !IsUnavailable(err) {
				return err
			}
			return w.toSpool(batch, err)
		}
	}
	err := w.ins.InsertMentions(ctx, batch)
	switch {
	case err == nil:
		w.st.Written += uint64(len(batch))
		w.opt.Metrics.Written("written", len(batch))
		return nil
	case w.opt.Spool == nil:
		return err
	case IsUnavailable(err):
		return w.toSpool(batch, err)
	default:
		// The server refused the data itself: keep it for a person, say so.
		path, rerr := w.opt.Spool.RejectBatch(batch, err)
		if rerr != nil {
			return errors.Join(err, rerr)
		}
		w.st.Rejected += uint64(len(batch))
		w.opt.Metrics.Written("rejected", len(batch))
		return fmt.Errorf("%w (batch kept in %s)", err, path)
	}
}

func (w *Writer) toSpool(batch []mention.Mention, cause error) error {
	name, err := w.opt.Spool.Write(batch)
	if err != nil {
		return errors.Join(cause, err)
	}
	w.st.Spooled += uint64(len(batch))
	w.opt.Metrics.Written("spooled", len(batch))
	w.opt.Metrics.SpoolDepth(w.opt.Spool.Len())
	w.log.Warn("clickhouse unreachable; batch spooled", "rows", len(batch), "file", name, "err", cause)
	return nil
}

// Replay inserts spooled batches oldest first and returns how many rows it
// stored. It stops at the first batch the server cannot take because it is
// unreachable; a batch the server refuses is moved to rejected/.
func (w *Writer) Replay(ctx context.Context) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.replay(ctx)
}

func (w *Writer) replay(ctx context.Context) (int, error) {
	sp := w.opt.Spool
	if sp == nil {
		return 0, nil
	}
	names, err := sp.Pending()
	if err != nil {
		return 0, err
	}
	total := 0
	for _, name := range names {
		batch, err := sp.Read(name)
		if err != nil {
			w.log.Error("unreadable spool batch moved to rejected/", "file", name, "err", err)
			if rerr := sp.Reject(name, err); rerr != nil {
				return total, rerr
			}
			continue
		}
		if err := w.ins.InsertMentions(ctx, batch); err != nil {
			if IsUnavailable(err) {
				return total, err
			}
			w.log.Error("spooled batch refused by clickhouse; moved to rejected/", "file", name, "err", err)
			if rerr := sp.Reject(name, err); rerr != nil {
				return total, rerr
			}
			w.st.Rejected += uint64(len(batch))
			continue
		}
		// A crash here replays the batch once more: harmless after FINAL.
		if err := sp.Remove(name); err != nil {
			return total, err
		}
		total += len(batch)
		w.st.Replayed += uint64(len(batch))
		w.opt.Metrics.Written("replayed", len(batch))
		w.opt.Metrics.SpoolDepth(sp.Len())
		w.log.Info("spooled batch replayed", "file", name, "rows", len(batch))
	}
	return total, nil
}
