package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Log lines of the dispatch lock (cmd/earshot: dispatchOnce, dispatchLoop).
const (
	logWaitingForLock = "waiting for the dispatch lock"
	logDaemonHolds    = "alerts are sent by the daemon holding the dispatch lock"
	logLockStillHeld  = "dispatch lock still held"
	logSendsAlerts    = "this process sends the alerts"
	logCollectsOnly   = "another earshot process sends the alerts; this one collects only"
)

// TestTwoCollectsAtOnce starts two `earshot collect` on one config at the
// same moment, round after round, with thousands of new reviews each time
// (an overlapping cron job): both collect, one dispatches under the lock
// while the other waits for it, and no case is alerted twice or left out.
func TestTwoCollectsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts earshot processes")
	}
	began := time.Now()
	rounds, files, perFile := 3, 4, 750
	if long() {
		rounds, files, perFile = 6, 5, 1200
	}
	s := newSetup(t, configOpts{groupBy: "[location]"})
	total, negatives := 0, 0
	waited := 0
	for r := 0; r < rounds; r++ {
		for f := 0; f < files; f++ {
			negatives += writeReviews(t, filepath.Join(s.inbox, fmt.Sprintf("round%02d-%d.jsonl", r, f)), fmt.Sprintf("r%d-%d", r, f), perFile, 50, uint64(100*r+f))
			total += perFile
		}
		// The receiver holds the first message until the other process has
		// reached the lock: without that the two passes overlap only when
		// their timing happens to (a pass may end just after the other
		// released the lock; correct, but it tests nothing). Held 10 s at
		// most from its arrival, well inside the webhook's 15 s timeout.
		hold := make(chan struct{})
		s.sink.set(func(k *sink) { k.blockAll = hold })
		requestsBefore := s.sink.requestCount()
		roundStart := time.Now()
		a, b := s.start("collect"), s.start("collect")
		atLock := func() bool {
			for _, p := range []*proc{a, b} {
				if out := p.output(); strings.Contains(out, logWaitingForLock) || strings.Contains(out, logDaemonHolds) || strings.Contains(out, logLockStillHeld) {
					return true
				}
			}
			return false
		}
		exited := func() bool {
			for _, p := range []*proc{a, b} {
				select {
				case err := <-p.done:
					p.done <- err
					return true
				default:
				}
			}
			return false
		}
		// First the message arrives (or a process ends without sending)...
		waitUntil(3*time.Minute, func() bool { return s.sink.requestCount() > requestsBefore || atLock() || exited() })
		arrived := time.Now()
		// ...then the other process reaches the lock while it is held.
		reached := waitUntil(10*time.Second, func() bool { return atLock() || exited() })
		s.sink.set(func(k *sink) { k.blockAll = nil })
		close(hold)
		heldFor := time.Since(arrived)
		var outs [2]string
		for i, p := range []*proc{a, b} {
			select {
			case err := <-p.done:
				p.done <- err
				outs[i] = p.output()
				if err != nil {
					t.Errorf("round %d: collect %d exited with %v:\n%s", r, i, err, outs[i])
				}
			case <-time.After(3 * time.Minute):
				t.Fatalf("round %d: collect %d did not finish in 3m:\n%s", r, i, p.output())
			}
		}
		took := time.Since(roundStart)
		deferred := 0
		for _, out := range outs {
			if strings.Contains(out, logWaitingForLock) || strings.Contains(out, logDaemonHolds) || strings.Contains(out, logLockStillHeld) {
				deferred++
			}
		}
		if deferred > 0 {
			waited++
		}
		v := s.check()
		t.Logf("round %d: %s for both (the receiver held the first message %s; the other process at the lock: %v); %d of 2 logged waiting for the lock; %d sent messages in the logs (%d and %d); stored %d mentions, %d negative; %d cases delivered, %d twice, %d counted possible duplicates",
			r, took.Round(time.Millisecond), heldFor.Round(time.Millisecond), reached, deferred, strings.Count(outs[0], `msg="alert sent"`)+strings.Count(outs[1], `msg="alert sent"`),
			strings.Count(outs[0], `msg="alert sent"`), strings.Count(outs[1], `msg="alert sent"`),
			v.mentions, v.negatives, s.sink.deliveredCases(), v.casesDeliveredTwice, v.countedDuplicates)
		if deferred == 0 {
			t.Errorf("round %d: neither process logged that it waited for or deferred to the dispatch lock", r)
		}
		if strings.Contains(outs[0], logLockStillHeld) || strings.Contains(outs[1], logLockStillHeld) {
			t.Errorf("round %d: a process gave up waiting for the lock", r)
		}
		if v.mentions != uint64(total) || v.negatives != uint64(negatives) {
			t.Errorf("round %d: stored %d mentions (%d negative), want %d (%d)", r, v.mentions, v.negatives, total, negatives)
		}
		if v.duplicateRows != 0 {
			t.Errorf("round %d: %d duplicate rows after FINAL", r, v.duplicateRows)
		}
		if v.negativesWithoutCase != 0 {
			t.Errorf("round %d: %d negative mentions without a case", r, v.negativesWithoutCase)
		}
		if v.casesWithoutDelivery != 0 {
			t.Errorf("round %d: %d cases never alerted", r, v.casesWithoutDelivery)
		}
		if v.casesDeliveredTwice != 0 || v.extraDeliveriesUncounted != 0 {
			t.Errorf("round %d: %d cases delivered twice (%d repeats not counted as possible duplicates)", r, v.casesDeliveredTwice, v.extraDeliveriesUncounted)
		}
		if t.Failed() {
			t.Logf("first process:\n%s\nsecond process:\n%s", tailLines(outs[0], 40), tailLines(outs[1], 40))
			break
		}
	}
	t.Logf("%d rounds, %d reviews, %d negative; %d rounds with a process waiting for the lock; took %s",
		rounds, total, negatives, waited, time.Since(began).Round(time.Millisecond))
}

// TestTwoDaemons runs two `earshot run` on one config (each its own
// server.listen) while export files arrive every second: one sends the
// alerts, the other collects only, and no case is alerted twice. Then the
// dispatching one is killed with SIGKILL and the other must take over
// within seconds: new files are still alerted.
func TestTwoDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("starts earshot processes")
	}
	began := time.Now()
	feedFor, perFile, afterKill := 10*time.Second, 150, 3*time.Second
	if long() {
		feedFor, perFile, afterKill = 40*time.Second, 400, 10*time.Second
	}
	addrs := [2]string{freeAddr(t), freeAddr(t)}
	s := newSetup(t, configOpts{listen: addrs[0]})
	// The second daemon: the same config but for server.listen.
	cfg, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	second := filepath.Join(s.dir, "earshot-2.yaml")
	if !strings.Contains(string(cfg), "listen: "+addrs[0]+"\n") {
		t.Fatalf("config has no server.listen %s:\n%s", addrs[0], cfg)
	}
	if err := os.WriteFile(second, []byte(strings.Replace(string(cfg), "listen: "+addrs[0]+"\n", "listen: "+addrs[1]+"\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ds := [2]*proc{s.start("run"), s.startWith(second, "run")}
	for i, d := range ds {
		waitReady(t, d, addrs[i], 60*time.Second)
	}
	// Which one dispatches: its log says so, and so does its /readyz.
	holder := -1
	if !waitUntil(30*time.Second, func() bool {
		a, b := strings.Contains(ds[0].output(), logSendsAlerts), strings.Contains(ds[1].output(), logSendsAlerts)
		if a != b {
			holder = map[bool]int{true: 0, false: 1}[a]
		}
		return a != b && strings.Contains(ds[1-holder].output(), logCollectsOnly)
	}) {
		t.Fatalf("want exactly one daemon sending alerts and the other collecting only:\nfirst:\n%s\nsecond:\n%s", ds[0].output(), ds[1].output())
	}
	other := 1 - holder
	t.Logf("daemon %d sends the alerts, daemon %d collects only (%s after start)", holder, other, time.Since(began).Round(time.Millisecond))
	for i := range ds {
		_, b, err := readyz(addrs[i])
		if err != nil {
			t.Fatalf("daemon %d /readyz: %v", i, err)
		}
		if b.Dispatching != (i == holder) {
			t.Errorf("daemon %d /readyz says dispatching=%v", i, b.Dispatching)
		}
	}

	files := newFileFeed(t, s, perFile, 50)
	files.start(time.Second)
	time.Sleep(feedFor)
	files.stop()
	allAlerted := func() bool {
		neg, err1 := countTolerant(s, "SELECT uniqExact(if(story_id != '', story_id, id)) FROM mentions FINAL WHERE negative = 1")
		n, err2 := countTolerant(s, "SELECT count() FROM mentions FINAL")
		return err1 == nil && err2 == nil && n == uint64(files.total()) && neg == uint64(files.negatives()) && s.sink.deliveredCases() == files.negatives()
	}
	if !waitUntil(60*time.Second, allAlerted) {
		t.Errorf("with both daemons running: not every case alerted within 60s of the last file (%d of %d)", s.sink.deliveredCases(), files.negatives())
	}
	v := s.check()
	t.Logf("both running: %d files, %d reviews, %d negative; %d cases delivered, %d twice, %d counted possible duplicates; alert messages sent by daemon %d: %d, by daemon %d: %d",
		files.count(), files.total(), files.negatives(), s.sink.deliveredCases(), v.casesDeliveredTwice, v.countedDuplicates,
		holder, strings.Count(ds[holder].output(), `msg="alert sent"`), other, strings.Count(ds[other].output(), `msg="alert sent"`))
	if n := strings.Count(ds[other].output(), `msg="alert sent"`); n != 0 {
		t.Errorf("the collect-only daemon sent %d alert messages", n)
	}
	for i, d := range ds {
		if n := strings.Count(d.output(), logSendsAlerts); n != map[bool]int{true: 1, false: 0}[i == holder] {
			t.Errorf("daemon %d logged %q %d times", i, logSendsAlerts, n)
		}
	}

	// Kill -9 the dispatcher between two files; the other takes the lock.
	time.Sleep(time.Second)
	ds[holder].kill()
	killedAt := time.Now()
	sentBefore := s.sink.deliveredCases()
	took := time.Duration(0)
	waitUntil(15*time.Second, func() bool {
		_, b, err := readyz(addrs[other])
		if err == nil && b.Dispatching {
			took = time.Since(killedAt)
			return true
		}
		return false
	})
	if took == 0 || took > 10*time.Second {
		t.Errorf("daemon %d did not take the dispatch lock within 10s of the kill (took %s):\n%s", other, took, tailLines(ds[other].output(), 30))
	} else {
		t.Logf("daemon %d took over %s after the kill", other, took.Round(time.Millisecond))
	}
	files = continueFeed(files)
	files.start(time.Second)
	time.Sleep(afterKill)
	files.stop()
	lastFile := time.Now()
	if !waitUntil(30*time.Second, allAlerted) {
		t.Errorf("after the takeover: not every case alerted within 30s of the last file (%d of %d)", s.sink.deliveredCases(), files.negatives())
	} else {
		t.Logf("after the takeover: %d new cases alerted, the last %s after the last file", s.sink.deliveredCases()-sentBefore, time.Since(lastFile).Round(time.Millisecond))
	}
	if !strings.Contains(ds[other].output(), logSendsAlerts) {
		t.Errorf("daemon %d never logged %q", other, logSendsAlerts)
	}
	ds[other].stop(t)

	v = s.check()
	t.Logf("end: %d mentions, %d negative; %d cases delivered, %d twice, %d counted possible duplicates, %d unknown outcomes; took %s",
		v.mentions, v.negatives, s.sink.deliveredCases(), v.casesDeliveredTwice, v.countedDuplicates, v.unknownOutcomes, time.Since(began).Round(time.Millisecond))
	if v.mentions != uint64(files.total()) || v.negatives != uint64(files.negatives()) {
		t.Errorf("stored %d mentions (%d negative), want %d (%d)", v.mentions, v.negatives, files.total(), files.negatives())
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
	if v.casesDeliveredTwice != 0 || v.extraDeliveriesUncounted != 0 {
		t.Errorf("%d cases delivered twice (%d repeats not counted as possible duplicates)", v.casesDeliveredTwice, v.extraDeliveriesUncounted)
	}
	if t.Failed() {
		t.Logf("daemon %d (killed):\n%s\ndaemon %d:\n%s", holder, tailLines(ds[holder].output(), 40), other, tailLines(ds[other].output(), 60))
	}
}

// startWith starts earshot with another config file than the setup's.
func (s *setup) startWith(config string, args ...string) *proc {
	s.t.Helper()
	saved := s.config
	s.config = config
	defer func() { s.config = saved }()
	return s.start(args...)
}

// requestCount is how many requests the sink has read so far.
func (s *sink) requestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// continueFeed returns a feed that goes on where f stopped (file numbers
// and totals carry over).
func continueFeed(f *fileFeed) *fileFeed {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &fileFeed{t: f.t, s: f.s, perFile: f.perFile, negPercent: f.negPercent, files: f.files, rows: f.rows, neg: f.neg}
}
