package faults

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/earshot/earshot/coord"
	"github.com/earshot/earshot/internal/zklocal"
	"github.com/earshot/earshot/storage/chtest"
)

// The join test's site: smaller than TestThreeWorkers' (the point is the
// moved passes, not the volume), with more chains so that the newcomer
// gains several.
const (
	joinChains = 12
	joinPages  = 40
	joinGate   = 21
	// earlierWorker records the fake previous passes (see workerJoins).
	earlierWorker = "earlier-worker"
	// joinDeadline: a source moved in the middle of a pass completes a
	// full pass on the newcomer within this time of the site's release
	// (the recheck runs 3*settle+5s = 11s after the takeover), not at its
	// next schedule (an hour).
	joinDeadline = 30 * time.Second
)

// TestWorkerJoinsMidPass starts 2 `earshot run` workers on a real
// ZooKeeper, holds every pass of the local site mid-way, starts a third
// worker and releases the site. The sources that moved to the newcomer
// must complete a full pass there within 30 s, although their schedule is
// an hour and the newcomer decided on them before the old owners had
// recorded the passes they stopped (workers.recheck); every mention is
// stored once and every case alerted once.
//
// "old-owners-slow" makes that order certain: the old owners are frozen
// (SIGSTOP, as a pause or an overloaded machine would) from the
// newcomer's join until it has taken its sources on. "natural" (long
// version, EARSHOT_FAULTS_LONG) lets the race run as it comes.
func TestWorkerJoinsMidPass(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper, clickhouse-server and earshot processes")
	}
	cases := []struct {
		name string
		slow bool
	}{{"old-owners-slow", true}}
	if long() {
		cases = append(cases, struct {
			name string
			slow bool
		}{"natural", false})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { workerJoins(t, c.slow) })
	}
}

func workerJoins(t *testing.T, slowOldOwners bool) {
	began := time.Now()
	zk := zklocal.ForTest(t)
	st := newSite(t, joinChains, joinPages, joinGate)
	s := &setup{t: t, db: chtest.New(t), dir: t.TempDir(), sink: newSink(t)}
	demos := []string{"zagreb", "yerevan", "mumbai", "manila"}
	var names []string
	var srcs strings.Builder
	for c := range joinChains {
		names = append(names, chainSource(c))
		fmt.Fprintf(&srcs, "  - {name: %s, kind: schemaorg, brand: Acme, location: Zagreb, schedule: \"@every 1h\", urls: [\"%s/c%d/p1\"], max_pages: %d}\n",
			chainSource(c), st.srv.URL, c, joinPages)
	}
	for _, d := range demos {
		names = append(names, "demo-"+d)
		fmt.Fprintf(&srcs, "  - {name: demo-%s, kind: demo, brand: Acme, schedule: \"@every 1h\", site: %s}\n", d, d)
	}
	// The newcomer's port is picked so that it gains at least two chains,
	// from both old workers, and a demo source (whose pass had ended: it
	// must not run again): ownership is rendezvous hashing of the ids.
	addrs := [3]string{freeAddr(t), freeAddr(t)}
	addrs[2] = joinNewcomerAddr(t, addrs[0], addrs[1], names)
	var ids [3]string
	for i, a := range addrs {
		ids[i] = joinWorkerID(t, a)
	}
	var configs [3]string
	for i := range addrs {
		configs[i] = filepath.Join(s.dir, fmt.Sprintf("earshot-%d.yaml", i))
		cfg := fmt.Sprintf(`clickhouse:
  dsn: %s
  spool_dir: %s
  batch_size: 500
  flush_interval: 500ms
coordination:
  zookeeper: ["%s"]
  session_timeout: 10s
collect:
  allow_private_networks: true
  host_delay: 1ms
  timeout: 3m
  ignore_robots_txt: true
server:
  listen: %s
brands:
  - name: Acme
    keywords: [acme]
    locations: [{name: Zagreb}]
sources:
%sreceivers:
  - name: desk
    kind: webhook
    url: %s/hook
route:
  receiver: desk
  group_wait: 1ms
  group_interval: 1s
`, s.db.DSN, filepath.Join(s.dir, fmt.Sprintf("spool-%d", i)), zk.Addr(), addrs[i], srcs.String(), s.sink.srv.URL)
		if err := os.WriteFile(configs[i], []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.config = configs[0]
	if out, err := s.run(time.Minute, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	var ws [3]*proc
	dump := func() {
		for i, w := range ws {
			if w != nil {
				t.Logf("worker %d (%s):\n%s", i, ids[i], tailLines(w.output(), 50))
			}
		}
	}
	for i := range 2 {
		ws[i] = s.startWith(configs[i], "run")
	}
	for i := range 2 {
		waitReady(t, ws[i], addrs[i], 90*time.Second)
	}
	// The pair settles: each source owned once, one dispatcher, every
	// chain's pass waiting at the gate (page 21 of 40).
	var views [2]workerBody
	settled := func() bool {
		owners := map[string]int{}
		leaders := 0
		for i := range views {
			b, err := workerReadyz(addrs[i])
			if err != nil || len(b.Workers.Members) != 2 || !b.Workers.Joined {
				return false
			}
			views[i] = b
			for _, src := range b.Workers.Owned {
				owners[src]++
			}
			if b.Workers.Leading {
				leaders++
			}
		}
		if leaders != 1 || len(owners) != len(names) {
			return false
		}
		for _, n := range owners {
			if n != 1 {
				return false
			}
		}
		return st.allWaiting()
	}
	if !waitUntil(60*time.Second, settled) {
		dump()
		t.Fatalf("the 2 workers did not settle within 60s (each source owned once, one dispatcher, every pass mid-way); views %+v", views)
	}
	time.Sleep(3 * time.Second) // settled twice: the passes waiting are the owners'
	if !settled() {
		dump()
		t.Fatalf("the 2 workers changed after they had settled; views %+v", views)
	}
	leader := 0
	if views[1].Workers.Leading {
		leader = 1
	}
	negCases := func() (uint64, error) {
		return countTolerant(s, "SELECT uniqExact(if(story_id != '', story_id, id)) FROM mentions FINAL WHERE negative = 1")
	}
	// The demo passes have ended, the half-passes' cases are alerted:
	// nothing is in flight at the receiver while the old workers freeze.
	if !waitUntil(60*time.Second, func() bool {
		d, err := countTolerant(s, "SELECT uniqExact(source) FROM collection_runs WHERE source LIKE 'demo-%' AND status = 'ok'")
		if err != nil || d != uint64(len(demos)) {
			return false
		}
		n, err := negCases()
		return err == nil && n > 0 && s.sink.deliveredCases() == int(n)
	}) {
		dump()
		t.Fatalf("demo passes not recorded or half-passes' cases not alerted within 60s (%d delivered)", s.sink.deliveredCases())
	}
	joinPreviousPasses(t, s, st)

	// The newcomer joins.
	st.mu.Lock()
	startsBefore := map[int]int{}
	for c := range joinChains {
		startsBefore[c] = len(st.starts[c])
	}
	st.mu.Unlock()
	ws[2] = s.startWith(configs[2], "run")
	var joinedAt time.Time
	if !waitUntil(60*time.Second, func() bool {
		b, err := workerReadyz(addrs[2])
		if err != nil || !b.Workers.Joined || len(b.Workers.Members) != 3 {
			return false
		}
		joinedAt = time.Now()
		return true
	}) {
		dump()
		t.Fatalf("the third worker did not join within 60s")
	}
	frozen := false
	thaw := func() {
		if frozen {
			for i := range 2 {
				_ = syscall.Kill(-ws[i].cmd.Process.Pid, syscall.SIGCONT)
			}
			frozen = false
		}
	}
	if slowOldOwners {
		// Before their settle (2 s) ends: they cannot stop the moved
		// passes, nor record them, until thawed. Frozen under 5 s, so that
		// their ZooKeeper leases (2/3 of the 10 s session) hold.
		for i := range 2 {
			if err := syscall.Kill(-ws[i].cmd.Process.Pid, syscall.SIGSTOP); err != nil {
				t.Fatalf("freeze worker %d: %v", i, err)
			}
		}
		frozen = true
		t.Cleanup(thaw)
	}
	taken := regexp.MustCompile(`msg="sources taken on" sources=(\d+) running_now=(\d+)`)
	var m []string
	waitUntil(5*time.Second, func() bool { m = taken.FindStringSubmatch(ws[2].output()); return m != nil })
	tookOnAt := time.Now()
	thaw()
	if m == nil {
		dump()
		t.Fatalf("the third worker took no sources on within 5s of joining")
	}
	b, err := workerReadyz(addrs[2])
	if err != nil {
		t.Fatal(err)
	}
	gained := b.Workers.Owned
	var moved []int
	for _, src := range gained {
		if c, ok := chainOf(src); ok {
			moved = append(moved, c)
		}
	}
	runningNow, _ := strconv.Atoi(m[2])
	t.Logf("worker 2 (%s) joined %s after start, owns %v; took them on %s after joining, %d at once (its first read of the last passes)",
		ids[2], joinedAt.Sub(began).Round(time.Millisecond), gained, tookOnAt.Sub(joinedAt).Round(time.Millisecond), runningNow)
	if len(moved) < 2 || !slices.Contains(gained, "demo-"+demos[0]) {
		t.Fatalf("the third worker owns %v, want the chains and demo source picked for it", gained)
	}
	if slowOldOwners && runningNow != 0 {
		dump()
		t.Fatalf("the third worker ran %d gained sources at once although the old owners had not recorded their stopped passes: the test's premise (a recent complete pass) does not hold", runningNow)
	}
	// The old owners stop the moved passes and record them (failed: cancelled).
	movedNames := func() string {
		var q []string
		for _, c := range moved {
			q = append(q, "'"+chainSource(c)+"'")
		}
		return strings.Join(q, ",")
	}()
	if !waitUntil(20*time.Second, func() bool {
		n, err := countTolerant(s, fmt.Sprintf(`SELECT uniqExact(source) FROM collection_runs
			WHERE source IN (%s) AND status IN ('failed', 'interrupted') AND worker IN ('%s', '%s')`, movedNames, ids[0], ids[1]))
		return err == nil && n == uint64(len(moved))
	}) {
		dump()
		t.Fatalf("the old owners did not record their stopped passes of %v within 20s", moved)
	}
	stoppedAt := time.Now()
	st.release()
	releasedAt := time.Now()
	t.Logf("old owners recorded the stopped passes %s after the newcomer took them on; site released",
		stoppedAt.Sub(tookOnAt).Round(time.Millisecond))

	// Every moved chain is crawled again, page 1 to 40, on the newcomer.
	var done time.Duration
	if !waitUntil(joinDeadline, func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		for _, c := range moved {
			if len(st.starts[c]) <= startsBefore[c] || !st.lastPage[c].After(st.starts[c][len(st.starts[c])-1]) {
				return false
			}
		}
		done = time.Since(releasedAt)
		return true
	}) {
		dump()
		t.Fatalf("the chains moved to the newcomer %v were not crawled again in full within %s of the release: a pass stopped by the move waits for its next schedule (1h)",
			moved, joinDeadline)
	}
	t.Logf("the %d moved chains completed a full pass on the newcomer %s after the release (%s after it joined)",
		len(moved), done.Round(time.Millisecond), time.Since(joinedAt).Round(time.Millisecond))

	// Everything stored and alerted once.
	want := uint64(joinChains * joinPages * reviewsOnPage)
	if !waitUntil(60*time.Second, func() bool {
		n, err := countTolerant(s, "SELECT count() FROM mentions FINAL WHERE source LIKE 'site-%'")
		if err != nil || n != want {
			return false
		}
		c, err := negCases()
		return err == nil && s.sink.deliveredCases() == int(c)
	}) {
		dump()
		n, _ := countTolerant(s, "SELECT count() FROM mentions FINAL WHERE source LIKE 'site-%'")
		c, _ := negCases()
		t.Fatalf("not everything stored and alerted within 60s: %d of %d site mentions, %d of %d cases delivered", n, want, s.sink.deliveredCases(), c)
	}
	for _, w := range ws {
		w.stop(t)
	}
	v := s.check()
	raw := s.count("SELECT count() FROM mentions")
	rows, okBy := joinRuns(t, s)
	for c := range joinChains {
		src := chainSource(c)
		switch {
		case len(okBy[src]) != 1:
			t.Errorf("source %s: ok passes by %v, want one", src, okBy[src])
		case slices.Contains(moved, c) && okBy[src][0] != ids[2]:
			t.Errorf("source %s moved to %s, but its pass was completed by %s", src, ids[2], okBy[src][0])
		}
	}
	for _, d := range demos {
		// Its pass had ended when it moved: not run again before its schedule.
		if n := len(okBy["demo-"+d]); n != 1 {
			t.Errorf("source demo-%s: %d ok passes, want one", d, n)
		}
	}
	rechecked := strings.Count(ws[2].output(), `msg="source moved here in the middle of a pass; running it now"`)
	if slowOldOwners && rechecked != len(moved) {
		t.Errorf("the newcomer's recheck ran %d sources, want the %d moved chains", rechecked, len(moved))
	}
	t.Logf("end: %d mentions (%d rows before merging), %d negative; %d cases delivered, %d twice; %d passes run by the recheck; took %s",
		v.mentions, raw, v.negatives, s.sink.deliveredCases(), v.casesDeliveredTwice, rechecked, time.Since(began).Round(time.Millisecond))
	if v.duplicateRows != 0 {
		t.Errorf("%d duplicate rows after FINAL", v.duplicateRows)
	}
	if v.negativesWithoutCase != 0 {
		t.Errorf("%d negative mentions without a case", v.negativesWithoutCase)
	}
	if v.casesWithoutDelivery != 0 {
		t.Errorf("%d cases never alerted", v.casesWithoutDelivery)
	}
	if v.casesDeliveredTwice != 0 || v.countedDuplicates != 0 {
		t.Errorf("%d cases delivered twice, %d counted possible duplicates: want none", v.casesDeliveredTwice, v.countedDuplicates)
	}
	for i, w := range ws {
		if i != leader && strings.Contains(w.output(), `msg="alert sent"`) {
			t.Errorf("worker %d sent alerts but was not the dispatcher", i)
		}
	}
	if t.Failed() {
		t.Logf("collection runs:\n%s", strings.Join(rows, "\n"))
		dump()
	}
}

// joinPreviousPasses records, for every chain, a complete pass that ended
// just before the one now held mid-way (as when that pass was started by
// its owner's timer soon after another worker's pass): the newcomer's
// first read then finds the source not due, and only the recheck can see
// the stopped pass. Without it the chains would have no pass recorded at
// all, and a source never collected is run at once on takeover anyway.
func joinPreviousPasses(t *testing.T, s *setup, st *site) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	// collection_runs.started_at has whole seconds; the held pass started
	// less than a second before its first page was served, so two seconds
	// before that page keeps the fake row strictly earlier.
	at := map[string]time.Time{}
	st.mu.Lock()
	for c := range joinChains {
		starts := st.starts[c]
		at[chainSource(c)] = starts[len(starts)-1].Truncate(time.Second).Add(-2 * time.Second)
	}
	st.mu.Unlock()
	r, err := s.db.Conn.Query(ctx, "SELECT source, max(started_at) FROM collection_runs WHERE source LIKE 'site-%' GROUP BY source")
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var src string
		var last time.Time
		if err := r.Scan(&src, &last); err != nil {
			t.Fatal(err)
		}
		// A pass stopped while the two workers were starting (a source
		// moved between them) began at least a settle (2 s) before the
		// held one: the fake row goes between them.
		if held := at[src].Add(2 * time.Second); !last.Before(at[src]) {
			if !last.Add(time.Second).Before(held) {
				t.Fatalf("source %s: a pass was recorded at %s, no whole second before the held pass (about %s) to put the previous pass in", src, last, held)
			}
			at[src] = last.Add(time.Second)
		}
	}
	r.Close()
	b, err := s.db.Conn.PrepareBatch(ctx, `INSERT INTO collection_runs (run_id, source, kind, started_at, finished_at,
		fetched, new, errors, status, last_error, worker)`)
	if err != nil {
		t.Fatal(err)
	}
	for src, start := range at {
		if err := b.Append("earlier-"+src, src, "schemaorg", start.UTC(), start.Add(time.Second).UTC(), uint32(joinPages*reviewsOnPage), uint32(0),
			uint32(0), "ok", "", earlierWorker); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatalf("record the previous passes: %v", err)
	}
	if n := s.count("SELECT count() FROM (SELECT source, argMax(status, started_at) AS st FROM collection_runs WHERE source LIKE 'site-%' GROUP BY source) WHERE st = 'ok'"); n != joinChains {
		t.Fatalf("%d of %d chains have the fake complete pass as their last", n, joinChains)
	}
}

// joinRuns lists the collection runs (for failures) and the real ok
// passes by source: who completed them.
func joinRuns(t *testing.T, s *setup) ([]string, map[string][]string) {
	t.Helper()
	r, err := s.db.Conn.Query(t.Context(), "SELECT source, worker, toString(status), started_at FROM collection_runs ORDER BY source, started_at")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows []string
	okBy := map[string][]string{}
	for r.Next() {
		var src, w, status string
		var at time.Time
		if err := r.Scan(&src, &w, &status, &at); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, fmt.Sprintf("%s %s %s %s", src, w, status, at.Format(time.TimeOnly)))
		if status == "ok" && w != earlierWorker {
			okBy[src] = append(okBy[src], w)
		}
	}
	return rows, okBy
}

// joinWorkerID is the id `earshot run` takes listening on addr (its
// workerID): host name and port.
func joinWorkerID(t *testing.T, addr string) string {
	t.Helper()
	_, port, ok := strings.Cut(addr, ":")
	if !ok {
		t.Fatalf("address %q has no port", addr)
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	return h + ":" + port
}

// joinNewcomerAddr picks a free address for the third worker such that,
// joining the two at a and b, it gains at least two chains, at least one
// from each, and the first demo source.
func joinNewcomerAddr(t *testing.T, a, b string, names []string) string {
	t.Helper()
	ida, idb := joinWorkerID(t, a), joinWorkerID(t, b)
	// Each port tried stays bound until the search ends, so the system
	// hands out a new one every time (a port closed at once may come back
	// on the next try, and the search would see the same few ports).
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range 500 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		addr := l.Addr().String()
		if addr == a || addr == b {
			continue
		}
		id := joinWorkerID(t, addr)
		members := []string{ida, idb, id}
		from := map[string]int{}
		demo := false
		for _, n := range names {
			if coord.Owner(members, n) != id {
				continue
			}
			if _, ok := chainOf(n); ok {
				from[coord.Owner(members[:2], n)]++
			} else if n == names[joinChains] {
				demo = true
			}
		}
		if from[ida] >= 1 && from[idb] >= 1 && from[ida]+from[idb] >= 2 && demo {
			return addr
		}
	}
	t.Fatal("no port found for the third worker that gains chains from both others")
	return ""
}
