package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReceiverChaos runs the daemon while exports keep arriving and the
// webhook receiver misbehaves, then blocks the receiver entirely:
//
//   - healthy: a few exports, a well-behaved receiver (the baseline for
//     the collection pass figures);
//   - chaos: exports every second for ~15 s; half the requests answered
//     429 (Retry-After: 1) or 500, some hang past the 1 s attempt timeout
//     without accepting, some are accepted and then never answered;
//     then the chaos stops and every case must end up delivered, every
//     repeat counted as a possible duplicate, every unanswered request
//     recorded as an 'unknown' outcome;
//   - blocked: the receiver answers nothing at all while more exports
//     arrive: collection must go on (passes recorded 'ok', the mentions
//     stored) with no alert delivered; once unblocked, the pending cases
//     go out.
//
// The outcome of each chaos request is fixed by its index (the sink's
// random source is reseeded when the chaos starts, with a seed chosen so
// that every kind of misbehaviour happens within the first requests), so
// the test does not depend on luck to see an accept-then-hang.
func TestReceiverChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("starts earshot processes")
	}
	perFile, healthyFiles, chaosFiles, blockedFiles := 300, 3, 15, 8
	minChaosRequests, converge := 6, 75*time.Second
	if long() {
		perFile, healthyFiles, chaosFiles, blockedFiles = 300, 5, 60, 30
		minChaosRequests, converge = 40, 3*time.Minute
	}
	const (
		failPct, hangPct, acceptHangPct = 50, 10, 5
		hangFor                         = 3 * time.Second
	)
	s := newSetup(t, configOpts{groupBy: "[location]"})
	setWebhookTimeout(t, s, "1s")
	seed, early := chaosSeed(5, failPct, hangPct, acceptHangPct)

	p := s.start("run")
	total, negatives := 0, 0
	feed := func(prefix string, files int) {
		for i := 0; i < files; i++ {
			negatives += writeReviews(t, filepath.Join(s.inbox, fmt.Sprintf("%s-%03d.jsonl", prefix, i)),
				fmt.Sprintf("%s%d", prefix, i), perFile, 60, uint64(len(prefix)*1000+i))
			total += perFile
			time.Sleep(time.Second)
		}
	}
	exited := func() {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("earshot run exited: %v\n%s", err, tail(p.output(), 60))
		default:
		}
	}

	// Healthy: the baseline.
	healthyStart, healthyOut := time.Now(), len(p.output())
	feed("ok", healthyFiles)
	v := waitDelivered(t, s, p, total, converge, "healthy phase")
	healthyEnd, chaosOut := time.Now(), len(p.output())
	t.Logf("healthy: %d mentions (%d negative) stored and delivered", v.mentions, v.negatives)

	// Chaos.
	base := s.sinkRequests()
	s.sink.set(func(k *sink) {
		k.rng = rand.New(rand.NewPCG(seed, 2))
		k.failPercent, k.hangPercent, k.acceptThenHangPercent, k.hang = failPct, hangPct, acceptHangPct, hangFor
	})
	chaosStart := time.Now()
	feed("chaos", chaosFiles)
	// Keep misbehaving until enough requests came (bounded): the seed puts
	// every kind of failure among the first ones.
	fed := s.sinkRequests() - base
	deadline := time.Now().Add(30 * time.Second)
	for s.sinkRequests()-base < minChaosRequests && time.Now().Before(deadline) {
		exited()
		time.Sleep(200 * time.Millisecond)
	}
	var chaosRequests int
	s.sink.set(func(k *sink) {
		chaosRequests = k.requests - base
		k.failPercent, k.hangPercent, k.acceptThenHangPercent = 0, 0, 0
	})
	chaosEnd := time.Now()
	out := simulateChaos(seed, chaosRequests, failPct, hangPct, acceptHangPct)
	t.Logf("chaos: %s (%d requests while exports arrived), %d requests: %d answered 429, %d answered 500, %d hung unaccepted, %d accepted then hung (seed %d; the first %d requests: %v)",
		chaosEnd.Sub(chaosStart).Round(time.Second), fed, chaosRequests, out["429"], out["500"], out["hang"], out["accept-hang"], seed, len(early), early)
	if chaosRequests < len(early) {
		t.Errorf("only %d requests during the chaos, fewer than the %d that cover every misbehaviour", chaosRequests, len(early))
	}
	waitDelivered(t, s, p, total, converge, "every case delivered after the chaos")
	recovered := time.Since(chaosEnd)
	// In-flight unanswered requests end within the attempt timeout; their
	// rows are written right after.
	time.Sleep(1500 * time.Millisecond)
	v = s.check()
	unknown, retry := v.unknownOutcomes, s.count("SELECT count() FROM alert_deliveries WHERE status = 'retry'")
	failed := s.count("SELECT count() FROM alert_deliveries WHERE status = 'failed'")
	dupKeys := s.dupKeys()
	t.Logf("after the chaos (recovered %s after it stopped): %d mentions, %d negative; alert_deliveries: %d retry, %d failed, %d unknown, %d cases in possible-duplicate attempts; %d cases delivered more than once, %d messages accepted more than once",
		recovered.Round(100*time.Millisecond), v.mentions, v.negatives, retry, failed, unknown, v.countedDuplicates, v.casesDeliveredTwice, dupKeys)
	verdictOK(t, v, total, negatives, "after the chaos")
	if retry == 0 {
		t.Errorf("no 'retry' rows in alert_deliveries after %d answers 429/500", out["429"]+out["500"])
	}
	if unknown == 0 {
		t.Errorf("no 'unknown' rows in alert_deliveries after %d accept-then-hang requests", out["accept-hang"])
	}
	// Every request that got no answer went out whole (the sink read its
	// body): each is an unknown outcome. (More is possible: an answer
	// slower than the timeout is one too.)
	if want := uint64(out["hang"] + out["accept-hang"]); unknown < want {
		t.Errorf("%d 'unknown' rows, want at least %d (%d hung unaccepted + %d accepted then hung)", unknown, want, out["hang"], out["accept-hang"])
	}

	// Blocked: the receiver answers nothing while exports keep arriving.
	block := make(chan struct{})
	s.sink.set(func(k *sink) { k.blockAll = block })
	blockStart, blockedOut, blockedBase := time.Now(), len(p.output()), s.sinkRequests()
	stored := uint64(total)
	feed("blocked", blockedFiles)
	waitFor(t, converge, "the exports collected while the receiver hangs", func() bool {
		exited()
		return s.count("SELECT count() FROM mentions FINAL") == uint64(total)
	})
	// The dispatcher must have tried (and be held by the receiver), not idled.
	waitFor(t, converge/2, "alerts attempted against the blocked receiver", func() bool {
		return s.sinkRequests()-blockedBase >= 2
	})
	blockEnd := time.Now()
	okRuns := s.db.Count(t, "SELECT count() FROM collection_runs WHERE status = 'ok' AND new > 0 AND started_at >= toDateTime(?)", blockStart.Unix())
	badRuns := s.db.Count(t, "SELECT count() FROM collection_runs WHERE status != 'ok' AND started_at >= toDateTime(?)", blockStart.Unix())
	blockedCases, delivered := s.deliveredCases("blocked")
	blockedRequests := s.sinkRequests() - blockedBase
	t.Logf("blocked: %d new mentions stored by %d 'ok' passes with new > 0 (%d passes not ok) while %d requests waited on the receiver; %d of %d new cases delivered",
		uint64(total)-stored, okRuns, badRuns, blockedRequests, delivered, blockedCases)
	if okRuns == 0 {
		t.Errorf("no 'ok' collection pass with new mentions while the receiver hung")
	}
	if badRuns != 0 {
		t.Errorf("%d collection passes not 'ok' while the receiver hung", badRuns)
	}
	if blockedCases == 0 || delivered != 0 {
		t.Errorf("%d of %d cases opened while the receiver hung were delivered, want 0 of > 0", delivered, blockedCases)
	}
	close(block)
	s.sink.set(func(k *sink) { k.blockAll = nil })
	unblocked := time.Now()
	waitDelivered(t, s, p, total, converge, "the cases held by the blocked receiver delivered")
	t.Logf("unblocked: every case delivered %s later", time.Since(unblocked).Round(100*time.Millisecond))

	// Collection figures: pass durations with new mentions, per phase.
	logs := p.output()
	healthy := passDurations(logs[healthyOut:chaosOut])
	chaos := passDurations(logs[chaosOut:blockedOut])
	blocked := passDurations(logs[blockedOut:])
	dbMax := func(from, to time.Time) uint64 {
		return s.db.Count(t, `SELECT toUInt64(max(dateDiff('second', started_at, finished_at))) FROM collection_runs
			WHERE new > 0 AND started_at >= toDateTime(?) AND started_at <= toDateTime(?)`, from.Unix(), to.Unix())
	}
	t.Logf("collection passes with new mentions (log 'took'): healthy %s; chaos %s; blocked %s",
		healthy, chaos, blocked)
	t.Logf("collection_runs max(finished_at - started_at), whole seconds: healthy %ds, chaos %ds, blocked %ds",
		dbMax(healthyStart, healthyEnd), dbMax(chaosStart, chaosEnd), dbMax(blockStart, blockEnd))

	p.stop(t)
	err := <-p.done
	p.done <- err
	if err != nil {
		t.Errorf("earshot run exited with %v after SIGTERM", err)
	}
	v = s.check()
	t.Logf("final: %d mentions (%d negative); %d cases delivered more than once, %d cases in possible-duplicate attempts, %d unknown outcomes, %d webhook requests",
		v.mentions, v.negatives, v.casesDeliveredTwice, v.countedDuplicates, v.unknownOutcomes, s.sinkRequests())
	verdictOK(t, v, total, negatives, "final")
	if t.Failed() {
		t.Logf("earshot output (tail):\n%s", tail(p.output(), 80))
	}
}

// setWebhookTimeout adds `timeout: d` to the sink receiver newSetup wrote.
func setWebhookTimeout(t *testing.T, s *setup, d string) {
	t.Helper()
	b, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	line := "    url: " + s.sink.srv.URL + "/hook\n"
	if strings.Count(string(b), line) != 1 {
		t.Fatalf("config: receiver url line %q not found once:\n%s", line, b)
	}
	b = []byte(strings.Replace(string(b), line, line+"    timeout: "+d+"\n", 1))
	if err := os.WriteFile(s.config, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// chaosOutcome replays the sink's draws for one request (see sink.serve:
// fail, hang, accept-then-hang, status, in that order; a hang that is not
// an accept-then-hang wins over a failure, a failure over an
// accept-then-hang).
func chaosOutcome(r *rand.Rand, failPct, hangPct, acceptHangPct int) string {
	fail := failPct > 0 && r.IntN(100) < failPct
	hang := hangPct > 0 && r.IntN(100) < hangPct
	acceptHang := acceptHangPct > 0 && r.IntN(100) < acceptHangPct
	status := []string{"429", "500"}[r.IntN(2)]
	switch {
	case hang && !acceptHang:
		return "hang"
	case fail:
		return status
	case acceptHang:
		return "accept-hang"
	}
	return "ok"
}

func simulateChaos(seed uint64, n, failPct, hangPct, acceptHangPct int) map[string]int {
	r := rand.New(rand.NewPCG(seed, 2))
	out := map[string]int{}
	for i := 0; i < n; i++ {
		out[chaosOutcome(r, failPct, hangPct, acceptHangPct)]++
	}
	return out
}

// chaosSeed finds the first seed whose first n requests include every
// kind of misbehaviour, and returns it with those outcomes.
func chaosSeed(n, failPct, hangPct, acceptHangPct int) (uint64, []string) {
	for seed := uint64(1); ; seed++ {
		r := rand.New(rand.NewPCG(seed, 2))
		var outs []string
		for i := 0; i < n; i++ {
			outs = append(outs, chaosOutcome(r, failPct, hangPct, acceptHangPct))
		}
		if slices.Contains(outs, "hang") && slices.Contains(outs, "accept-hang") && slices.Contains(outs, "429") &&
			slices.Contains(outs, "500") {
			return seed, outs
		}
	}
}

func (s *setup) sinkRequests() int {
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	return s.sink.requests
}

// dupKeys counts the messages (Idempotency-Key) the sink accepted twice or more.
func (s *setup) dupKeys() int {
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	n := 0
	for _, c := range s.sink.keys {
		if c > 1 {
			n++
		}
	}
	return n
}

// deliveredCases returns how many cases the negative mentions whose id
// starts with prefix have, and how many of them the sink accepted.
func (s *setup) deliveredCases(prefix string) (cases, delivered int) {
	s.t.Helper()
	rows, err := s.db.Conn.Query(context.Background(), `SELECT DISTINCT concat('case:', if(story_id != '', story_id, id))
		FROM mentions FINAL WHERE negative = 1 AND startsWith(id, ?)`, prefix)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	got := s.sink.counts()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			s.t.Fatal(err)
		}
		cases++
		if got[id] > 0 {
			delivered++
		}
	}
	if err := rows.Err(); err != nil {
		s.t.Fatal(err)
	}
	return cases, delivered
}

// waitDelivered polls the verdict (bounded) until every mention written so
// far is stored and every negative one has a case the sink accepted.
func waitDelivered(t *testing.T, s *setup, p *proc, total int, timeout time.Duration, what string) verdict {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := s.check()
		if v.mentions == uint64(total) && v.negativesWithoutCase == 0 && v.casesWithoutDelivery == 0 {
			return v
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s: earshot run exited: %v; verdict %+v\n%s", what, err, v, tail(p.output(), 60))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached in %s: %d of %d mentions stored, %d negative without a case, %d cases never delivered (verdict %+v, %d webhook requests)\n%s",
				what, timeout, v.mentions, total, v.negativesWithoutCase, v.casesWithoutDelivery, v, s.sinkRequests(), tail(p.output(), 80))
		}
		time.Sleep(time.Second)
	}
}

func verdictOK(t *testing.T, v verdict, total, negatives int, when string) {
	t.Helper()
	if v.mentions != uint64(total) || v.negatives != uint64(negatives) {
		t.Errorf("%s: stored %d mentions (%d negative), want %d (%d)", when, v.mentions, v.negatives, total, negatives)
	}
	if v.duplicateRows != 0 {
		t.Errorf("%s: %d duplicate rows after FINAL", when, v.duplicateRows)
	}
	if v.negativesWithoutCase != 0 {
		t.Errorf("%s: %d negative mentions without a case", when, v.negativesWithoutCase)
	}
	if v.casesWithoutDelivery != 0 {
		t.Errorf("%s: %d cases never delivered", when, v.casesWithoutDelivery)
	}
	if v.extraDeliveriesUncounted != 0 {
		t.Errorf("%s: %d repeated deliveries not counted as possible duplicates (%d cases delivered more than once, %d counted)",
			when, v.extraDeliveriesUncounted, v.casesDeliveredTwice, v.countedDuplicates)
	}
}

var passLine = regexp.MustCompile(`msg="collection pass".* new=(\d+) .*took=(\S+)`)

// passStats are the collection passes with new mentions that a stretch
// of earshot's log reports: their durations and how many mentions they
// stored (a pass that found a backlog of files takes longer).
type passStats struct {
	took []time.Duration
	new  int
}

func passDurations(log string) passStats {
	var out passStats
	for _, m := range passLine.FindAllStringSubmatch(log, -1) {
		n, _ := strconv.Atoi(m[1])
		if n == 0 {
			continue
		}
		if d, err := time.ParseDuration(m[2]); err == nil {
			out.took = append(out.took, d)
			out.new += n
		}
	}
	return out
}

func (p passStats) String() string {
	if len(p.took) == 0 {
		return "no passes"
	}
	s := slices.Clone(p.took)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return fmt.Sprintf("%d passes (%d new), median %s, max %s, %s per 1000 new", len(s), p.new,
		s[len(s)/2], s[len(s)-1], (sum * 1000 / time.Duration(p.new)).Round(time.Millisecond))
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
