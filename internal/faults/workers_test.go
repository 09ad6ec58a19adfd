package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/zklocal"
	"github.com/earshot/earshot/storage/chtest"
)

// The local review site of the worker tests: 1,000 pages of 10 JSON-LD
// reviews, cut into chains of pages, one chain per schemaorg source.
const (
	siteChains    = 10
	chainPages    = 100
	reviewsOnPage = 10
	gatePage      = 41 // pages from here wait while the site is held: every pass is then mid-way
)

// site serves /c<chain>/p<page>; while held, pages from gate on wait
// until release (or until the fetching process dies).
type site struct {
	srv                 *httptest.Server
	chains, pages, gate int
	latency             time.Duration // per page: a real site's answer time

	mu       sync.Mutex
	held     chan struct{} // nil: not held
	waiting  map[int]int   // chain -> requests waiting at the gate
	lastPage map[int]time.Time
	starts   map[int][]time.Time // chain -> when its first page was served, each pass
}

func newSite(t testing.TB, chains, pages, gate int) *site {
	s := &site{chains: chains, pages: pages, gate: gate, held: make(chan struct{}), waiting: map[int]int{}, lastPage: map[int]time.Time{},
		starts: map[int][]time.Time{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	t.Cleanup(s.release)
	return s
}

func (s *site) serve(w http.ResponseWriter, r *http.Request) {
	var c, n int
	if _, err := fmt.Sscanf(r.URL.Path, "/c%d/p%d", &c, &n); err != nil || c < 0 || c >= s.chains || n < 1 || n > s.pages {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	held := s.held
	if n == 1 {
		s.starts[c] = append(s.starts[c], time.Now())
	}
	if held != nil && n >= s.gate {
		s.waiting[c]++
	}
	s.mu.Unlock()
	if held != nil && n >= s.gate {
		select {
		case <-held:
		case <-r.Context().Done():
		}
		s.mu.Lock()
		s.waiting[c]--
		s.mu.Unlock()
		if r.Context().Err() != nil {
			return
		}
	}
	if s.latency > 0 {
		time.Sleep(s.latency)
	}
	var items []string
	for i := 0; i < reviewsOnPage; i++ {
		// One negative (1/5) a page, the rest 4-5/5; distinct authors, so
		// every negative is its own story and case.
		rating := 4 + i%2
		body := "Lovely room and a friendly desk."
		if i == 0 {
			rating, body = 1, "Rude staff, a dirty room and we waited two hours to check in."
		}
		items = append(items, fmt.Sprintf(`{"@type":"Review","@id":"c%d-p%d-r%d","author":"guest %d-%d-%d","reviewBody":"%s (%d/%d/%d)","reviewRating":{"ratingValue":"%d","bestRating":"5"}}`,
			c, n, i, c, n, i, body, c, n, i, rating))
	}
	next := ""
	if n < s.pages {
		next = fmt.Sprintf(`<link rel="next" href="/c%d/p%d">`, c, n+1)
	}
	fmt.Fprintf(w, `<html lang="en"><head>%s<script type="application/ld+json">{"@type":"Hotel","name":"Acme Zagreb","review":[%s]}</script></head><body>%s</body></html>`,
		next, strings.Join(items, ","), strings.Repeat("<p>filler text of a real page</p>", 50))
	if n == s.pages {
		s.mu.Lock()
		s.lastPage[c] = time.Now()
		s.mu.Unlock()
	}
}

// release lets every waiting and later request through.
func (s *site) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held != nil {
		close(s.held)
		s.held = nil
	}
}

// allWaiting: every chain has exactly one pass waiting at the gate.
func (s *site) allWaiting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := 0; c < s.chains; c++ {
		if s.waiting[c] != 1 {
			return false
		}
	}
	return true
}

func chainSource(c int) string { return fmt.Sprintf("site-%02d", c) }

// workerBody is /readyz with a coordinated worker's part.
type workerBody struct {
	Ready       bool     `json:"ready"`
	Reasons     []string `json:"reasons"`
	Dispatching bool     `json:"dispatching"`
	Workers     *struct {
		ID      string   `json:"id"`
		Members []string `json:"members"`
		Leader  string   `json:"leader"`
		Leading bool     `json:"leading"`
		Joined  bool     `json:"joined"`
		Owned   []string `json:"owned_sources"`
	} `json:"workers"`
}

func workerReadyz(addr string) (workerBody, error) {
	var b workerBody
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return b, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return b, err
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, fmt.Errorf("readyz body %q: %w", raw, err)
	}
	if b.Workers == nil {
		return b, fmt.Errorf("readyz has no workers part: %s", raw)
	}
	return b, nil
}

// TestThreeWorkers runs 3 `earshot run` workers meeting in a real
// ZooKeeper on the local 1,000-page site (10 sources) and the 4 demo
// sources. Every pass is held mid-way (page 41 of 100) until one worker is
// killed with SIGKILL: its sources must be collected again by the others
// within a minute, and in the end every mention is stored once and every
// case alerted once (counted at the receiver). The short version kills a
// worker that is not the dispatcher; the long one (EARSHOT_FAULTS_LONG)
// also kills the dispatcher, whose role must move too.
func TestThreeWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper, clickhouse-server and earshot processes")
	}
	victims := []string{"member"}
	if long() {
		victims = append(victims, "dispatcher")
	}
	for _, victim := range victims {
		t.Run("kill-"+victim, func(t *testing.T) { threeWorkers(t, victim == "dispatcher") })
	}
}

func threeWorkers(t *testing.T, killLeader bool) {
	began := time.Now()
	zk := zklocal.ForTest(t)
	st := newSite(t, siteChains, chainPages, gatePage)
	s := &setup{t: t, db: chtest.New(t), dir: t.TempDir(), sink: newSink(t)}
	var srcs strings.Builder
	for c := 0; c < siteChains; c++ {
		fmt.Fprintf(&srcs, "  - {name: %s, kind: schemaorg, brand: Acme, location: Zagreb, schedule: \"@every 1h\", urls: [\"%s/c%d/p1\"], max_pages: %d}\n",
			chainSource(c), st.srv.URL, c, chainPages)
	}
	demos := []string{"zagreb", "yerevan", "mumbai", "manila"}
	for _, d := range demos {
		fmt.Fprintf(&srcs, "  - {name: demo-%s, kind: demo, brand: Acme, schedule: \"@every 1h\", site: %s}\n", d, d)
	}
	base := fmt.Sprintf(`clickhouse:
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
  listen: LISTEN
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
`, s.db.DSN, filepath.Join(s.dir, "spool"), zk.Addr(), srcs.String(), s.sink.srv.URL)
	var addrs [3]string
	var configs [3]string
	for i := range addrs {
		addrs[i] = freeAddr(t)
		configs[i] = filepath.Join(s.dir, fmt.Sprintf("earshot-%d.yaml", i))
		// One spool per worker: a spool is one process's.
		cfg := strings.Replace(base, "LISTEN", addrs[i], 1)
		cfg = strings.Replace(cfg, filepath.Join(s.dir, "spool"), filepath.Join(s.dir, fmt.Sprintf("spool-%d", i)), 1)
		if err := os.WriteFile(configs[i], []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.config = configs[0]
	if out, err := s.run(time.Minute, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	var ws [3]*proc
	for i := range ws {
		ws[i] = s.startWith(configs[i], "run")
	}
	dump := func() {
		for i, w := range ws {
			t.Logf("worker %d:\n%s", i, tailLines(w.output(), 60))
		}
	}
	for i, w := range ws {
		waitReady(t, w, addrs[i], 90*time.Second)
	}
	// The pool settles: 3 members, every source owned by exactly one, one
	// dispatcher, and every chain's pass waiting at the gate.
	var views [3]workerBody
	settled := func() bool {
		owners := map[string]int{}
		leaders := 0
		for i := range addrs {
			b, err := workerReadyz(addrs[i])
			if err != nil || len(b.Workers.Members) != 3 || !b.Workers.Joined {
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
		if leaders != 1 || len(owners) != siteChains+len(demos) {
			return false
		}
		for _, n := range owners {
			if n != 1 {
				return false
			}
		}
		return st.allWaiting()
	}
	if !waitUntil(90*time.Second, settled) {
		dump()
		t.Fatalf("the pool did not settle within 90s (3 members, each source owned once, one dispatcher, every pass mid-way); views %+v", views)
	}
	// Settled twice, 3 s apart: the passes waiting are the owners' (a pass
	// of a source that moved is stopped within the settle time).
	time.Sleep(3 * time.Second)
	if !settled() {
		dump()
		t.Fatalf("the pool changed after it had settled; views %+v", views)
	}
	leader := -1
	for i, v := range views {
		if v.Workers.Leading {
			leader = i
		}
		t.Logf("worker %d (%s): leading=%v owns %v", i, v.Workers.ID, v.Workers.Leading, v.Workers.Owned)
	}
	// The victim: the dispatcher, or the other worker that owns the most
	// chains of the site.
	victim := leader
	if !killLeader {
		victim = -1
		for i, v := range views {
			if i != leader && (victim < 0 || chainsOf(v.Workers.Owned) > chainsOf(views[victim].Workers.Owned)) {
				victim = i
			}
		}
	}
	lost := views[victim].Workers.Owned
	if chainsOf(lost) == 0 {
		t.Fatalf("worker %d owns no chain of the site (%v): nothing to take over", victim, lost)
	}
	// The stored half-passes are alerted before the kill, so that nothing
	// is in flight at the receiver when a dispatcher dies.
	negCases := func() (uint64, error) {
		return countTolerant(s, "SELECT uniqExact(if(story_id != '', story_id, id)) FROM mentions FINAL WHERE negative = 1")
	}
	if !waitUntil(60*time.Second, func() bool {
		n, err := negCases()
		return err == nil && n > 0 && s.sink.deliveredCases() == int(n)
	}) {
		dump()
		t.Fatalf("the cases of the first half-passes were not all alerted within 60s (%d delivered)", s.sink.deliveredCases())
	}
	st.mu.Lock()
	startsBefore := map[int]int{}
	for c := range siteChains {
		startsBefore[c] = len(st.starts[c])
	}
	st.mu.Unlock()
	ws[victim].kill()
	killedAt := time.Now()
	st.release()
	t.Logf("killed worker %d (%s, dispatcher: %v) mid-pass, owning %v; %s after start", victim, views[victim].Workers.ID, victim == leader, lost,
		killedAt.Sub(began).Round(time.Millisecond))
	survivors := []int{}
	for i := range ws {
		if i != victim {
			survivors = append(survivors, i)
		}
	}
	if killLeader {
		// The dispatcher's role moves: a survivor is elected once the
		// victim's session expires.
		by := -1
		if !waitUntil(30*time.Second, func() bool {
			for _, i := range survivors {
				if b, err := workerReadyz(addrs[i]); err == nil && b.Workers.Leading && b.Dispatching {
					by = i
					return true
				}
			}
			return false
		}) {
			dump()
			t.Fatalf("no survivor became the dispatcher within 30s of the kill")
		}
		t.Logf("worker %d is the dispatcher %s after the kill", by, time.Since(killedAt).Round(time.Millisecond))
	}
	// Its chains are crawled again, from page 1 to 100, by a survivor.
	var tookOver time.Duration
	if !waitUntil(90*time.Second, func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		for _, src := range lost {
			c, ok := chainOf(src)
			if !ok {
				continue
			}
			if len(st.starts[c]) <= startsBefore[c] || !st.lastPage[c].After(st.starts[c][len(st.starts[c])-1]) {
				return false
			}
		}
		tookOver = time.Since(killedAt)
		return true
	}) {
		dump()
		t.Fatalf("the killed worker's chains %v were not crawled again to their end within 90s", lost)
	}
	t.Logf("the killed worker's sources were collected in full by the others %s after the kill", tookOver.Round(time.Millisecond))
	if tookOver > time.Minute {
		t.Errorf("takeover took %s, want under a minute", tookOver)
	}
	// Everything stored and alerted.
	want := uint64(siteChains * chainPages * reviewsOnPage)
	allIn := func() bool {
		n, err := countTolerant(s, "SELECT count() FROM mentions FINAL WHERE source LIKE 'site-%'")
		if err != nil || n != want {
			return false
		}
		d, err := countTolerant(s, "SELECT uniqExact(source) FROM collection_runs WHERE source LIKE 'demo-%' AND status = 'ok'")
		if err != nil || d != uint64(len(demos)) {
			return false
		}
		c, err := negCases()
		return err == nil && s.sink.deliveredCases() == int(c)
	}
	if !waitUntil(60*time.Second, allIn) {
		dump()
		n, _ := countTolerant(s, "SELECT count() FROM mentions FINAL WHERE source LIKE 'site-%'")
		c, _ := negCases()
		t.Fatalf("not everything stored and alerted within 60s of the takeover: %d of %d site mentions, %d of %d cases delivered", n, want, s.sink.deliveredCases(), c)
	}
	for _, i := range survivors {
		ws[i].stop(t)
	}
	v := s.check()
	raw := s.count("SELECT count() FROM mentions")
	// Who collected the lost sources in the end: a survivor, recorded.
	var rows []string
	r, err := s.db.Conn.Query(t.Context(), "SELECT source, worker, toString(status) FROM collection_runs ORDER BY source, started_at")
	if err != nil {
		t.Fatal(err)
	}
	okBy := map[string][]string{}
	for r.Next() {
		var src, w, status string
		if err := r.Scan(&src, &w, &status); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, src+" "+w+" "+status)
		if status == "ok" {
			okBy[src] = append(okBy[src], w)
		}
	}
	r.Close()
	// Every source has one complete pass: the victim's chains (held
	// mid-pass when it died) by a survivor; a source whose pass had
	// ended (the demo) is not collected again before its schedule.
	for c := range siteChains {
		src := chainSource(c)
		if len(okBy[src]) != 1 {
			t.Errorf("source %s: ok passes by %v, want one", src, okBy[src])
		} else if slices.Contains(lost, src) && okBy[src][0] == views[victim].Workers.ID {
			t.Errorf("source %s: its pass was completed by the killed worker %s", src, okBy[src][0])
		}
	}
	for _, d := range demos {
		if n := len(okBy["demo-"+d]); n != 1 {
			t.Errorf("source demo-%s: %d ok passes, want one", d, n)
		}
	}
	sent := 0
	for _, w := range ws {
		sent += strings.Count(w.output(), `msg="alert sent"`)
	}
	t.Logf("end: %d mentions (%d rows before merging), %d negative; %d cases delivered in %d messages, %d twice, %d counted possible duplicates; took %s",
		v.mentions, raw, v.negatives, s.sink.deliveredCases(), sent, v.casesDeliveredTwice, v.countedDuplicates, time.Since(began).Round(time.Millisecond))
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
	// Only a dispatcher sends: the others' logs have no sent alert.
	for i, w := range ws {
		out := w.output()
		if i != leader && !(killLeader && i != victim) && strings.Contains(out, `msg="alert sent"`) {
			t.Errorf("worker %d sent alerts but was never the dispatcher", i)
		}
	}
	if t.Failed() {
		t.Logf("collection runs:\n%s", strings.Join(rows, "\n"))
		dump()
	}
}

func chainOf(src string) (int, bool) {
	rest, ok := strings.CutPrefix(src, "site-")
	if !ok {
		return 0, false
	}
	c, err := strconv.Atoi(rest)
	return c, err == nil
}

func chainsOf(srcs []string) int {
	return len(slices.DeleteFunc(slices.Clone(srcs), func(s string) bool { _, ok := chainOf(s); return !ok }))
}
