package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/spf13/cobra"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/pipeline"
)

func (a *app) runCmd() *cobra.Command {
	var shard string
	var once bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Daemon: collect every source on its schedule until stopped (SIGINT/SIGTERM)",
		Long: "Runs each source once at start, then on its schedule (cron syntax or @every 15m; default\n" +
			"collect.default_schedule). A pass still running when its next turn comes is skipped, not doubled.\n" +
			"Push sources (bluesky-stream) are followed continuously and resume from their cursor.\n" +
			"Serves /healthz on server.listen, and the one-click acknowledge/resolve links when server.link_key is set.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sh, err := pipeline.ParseShard(shard)
			if err != nil {
				return usageError{err}
			}
			ctx := cmd.Context()
			p, done, err := a.waitForPipeline(ctx)
			if err != nil {
				return err
			}
			defer done()
			sources, err := p.Sources("", sh)
			if err != nil {
				return err
			}
			l, err := net.Listen("tcp", p.Config.Server.Listen)
			if err != nil {
				return fmt.Errorf("server.listen %s: %w", p.Config.Server.Listen, err)
			}
			mux := http.NewServeMux()
			mux.Handle("/healthz", health())
			if s := signer(p.Config); s != nil {
				if book, ok := p.Store.(alerts.CaseBook); ok {
					mux.Handle("/case/", alerts.Handler(book, s))
				}
			}
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second}
			go func() {
				if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
					a.log.Error("http server", "err", err)
				}
			}()
			defer srv.Close()

			c := cron.New()
			var wg sync.WaitGroup
			streams := 0
			for _, s := range sources {
				if !once && p.IsStream(s) {
					// Push sources are followed continuously, not polled.
					streams++
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := p.Stream(ctx, s); err != nil {
							a.log.Error("stream ended", "source", s.Name, "err", err)
						}
					}()
					continue
				}
				spec := s.Schedule
				if spec == "" {
					spec = p.Config.Collect.DefaultSchedule
				}
				sched, err := config.ParseSchedule(spec)
				if err != nil {
					return fmt.Errorf("source %s: schedule %q: %w", s.Name, spec, err)
				}
				// A pass still running when the next is due is skipped, not doubled.
				var running sync.Mutex
				pass := func() {
					if !running.TryLock() {
						a.log.Warn("previous pass still running; skipped", "source", s.Name)
						return
					}
					defer running.Unlock()
					p.Collect(ctx, s)
				}
				c.Schedule(sched, cron.FuncJob(pass))
				wg.Add(1)
				go func() { defer wg.Done(); pass() }()
			}
			a.log.Info("earshot running", "sources", len(sources), "streams", streams, "listen", l.Addr().String())
			if once {
				wg.Wait()
				return flushAlerts(ctx, p)
			}
			// Queued alerts go out when their group timers say so: checked
			// every 5 s (group_wait is 30 s by default).
			if n, ok := p.Alerter.(*alerts.Notifier); ok {
				every(ctx, &wg, 5*time.Second, func() {
					if err := n.Flush(ctx, false); err != nil {
						a.log.Warn("alert flush", "err", err)
					}
				})
				// Escalation: every minute, open cases past their route's
				// ack_within go up the escalate_to chain.
				if es, ok := p.Store.(alerts.EscalationStore); ok {
					every(ctx, &wg, time.Minute, func() {
						if sent, err := n.Escalate(ctx, es); err != nil || sent > 0 {
							a.log.Info("escalation check", "sent", sent, "err", err)
						}
					})
				}
			}
			// Digests: each on its own cron schedule, once per period.
			if n, ok := p.Alerter.(*alerts.Notifier); ok {
				if ds, ok := p.Store.(alerts.DigestStore); ok {
					for _, d := range p.Config.Digests {
						sched, err := config.ParseSchedule(d.Schedule)
						if err != nil {
							return fmt.Errorf("digest for %s: schedule %q: %w", d.Receiver, d.Schedule, err)
						}
						c.Schedule(sched, cron.FuncJob(func() {
							sent, err := n.SendDigest(ctx, ds, d, time.Now().Truncate(time.Minute))
							if err != nil {
								a.log.Error("digest", "receiver", d.Receiver, "err", err)
							} else if sent {
								a.log.Info("digest sent", "receiver", d.Receiver, "period", d.Period)
							}
						}))
					}
				}
			}
			c.Start()
			<-ctx.Done()
			a.log.Info("stopping: waiting for running passes")
			<-c.Stop().Done()
			wg.Wait()
			return nil
		},
	}
	cmd.Flags().StringVar(&shard, "shard", "", "i/n: run only this worker's share of the sources")
	cmd.Flags().BoolVar(&once, "once", false, "run each source once and exit (for testing the daemon's wiring)")
	return cmd
}

// every runs fn every d until ctx ends; one run at a time, a slow run
// delays the next instead of overlapping it.
func every(ctx context.Context, wg *sync.WaitGroup, d time.Duration, fn func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn()
			}
		}
	}()
}

// waitForPipeline builds the pipeline, waiting with backoff while ClickHouse
// is unreachable: a daemon started before its database should wait for it,
// not crash-loop. Config errors still fail at once.
func (a *app) waitForPipeline(ctx context.Context) (*pipeline.Pipeline, func(), error) {
	delay := time.Second
	for {
		p, _, done, err := a.pipeline(ctx)
		if err == nil {
			return p, done, nil
		}
		var cfgErrs config.Errors
		var ue usageError
		if errors.As(err, &cfgErrs) || errors.As(err, &ue) || ctx.Err() != nil {
			return nil, nil, err
		}
		a.log.Warn("clickhouse not ready; retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Minute)
	}
}

func health() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
