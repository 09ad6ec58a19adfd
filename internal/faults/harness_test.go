// Package faults tests the whole binary under the faults a real deployment
// meets: kill -9 at any point, ClickHouse stopped mid-run, two processes on
// one config, a receiver that fails, throttles or hangs. Each test builds
// earshot once, runs it as a separate process against a real
// clickhouse-server (chtest) and a local webhook receiver, and checks the
// promises of the README: nothing lost, no duplicate rows, every negative
// mention exactly one case, every case one accepted alert per receiver
// (possible duplicates are counted, never hidden).
//
// Everything listens on 127.0.0.1 and every test is bounded in count and
// time. `make test` runs the short versions; `make faults` the long ones
// (EARSHOT_FAULTS_LONG=1).
package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/earshot/earshot/storage/chtest"
)

func TestMain(m *testing.M) { os.Exit(chtest.Main(m)) }

// long reports whether the long versions of the fault tests were asked for.
func long() bool { return os.Getenv("EARSHOT_FAULTS_LONG") != "" }

var build struct {
	once sync.Once
	path string
	err  error
	dir  string
}

// binary builds cmd/earshot once per test run.
func binary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "earshot-faults-")
		if build.err != nil {
			return
		}
		build.path = filepath.Join(build.dir, "earshot")
		out, err := exec.Command("go", "build", "-o", build.path, "../../cmd/earshot").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// Review texts: negatives carry a 1/5 rating (the scorer's rating rule
// makes them negative whatever the language), positives 5/5.
var (
	negTexts = []string{
		"The receptionist was rude and we waited two hours for our room. Never again.",
		"Dirty bathroom, broken air conditioning, and nobody at the desk cared.",
		"They charged my card twice and refused to refund it. Terrible service.",
		"Cold food, slow service, and the manager shouted at us.",
	}
	posTexts = []string{
		"Lovely stay, friendly staff and a spotless room. We will be back!",
		"Great breakfast and a very helpful concierge.",
	}
)

// writeReviews writes n reviews (every third... by negEvery) as a JSONL
// file for the import source and returns how many are negative. Ids are
// prefix:i, authors distinct (one story, one case each).
func writeReviews(t *testing.T, path, prefix string, n, negPercent int, seed uint64) int {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	neg := 0
	base := time.Now().Add(-24 * time.Hour).UTC()
	for i := 0; i < n; i++ {
		isNeg := r.IntN(100) < negPercent
		text, rating := posTexts[r.IntN(len(posTexts))], 5
		if isNeg {
			text, rating = negTexts[r.IntN(len(negTexts))], 1
			neg++
		}
		loc := []string{"Zagreb", "Manila"}[i%2]
		if err := enc.Encode(map[string]any{
			"id": fmt.Sprintf("%s:%d", prefix, i), "text": fmt.Sprintf("%s (#%d)", text, i), "rating": rating, "rating_max": 5,
			"author": fmt.Sprintf("%s guest %d", prefix, i), "lang": "en", "brand": "Acme", "location": loc,
			"url":          fmt.Sprintf("https://reviews.example/%s/%d", prefix, i),
			"published_at": base.Add(time.Duration(i) * time.Second).Format(time.RFC3339),
		}); err != nil {
			t.Fatal(err)
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // the source never sees half a file
		t.Fatal(err)
	}
	return neg
}

// sink is a webhook receiver that records every accepted delivery by case
// id, and can misbehave on purpose.
type sink struct {
	srv *httptest.Server

	mu       sync.Mutex
	accepted map[string]int // case id -> accepted deliveries
	keys     map[string]int // Idempotency-Key -> accepted deliveries
	requests int
	// Chaos, all off by default: per request, fail with 429 or 500 with
	// this probability, hang this long with that probability.
	failPercent int
	hangPercent int
	hang        time.Duration
	rng         *rand.Rand
	// onRequest runs after the request is read and before it is answered
	// (the crash matrix kills earshot here: the documented window).
	onRequest func()
	blockAll  chan struct{} // non-nil: every request waits for it to close
	// acceptThenHang: record the delivery, then never answer (the
	// receiver took it, the sender cannot know).
	acceptThenHangPercent int
}

func (s *sink) set(f func(s *sink)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func newSink(t *testing.T) *sink {
	s := &sink{accepted: map[string]int{}, keys: map[string]int{}, rng: rand.New(rand.NewPCG(1, 2))}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		return
	}
	var p struct {
		Cases []struct {
			ID string `json:"id"`
		} `json:"cases"`
		More []string `json:"more_case_ids"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests++
	fail := s.failPercent > 0 && s.rng.IntN(100) < s.failPercent
	hang := s.hangPercent > 0 && s.rng.IntN(100) < s.hangPercent
	hook, block := s.onRequest, s.blockAll
	acceptHang := s.acceptThenHangPercent > 0 && s.rng.IntN(100) < s.acceptThenHangPercent
	status := []int{http.StatusTooManyRequests, http.StatusInternalServerError}[s.rng.IntN(2)]
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	if hook != nil {
		hook()
	}
	if hang && !acceptHang {
		select {
		case <-time.After(s.hang):
		case <-r.Context().Done():
		}
		return // no answer: the sender's outcome is unknown (it was not accepted here)
	}
	if fail {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(status)
		return
	}
	s.mu.Lock()
	for _, c := range p.Cases {
		s.accepted[c.ID]++
	}
	for _, id := range p.More {
		s.accepted[id]++
	}
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		s.keys[k]++
	}
	hangFor := s.hang
	s.mu.Unlock()
	if acceptHang {
		select {
		case <-time.After(hangFor):
		case <-r.Context().Done():
		}
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// counts returns a copy of the accepted deliveries per case.
func (s *sink) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.accepted))
	for k, v := range s.accepted {
		out[k] = v
	}
	return out
}

// setup is one test's world: a database, a work dir, a config.
type setup struct {
	t      *testing.T
	db     *chtest.DB
	dir    string
	config string
	inbox  string // the import source's folder
	sink   *sink
}

type configOpts struct {
	jetstream  string // ws:// URL of a Jetstream fake; "" no push source
	groupBy    string // route group_by, e.g. "[location]"; "" none
	groupWait  string // default 1ms
	schedule   string // the import source's schedule; default @every 1s
	listen     string // server.listen; default 127.0.0.1:0
	extraRoute string
}

func newSetup(t *testing.T, o configOpts) *setup {
	t.Helper()
	s := &setup{t: t, db: chtest.New(t), dir: t.TempDir(), sink: newSink(t)}
	s.inbox = filepath.Join(s.dir, "inbox")
	if err := os.MkdirAll(s.inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	if o.groupWait == "" {
		o.groupWait = "1ms" // 0s would mean "unset": the 30s default
	}
	if o.schedule == "" {
		o.schedule = "@every 1s"
	}
	if o.listen == "" {
		o.listen = "127.0.0.1:0"
	}
	groupBy := ""
	if o.groupBy != "" {
		groupBy = "\n  group_by: " + o.groupBy
	}
	var b strings.Builder
	fmt.Fprintf(&b, `clickhouse:
  dsn: %s
  spool_dir: %s
  batch_size: 500
  flush_interval: 500ms
collect:
  allow_private_networks: true
server:
  listen: %s
brands:
  - name: Acme
    keywords: [acme]
    locations:
      - {name: Zagreb}
      - {name: Manila}
sources:
  - name: exports
    kind: import
    brand: Acme
    schedule: "%s"
    path: %s/*.jsonl
`, s.db.DSN, filepath.Join(s.dir, "spool"), o.listen, o.schedule, s.inbox)
	if o.jetstream != "" {
		fmt.Fprintf(&b, `  - name: firehose
    kind: bluesky-stream
    brand: Acme
    url: %s
`, o.jetstream)
	}
	fmt.Fprintf(&b, `receivers:
  - name: desk
    kind: webhook
    url: %s/hook
route:
  receiver: desk%s
  group_wait: %s
  group_interval: 1s
%s`, s.sink.srv.URL, groupBy, o.groupWait, o.extraRoute)
	s.config = filepath.Join(s.dir, "earshot.yaml")
	if err := os.WriteFile(s.config, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := s.run(time.Minute, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	return s
}

// proc is a running earshot process.
type proc struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan error
}

// start runs earshot with the setup's config; output is kept for failures.
func (s *setup) start(args ...string) *proc {
	s.t.Helper()
	cmd := exec.Command(binary(s.t), append([]string{"--config", s.config, "--log-level", "debug"}, args...)...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "EARSHOT_CLICKHOUSE=")
	var out bytes.Buffer
	lw := &lockedWriter{w: &out} // one writer: both streams share the buffer
	cmd.Stdout, cmd.Stderr = lw, lw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	p := &proc{cmd: cmd, out: &out, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	s.t.Cleanup(func() { p.kill() })
	return p
}

// run runs earshot to completion (bounded) and returns its exit error.
func (s *setup) run(timeout time.Duration, args ...string) (string, error) {
	s.t.Helper()
	p := s.start(args...)
	select {
	case err := <-p.done:
		p.done <- err
		return p.out.String(), err
	case <-time.After(timeout):
		p.kill()
		s.t.Fatalf("earshot %v did not finish in %s:\n%s", args, timeout, p.output())
		return "", nil
	}
}

// kill sends SIGKILL, as a crash or an OOM kill would, and waits.
func (p *proc) kill() {
	select {
	case err := <-p.done: // already exited and reaped: its pid may be someone else's now
		p.done <- err
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	err := <-p.done
	p.done <- err
}

// stop sends SIGTERM and waits up to 30 s.
func (p *proc) stop(t *testing.T) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(30 * time.Second):
		p.kill()
		t.Errorf("earshot did not stop within 30s of SIGTERM:\n%s", p.output())
	}
}

func (p *proc) output() string {
	if lw, ok := p.cmd.Stderr.(*lockedWriter); ok {
		lw.mu.Lock()
		defer lw.mu.Unlock()
	}
	return p.out.String()
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// count runs a count query.
func (s *setup) count(q string) uint64 { return s.db.Count(s.t, q) }

// waitFor polls cond every 100 ms until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// verdict is what the promises come to after a test.
type verdict struct {
	mentions, negatives      uint64
	duplicateRows            uint64 // rows after FINAL beyond one per id
	negativesWithoutCase     uint64
	casesWithoutDelivery     int
	casesDeliveredTwice      int
	countedDuplicates        uint64 // cases in alert_deliveries rows marked duplicate = 1
	unknownOutcomes          uint64
	extraDeliveriesUncounted int // deliveries beyond one per case not covered by counted duplicates
}

// check reads the database and the sink and reports the verdict.
func (s *setup) check() verdict {
	s.t.Helper()
	var v verdict
	v.mentions = s.count("SELECT count() FROM mentions FINAL")
	v.duplicateRows = v.mentions - s.count("SELECT uniqExact(id) FROM mentions FINAL")
	v.negatives = s.count("SELECT count() FROM mentions FINAL WHERE negative = 1")
	v.negativesWithoutCase = s.count(`SELECT count() FROM mentions FINAL WHERE negative = 1
		AND concat('case:', if(story_id != '', story_id, id)) NOT IN (SELECT case_id FROM case_events WHERE event = 'opened')`)
	v.countedDuplicates = s.count("SELECT sum(length(case_ids)) FROM alert_deliveries WHERE duplicate = 1 AND status = 'attempt'")
	v.unknownOutcomes = s.count("SELECT count() FROM alert_deliveries WHERE status = 'unknown'")
	got := s.sink.counts()
	rows, err := s.db.Conn.Query(context.Background(), `SELECT DISTINCT concat('case:', if(story_id != '', story_id, id)) FROM mentions FINAL WHERE negative = 1`)
	if err != nil {
		s.t.Fatal(err)
	}
	extra := 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			s.t.Fatal(err)
		}
		switch n := got[id]; {
		case n == 0:
			v.casesWithoutDelivery++
		case n > 1:
			v.casesDeliveredTwice++
			extra += n - 1
		}
	}
	rows.Close()
	if uint64(extra) > v.countedDuplicates {
		v.extraDeliveriesUncounted = extra - int(v.countedDuplicates)
	}
	return v
}
