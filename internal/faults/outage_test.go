package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestOutageUnderRun runs the daemon with a poll source (export files
// arriving every second) and a push source (a Jetstream fake streaming
// posts about the brand every 20-50 ms), kills ClickHouse under it for a
// while and starts it again. Everything the fake sent about the brand and
// every exported review must be stored exactly once, every negative mention
// must have its case and every case one accepted alert (a repeat only where
// it was counted as a possible duplicate); /readyz must say 503 naming
// ClickHouse while it is down and 200 once it is back.
func TestOutageUnderRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts earshot processes and kills clickhouse-server")
	}
	began := time.Now()
	outage, before, after, perFile := 10*time.Second, 5*time.Second, 8*time.Second, 120
	if long() {
		outage, before, after, perFile = 30*time.Second, 10*time.Second, 20*time.Second, 300
	}
	js := newJetFake(t, 3)
	listen := freeAddr(t)
	s := newSetup(t, configOpts{jetstream: js.url(), listen: listen})
	srv := s.db.Srv
	// Whatever happens, the shared server is up again for the tests after this one.
	var down atomic.Bool
	t.Cleanup(func() {
		if !down.Load() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if err := srv.Restart(ctx); err != nil {
			t.Errorf("clickhouse restart in cleanup: %v", err)
		}
	})

	d := s.start("run")
	waitReady(t, d, listen, 60*time.Second)
	t.Logf("daemon ready after %s", time.Since(began).Round(time.Millisecond))

	files := newFileFeed(t, s, perFile, 40)
	files.start(time.Second)
	defer files.stop()

	time.Sleep(before)
	if js.connections() == 0 {
		t.Fatalf("the daemon never connected to the Jetstream fake:\n%s", d.output())
	}
	before503 := js.stats()

	// ClickHouse goes away as a crash would.
	killedAt := time.Now()
	down.Store(true)
	srv.Kill()
	t.Logf("clickhouse killed (%s); %d export files, %s so far", time.Since(began).Round(time.Millisecond), files.count(), before503)
	var down503 bool
	var downReason string
	downSamples, downOther := 0, map[int]int{}
	droppedStream := false
	for time.Since(killedAt) < outage {
		if !droppedStream && time.Since(killedAt) > outage/2 {
			// Jetstream restarts too, mid-outage: the daemon resumes from the
			// cursor it holds in memory (ClickHouse cannot save it now).
			droppedStream = true
			t.Logf("Jetstream fake dropped %d connection(s) mid-outage", js.dropConnections())
		}
		code, body, err := readyz(listen)
		switch {
		case err != nil:
			downOther[-1]++
		case code == http.StatusServiceUnavailable && reasonMentions(body, "clickhouse"):
			if !down503 {
				downReason = strings.Join(body.Reasons, "; ")
			}
			down503 = true
			downSamples++
		default:
			downOther[code]++
		}
		time.Sleep(250 * time.Millisecond)
	}
	spooledDuring := countFiles(filepath.Join(s.dir, "spool"))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	if err := srv.Restart(ctx); err != nil {
		cancel()
		t.Fatalf("clickhouse restart: %v", err)
	}
	cancel()
	down.Store(false)
	restartedAt := time.Now()
	t.Logf("clickhouse down for %s; restarted in %s; spool dir held %d files at the end of the outage",
		restartedAt.Sub(killedAt).Round(time.Millisecond), time.Since(killedAt.Add(outage)).Round(time.Millisecond), spooledDuring)
	if !down503 {
		t.Errorf("/readyz never answered 503 naming clickhouse while it was down (other answers by status, -1 = no answer: %v)", downOther)
	} else {
		t.Logf("/readyz while down: %d answers 503 naming clickhouse (others by status, -1 = no answer: %v): %s", downSamples, downOther, downReason)
	}
	waitPing(t, s, 30*time.Second)

	// Back to ready: ClickHouse answers and the spool drained.
	var readyAfter time.Duration
	var lastBody readyBody
	lastCode := 0
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		code, body, err := readyz(listen)
		if err == nil {
			lastCode, lastBody = code, body
			if code == http.StatusOK {
				readyAfter = time.Since(restartedAt)
				break
			}
		}
	}
	if readyAfter == 0 {
		t.Errorf("/readyz not 200 within 60s of the restart: last %d %+v", lastCode, lastBody)
	} else {
		t.Logf("/readyz 200 again %s after the restart", readyAfter.Round(time.Millisecond))
	}

	time.Sleep(after)
	files.stop()
	js.stopBrand()
	sent := js.stats()
	t.Logf("sources stopped at %s: %d export files (%d reviews, %d negative); Jetstream fake: %s",
		time.Since(began).Round(time.Millisecond), files.count(), files.total(), files.negatives(), sent)

	// Let the daemon catch up on its own before it is stopped.
	brandIDs := js.brandIDs()
	settled := waitUntil(60*time.Second, func() bool {
		ex, err1 := countTolerant(s, "SELECT uniqExact(id) FROM mentions FINAL WHERE source = 'exports'")
		fh, err2 := countTolerant(s, "SELECT uniqExact(id) FROM mentions FINAL WHERE source = 'firehose'")
		neg, err3 := countTolerant(s, "SELECT uniqExact(if(story_id != '', story_id, id)) FROM mentions FINAL WHERE negative = 1")
		if err1 != nil || err2 != nil || err3 != nil {
			return false
		}
		return ex == uint64(files.total()) && fh == uint64(len(brandIDs)) && neg > 0 && uint64(s.sink.deliveredCases()) >= neg
	})
	t.Logf("daemon caught up on its own: %v (%s)", settled, time.Since(began).Round(time.Millisecond))
	d.stop(t)
	if err := <-d.done; err != nil {
		t.Errorf("earshot run exited with %v", err)
	}
	d.done <- nil
	// One more pass drains what the daemon had not finished (nothing, if it settled).
	beforeDrain := s.sink.counts()
	drainOut, err := s.run(2*time.Minute, "collect")
	if err != nil {
		t.Errorf("drain pass: %v\n%s", err, drainOut)
	}
	// Repeats by where they came from: the daemon (the outage hit it
	// between a send and its record), or the drain pass re-sending what
	// the stopped daemon had delivered but not recorded.
	daemonRepeats, drainRepeats, drainNew := 0, 0, 0
	for id, n := range s.sink.counts() {
		was := beforeDrain[id]
		if was > 1 {
			daemonRepeats++
		}
		switch {
		case was == 0:
			drainNew++
		case n > was:
			drainRepeats++
		}
	}
	var unrecorded []string
	for _, line := range strings.Split(d.output(), "\n") {
		if strings.Contains(line, "notification not recorded") {
			unrecorded = append(unrecorded, line)
		}
	}
	t.Logf("repeats: %d cases delivered more than once by the daemon, %d re-sent by the drain pass after the daemon's graceful stop; %d new cases alerted by the drain pass; daemon log lines 'notification not recorded': %d %v",
		daemonRepeats, drainRepeats, drainNew, len(unrecorded), unrecorded)
	if drainRepeats > 0 || len(unrecorded) > 0 {
		t.Errorf("a graceful stop (SIGTERM) must record what it sent: %d cases re-sent by the next pass", drainRepeats)
	}

	v := s.check()
	exports := s.count("SELECT count() FROM mentions FINAL WHERE source = 'exports'")
	exportNeg := s.count("SELECT count() FROM mentions FINAL WHERE source = 'exports' AND negative = 1")
	posts := s.count("SELECT count() FROM mentions FINAL WHERE source = 'firehose'")
	postNeg := s.count("SELECT count() FROM mentions FINAL WHERE source = 'firehose' AND negative = 1")
	rawRows := s.count("SELECT count() FROM mentions")
	replayed := strings.Count(d.output(), "spooled batch replayed")
	spooled := strings.Count(d.output(), "batch spooled")
	spooledRows := 0
	for _, line := range strings.Split(d.output(), "\n") {
		if strings.Contains(line, "batch spooled") {
			if i := strings.Index(line, " rows="); i >= 0 {
				n, _ := strconv.Atoi(strings.Fields(line[i+len(" rows="):])[0])
				spooledRows += n
			}
		}
	}
	t.Logf("during the outage: %d rows spooled in %d batches; %d collection passes logged 'collection run not recorded'",
		spooledRows, spooled, strings.Count(d.output(), "collection run not recorded"))
	t.Logf("stored: %d mentions (%d raw rows before FINAL), %d negative; exports %d/%d (%d negative, %d written as negative), posts %d/%d (%d negative); %d cases delivered, %d delivered twice, %d counted possible duplicates, %d unknown outcomes; daemon log: %d batches spooled, %d replayed",
		v.mentions, rawRows, v.negatives, exports, files.total(), exportNeg, files.negatives(), posts, len(brandIDs), postNeg,
		s.sink.deliveredCases(), v.casesDeliveredTwice, v.countedDuplicates, v.unknownOutcomes, spooled, replayed)
	if spooled == 0 {
		t.Errorf("nothing was spooled: the outage did not hit the writer")
	}

	// Every brand post the fake sent, stored once; nothing else from the stream.
	stored := storedIDs(t, s, "SELECT id FROM mentions FINAL WHERE source = 'firehose'")
	var missing, unexpected []string
	want := map[string]bool{}
	for _, id := range brandIDs {
		want[id] = true
		if !stored[id] {
			missing = append(missing, id)
		}
	}
	for id := range stored {
		if !want[id] {
			unexpected = append(unexpected, id)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Errorf("%d of %d brand posts sent by the fake not stored, e.g. %v", len(missing), len(brandIDs), missing[:min(5, len(missing))])
	}
	if len(unexpected) > 0 {
		t.Errorf("%d stream mentions stored that the fake never sent as brand posts, e.g. %v", len(unexpected), unexpected[:min(5, len(unexpected))])
	}
	if notSent := js.neverSent(); notSent > 0 {
		t.Errorf("%d brand posts generated were never written to any connection", notSent)
	}
	if postNeg == 0 {
		t.Errorf("no stream post was scored negative: the test does not exercise stream cases")
	}
	if exports != uint64(files.total()) || exportNeg != uint64(files.negatives()) {
		t.Errorf("exports: stored %d (%d negative), want %d (%d)", exports, exportNeg, files.total(), files.negatives())
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
	if v.extraDeliveriesUncounted != 0 {
		t.Errorf("%d repeated deliveries not counted as possible duplicates (%d cases delivered twice, %d counted)",
			v.extraDeliveriesUncounted, v.casesDeliveredTwice, v.countedDuplicates)
	}
	if t.Failed() {
		t.Logf("daemon log (tail):\n%s", tailLines(d.output(), 80))
	}
	t.Logf("took %s", time.Since(began).Round(time.Millisecond))
}

// jetFake is a Jetstream server: it generates posts every 20-50 ms once a
// client first connects (most about the brand, a third of those negative,
// the rest unrelated), keeps them all, and serves each connection from its
// cursor (time_us; replayed from the log) or, without one, from now on.
type jetFake struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	events   []jetEvent
	wake     chan struct{} // closed and replaced when an event is added
	sent     map[string]int
	conns    int
	drops    map[int]context.CancelFunc // open connections, to drop them
	dropped  int
	cursors  []string
	brandOff bool
	rng      *rand.Rand
	n        int
	once     sync.Once
	quit     chan struct{}
	closed   atomic.Bool
}

type jetEvent struct {
	us    int64
	msg   []byte
	id    string // mention id the collector gives a brand post; "" otherwise
	brand bool
	neg   bool
}

var (
	jetNeg = []string{
		"Acme support was rude and never answered my emails. Never again.",
		"Terrible service from Acme, still waiting for my refund after three weeks.",
		"The Acme store staff were rude and the manager refused a refund. Terrible.",
		"acme charged me twice and nobody cares, terrible experience, never again",
	}
	jetPos = []string{
		"Loving my new Acme headphones, great sound.",
		"Acme shipped my order today, right on time.",
		"Shout out to the friendly people at the Acme counter this morning.",
	}
	jetOther = []string{
		"Lovely sunset over the harbour tonight.",
		"Does anyone know a good bakery near the station?",
		"Reading a great book about the history of maps.",
	}
)

func newJetFake(t *testing.T, seed uint64) *jetFake {
	f := &jetFake{t: t, wake: make(chan struct{}), sent: map[string]int{}, drops: map[int]context.CancelFunc{}, rng: rand.New(rand.NewPCG(seed, 11)), quit: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		if f.closed.CompareAndSwap(false, true) {
			close(f.quit)
		}
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *jetFake) url() string { return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/subscribe" }

// generate adds an event every 20-50 ms until the test ends.
func (f *jetFake) generate() {
	last := int64(0)
	for {
		f.mu.Lock()
		pause := time.Duration(20+f.rng.IntN(31)) * time.Millisecond
		f.mu.Unlock()
		select {
		case <-f.quit:
			return
		case <-time.After(pause):
		}
		f.mu.Lock()
		us := max(time.Now().UnixMicro(), last+1)
		last = us
		f.n++
		n := f.n
		did := fmt.Sprintf("did:plc:fake%05d", n)
		rkey := fmt.Sprintf("3kfake%06d", n)
		ev := jetEvent{us: us}
		var text string
		switch r := f.rng.IntN(100); {
		case f.brandOff || r < 20:
			text = fmt.Sprintf("%s #%d", jetOther[f.rng.IntN(len(jetOther))], n)
		case r < 47:
			text, ev.brand, ev.neg = fmt.Sprintf("%s #%d", jetNeg[f.rng.IntN(len(jetNeg))], n), true, true
		default:
			text, ev.brand = fmt.Sprintf("%s #%d", jetPos[f.rng.IntN(len(jetPos))], n), true
		}
		if ev.brand {
			ev.id = "bluesky:at://" + did + "/app.bsky.feed.post/" + rkey
		}
		created := time.UnixMicro(us).UTC().Format(time.RFC3339Nano)
		msg, _ := json.Marshal(map[string]any{"did": did, "time_us": us, "kind": "commit", "commit": map[string]any{
			"rev": "r" + rkey, "operation": "create", "collection": "app.bsky.feed.post", "rkey": rkey, "cid": "c" + rkey,
			"record": map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": created, "langs": []string{"en"}},
		}})
		ev.msg = msg
		f.events = append(f.events, ev)
		// Now and then an event that is not a post: identity changes flow too.
		if n%17 == 0 {
			us++
			last = us
			id, _ := json.Marshal(map[string]any{"did": did, "time_us": us, "kind": "identity", "identity": map[string]any{"did": did, "seq": n}})
			f.events = append(f.events, jetEvent{us: us, msg: id})
		}
		close(f.wake)
		f.wake = make(chan struct{})
		f.mu.Unlock()
	}
}

func (f *jetFake) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("wantedCollections") != "app.bsky.feed.post" {
		http.Error(w, "want wantedCollections=app.bsky.feed.post", http.StatusBadRequest)
		return
	}
	cursor := r.URL.Query().Get("cursor")
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	f.once.Do(func() { go f.generate() })
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	f.mu.Lock()
	f.conns++
	conn := f.conns
	f.drops[conn] = cancel
	f.cursors = append(f.cursors, cursor)
	next := len(f.events) // no cursor: live from now
	if us, err := strconv.ParseInt(cursor, 10, 64); err == nil {
		next = sort.Search(len(f.events), func(i int) bool { return f.events[i].us >= us })
	}
	f.mu.Unlock()
	defer func() { f.mu.Lock(); delete(f.drops, conn); f.mu.Unlock() }()
	for {
		f.mu.Lock()
		batch := slices.Clone(f.events[next:])
		next = len(f.events)
		wake := f.wake
		f.mu.Unlock()
		for _, ev := range batch {
			if err := c.Write(ctx, websocket.MessageText, ev.msg); err != nil {
				return
			}
			if ev.brand {
				f.mu.Lock()
				f.sent[ev.id]++
				f.mu.Unlock()
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return
		case <-f.quit:
			c.Close(websocket.StatusGoingAway, "shutting down")
			return
		}
	}
}

// dropConnections cuts every open connection, as a Jetstream restart
// would; clients must resume from their cursor.
func (f *jetFake) dropConnections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.drops)
	for _, cancel := range f.drops {
		cancel()
	}
	f.dropped += n
	return n
}

// stopBrand makes the fake send only unrelated posts from now on (they
// still move a catching-up client's clock past its start).
func (f *jetFake) stopBrand() {
	f.mu.Lock()
	f.brandOff = true
	f.mu.Unlock()
}

func (f *jetFake) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns
}

// brandIDs lists the mention ids of every brand post generated.
func (f *jetFake) brandIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, ev := range f.events {
		if ev.brand {
			ids = append(ids, ev.id)
		}
	}
	return ids
}

// neverSent counts brand posts generated that no connection was sent.
func (f *jetFake) neverSent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, ev := range f.events {
		if ev.brand && f.sent[ev.id] == 0 {
			n++
		}
	}
	return n
}

func (f *jetFake) stats() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	brand, neg, repeats := 0, 0, 0
	for _, ev := range f.events {
		if ev.brand {
			brand++
			if ev.neg {
				neg++
			}
			if k := f.sent[ev.id]; k > 1 {
				repeats += k - 1
			}
		}
	}
	return fmt.Sprintf("%d events, %d brand posts (%d with negative wording), %d brand posts sent again (replays), %d connections (cursors %v)",
		len(f.events), brand, neg, repeats, f.conns, f.cursors)
}

// fileFeed drops a new export file into the import folder on a timer.
type fileFeed struct {
	t          *testing.T
	s          *setup
	perFile    int
	negPercent int

	mu     sync.Mutex
	files  int
	rows   int
	neg    int
	halt   chan struct{}
	done   chan struct{}
	closed bool
}

func newFileFeed(t *testing.T, s *setup, perFile, negPercent int) *fileFeed {
	return &fileFeed{t: t, s: s, perFile: perFile, negPercent: negPercent}
}

// add writes one file now.
func (f *fileFeed) add() {
	f.mu.Lock()
	i := f.files
	f.files++
	f.mu.Unlock()
	neg := writeReviews(f.t, filepath.Join(f.s.inbox, fmt.Sprintf("export-%04d.jsonl", i)), fmt.Sprintf("f%d", i), f.perFile, f.negPercent, uint64(1000+i))
	f.mu.Lock()
	f.rows += f.perFile
	f.neg += neg
	f.mu.Unlock()
}

// start adds a file every period until stop.
func (f *fileFeed) start(every time.Duration) {
	f.halt, f.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(f.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		f.add()
		for {
			select {
			case <-f.halt:
				return
			case <-tick.C:
				f.add()
			}
		}
	}()
}

func (f *fileFeed) stop() {
	f.mu.Lock()
	if f.closed || f.halt == nil {
		f.mu.Unlock()
		return
	}
	f.closed = true
	f.mu.Unlock()
	close(f.halt)
	<-f.done
}

func (f *fileFeed) count() int     { f.mu.Lock(); defer f.mu.Unlock(); return f.files }
func (f *fileFeed) total() int     { f.mu.Lock(); defer f.mu.Unlock(); return f.rows }
func (f *fileFeed) negatives() int { f.mu.Lock(); defer f.mu.Unlock(); return f.neg }

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type readyBody struct {
	Ready       bool     `json:"ready"`
	Reasons     []string `json:"reasons"`
	Dispatching bool     `json:"dispatching"`
}

// readyz asks the daemon at addr whether it is ready.
func readyz(addr string) (int, readyBody, error) {
	var b readyBody
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, b, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, b, err
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return resp.StatusCode, b, fmt.Errorf("readyz body %q: %w", raw, err)
	}
	return resp.StatusCode, b, nil
}

func reasonMentions(b readyBody, word string) bool {
	for _, r := range b.Reasons {
		if strings.Contains(strings.ToLower(r), word) {
			return true
		}
	}
	return false
}

// waitReady waits until the daemon's /readyz answers 200.
func waitReady(t *testing.T, p *proc, addr string, timeout time.Duration) {
	t.Helper()
	var last string
	ok := waitUntil(timeout, func() bool {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("daemon exited (%v) before it was ready:\n%s", err, p.output())
		default:
		}
		code, b, err := readyz(addr)
		last = fmt.Sprintf("%d %+v %v", code, b, err)
		return err == nil && code == http.StatusOK
	})
	if !ok {
		t.Fatalf("daemon at %s not ready within %s (last: %s):\n%s", addr, timeout, last, p.output())
	}
}

// waitUntil polls cond every 100 ms until it holds (true) or the timeout
// passes (false).
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// countTolerant runs a count query and returns its error instead of
// failing the test (ClickHouse may be down or just restarted).
func countTolerant(s *setup, q string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n uint64
	err := s.db.Conn.QueryRow(ctx, q).Scan(&n)
	return n, err
}

// waitPing waits until the test's own connections to ClickHouse work again
// after a restart (pooled connections to the old process fail once each).
func waitPing(t *testing.T, s *setup, timeout time.Duration) {
	t.Helper()
	good := 0
	if !waitUntil(timeout, func() bool {
		if _, err := countTolerant(s, "SELECT count() FROM system.one"); err != nil {
			good = 0
			return false
		}
		good++
		return good >= 5
	}) {
		t.Fatalf("clickhouse not answering the test within %s of its restart", timeout)
	}
}

// storedIDs runs a query returning ids.
func storedIDs(t *testing.T, s *setup, q string) map[string]bool {
	t.Helper()
	rows, err := s.db.Conn.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// deliveredCases is how many distinct cases the sink accepted.
func (s *sink) deliveredCases() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted)
}

func countFiles(dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
