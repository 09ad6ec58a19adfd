package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path"
	"slices"
	"sync"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/coord"
	"github.com/earshot/earshot/daemon"
	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/pipeline"
	"github.com/earshot/earshot/storage"
)

// workers is `earshot run`'s part in a pool of workers
// (coordination.zookeeper): every worker schedules every source, and a
// pass runs only on the source's owner among the live members; when the
// members change, a worker stops the passes and streams of sources that
// moved away and runs at once the sources it gained whose last pass was
// interrupted, failed or is overdue. The elected dispatcher sends the
// alerts (lead).
type workers struct {
	co      *coord.Coordinator
	p       *pipeline.Pipeline
	lastRun func(ctx context.Context) (map[string]storage.SourceRun, error)
	log     *slog.Logger
	polled  []*config.Source
	scheds  map[string]daemon.Schedule
	streams []*config.Source
	// settle: membership changes within this time (workers starting
	// together) are acted on once, so sources do not hop back and forth.
	settle time.Duration
	now    func() time.Time

	passMu map[string]*sync.Mutex // one pass of a source at a time: schedule and takeover

	mu       sync.Mutex
	inFlight map[string]*flight // passes and streams running, by source
	owned    map[string]bool    // as of the last view acted on
	taken    int
	wg       sync.WaitGroup
}

type flight struct{ cancel context.CancelFunc }

// workerID names this worker among the members: host and listening port,
// stable across restarts (a restarted worker gets its sources back) and
// unique on a machine (two processes cannot listen on one port).
func workerID(l net.Listener) string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	if a, ok := l.Addr().(*net.TCPAddr); ok && a.Port != 0 {
		return fmt.Sprintf("%s:%d", h, a.Port)
	}
	return fmt.Sprintf("%s-%d", h, os.Getpid())
}

// newWorkers joins the pool named by the config (in the background) for
// sources; collectOnly: never the dispatcher.
func (a *app) newWorkers(stk *stack, sources []*config.Source, id string, collectOnly bool) (*workers, error) {
	cfg := stk.p.Config
	co, err := coord.New(coord.Options{Servers: cfg.Coordination.ZooKeeper, SessionTimeout: cfg.Coordination.SessionTimeout,
		Root: path.Join(cfg.Coordination.Path, stk.st.Database()), ID: id, NoLead: collectOnly, Logger: a.log})
	if err != nil {
		return nil, err
	}
	w := &workers{co: co, p: stk.p, lastRun: stk.st.SourceRuns, log: a.log, scheds: map[string]daemon.Schedule{},
		settle: 2 * time.Second, now: time.Now, passMu: map[string]*sync.Mutex{}, inFlight: map[string]*flight{}, owned: map[string]bool{}}
	for _, s := range sources {
		if stk.p.IsStream(s) {
			w.streams = append(w.streams, s)
			continue
		}
		spec := s.Schedule
		if spec == "" {
			spec = cfg.Collect.DefaultSchedule
		}
		sched, err := config.ParseSchedule(spec)
		if err != nil {
			co.Close()
			return nil, fmt.Errorf("source %s: schedule %q: %w", s.Name, spec, err)
		}
		w.polled = append(w.polled, s)
		w.scheds[s.Name] = sched
		w.passMu[s.Name] = &sync.Mutex{}
	}
	return w, nil
}

// pass runs one pass of s if this worker owns it, under a context that
// ends when the source moves to another worker.
func (w *workers) pass(ctx context.Context, s *config.Source) {
	mu := w.passMu[s.Name]
	if !mu.TryLock() {
		return // the scheduled pass and a takeover met: one is enough
	}
	defer mu.Unlock()
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := &flight{cancel: cancel}
	w.mu.Lock()
	w.inFlight[s.Name] = f
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		if w.inFlight[s.Name] == f {
			delete(w.inFlight, s.Name)
		}
		w.mu.Unlock()
	}()
	// Checked after registering: a move between the two is seen by apply,
	// which cancels what it finds in flight.
	if !w.co.Owns(s.Name) {
		return
	}
	w.p.Collect(pctx, s)
}

// Run follows the membership until ctx ends, then waits for the passes
// and streams it started.
func (w *workers) Run(ctx context.Context) error {
	defer w.wg.Wait()
	tick := time.NewTicker(30 * time.Second) // restarts streams that ended on their own
	defer tick.Stop()
	for {
		changed := w.co.Changed()
		w.apply(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			continue
		case <-changed:
		}
		if !w.co.View().Joined {
			continue // lost the session: stop at once, no settling
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(w.settle):
		}
	}
}

// apply acts on the current view: stops what moved away, runs what came
// in and is due, starts and stops streams.
func (w *workers) apply(ctx context.Context) {
	v := w.co.View()
	owned := map[string]bool{}
	for _, s := range w.polled {
		owned[s.Name] = w.co.Owns(s.Name)
	}
	for _, s := range w.streams {
		owned[s.Name] = w.co.Owns(s.Name)
	}
	w.mu.Lock()
	for name, f := range w.inFlight {
		if !owned[name] {
			w.log.Info("source moved to another worker; stopping its pass here", "source", name, "owner", coord.Owner(v.Members, name),
				"joined", v.Joined)
			f.cancel()
		}
	}
	var gained []*config.Source
	for _, s := range w.polled {
		if owned[s.Name] && !w.owned[s.Name] {
			gained = append(gained, s)
		}
	}
	w.mu.Unlock()
	if len(gained) > 0 {
		w.takeOver(ctx, gained)
	}
	for _, s := range w.streams {
		w.mu.Lock()
		_, running := w.inFlight[s.Name]
		if owned[s.Name] && !running {
			w.startStream(ctx, s)
		}
		w.mu.Unlock()
	}
	w.mu.Lock()
	for _, s := range w.streams {
		if owned[s.Name] && !w.owned[s.Name] {
			w.taken++
		}
	}
	w.owned = owned
	w.mu.Unlock()
}

// takeOver runs at once the gained sources whose last pass was
// interrupted or failed, or is overdue (or that never ran); the others
// wait for their schedule.
func (w *workers) takeOver(ctx context.Context, gained []*config.Source) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	runs, err := w.lastRun(rctx)
	cancel()
	if err != nil {
		w.log.Warn("last passes unknown; running every gained source now", "err", err)
	}
	now := w.now()
	var due []string
	var waiting []*config.Source
	for _, s := range gained {
		run, ok := runs[s.Name]
		if err == nil && !overdue(run, ok, w.scheds[s.Name], now) {
			waiting = append(waiting, s)
			continue
		}
		due = append(due, s.Name)
		w.wg.Add(1)
		go func() { defer w.wg.Done(); w.pass(ctx, s) }()
	}
	w.mu.Lock()
	w.taken += len(gained)
	w.mu.Unlock()
	w.log.Info("sources taken on", "sources", len(gained), "running_now", len(due), "due", due)
	if len(waiting) > 0 {
		// The previous owner stops a moved pass only after its own settle
		// and records it then: read the passes once more when that record
		// has had time to land, so a pass stopped half-way is run again now
		// rather than at its next schedule.
		w.wg.Add(1)
		go func() { defer w.wg.Done(); w.recheck(ctx, waiting, 3*w.settle+5*time.Second) }()
	}
}

// recheck runs those of srcs, still owned here, whose last pass turned out
// interrupted, failed or overdue after wait.
func (w *workers) recheck(ctx context.Context, srcs []*config.Source, wait time.Duration) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(wait):
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	runs, err := w.lastRun(rctx)
	cancel()
	if err != nil {
		return // the schedule runs them
	}
	now := w.now()
	for _, s := range srcs {
		run, ok := runs[s.Name]
		if !w.co.Owns(s.Name) || !overdue(run, ok, w.scheds[s.Name], now) {
			continue
		}
		w.log.Info("source moved here in the middle of a pass; running it now", "source", s.Name)
		w.wg.Add(1) // recheck holds the group open, so Run's Wait has not returned
		go func() { defer w.wg.Done(); w.pass(ctx, s) }()
	}
}

// overdue decides whether a gained source runs at once: no pass ever
// recorded, the last one did not end well (interrupted, failed: it may
// have been stopped because the source moved), or its next time has come.
func overdue(last storage.SourceRun, found bool, sched daemon.Schedule, now time.Time) bool {
	if !found || last.LastRun.IsZero() {
		return true
	}
	if last.Status != "ok" && last.Status != "partial" {
		return true
	}
	return !sched.Next(last.LastRun).After(now)
}

// startStream follows a push source while this worker owns it; called
// with w.mu held.
func (w *workers) startStream(ctx context.Context, s *config.Source) {
	sctx, cancel := context.WithCancel(ctx)
	f := &flight{cancel: cancel}
	w.inFlight[s.Name] = f
	w.log.Info("following stream: this worker owns it", "source", s.Name)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer cancel()
		if err := w.p.Stream(sctx, s); err != nil && sctx.Err() == nil {
			w.log.Warn("stream ended; restarted within 30s while this worker owns it", "source", s.Name, "err", err)
		}
		w.mu.Lock()
		if w.inFlight[s.Name] == f {
			delete(w.inFlight, s.Name)
		}
		w.mu.Unlock()
	}()
}

// ownedSources lists the sources this worker owns now, sorted.
func (w *workers) ownedSources() []string {
	out := []string{}
	for _, s := range w.polled {
		if w.co.Owns(s.Name) {
			out = append(out, s.Name)
		}
	}
	for _, s := range w.streams {
		if w.co.Owns(s.Name) {
			out = append(out, s.Name)
		}
	}
	slices.Sort(out)
	return out
}

// status is the worker's part of /readyz.
func (w *workers) status() map[string]any {
	v := w.co.View()
	return map[string]any{"id": v.Self, "members": v.Members, "leader": v.Leader, "leading": v.Leading, "joined": v.Joined,
		"connected": v.Connected, "owned_sources": w.ownedSources()}
}

// figures is the worker's part of /metrics.
func (w *workers) figures() metrics.WorkerFigures {
	v := w.co.View()
	w.mu.Lock()
	taken := w.taken
	w.mu.Unlock()
	return metrics.WorkerFigures{Members: len(v.Members), Joined: v.Joined, Leading: v.Leading, Owned: len(w.ownedSources()), Taken: taken}
}

// fencedReceiver sends only while this worker is the elected dispatcher,
// under a context that ends at the fence: nothing goes out between the
// loss of the ZooKeeper session and another worker's election.
type fencedReceiver struct {
	alerts.Receiver
	co *coord.Coordinator
}

func (f fencedReceiver) Send(ctx context.Context, m alerts.Message) (alerts.Delivery, error) {
	tctx, cancel, ok := f.co.Term(ctx)
	defer cancel()
	if !ok {
		return alerts.Delivery{}, fmt.Errorf("alert to %s not sent: %w", f.Name(), coord.ErrNotLeader)
	}
	return f.Receiver.Send(tctx, m)
}

// fence wraps every receiver of the notifier (alerts, storms, digests,
// escalations all send through them).
func (w *workers) fence(n *alerts.Notifier) {
	for name, r := range n.Receivers {
		n.Receivers[name] = fencedReceiver{Receiver: r, co: w.co}
	}
}

// lead runs the dispatcher whenever this worker is elected, until ctx
// ends.
func (a *app) lead(ctx context.Context, w *workers, s *stack) {
	w.co.Lead(ctx, func(lctx context.Context) {
		a.log.Info("this worker sends the alerts (elected dispatcher)", "id", w.co.ID())
		s.dispatching.Store(true)
		s.n.Async = true // a slow receiver never holds up routing or the others
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); a.catchUpDigests(lctx, s, digestCatchUp) }()
		s.d.Run(lctx)
		wg.Wait()
		s.dispatching.Store(false)
		if ctx.Err() == nil {
			a.log.Warn("this worker stopped sending alerts", "why", context.Cause(lctx))
		}
	})
}

// digestCatchUp: a worker elected this soon after a digest's time sends
// it if the previous dispatcher did not (it died at that moment, or the
// new one's own timer fired before it was elected). Digests are sent once
// per period whoever tries (Digester.Send checks the delivery log).
const digestCatchUp = 10 * time.Minute

func (a *app) catchUpDigests(ctx context.Context, s *stack, window time.Duration) {
	now := time.Now()
	for _, dg := range s.p.Config.Digests {
		sched, err := config.ParseSchedule(dg.Schedule)
		if err != nil {
			continue // refused at startup already
		}
		at := sched.Next(now.Add(-window)).Truncate(time.Minute)
		if at.IsZero() || at.After(now) {
			continue
		}
		sent, err := s.n.SendDigest(ctx, s.st, dg, at)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("digest catch-up", "receiver", dg.Receiver, "due", at, "err", err)
		case sent:
			a.log.Info("digest sent: due before this worker was elected", "receiver", dg.Receiver, "due", at)
		}
	}
}
