package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

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
	var format, source, brand string
	var strict bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Load CSV or JSONL mentions (exports from other tools) into ClickHouse",
		Long: "Columns or keys are the mention fields (id, text, rating, author, published_at, ...) or common\n" +
			"aliases (review, body, stars, date, user, link, ...). Bad rows are reported with their line number\n" +
			"and skipped. Importing a file twice adds nothing: rows collapse by id.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
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
			st, done, err := a.openReady(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer done()
			w, err := a.writer(st, cfg)
			if err != nil {
				return err
			}
			res, err := importFile(cmd.Context(), file, path, f, importer.Defaults{Source: source, Brand: brand}, w, cmd.ErrOrStderr(), a.isTerminal())
			if cerr := w.Close(context.WithoutCancel(cmd.Context())); err == nil {
				err = cerr
			}
			stats := w.Stats()
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d rows read in %s (%.0f rows/s): %d stored, %d spooled for later, %d bad rows skipped\n",
				path, res.rows, res.took.Round(time.Millisecond), float64(res.rows)/max(res.took.Seconds(), 1e-9),
				stats.Written+stats.Replayed, stats.Spooled-stats.Replayed, res.bad)
			if err != nil {
				return err
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
	cmd.Flags().BoolVar(&strict, "strict", false, "exit 1 when any row was bad")
	return cmd
}

type importResult struct {
	rows, bad int
	took      time.Duration
}

func importFile(ctx context.Context, r io.Reader, name string, f importer.Format, def importer.Defaults, w *storage.Writer, stderr io.Writer, tty bool) (importResult, error) {
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
	// Parse in one goroutine while the writer inserts in this one, so the
	// JSON/CSV decoding overlaps the server's work on the previous batch.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows := make(chan mention.Mention, 4096)
	parsed := make(chan error, 1)
	go func() {
		defer close(rows)
		parsed <- importer.Read(ctx, in, f, def,
			func(m mention.Mention) error {
				select {
				case rows <- m:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			},
			func(e importer.RowError) {
				res.bad++
				fmt.Fprintf(stderr, "%s:%d: skipped: %v\n", name, e.Line, e.Err)
			})
	}()
	var werr error
	for m := range rows {
		res.rows++
		if werr == nil {
			if werr = w.Add(ctx, m); werr != nil {
				cancel() // stop the parser; drain what it already sent
			}
		}
	}
	err := <-parsed
	res.rows += res.bad
	if werr != nil {
		err = werr
	}
	res.took = time.Since(start)
	return res, err
}

func (a *app) isTerminal() bool {
	f, ok := a.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) writer(st *storage.Store, cfg *config.Config) (*storage.Writer, error) {
	ch := config.ClickHouse{SpoolDir: "var/spool", BatchSize: 1000, FlushInterval: 2 * time.Second}
	if cfg != nil {
		ch = cfg.ClickHouse
	}
	sp, err := storage.OpenSpool(ch.SpoolDir)
	if err != nil {
		return nil, err
	}
	w := storage.NewWriter(st, storage.WriterOptions{BatchSize: ch.BatchSize, FlushInterval: ch.FlushInterval, Spool: sp, Logger: a.log})
	// Batches a previous process spooled go in first, before anything new.
	if n := sp.Len(); n > 0 {
		rows, err := w.Replay(context.Background())
		a.log.Info("replayed spooled batches", "batches", n, "rows", rows, "dir", sp.Dir(), "err", err)
	}
	return w, nil
}

// pipeline builds the pipeline and returns a close function.
func (a *app) pipeline(ctx context.Context) (*pipeline.Pipeline, *storage.Store, func(), error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, nil, nil, err
	}
	st, done, err := a.openReady(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	w, err := a.writer(st, cfg)
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	tree, err := alerts.Tree(cfg)
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	policies, err := alerts.Policies(cfg)
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	clocks, err := alerts.Clocks(cfg)
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	notifier := &alerts.Notifier{Tree: tree, Receivers: receivers(cfg, a.stdout), Policies: policies, Clocks: clocks, Store: st, Logger: a.log}
	if len(cfg.Storms) > 0 {
		notifier.StormConfig, notifier.Storms = cfg.Storms, st
	}
	if s := signer(cfg); s != nil {
		notifier.Links = s.Links
	}
	notifier.Contact = func(brand, location string) string {
		if b := cfg.BrandByName(brand); b != nil {
			for _, l := range b.Locations {
				if l.Name == location {
					return l.Contact
				}
			}
		}
		return ""
	}
	scorer, err := a.scorer(cfg, st)
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	p := &pipeline.Pipeline{Config: cfg, Registry: a.registry, Store: st, Writer: w, Scorer: scorer, Alerter: notifier, Logger: a.log}
	return p, st, func() {
		if err := w.Close(context.WithoutCancel(ctx)); err != nil {
			a.log.Error("final flush", "err", err)
		}
		done()
	}, nil
}

// flushAlerts checks for storms and sends every queued alert now (group
// timers ignored).
func flushAlerts(ctx context.Context, p *pipeline.Pipeline) error {
	if n, ok := p.Alerter.(*alerts.Notifier); ok {
		if err := n.Flush(ctx, true); err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
	}
	return nil
}

func (a *app) collectCmd() *cobra.Command {
	var source, shard string
	cmd := &cobra.Command{
		Use:   "collect",
		Short: "One collection pass: collect, score, store, alert (whatever of those has landed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sh, err := pipeline.ParseShard(shard)
			if err != nil {
				return usageError{err}
			}
			p, st, done, err := a.pipeline(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			sources, err := p.Sources(source, sh)
			if err != nil {
				return usageError{err}
			}
			runs := p.CollectAll(cmd.Context(), sources)
			// A one-shot pass sends what it queued before it exits, grouped;
			// quiet hours and throttles still hold.
			flushErr := flushAlerts(cmd.Context(), p)
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
			client := httpx.FromConfig(collect)
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
