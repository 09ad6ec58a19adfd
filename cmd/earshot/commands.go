package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/PuerkitoBio/goquery"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/collectors/crawl"
	"github.com/earshot/earshot/collectors/httpx"
	"github.com/earshot/earshot/collectors/schemaorg"
	"github.com/earshot/earshot/collectors/selector"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/importer"
	"github.com/earshot/earshot/internal/flock"
	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/pipeline"
	"github.com/earshot/earshot/storage"
)

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the ClickHouse schema migrations (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.optionalConfig()
			if err != nil {
				return err
			}
			st, done, err := a.openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer done()
			applied, err := st.Migrate(cmd.Context())
			if err != nil {
				return err
			}
			v, _ := st.Version(cmd.Context())
			if len(applied) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "database %s is up to date (ClickHouse %s)\n", st.Database(), v)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "database %s: applied %s (ClickHouse %s)\n", st.Database(), strings.Join(applied, ", "), v)
			}
			return nil
		},
	}
}

func (a *app) configCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with the config file"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate",
		Short: "Check the config: each problem on one line as FILE:LINE: field: what is wrong (exit 2)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d brands, %d sources, %d receivers)\n",
				cfg.File(), len(cfg.Brands), len(cfg.Sources), len(cfg.Receivers))
			return nil
		},
	})
	return cmd
}

func (a *app) importCmd() *cobra.Command {
	var format, source, brand, location string
	var strict, noScore bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Load CSV or JSONL mentions (exports from other tools): score, store, open cases, alert",
		Long: "Columns or keys are the mention fields (id, text, rating, author, published_at, ...) or common\n" +
			"aliases (review, body, stars, date, user, link, ...). Bad rows are reported with their line number\n" +
			"and skipped; with a config, so are rows whose brand or location it does not name. Importing a file\n" +
			"twice adds nothing: rows collapse by id.\n\n" +
			"Rows are scored like collected mentions: negative ones open cases, and their alerts are sent at the\n" +
			"end (or by the running daemon). --no-score stores them as they are, for a silent bulk back-fill.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			path := args[0]
			if os.Getenv("GOMEMLIMIT") == "" {
				// Blocks are large and short-lived: without a limit the heap
				// grows to twice them before the collector runs. A soft limit
				// keeps a million-row import well under 500 MB.
				defer debug.SetMemoryLimit(debug.SetMemoryLimit(importMemoryLimit))
			}
			f := importer.Format(format)
			if f == "" {
				var err error
				if f, err = importer.DetectFormat(path); err != nil {
					return usageError{err}
				}
			} else if f != importer.CSV && f != importer.JSONL {
				return usagef("--format %q: want csv or jsonl", format)
			}
			cfg, err := a.optionalConfig()
			if err != nil {
				return err
			}
			file, err := os.Open(path)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			defer file.Close()
			def := importer.Defaults{Source: source, Brand: brand, Location: location, Validate: knownPlace(cfg)}
			var s *stack
			if cfg != nil {
				if s, err = a.pipeline(ctx, nil); err != nil {
					return err
				}
			} else {
				st, done, err := a.openReady(ctx, cfg)
				if err != nil {
					return err
				}
				w, err := a.writer(st, cfg, nil)
				if err != nil {
					done()
					return err
				}
				dir := w.Spool().Dir() // the default spool directory, without a config
				s = &stack{st: st, w: w, spool: w.Spool(), stateDir: dir, p: &pipeline.Pipeline{StateDir: dir, Logger: a.log},
					close: func() { _ = w.Close(context.WithoutCancel(ctx)); done() }}
				if !noScore {
					sc, err := a.scorer(nil, st)
					if err != nil {
						s.close()
						return err
					}
					s.p.Scorer = sc
				}
			}
			defer s.close()
			var scorer pipeline.Scorer
			if !noScore {
				scorer = s.p.Scorer
			}
			res, err := importFile(ctx, file, path, f, def, s.w, scorer, func(ids []string) { s.p.DeferRescore(ids, a.log) },
				cmd.ErrOrStderr(), a.isTerminal())
			if ferr := s.w.Flush(context.WithoutCancel(ctx)); err == nil {
				err = ferr
			}
			stats := s.w.Stats()
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d rows read in %s (%.0f rows/s): %d stored, %d spooled for later, %d bad rows skipped, %d negative\n",
				path, res.rows, res.took.Round(time.Millisecond), float64(res.rows)/max(res.took.Seconds(), 1e-9),
				stats.Written+stats.Replayed, stats.Spooled-stats.Replayed, res.bad, res.negative)
			if err != nil {
				return err
			}
			if scorer != nil && res.negative > 0 && s.d != nil {
				if err := a.dispatchOnce(ctx, s, "import", 2*time.Minute); err != nil {
					return fmt.Errorf("import: alerts: %w", err)
				}
			}
			if strict && res.bad > 0 {
				return fmt.Errorf("import: %d bad rows (--strict)", res.bad)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "csv or jsonl (default: from the file extension)")
	cmd.Flags().StringVar(&source, "source", "import", "source name for rows without one")
	cmd.Flags().StringVar(&brand, "brand", "", "brand for rows without one")
	cmd.Flags().StringVar(&location, "location", "", "location for rows without one")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit 1 when any row was bad")
	cmd.Flags().BoolVar(&noScore, "no-score", false, "store rows unscored: no cases, no alerts (a silent bulk back-fill)")
	return cmd
}

// knownPlace refuses rows whose brand or location the config does not name
// (nil without a config or brands: anything goes).
func knownPlace(cfg *config.Config) func(mention.Mention) error {
	if cfg == nil || len(cfg.Brands) == 0 {
		return nil
	}
	return func(m mention.Mention) error {
		if m.Brand == "" {
			return errors.New("no brand (set a brand column or --brand)")
		}
		b := cfg.BrandByName(m.Brand)
		if b == nil {
			return fmt.Errorf("brand %q is not in %s", m.Brand, cfg.File())
		}
		if m.Location == "" || len(b.Locations) == 0 {
			return nil
		}
		for _, l := range b.Locations {
			if l.Name == m.Location {
				return nil
			}
		}
		return fmt.Errorf("location %q is not a location of brand %q in %s", m.Location, m.Brand, cfg.File())
	}
}

type importResult struct {
	rows, bad, negative int
	took                time.Duration
}

// An import sends blocks of importBlockRows rows or importBlockBytes of
// memory, whichever comes first, and, reading a file, streams up to
// importSpanRows of them through one INSERT: ClickHouse squashes one
// insert's blocks into parts of up to a million rows, which costs it a
// fraction of the work of many inserts (each makes a part per partition of
// every view), while the client holds only a block or two.
const (
	importBlockRows  = 20_000
	importBlockBytes = 16 << 20
	importSpanRows   = 1_000_000
	// importMemoryLimit is the Go heap's soft limit during an import.
	importMemoryLimit = 400 << 20
)

// importBlock is a block of rows and, for a JSONL file, its byte range.
type importBlock struct {
	ms         []mention.Mention
	start, end int64 // -1: not re-readable
}

// importFile reads, normalises and scores the file on every core (chunks
// of rows, see importer.ReadParallel) while the previous block is being
// inserted: reader -> decode+normalise+score workers -> this goroutine,
// which puts the rows back in file order and fills blocks -> one inserter.
// Rows count as stored only once their insert returned. When r can be read
// again (an *os.File is an io.ReaderAt), a JSONL file is streamed through
// long inserts and the rows of a failed one are read again (that byte
// range only) and stored block by block, spooled or rejected, so no block
// is kept in memory for it; otherwise every block is its own insert.
func importFile(ctx context.Context, r io.Reader, name string, f importer.Format, def importer.Defaults, w *storage.Writer,
	scorer pipeline.Scorer, deferRescore func([]string), stderr io.Writer, tty bool) (importResult, error) {
	var res importResult
	start := time.Now()
	in := r
	if tty {
		size := int64(-1)
		if fi, err := os.Stat(name); err == nil {
			size = fi.Size()
		}
		bar := progressbar.NewOptions64(size, progressbar.OptionSetWriter(stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("importing "+filepath.Base(name)), progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond))
		defer bar.Finish()
		reader := progressbar.NewReader(r, bar)
		in = &reader
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var errMu sync.Mutex // stderr: scoring errors come from the workers
	opt := importer.ParallelOptions{}
	if scorer != nil {
		// Scoring waits on ClickHouse (each chunk's repeat-complaint
		// lookup): more workers than cores keep the cores busy meanwhile.
		opt.Workers = 3 * runtime.GOMAXPROCS(0)
		opt.Process = func(ctx context.Context, c *importer.Chunk) {
			if err := scorer.Score(ctx, c.Mentions); err != nil {
				var d interface{ DeferredIDs() []string }
				if errors.As(err, &d) && deferRescore != nil {
					deferRescore(d.DeferredIDs())
				}
				errMu.Lock()
				fmt.Fprintf(stderr, "%s: %v\n", name, err)
				errMu.Unlock()
			}
		}
	}
	ra, _ := r.(io.ReaderAt)
	if f != importer.JSONL {
		ra = nil // CSV chunks have no byte range
	}

	// fill runs ReadParallel over in and hands blocks to send.
	fill := func(ctx context.Context, in io.Reader, report bool, send func(importBlock) error) error {
		b := importBlock{start: -1, end: -1}
		size := 0
		err := importer.ReadParallel(ctx, in, f, def, opt, func(c *importer.Chunk) error {
			if report {
				for _, e := range c.Bad {
					errMu.Lock()
					fmt.Fprintf(stderr, "%s:%d: skipped: %v\n", name, e.Line, e.Err)
					errMu.Unlock()
				}
				res.bad += len(c.Bad)
				res.rows += len(c.Mentions) + len(c.Bad)
			}
			if b.ms == nil {
				b = importBlock{ms: make([]mention.Mention, 0, min(importBlockRows, 4*len(c.Mentions)+16)), start: c.Start}
			}
			for i := range c.Mentions {
				m := &c.Mentions[i]
				if report && m.Negative {
					res.negative++
				}
				b.ms = append(b.ms, *m)
				size += approxSize(m)
			}
			b.end = c.End
			// Blocks end on chunk boundaries, so each has a byte range.
			if len(b.ms) >= importBlockRows || size >= importBlockBytes {
				if err := send(b); err != nil {
					return err
				}
				b, size = importBlock{start: -1, end: -1}, 0
			}
			return nil
		})
		if err == nil && len(b.ms) > 0 {
			err = send(b)
		}
		return err
	}
	// again stores the rows of a byte range of the file block by block,
	// after its stream failed: AddBlock stores, spools or rejects them.
	again := func(from, to int64, cause error) error {
		errMu.Lock()
		fmt.Fprintf(stderr, "%s: bytes %d-%d: bulk insert failed, storing them again block by block: %v\n", name, from, to, cause)
		errMu.Unlock()
		return fill(ctx, io.NewSectionReader(ra, from, to-from), false, func(b importBlock) error { return w.AddBlock(ctx, b.ms) })
	}

	blocks := make(chan importBlock) // unbuffered: at most one block waits
	inserted := make(chan error, 1)
	go func() {
		var err error
		var stream *storage.Stream
		var spanStart, spanEnd int64
		commit := func() error {
			s := stream
			stream = nil
			if cerr := s.Commit(); cerr != nil {
				return again(spanStart, spanEnd, cerr)
			}
			return nil
		}
		for b := range blocks {
			if err != nil {
				continue // draining after a failure
			}
			if ra == nil || b.start < 0 {
				err = w.AddBlock(ctx, b.ms)
			} else {
				if stream == nil {
					s, ok, berr := w.BeginStream(ctx)
					switch {
					case berr != nil:
						err = berr
						continue
					case !ok: // ClickHouse unreachable: AddBlock spools
						err = w.AddBlock(ctx, b.ms)
						continue
					}
					stream, spanStart = s, b.start
				}
				if aerr := stream.Append(b.ms); aerr != nil {
					stream = nil
					if err = again(spanStart, b.start, aerr); err == nil {
						err = w.AddBlock(ctx, b.ms)
					}
				} else if spanEnd = b.end; stream.Rows() >= importSpanRows {
					err = commit()
				}
			}
			if err != nil {
				cancel() // stop reading; the loop drains
			}
		}
		if err == nil && stream != nil {
			err = commit()
		} else if stream != nil {
			stream.Abort()
		}
		inserted <- err
	}()
	err := fill(ctx, in, true, func(b importBlock) error {
		select {
		case blocks <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(blocks)
	if werr := <-inserted; werr != nil {
		err = werr // the cause; a read error after it is only the cancel
	}
	res.took = time.Since(start)
	return res, err
}

// approxSize is a mention's share of a block's memory: the struct and its
// strings.
func approxSize(m *mention.Mention) int {
	n := int(unsafe.Sizeof(*m)) + len(m.ID) + len(m.Source) + len(m.Kind) + len(m.Brand) + len(m.Location) + len(m.URL) + len(m.Author) +
		len(m.Title) + len(m.Text) + len(m.Lang) + len(m.ParentID) + len(m.StoryID) + len(m.AppVersion) + len(m.ScorerVersion)
	for _, l := range [][]string{m.Aspects, m.Signals, m.Reasons, m.Entities} {
		for _, s := range l {
			n += len(s)
		}
	}
	return n
}

func (a *app) isTerminal() bool {
	f, ok := a.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) writer(st *storage.Store, cfg *config.Config, m *metrics.Metrics) (*storage.Writer, error) {
	ch := config.ClickHouse{SpoolDir: "var/spool", BatchSize: 1000, FlushInterval: 2 * time.Second}
	if cfg != nil {
		ch = cfg.ClickHouse
	}
	sp, err := storage.OpenSpool(ch.SpoolDir)
	if err != nil {
		return nil, err
	}
	w := storage.NewWriter(st, storage.WriterOptions{BatchSize: ch.BatchSize, FlushInterval: ch.FlushInterval, Spool: sp, Logger: a.log, Metrics: m})
	// Batches a previous process spooled go in first, before anything new.
	if n := sp.Len(); n > 0 {
		rows, err := w.Replay(context.Background())
		a.log.Info("replayed spooled batches", "batches", n, "rows", rows, "dir", sp.Dir(), "err", err)
	}
	m.SpoolDepth(sp.Len())
	return w, nil
}

// stack is everything a collecting or dispatching command works with.
type stack struct {
	p        *pipeline.Pipeline
	st       *storage.Store
	w        *storage.Writer
	n        *alerts.Notifier
	d        *alerts.Dispatcher
	metrics  *metrics.Metrics
	spool    *storage.Spool
	stateDir string // the spool directory: run journal, rescore list, dispatch lock
	close    func()

	dispatching atomic.Bool // this process holds the dispatch lock (run)
}

// lockPath is the dispatch lock: one process per machine sends alerts.
func (s *stack) lockPath() string { return filepath.Join(s.stateDir, "dispatch.lock") }

// pipeline builds the pipeline, the notifier and the dispatcher; m may be
// nil (no /metrics).
func (a *app) pipeline(ctx context.Context, m *metrics.Metrics) (*stack, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	st, done, err := a.openReady(ctx, cfg)
	if err != nil {
		return nil, err
	}
	w, err := a.writer(st, cfg, m)
	if err != nil {
		done()
		return nil, err
	}
	fail := func(err error) (*stack, error) {
		_ = w.Close(context.WithoutCancel(ctx))
		done()
		return nil, err
	}
	tree, err := alerts.Tree(cfg)
	if err != nil {
		return fail(err)
	}
	policies, err := alerts.Policies(cfg)
	if err != nil {
		return fail(err)
	}
	clocks, err := alerts.Clocks(cfg)
	if err != nil {
		return fail(err)
	}
	rs, err := receivers(a.receiverKinds(), cfg, a.stdout)
	if err != nil {
		return fail(err)
	}
	notifier := &alerts.Notifier{Tree: tree, Receivers: rs, Policies: policies, Clocks: clocks, Store: st,
		Logger: a.log, Metrics: m}
	if len(cfg.Storms) > 0 {
		notifier.StormConfig, notifier.Storms = cfg.Storms, st
	}
	wireMessages(notifier, cfg)
	scorer, err := a.scorer(cfg, st)
	if err != nil {
		return fail(err)
	}
	st.SetMetrics(m) // per-query durations on /metrics
	stateDir := cfg.ClickHouse.SpoolDir
	p := &pipeline.Pipeline{Config: cfg, Registry: a.registry, Store: st, Writer: w, Scorer: scorer, Logger: a.log, Metrics: m,
		StateDir: stateDir}
	d := &alerts.Dispatcher{Notifier: notifier, Queue: st, Escalation: st, Logger: a.log, Metrics: m}
	return &stack{p: p, st: st, w: w, n: notifier, d: d, metrics: m, spool: w.Spool(), stateDir: stateDir, close: func() {
		if err := w.Close(context.WithoutCancel(ctx)); err != nil {
			a.log.Error("final flush", "err", err)
		}
		done()
	}}, nil
}

// wireMessages gives the notifier what its messages link to and name: the
// signed one-click links, the case's page in the inbox under
// server.base_url, and each location's contact for suggested replies.
func wireMessages(notifier *alerts.Notifier, cfg *config.Config) {
	if s := signer(cfg); s != nil {
		notifier.Links, notifier.MoreLink = s.Links, s.MoreLink
	}
	// Alerts link to the case's page in the inbox earshot run serves.
	notifier.CaseURL = alerts.CasePage(cfg.Server.BaseURL)
	location := func(brand, name string) *config.Location {
		if b := cfg.BrandByName(brand); b != nil {
			for i := range b.Locations {
				if b.Locations[i].Name == name {
					return &b.Locations[i]
				}
			}
		}
		return nil
	}
	notifier.Contact = func(brand, name string) string {
		if l := location(brand, name); l != nil {
			return l.Contact
		}
		return ""
	}
	notifier.Contacts = func(brand, name string) map[string]string {
		if l := location(brand, name); l != nil {
			return l.Contacts
		}
		return nil
	}
}

// dispatchOnce is how one-shot commands (collect, import) send the alerts
// of the cases they stored: under the dispatch lock, all that is queued,
// group timers ignored. A daemon holding the lock sends them itself; another
// one-shot command holding it is waited for (up to wait), so an overlapping
// cron job neither sends a case twice nor leaves its own cases unsent.
func (a *app) dispatchOnce(ctx context.Context, s *stack, command string, wait time.Duration) error {
	// With coordination the elected `earshot run` worker is the one
	// dispatcher; the local lock does not reach the other machines, so a
	// one-shot command sending here could race it.
	if len(s.p.Config.Coordination.ZooKeeper) > 0 {
		a.log.Info("alerts are sent by the elected dispatcher of the earshot run workers (coordination.zookeeper); this process only collected")
		return nil
	}
	deadline := time.Now().Add(wait)
	for logged := false; ; {
		l, holder, err := flock.TryLock(s.lockPath(), command)
		if err == nil {
			defer l.Release()
			return s.d.Round(ctx, true)
		}
		if !errors.Is(err, flock.ErrHeld) {
			return fmt.Errorf("alerts: %w", err)
		}
		if holder.Command == "run" {
			a.log.Info("alerts are sent by the daemon holding the dispatch lock; this process only collected", "holder", holder.String())
			return nil
		}
		if time.Now().After(deadline) {
			a.log.Warn("dispatch lock still held; the queued cases are sent by the next dispatcher", "holder", holder.String())
			return nil
		}
		if !logged {
			a.log.Info("waiting for the dispatch lock", "holder", holder.String())
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (a *app) collectCmd() *cobra.Command {
	var source, shard string
	var collectOnly bool
	cmd := &cobra.Command{
		Use:   "collect",
		Short: "One collection pass: collect, score, store, then send the alerts of the cases it opened",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sh, err := pipeline.ParseShard(shard)
			if err != nil {
				return usageError{err}
			}
			s, err := a.pipeline(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer s.close()
			p, st := s.p, s.st
			sources, err := p.Sources(source, sh)
			if err != nil {
				return usageError{err}
			}
			if n, err := p.RecoverInterrupted(cmd.Context()); err != nil {
				a.log.Warn("interrupted passes not recorded", "err", err)
			} else if n > 0 {
				a.log.Warn("recorded passes a killed process left unfinished", "runs", n)
			}
			if _, err := p.Rescore(cmd.Context(), st); err != nil {
				a.log.Warn("rescore", "err", err)
			}
			runs := p.CollectAll(cmd.Context(), sources)
			// Everything stored is in ClickHouse (or the spool) now; a
			// one-shot pass sends what it queued before it exits, grouped;
			// quiet hours and throttles still hold.
			flushErr := s.w.Flush(cmd.Context())
			if !collectOnly {
				if err := a.dispatchOnce(cmd.Context(), s, "collect", 2*time.Minute); err != nil {
					flushErr = cmp.Or(flushErr, fmt.Errorf("alerts: %w", err))
				}
			}
			failed := 0
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%-24s %-10s %-8s %8s %6s %7s  %s\n", "SOURCE", "KIND", "STATUS", "FETCHED", "NEW", "ERRORS", "LAST ERROR")
			for _, r := range runs {
				fmt.Fprintf(out, "%-24s %-10s %-8s %8d %6d %7d  %s\n", r.Source, r.Kind, r.Status, r.Fetched, r.New, r.Errors, oneLine(r.LastError))
				if r.Status == "failed" {
					failed++
				}
			}
			if n, err := st.CountMentions(cmd.Context()); err == nil {
				fmt.Fprintf(out, "mentions stored in %s: %d\n", st.Database(), n)
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d sources failed", failed, len(runs))
			}
			return flushErr
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "collect only this source")
	cmd.Flags().StringVar(&shard, "shard", "", "i/n: run only this worker's share of the sources")
	cmd.Flags().BoolVar(&collectOnly, "collect-only", false, "send no alerts: the cases wait for a dispatching earshot run")
	return cmd
}

func (a *app) extractCmd() *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "extract FILE|URL...",
		Short: "Print the reviews found in pages as JSONL mentions",
		Long: "Reads saved HTML files or fetches URLs (politely: robots.txt, User-Agent, size cap) and prints one\n" +
			"JSON mention per review: schema.org JSON-LD, microdata and RDFa, then, with --source naming a\n" +
			"selector source of the config, that source's CSS selector rules.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rules *selector.Options
			collect := config.Collect{UserAgent: "Earshot/0.1 (extract)", Timeout: 20 * time.Second, MaxBodySize: 5 << 20}
			if source != "" {
				cfg, err := a.loadConfig()
				if err != nil {
					return err
				}
				src := cfg.SourceByName(source)
				if src == nil {
					return usagef("--source %q: no such source in %s", source, cfg.File())
				}
				o, ok := src.Options.(*selector.Options)
				if !ok {
					return usagef("--source %q is a %s source; extract takes selector rules only from selector sources", source, src.Kind)
				}
				rules, collect = o, cfg.Collect
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			// The operator typed these URLs: they may be on a private or
			// loopback address (a staging site, a saved page served
			// locally), but redirects stay on the servers named.
			collect.AllowPrivateNetworks = true
			var hosts []string
			for _, arg := range args {
				if u, err := url.Parse(arg); err == nil && u.Host != "" {
					hosts = append(hosts, httpx.HostPort(u))
				}
			}
			client := httpx.FromConfig(collect, hosts...)
			failed := 0
			for _, arg := range args {
				ms, err := extractOne(cmd.Context(), client, arg, rules)
				if err != nil {
					a.log.Error("extract", "input", arg, "err", err)
					failed++
					continue
				}
				for i := range ms {
					if err := enc.Encode(&ms[i]); err != nil {
						return err
					}
				}
			}
			if failed > 0 {
				return fmt.Errorf("extract: %d of %d inputs failed", failed, len(args))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "a selector source whose CSS rules to apply as well")
	return cmd
}

// extractOne reads one file or URL and returns its reviews.
func extractOne(ctx context.Context, client *httpx.Client, arg string, rules *selector.Options) ([]mention.Mention, error) {
	var body io.Reader
	page := arg
	if strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://") {
		resp, err := client.Get(ctx, arg, httpx.Conditional{})
		if err != nil {
			return nil, err
		}
		body, page = bytes.NewReader(resp.Body), resp.URL
	} else {
		f, err := os.Open(arg)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		abs, _ := filepath.Abs(arg)
		body, page = io.LimitReader(f, 64<<20), "file://"+abs
	}
	doc, err := goquery.NewDocumentFromReader(body)
	if err != nil {
		return nil, fmt.Errorf("parse html: %w", err)
	}
	now := time.Now()
	lang := crawl.PageLang(doc.Find("html").AttrOr("lang", ""))
	pg := schemaorg.Extract(doc.Selection, page, lang, now)
	ms, errs := pg.Mentions, pg.Errors
	if rules != nil {
		more := rules.Extract(doc.Selection, page, lang, now)
		ms, errs = append(ms, more.Mentions...), append(errs, more.Errors...)
	}
	if len(ms) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ms, nil
}
