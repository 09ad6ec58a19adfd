package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/daemon"
	"github.com/earshot/earshot/internal/flock"
	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/pipeline"
	"github.com/earshot/earshot/web"
)

func (a *app) runCmd() *cobra.Command {
	var shard string
	var once, collectOnly bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Daemon: collect every source on its schedule until stopped (SIGINT/SIGTERM)",
		Long: "Runs each source once at start, then on its schedule (cron syntax or @every 15m; default\n" +
			"collect.default_schedule). A pass still running when its next turn comes is skipped, not doubled.\n" +
			"Push sources (bluesky-stream) are followed continuously and resume from their cursor.\n" +
			"Alerts are sent by a dispatcher on its own loop, in the one earshot process per machine holding the dispatch\n" +
			"lock (<spool_dir>/dispatch.lock); a second daemon collects only and takes over when the first stops.\n" +
			"Several machines (coordination.zookeeper set): every worker joins the pool in ZooKeeper; the live workers\n" +
			"split the sources (rendezvous hashing: each source collected by one worker; a dead worker's sources move to\n" +
			"the others within the session timeout and run at once if due) and elect one dispatcher, which alone sends\n" +
			"alerts, storms, digests and escalations. --shard i/n splits statically instead (no ZooKeeper; then\n" +
			"--collect-only on all but one machine). See docs/scaling.md.\n" +
			"Serves /healthz, /readyz (503 with reasons), /metrics (Prometheus) on server.listen, the one-click\n" +
			"acknowledge/resolve links when server.link_key is set, and the web inbox (/cases, /trends, /sources, /api/v1;\n" +
			"users from the config's users; without users only on a loopback address).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sh, err := pipeline.ParseShard(shard)
			if err != nil {
				return usageError{err}
			}
			ctx := cmd.Context()
			m := metrics.New()
			a.supervise = !once
			stk, err := a.waitForPipeline(ctx, m)
			if err != nil {
				return err
			}
			defer stk.close()
			p := stk.p
			// With coordination, the live workers split the sources between
			// them (docs/scaling.md, "Workers"); --once runs them all.
			coordinated := len(p.Config.Coordination.ZooKeeper) > 0
			if coordinated && sh.Count > 1 {
				return usageError{errors.New("--shard and coordination.zookeeper do not mix: the workers split the sources between them")}
			}
			sources, err := p.Sources("", sh)
			if err != nil {
				return err
			}
			if n, err := p.RecoverInterrupted(ctx); err != nil {
				a.log.Warn("interrupted passes not recorded", "err", err)
			} else if n > 0 {
				a.log.Warn("recorded passes a killed process left unfinished", "runs", n)
			}
			l, err := net.Listen("tcp", p.Config.Server.Listen)
			if err != nil {
				return fmt.Errorf("server.listen %s: %w", p.Config.Server.Listen, err)
			}
			var ws *workers
			if coordinated && !once {
				id := workerID(l)
				p.Worker = id // collection_runs.worker tells which worker ran each pass
				if ws, err = a.newWorkers(stk, sources, id, collectOnly); err != nil {
					l.Close()
					return err
				}
				// After the daemon has drained (defers run last first): the
				// node goes only when nothing runs under the view any more.
				defer ws.co.Close()
				ws.fence(stk.n)
				m.Workers(ws.figures)
			}
			mux := http.NewServeMux()
			mux.Handle("/healthz", health())
			mux.Handle("/readyz", readiness(stk, ws))
			mux.Handle("/metrics", m.Handler())
			if s := signer(p.Config); s != nil {
				mux.Handle("/case/", alerts.Handler(stk.st, s))
			}
			if inbox, err := web.New(web.Options{Store: stk.st, Config: p.Config, Listen: p.Config.Server.Listen,
				SpoolDepth: stk.spool.Len, Logger: a.log}); err != nil {
				a.log.Error("web inbox not served", "listen", p.Config.Server.Listen, "err", err)
			} else {
				inbox.Register(mux)
				a.log.Info("web inbox", "url", "http://"+l.Addr().String()+"/cases", "users", len(p.Config.Users))
			}
			// The daemon runs the schedules, streams, timers and the server;
			// this command only wires the pipeline into it.
			d := &daemon.Daemon{Logger: a.log}
			streams := 0
			for _, s := range sources {
				if ws != nil {
					// Every worker schedules every source; a pass runs on
					// the source's owner only (workers.pass). Streams and
					// takeovers follow the membership (workers.Run).
					if sched, ok := ws.scheds[s.Name]; ok {
						d.Schedule("source "+s.Name, sched, false, func(ctx context.Context) error { ws.pass(ctx, s); return nil })
					} else {
						streams++
					}
					continue
				}
				if !once && p.IsStream(s) {
					// Push sources are followed continuously, not polled.
					streams++
					d.Go("stream "+s.Name, func(ctx context.Context) error { return p.Stream(ctx, s) })
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
				// Collect records its own outcome (collection_runs): a failing
				// source never stops the others.
				d.Schedule("source "+s.Name, sched, true, func(ctx context.Context) error { p.Collect(ctx, s); return nil })
			}
			a.log.Info("earshot running", "sources", len(sources), "streams", streams, "listen", l.Addr().String())
			if once {
				srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second}
				go func() { _ = srv.Serve(l) }()
				defer srv.Close()
				d.RunOnce(ctx)
				if err := stk.w.Flush(ctx); err != nil {
					return err
				}
				if collectOnly {
					return nil
				}
				if coordinated {
					a.log.Info("alerts are sent by the elected dispatcher of the earshot run workers (coordination.zookeeper); this process only collected")
					return nil
				}
				return a.dispatchOnce(ctx, stk, "run --once", time.Minute)
			}
			d.Serve(l, mux)
			// Alerts: a dispatcher on its own loop, in the one process that
			// holds the dispatch lock (with coordination: the elected
			// worker); the others collect only.
			switch {
			case ws != nil:
				a.log.Info("joining the earshot workers", "id", ws.co.ID(), "zookeeper", p.Config.Coordination.ZooKeeper,
					"root", path.Join(p.Config.Coordination.Path, stk.st.Database()), "dispatcher_candidate", !collectOnly)
				d.Go("zookeeper", ws.co.Run)
				d.Go("workers", ws.Run)
				if !collectOnly {
					d.Go("dispatcher", func(ctx context.Context) error { a.lead(ctx, ws, stk); return nil })
				}
			case collectOnly:
				a.log.Info("--collect-only: this process sends no alerts; a dispatching earshot run elsewhere sends them")
			default:
				d.Go("dispatcher", func(ctx context.Context) error { a.dispatchLoop(ctx, stk); return nil })
			}
			// Scores that missed the author's history are redone when it answers.
			d.Every("rescore", time.Minute, func(ctx context.Context) error {
				n, err := p.Rescore(ctx, stk.st)
				if n > 0 {
					a.log.Info("rescored mentions with their history", "mentions", n)
				}
				return err
			})
			d.Every("spool gauge", 5*time.Second, func(context.Context) error { m.SpoolDepth(stk.spool.Len()); return nil })
			a.startRetrainer(d, stk) // retrain.go: hourly on the dispatching process, followed by the others
			// Digests: each on its own cron schedule, once per period, by the
			// dispatcher only.
			for _, dg := range p.Config.Digests {
				sched, err := config.ParseSchedule(dg.Schedule)
				if err != nil {
					return fmt.Errorf("digest for %s: schedule %q: %w", dg.Receiver, dg.Schedule, err)
				}
				d.Schedule("digest "+dg.Receiver, sched, false, func(ctx context.Context) error {
					if !stk.dispatching.Load() {
						return nil
					}
					sent, err := stk.n.SendDigest(ctx, stk.st, dg, time.Now().Truncate(time.Minute))
					if err != nil {
						return fmt.Errorf("digest for %s: %w", dg.Receiver, err)
					}
					if sent {
						a.log.Info("digest sent", "receiver", dg.Receiver, "period", dg.Period)
					}
					return nil
				})
			}
			return d.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&shard, "shard", "", "i/n: run only this worker's static share of the sources (without coordination.zookeeper)")
	cmd.Flags().BoolVar(&once, "once", false, "run each source once and exit (for testing the daemon's wiring)")
	cmd.Flags().BoolVar(&collectOnly, "collect-only", false, "send no alerts: another earshot run dispatches; with coordination, never stand for dispatcher (see docs/scaling.md)")
	return cmd
}

// dispatchLoop takes the dispatch lock (waiting while another process
// holds it, so a second daemon takes over when the first dies) and runs
// the dispatcher until ctx ends.
func (a *app) dispatchLoop(ctx context.Context, s *stack) {
	var logged flock.Holder
	for {
		l, holder, err := flock.TryLock(s.lockPath(), "run")
		if err == nil {
			a.log.Info("this process sends the alerts (dispatch lock taken)", "lock", s.lockPath())
			s.dispatching.Store(true)
			s.n.Async = true // a slow receiver never holds up routing or the others
			s.d.Run(ctx)
			s.dispatching.Store(false)
			l.Release()
			return
		}
		if holder != logged {
			a.log.Warn("another earshot process sends the alerts; this one collects only until it stops",
				"holder", holder.String(), "lock", s.lockPath(), "err", err)
			logged = holder
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// waitForPipeline builds the pipeline, waiting with backoff while ClickHouse
// is unreachable: a daemon started before its database should wait for it,
// not crash-loop. Config errors still fail at once.
func (a *app) waitForPipeline(ctx context.Context, m *metrics.Metrics) (*stack, error) {
	delay := time.Second
	for {
		s, err := a.pipeline(ctx, m)
		if err == nil {
			return s, nil
		}
		var cfgErrs config.Errors
		var ue usageError
		if errors.As(err, &cfgErrs) || errors.As(err, &ue) || ctx.Err() != nil {
			return nil, err
		}
		a.log.Warn("clickhouse not ready; retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
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

// readiness answers 200 when the daemon can do its work, else 503 with
// the reasons as JSON: ClickHouse unreachable, the spool growing (batches
// waiting that the last flush could not replay), a source whose last 3
// passes failed, a coordinated worker out of the pool (ws, optional: its
// membership, leader and owned sources are in "workers").
func readiness(s *stack, ws ...*workers) http.Handler {
	var mu sync.Mutex
	lastSpool := 0
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		reasons := []string{}
		if err := s.st.Ping(ctx); err != nil {
			reasons = append(reasons, "clickhouse unreachable: "+err.Error())
		}
		depth := s.spool.Len()
		mu.Lock()
		if depth > 0 && depth >= lastSpool {
			reasons = append(reasons, fmt.Sprintf("spool holds %d batches waiting for clickhouse", depth))
		}
		lastSpool = depth
		mu.Unlock()
		for _, src := range s.p.Failing(3) {
			reasons = append(reasons, fmt.Sprintf("source %s failed its last 3 passes", src))
		}
		body := map[string]any{"dispatching": s.dispatching.Load()}
		if len(ws) > 0 && ws[0] != nil {
			st := ws[0].status()
			if !st["joined"].(bool) {
				reasons = append(reasons, "not a member of the earshot workers: ZooKeeper unreachable or the session lost (collecting and sending nothing)")
			}
			body["workers"] = st
		}
		body["ready"], body["reasons"] = len(reasons) == 0, reasons
		w.Header().Set("Content-Type", "application/json")
		if len(reasons) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
}
