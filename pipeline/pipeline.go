// Package pipeline runs collection passes: collect, normalise, dedup, score,
// store. Alerts are not sent from here: a negative mention's case is queued
// by ClickHouse in the same INSERT that stores it (the case_queue view), and
// the alerts.Dispatcher sends it on its own loop, so collection never waits
// on a receiver and no crash between storing and alerting loses a case.
package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

// Scorer fills the score fields of new mentions (scoring.Scorer).
type Scorer interface {
	Score(ctx context.Context, ms []mention.Mention) error
}

// Rescorer repeats the history part of scoring for mentions scored while
// the history was unavailable; *scoring.Scorer is one.
type Rescorer interface {
	Rescore(ctx context.Context, ms []mention.Mention) ([]mention.Mention, error)
}

// deferredScore is the error of a Scorer that scored some mentions without
// their history (*scoring.HistoryError): they are stored anyway and queued
// for Rescore.
type deferredScore interface {
	error
	DeferredIDs() []string
}

// Store is what a pass needs from storage; *storage.Store is one.
type Store interface {
	Seen(ctx context.Context, ids []string) (map[string]bool, error)
	LoadState(ctx context.Context, source string) (storage.SourceState, error)
	SaveState(ctx context.Context, st storage.SourceState) error
	RecordRun(ctx context.Context, r storage.Run) error
	InsertRatings(ctx context.Context, rs []mention.ItemRating) error
}

// Writer stores mentions; *storage.Writer is one.
type Writer interface {
	Add(ctx context.Context, ms ...mention.Mention) error
	Flush(ctx context.Context) error
}

// Pipeline holds the stages. Scorer may be nil (mentions are stored
// unscored and open no case).
type Pipeline struct {
	Config   *config.Config
	Registry collectors.Registry
	Store    Store
	Writer   Writer
	Scorer   Scorer
	Logger   *slog.Logger
	Metrics  *metrics.Metrics
	// StateDir holds the run journal (passes in flight, so that a killed
	// one is recorded as interrupted) and the rescore list; "" turns both
	// off.
	StateDir string
	Worker   string // recorded in collection_runs; default hostname
	Now      func() time.Time
	// ChunkSize is how many mentions are deduplicated and written at once.
	ChunkSize int
	// FlushEvery bounds how long a streamed mention waits in a chunk
	// (default 1s); RunWindow is the span of one collection_runs row of a
	// stream (default 5m).
	FlushEvery time.Duration
	RunWindow  time.Duration

	healthMu sync.Mutex
	failures map[string]int // source -> consecutive failed passes
	// cursors are the last cursors this process moved to, for passes while
	// ClickHouse (source_state) is unreachable: without them every pass of
	// an outage would start over and spool everything again.
	cursors map[string]string
	// unrecorded are runs whose collection_runs row could not be written;
	// the next pass writes them first (at most maxUnrecorded are kept).
	unrecorded []storage.Run
	rescore    sync.Mutex // one writer of the rescore list at a time
}

// Shard selects a subset of sources so that several workers can split them:
// source s belongs to shard i of n when fnv32(name) % n == i.
type Shard struct{ Index, Count int }

// Owns reports whether the shard takes the named source.
func (s Shard) Owns(name string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32()%uint32(s.Count)) == s.Index
}

// ParseShard reads "i/n".
func ParseShard(s string) (Shard, error) {
	var sh Shard
	if s == "" {
		return sh, nil
	}
	if _, err := fmt.Sscanf(s, "%d/%d", &sh.Index, &sh.Count); err != nil || sh.Count < 1 || sh.Index < 0 || sh.Index >= sh.Count {
		return sh, fmt.Errorf("--shard %q: want i/n with 0 <= i < n", s)
	}
	return sh, nil
}

// Sources returns the enabled sources this worker runs: the named one, or
// all of its shard.
func (p *Pipeline) Sources(only string, shard Shard) ([]*config.Source, error) {
	var out []*config.Source
	for i := range p.Config.Sources {
		s := &p.Config.Sources[i]
		switch {
		case only != "" && s.Name != only:
		case only == "" && (s.Disabled || !shard.Owns(s.Name)):
		default:
			out = append(out, s)
		}
	}
	if only != "" && len(out) == 0 {
		return nil, fmt.Errorf("no source named %q in %s", only, p.Config.File())
	}
	return out, nil
}

// CollectAll runs one pass of each source, several at once. One failing
// source never stops the others; each outcome is in the returned runs.
func (p *Pipeline) CollectAll(ctx context.Context, sources []*config.Source) []storage.Run {
	runs := make([]storage.Run, len(sources))
	sem := make(chan struct{}, max(1, p.Config.Collect.Concurrency))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			runs[i] = p.Collect(ctx, s)
		}()
	}
	wg.Wait()
	return runs
}

// Collect runs one pass of one source and records its outcome.
func (p *Pipeline) Collect(ctx context.Context, src *config.Source) storage.Run {
	now := p.now()
	run := storage.Run{ID: newID(), Source: src.Name, Kind: src.Kind, StartedAt: now, Worker: p.worker()}
	log := p.log().With("source", src.Name, "run", run.ID)
	release := p.journal(run, log)
	defer release()
	err := p.collect(ctx, src, &run, log)
	run.FinishedAt = p.now()
	switch {
	case err != nil:
		run.Status, run.LastError = "failed", err.Error()
		run.Errors++
	case run.Errors > 0:
		run.Status = "partial"
	default:
		run.Status = "ok"
	}
	// Recorded with a fresh context: a cancelled pass is still an outcome.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	p.recordRun(rctx, run, log)
	took := run.FinishedAt.Sub(run.StartedAt)
	p.Metrics.Pass(src.Name, run.Status, int(run.Fetched), int(run.New), int(run.Errors), took)
	p.noteHealth(src.Name, run.Status == "failed")
	level := slog.LevelInfo
	if run.Status == "failed" {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "collection pass", "status", run.Status, "fetched", run.Fetched, "new", run.New, "errors", run.Errors,
		"took", took.Round(time.Millisecond), "last_error", run.LastError)
	return run
}

const maxUnrecorded = 1000

// recordRun writes a collection_runs row, and first the rows earlier
// writes could not (ClickHouse was down): every pass is a row, late or not.
func (p *Pipeline) recordRun(ctx context.Context, run storage.Run, log *slog.Logger) {
	p.healthMu.Lock()
	todo := append(p.unrecorded, run)
	p.unrecorded = nil
	p.healthMu.Unlock()
	for i, r := range todo {
		if err := p.Store.RecordRun(ctx, r); err != nil {
			log.Warn("collection run not recorded yet; kept for the next pass", "err", err, "run", r.ID, "status", r.Status)
			p.healthMu.Lock()
			p.unrecorded = append(p.unrecorded, todo[i:]...)
			if n := len(p.unrecorded); n > maxUnrecorded {
				p.unrecorded = p.unrecorded[n-maxUnrecorded:]
			}
			p.healthMu.Unlock()
			return
		}
	}
}

func (p *Pipeline) cursor(source string) (string, bool) {
	p.healthMu.Lock()
	defer p.healthMu.Unlock()
	c, ok := p.cursors[source]
	return c, ok
}

func (p *Pipeline) setCursor(source, c string) {
	p.healthMu.Lock()
	defer p.healthMu.Unlock()
	if p.cursors == nil {
		p.cursors = map[string]string{}
	}
	p.cursors[source] = c
}

// noteHealth counts consecutive failed passes per source (for /readyz).
func (p *Pipeline) noteHealth(source string, failed bool) {
	p.healthMu.Lock()
	defer p.healthMu.Unlock()
	if p.failures == nil {
		p.failures = map[string]int{}
	}
	if failed {
		p.failures[source]++
	} else {
		delete(p.failures, source)
	}
}

// Failing lists the sources whose last n passes (or more) all failed.
func (p *Pipeline) Failing(n int) []string {
	p.healthMu.Lock()
	defer p.healthMu.Unlock()
	var out []string
	for s, c := range p.failures {
		if c >= n {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// build makes the source's collector.
func (p *Pipeline) build(src *config.Source, log *slog.Logger) (collectors.Collector, error) {
	kind, ok := p.Registry[src.Kind]
	if !ok {
		return nil, fmt.Errorf("collect %s: unknown kind %q", src.Name, src.Kind)
	}
	col, err := kind.New(collectors.Env{Source: *src, Brand: p.Config.BrandByName(src.Brand), HTTP: p.Config.Collect, Options: src.Options, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("collect %s: %w", src.Name, err)
	}
	return col, nil
}

// IsStream reports whether the source pushes (collectors.Streamer): `run`
// follows such sources continuously instead of polling them on a schedule.
func (p *Pipeline) IsStream(src *config.Source) bool {
	col, err := p.build(src, p.log())
	if err != nil {
		return false
	}
	_, ok := col.(collectors.Streamer)
	return ok
}

func (p *Pipeline) collect(ctx context.Context, src *config.Source, run *storage.Run, log *slog.Logger) error {
	col, err := p.build(src, log)
	if err != nil {
		return err
	}
	st, err := p.Store.LoadState(ctx, src.Name)
	if err != nil {
		st = storage.SourceState{Source: src.Name}
		if c, ok := p.cursor(src.Name); ok {
			log.Warn("source state unavailable; going on from this process's last cursor", "err", err)
			st.Cursor = c
		} else {
			// Without the cursor the pass starts over; dedup keeps that harmless.
			log.Warn("source state unavailable; collecting from the start", "err", err)
		}
	}
	sink := &sink{p: p, src: src, run: run, log: log, seen: map[string]bool{}}
	if b, ok := col.(bulkCollector); ok && b.Bulk() {
		sink.bulk = true
	}
	next, cerr := col.Collect(ctx, st.Cursor, sink)
	if err := sink.flush(ctx); err != nil {
		return fmt.Errorf("collect %s: store: %w", src.Name, err)
	}
	if err := p.Writer.Flush(ctx); err != nil {
		return fmt.Errorf("collect %s: store: %w", src.Name, err)
	}
	if cerr != nil {
		return fmt.Errorf("collect %s: %w", src.Name, cerr)
	}
	run.LastError = sink.lastErr
	// Everything up to next is stored or spooled: now the cursor may move.
	p.setCursor(src.Name, next)
	if next != st.Cursor {
		st.Cursor = next
		if err := p.Store.SaveState(ctx, st); err != nil {
			log.Warn("cursor not saved; the next pass repeats this one", "err", err)
		}
	}
	return nil
}

// Stream follows a push source until ctx ends. Mentions are flushed through
// scoring, storage and alerts at least every FlushEvery, so batching never
// holds a post back for long; the source's checkpoint is saved only after
// the mentions before it were stored; every RunWindow of streaming is
// recorded as a collection_runs row.
func (p *Pipeline) Stream(ctx context.Context, src *config.Source) error {
	log := p.log().With("source", src.Name, "stream", true)
	col, err := p.build(src, log)
	if err != nil {
		return err
	}
	streamer, ok := col.(collectors.Streamer)
	if !ok {
		return fmt.Errorf("stream %s: kind %s does not push", src.Name, src.Kind)
	}
	st, err := p.Store.LoadState(ctx, src.Name)
	if err != nil {
		log.Warn("source state unavailable; streaming from now", "err", err)
		st = storage.SourceState{Source: src.Name}
	}
	newRun := func() *storage.Run {
		return &storage.Run{ID: newID(), Source: src.Name, Kind: src.Kind, StartedAt: p.now(), Worker: p.worker()}
	}
	s := &sink{p: p, src: src, run: newRun(), log: log, seen: map[string]bool{}}
	// Each window is in the run journal while it runs, so a killed stream's
	// last window is recorded as interrupted by the next process.
	release := p.journal(*s.run, log)
	var mu sync.Mutex
	pending := st.Cursor
	checkpoint := func(c string) { mu.Lock(); pending = c; mu.Unlock() }

	// flush stores what was added, then saves the cursor taken before it.
	saved := st.Cursor
	flush := func(fctx context.Context) {
		mu.Lock()
		cursor := pending
		mu.Unlock()
		if err := s.flush(fctx); err != nil {
			s.AddError(fmt.Errorf("store: %w", err))
			return
		}
		if err := p.Writer.Flush(fctx); err != nil {
			s.AddError(fmt.Errorf("store: %w", err))
			return
		}
		if cursor != saved {
			st.Cursor = cursor
			if err := p.Store.SaveState(fctx, st); err != nil {
				log.Warn("stream cursor not saved", "err", err)
				return
			}
			saved = cursor
		}
	}
	record := func(rctx context.Context, final bool) {
		s.mu.Lock()
		run := *s.run
		s.run = newRun()
		next := *s.run
		s.seen = map[string]bool{} // bounded memory on a long stream; ids dedup in storage
		s.mu.Unlock()
		run.FinishedAt = p.now()
		run.LastError = s.takeLastErr()
		run.Status = "ok"
		if run.Errors > 0 {
			run.Status = "partial"
		}
		if final && ctx.Err() == nil {
			run.Status = "failed"
		}
		p.recordRun(rctx, run, log)
		release()
		if !final {
			release = p.journal(next, log)
		}
		p.Metrics.Pass(src.Name, run.Status, int(run.Fetched), int(run.New), int(run.Errors), run.FinishedAt.Sub(run.StartedAt))
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(p.flushEvery())
		defer tick.Stop()
		window := time.NewTicker(p.runWindow())
		defer window.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				flush(ctx)
			case <-window.C:
				record(ctx, false)
			}
		}
	}()
	err = streamer.Stream(ctx, st.Cursor, s, checkpoint)
	close(done)
	wg.Wait()
	// The pass is over: finish with a context that outlives the cancel.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	flush(fctx)
	record(fctx, true)
	if err != nil && ctx.Err() != nil {
		return nil // stopped on purpose
	}
	return err
}

func (p *Pipeline) flushEvery() time.Duration {
	if p.FlushEvery > 0 {
		return p.FlushEvery
	}
	return time.Second
}

func (p *Pipeline) runWindow() time.Duration {
	if p.RunWindow > 0 {
		return p.RunWindow
	}
	return 5 * time.Minute
}

// bulkCollector is a collector whose passes may bring whole exports (the
// import kind): its mentions are deduplicated, scored and stored in large
// blocks, scored on every core, instead of small batches.
type bulkCollector interface{ Bulk() bool }

// blockWriter stores a whole block in one insert; *storage.Writer is one.
type blockWriter interface {
	AddBlock(ctx context.Context, block []mention.Mention) error
}

// bulkChunk is a bulk pass's chunk: big enough that ClickHouse makes few
// parts, small enough to keep a pass's memory well under 100 MB.
const bulkChunk = 20_000

// sink normalises, deduplicates and hands mentions on in chunks.
type sink struct {
	bulk bool // see bulkCollector
	// flushMu: one flush at a time. A chunk flushed from Add (the source's
	// goroutine) must be stored before a timed flush may report "all
	// stored" and let the stream save a cursor past it.
	flushMu sync.Mutex
	p       *Pipeline
	src     *config.Source
	run     *storage.Run
	log     *slog.Logger
	mu      sync.Mutex
	pending []mention.Mention
	ratings []mention.ItemRating
	seen    map[string]bool // ids in this pass
	lastErr string
}

func (s *sink) Add(ctx context.Context, m mention.Mention) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.Source == "" {
		m.Source = s.src.Name
	}
	if m.Brand == "" {
		m.Brand = s.src.Brand
	}
	if m.Location == "" {
		m.Location = s.src.Location
	}
	s.mu.Lock()
	s.run.Fetched++
	if err := m.Normalize(s.p.now()); err != nil {
		s.mu.Unlock()
		s.AddError(fmt.Errorf("[id=%s url=%s]: %w", m.ID, m.URL, err))
		return nil
	}
	if s.seen[m.ID] {
		s.mu.Unlock()
		return nil
	}
	if s.bulk {
		// An imported id is a slice of its whole input line: a copy keeps
		// a million-row pass from holding every line in memory.
		s.seen[strings.Clone(m.ID)] = true
	} else {
		s.seen[m.ID] = true
	}
	s.pending = append(s.pending, m)
	full := len(s.pending) >= s.chunk()
	s.mu.Unlock()
	if full {
		return s.flush(ctx)
	}
	return nil
}

// AddRating keeps an item's aggregate rating for the next flush.
func (s *sink) AddRating(_ context.Context, r mention.ItemRating) error {
	if r.Brand == "" {
		r.Brand = s.src.Brand
	}
	if r.Location == "" {
		r.Location = s.src.Location
	}
	s.mu.Lock()
	s.ratings = append(s.ratings, r)
	s.mu.Unlock()
	return nil
}

func (s *sink) takeLastErr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.lastErr
	s.lastErr = ""
	return e
}

func (s *sink) AddError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.run.Errors++
	s.lastErr = err.Error()
	s.log.Warn("collect", "err", err)
}

// flush drops what is already stored, scores the rest and hands it to the
// writer. Scoring never blocks storing: mentions the scorer could not check
// against their author's history are stored and queued for rescoring. A
// writer error means the rows are neither stored nor spooled yet (the
// writer keeps them): the pass fails and its cursor does not move.
func (s *sink) flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	batch, ratings := s.pending, s.ratings
	s.pending, s.ratings = nil, nil
	s.mu.Unlock()
	if len(ratings) > 0 {
		// Not spooled: a lost observation is made again by the next pass.
		if err := s.p.Store.InsertRatings(ctx, ratings); err != nil {
			s.AddError(fmt.Errorf("item ratings not stored: %w", err))
		}
	}
	if len(batch) == 0 {
		return nil
	}
	ids := make([]string, len(batch))
	for i, m := range batch {
		ids[i] = m.ID
	}
	stored, err := s.p.Store.Seen(ctx, ids)
	if err != nil {
		// ClickHouse is down: treat all as new. Storage collapses repeats by
		// id, and the case queue's router skips cases already routed.
		s.log.Warn("dedup check unavailable; treating mentions as new", "err", err)
	}
	fresh := batch[:0]
	for _, m := range batch {
		if !stored[m.ID] {
			fresh = append(fresh, m)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	if s.p.Scorer != nil {
		s.score(ctx, fresh)
	}
	neg := 0
	for _, m := range fresh {
		if m.Negative {
			neg++
		}
	}
	if bw, ok := s.p.Writer.(blockWriter); ok && s.bulk {
		if err := bw.AddBlock(ctx, fresh); err != nil {
			return err
		}
	} else if err := s.p.Writer.Add(ctx, fresh...); err != nil {
		return err
	}
	s.p.Metrics.Negatives(s.src.Name, neg)
	s.mu.Lock()
	s.run.New += uint32(len(fresh))
	s.mu.Unlock()
	return nil
}

// score scores ms; a bulk chunk is split over every core.
func (s *sink) score(ctx context.Context, ms []mention.Mention) {
	parts := 1
	if s.bulk {
		parts = min(runtime.GOMAXPROCS(0), max(1, len(ms)/1000))
	}
	var wg sync.WaitGroup
	for i := range parts {
		part := ms[i*len(ms)/parts : (i+1)*len(ms)/parts]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.p.Scorer.Score(ctx, part); err != nil {
				var d deferredScore
				if errors.As(err, &d) {
					s.log.Warn("scored without history; stored and queued for rescoring", "mentions", len(d.DeferredIDs()), "err", err)
					s.p.deferRescore(d.DeferredIDs(), s.log)
				} else {
					s.log.Warn("scoring failed; storing what was scored", "err", err)
				}
			}
		}()
	}
	wg.Wait()
}

func (s *sink) chunk() int {
	if s.bulk && s.p.ChunkSize <= 0 {
		return bulkChunk
	}
	return s.p.chunk()
}

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pipeline) log() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (p *Pipeline) chunk() int {
	if p.ChunkSize > 0 {
		return p.ChunkSize
	}
	return 500
}

func (p *Pipeline) worker() string {
	if p.Worker != "" {
		return p.Worker
	}
	h, _ := os.Hostname()
	return h
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
