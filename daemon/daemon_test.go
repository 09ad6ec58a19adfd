package daemon

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// fakeClock moves only when told; After's channels fire on Advance.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	changed chan struct{} // closed and replaced when a waiter is added
}

type waiter struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t, changed: make(chan struct{})} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), c: ch})
	close(c.changed)
	c.changed = make(chan struct{})
	return ch
}

// waitFor blocks until n timers are pending (each job's goroutine has
// armed its next one), so that an Advance reaches all of them.
func (c *fakeClock) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		k, ch := len(c.waiters), c.changed
		c.mu.Unlock()
		if k >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%d timers armed, want %d", k, n)
		}
	}
}

// Advance moves the clock and fires the timers now due, earliest first.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	sort.Slice(c.waiters, func(i, j int) bool { return c.waiters[i].at.Before(c.waiters[j].at) })
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.c <- c.now
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

// counter counts runs and signals each on a channel.
type counter struct {
	n    atomic.Int32
	runs chan struct{}
}

func newCounter() *counter { return &counter{runs: make(chan struct{}, 100)} }

func (c *counter) job(err error) Job {
	return func(context.Context) error {
		c.n.Add(1)
		c.runs <- struct{}{}
		return err
	}
}

func (c *counter) wait(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-c.runs:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d runs, want %d more", c.n.Load(), n-i)
		}
	}
}

// idle waits until no job of d is running: a run counted by its job may
// not have released its turn yet, and an Advance then would skip the next
// run as "still going" (a slow CI machine under -race does hit this).
func idle(t *testing.T, d *Daemon) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := range d.jobs {
		for !d.jobs[i].running.TryLock() {
			if time.Now().After(deadline) {
				t.Fatalf("job %s still running", d.jobs[i].name)
			}
			time.Sleep(time.Millisecond)
		}
		d.jobs[i].running.Unlock()
	}
}

func start(t *testing.T, d *Daemon) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// TestTimersFire: periodic and cron jobs run at their times on the fake
// clock, at-start jobs once at start too.
func TestTimersFire(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 11, 23, 9, 0, 30, 0, time.UTC))
	fiveMin, err := cron.ParseStandard("*/5 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	every, cronJob := newCounter(), newCounter()
	d := &Daemon{Clock: clock}
	d.Every("minutely", time.Minute, every.job(nil))
	d.Schedule("five", fiveMin, true, cronJob.job(nil))
	defer start(t, d)()

	cronJob.wait(t, 1) // at start
	for i := 1; i <= 10; i++ {
		clock.waitFor(t, 2)
		idle(t, d)
		clock.Advance(time.Minute)
		every.wait(t, 1)
	}
	cronJob.wait(t, 2) // 09:05 and 09:10
	clock.waitFor(t, 2)
	if n, c := every.n.Load(), cronJob.n.Load(); n != 10 || c != 3 {
		t.Errorf("after 10 minutes: minutely ran %d times (want 10), */5 ran %d (want 3: start, 09:05, 09:10)", n, c)
	}
}

// TestFailingJobDoesNotStopOthers: a job that fails or panics every time
// keeps its schedule, and the others keep theirs.
func TestFailingJobDoesNotStopOthers(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	good, bad := newCounter(), newCounter()
	var panics atomic.Int32
	d := &Daemon{Clock: clock}
	d.Schedule("bad", Period(time.Minute), true, bad.job(errors.New("source down")))
	d.Schedule("panics", Period(time.Minute), true, func(context.Context) error {
		panics.Add(1)
		panic("a broken collector")
	})
	d.Schedule("good", Period(time.Minute), true, good.job(nil))
	d.Go("loop that ends", func(context.Context) error { return errors.New("stream closed") })
	defer start(t, d)()
	good.wait(t, 1)
	bad.wait(t, 1)
	for i := 0; i < 3; i++ {
		clock.waitFor(t, 3)
		idle(t, d)
		clock.Advance(time.Minute)
		good.wait(t, 1)
		bad.wait(t, 1)
	}
	if g, b := good.n.Load(), bad.n.Load(); g != 4 || b != 4 {
		t.Errorf("good ran %d, failing ran %d; want 4 each", g, b)
	}
	clock.waitFor(t, 3)
	if panics.Load() < 1 {
		t.Error("the panicking job never ran")
	}
}

// TestSkipWhileRunning: a run due while the previous still runs is
// skipped, not doubled.
func TestSkipWhileRunning(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	release := make(chan struct{})
	var runs atomic.Int32
	started := make(chan struct{}, 10)
	d := &Daemon{Clock: clock}
	d.Schedule("slow", Period(time.Minute), true, func(context.Context) error {
		runs.Add(1)
		started <- struct{}{}
		<-release
		return nil
	})
	stop := start(t, d)
	<-started
	for i := 0; i < 3; i++ {
		clock.waitFor(t, 1)
		clock.Advance(time.Minute)
	}
	clock.waitFor(t, 1)
	close(release)
	stop()
	if n := runs.Load(); n != 1 {
		t.Errorf("%d runs while the first was still going, want 1", n)
	}
}

// TestShutdownDrains: stopping waits for the job in progress and for the
// HTTP request in flight before Run returns.
func TestShutdownDrains(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inRequest, finishRequest := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, _ *http.Request) {
		close(inRequest)
		<-finishRequest
		_, _ = io.WriteString(w, "done")
	})
	var jobDone, loopDone atomic.Bool
	inJob, finishJob := make(chan struct{}), make(chan struct{})
	d := &Daemon{Clock: clock}
	d.Serve(l, mux)
	d.Schedule("pass", Period(time.Hour), true, func(context.Context) error {
		close(inJob)
		<-finishJob // a pass finishes its page even when asked to stop
		jobDone.Store(true)
		return nil
	})
	d.Go("dispatcher", func(ctx context.Context) error {
		<-ctx.Done()
		loopDone.Store(true)
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan struct{})
	go func() { _ = d.Run(ctx); close(returned) }()

	body := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + l.Addr().String() + "/slow")
		if err != nil {
			body <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body <- string(b)
	}()
	<-inJob
	<-inRequest
	cancel()
	select {
	case <-returned:
		t.Fatal("Run returned while a job and a request were in progress")
	case <-time.After(50 * time.Millisecond):
	}
	close(finishJob)
	close(finishRequest)
	<-returned
	if !jobDone.Load() || !loopDone.Load() {
		t.Errorf("Run returned before the job (%v) or the loop (%v) finished", jobDone.Load(), loopDone.Load())
	}
	if b := <-body; b != "done" {
		t.Errorf("request in flight got %q, want its answer", b)
	}
	if _, err := http.Get("http://" + l.Addr().String() + "/slow"); err == nil {
		t.Error("the server still answers after Run returned")
	}
}

// TestRunOnce runs the at-start jobs once and returns.
func TestRunOnce(t *testing.T) {
	a, b := newCounter(), newCounter()
	d := &Daemon{Clock: newFakeClock(time.Now())}
	d.Schedule("a", Period(time.Minute), true, a.job(nil))
	d.Every("b", time.Minute, b.job(nil))
	d.RunOnce(context.Background())
	if a.n.Load() != 1 || b.n.Load() != 0 {
		t.Errorf("once: a %d (want 1), b %d (want 0)", a.n.Load(), b.n.Load())
	}
}
