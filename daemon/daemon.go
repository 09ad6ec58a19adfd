// Package daemon runs earshot's long-lived work: jobs on schedules (cron or
// a fixed period), loops that run until stopped (push streams, the alert
// dispatcher), and an HTTP server. It knows nothing of what the jobs do;
// cmd/earshot wires the pipeline into it. Time comes from an injected
// Clock, so tests drive the timers without sleeping.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Clock is the daemon's time source.
type Clock interface {
	Now() time.Time
	// After delivers the time once d has passed (time.After).
	After(d time.Duration) <-chan time.Time
}

// Schedule says when a job runs next after t (cron.Schedule is one).
type Schedule interface {
	Next(t time.Time) time.Time
}

// Period is a Schedule of a fixed interval.
type Period time.Duration

// Next implements Schedule.
func (p Period) Next(t time.Time) time.Time { return t.Add(time.Duration(p)) }

// Job is work run on a schedule. An error is logged and the job runs again
// at its next time: one failing job never stops the others.
type Job func(ctx context.Context) error

// Daemon holds the jobs, loops and server to run. Add them, then Run.
type Daemon struct {
	Clock  Clock        // default: the wall clock
	Logger *slog.Logger // default: discard
	// ShutdownTimeout bounds how long Run waits for HTTP requests in
	// flight when stopping; default 10s.
	ShutdownTimeout time.Duration

	jobs    []job
	loops   []loop
	servers []server
}

type job struct {
	name  string
	sched Schedule
	now   bool // also run at start
	fn    Job
	// running: a run still going when the next is due is skipped, not
	// doubled.
	running sync.Mutex
}

type loop struct {
	name string
	fn   func(ctx context.Context) error
}

type server struct {
	l net.Listener
	s *http.Server
}

// Schedule adds a job run on sched; atStart also runs it once when Run
// starts.
func (d *Daemon) Schedule(name string, sched Schedule, atStart bool, fn Job) {
	d.jobs = append(d.jobs, job{name: name, sched: sched, now: atStart, fn: fn})
}

// Every adds a job run every period (not at start).
func (d *Daemon) Every(name string, period time.Duration, fn Job) {
	d.Schedule(name, Period(period), false, fn)
}

// Go adds a loop that runs until the daemon stops (its ctx ends). A loop
// that returns early is logged; the others carry on.
func (d *Daemon) Go(name string, fn func(ctx context.Context) error) {
	d.loops = append(d.loops, loop{name: name, fn: fn})
}

// Serve adds an HTTP server on l. Run starts it and shuts it down when
// stopping, letting requests in flight finish.
func (d *Daemon) Serve(l net.Listener, h http.Handler) {
	d.servers = append(d.servers, server{l: l, s: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second}})
}

// Run starts everything and blocks until ctx ends; then it stops the
// timers, waits for the job runs and loops in progress (drains) and shuts
// the servers down. It returns nil after a clean stop.
func (d *Daemon) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, s := range d.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.s.Serve(s.l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log().Error("http server", "addr", s.l.Addr().String(), "err", err)
			}
		}()
	}
	for _, l := range d.loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.safe(ctx, l.name, l.fn); err != nil && ctx.Err() == nil {
				d.log().Error("loop ended", "name", l.name, "err", err)
			}
		}()
	}
	for i := range d.jobs {
		j := &d.jobs[i]
		wg.Add(1)
		go func() { defer wg.Done(); d.schedule(ctx, j, &wg) }()
	}
	<-ctx.Done()
	d.log().Info("stopping: waiting for running jobs")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmpDur(d.ShutdownTimeout, 10*time.Second))
	defer cancel()
	for _, s := range d.servers {
		if err := s.s.Shutdown(sctx); err != nil {
			d.log().Warn("http server shutdown", "err", err)
			_ = s.s.Close()
		}
	}
	wg.Wait()
	return nil
}

// RunOnce runs every job scheduled to run at start once, side by side, and
// waits for them (earshot run --once).
func (d *Daemon) RunOnce(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range d.jobs {
		j := &d.jobs[i]
		if !j.now {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); d.run(ctx, j) }()
	}
	wg.Wait()
}

// schedule runs j at its times until ctx ends. Each run is its own
// goroutine, so a slow run does not delay the timer; a run due while the
// previous one still runs is skipped.
func (d *Daemon) schedule(ctx context.Context, j *job, wg *sync.WaitGroup) {
	start := func() {
		// Taken here, not in the goroutine: a turn due while the last
		// still runs is skipped now, whenever that goroutine gets to run.
		if !j.running.TryLock() {
			d.log().Warn("previous run still going; skipped", "job", j.name)
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer j.running.Unlock()
			d.call(ctx, j)
		}()
	}
	if j.now {
		start()
	}
	now := d.clock().Now()
	for {
		next := j.sched.Next(now)
		if next.IsZero() {
			return // a schedule that never fires again
		}
		select {
		case <-ctx.Done():
			return
		case now = <-d.clock().After(next.Sub(now)):
		}
		if ctx.Err() != nil {
			return
		}
		start()
	}
}

// run runs a job unless it is still running from its previous turn.
func (d *Daemon) run(ctx context.Context, j *job) {
	if !j.running.TryLock() {
		d.log().Warn("previous run still going; skipped", "job", j.name)
		return
	}
	defer j.running.Unlock()
	d.call(ctx, j)
}

// call runs a job once, logging its failure.
func (d *Daemon) call(ctx context.Context, j *job) {
	if err := d.safe(ctx, j.name, j.fn); err != nil && ctx.Err() == nil {
		d.log().Warn("job failed", "job", j.name, "err", err)
	}
}

// safe calls fn, turning a panic into an error: one broken job must not
// take the daemon, and every other job, down with it.
func (d *Daemon) safe(ctx context.Context, name string, fn func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: panic: %v", name, r)
		}
	}()
	return fn(ctx)
}

func (d *Daemon) clock() Clock {
	if d.Clock != nil {
		return d.Clock
	}
	return wallClock{}
}

func (d *Daemon) log() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}

type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

func cmpDur(a, b time.Duration) time.Duration {
	if a > 0 {
		return a
	}
	return b
}
