package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
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

	"github.com/earshot/earshot/internal/zklocal"
	"github.com/earshot/earshot/storage/chtest"
)

// BenchmarkWorkers measures collection and import throughput of 1, 2 and
// 3 `earshot run` workers sharing one database through a real ZooKeeper,
// in one run, and reports 2 and 3 workers as ratios to 1 (x_vs_1).
// Collection: 12 schemaorg sources over a local site of 600 pages (20 ms
// a page, as a remote site answers); import: 12 import sources of 1,000
// rows each. Run with -benchtime 1x: one iteration is a whole cluster.
// On one 2-core machine the workers, ClickHouse and ZooKeeper share the
// same cores, so the ratios show the split's overhead and balance, not
// the speed-up separate machines give.
func BenchmarkWorkers(b *testing.B) {
	if testing.Short() {
		b.Skip("starts ZooKeeper, ClickHouse and earshot processes")
	}
	bin := benchBinary(b)
	var base [2]float64 // pages/s, rows/s with 1 worker
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			var pagesPerSec, rowsPerSec float64
			for i := 0; i < b.N; i++ {
				pagesPerSec, rowsPerSec = benchCluster(b, bin, n)
			}
			b.ReportMetric(pagesPerSec, "pages/s")
			b.ReportMetric(rowsPerSec, "import-rows/s")
			if n == 1 {
				base = [2]float64{pagesPerSec, rowsPerSec}
			} else if base[0] > 0 {
				b.ReportMetric(pagesPerSec/base[0], "collect_x_vs_1")
				b.ReportMetric(rowsPerSec/base[1], "import_x_vs_1")
			}
		})
	}
}

const (
	benchPages, benchChains, benchImports, benchRows = 600, 12, 12, 1000
)

// benchCluster starts n workers and returns collection (pages/s) and
// import (rows/s) throughput.
func benchCluster(b *testing.B, bin string, n int) (float64, float64) {
	b.StopTimer()
	site := newBenchSite(b, benchPages, benchChains, 20*time.Millisecond)
	db, zk, dir := chtest.New(b), zklocal.ForTest(b), b.TempDir()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	b.Cleanup(hook.Close)
	addrs := make([]string, n)
	configs := make([]string, n)
	for i := range configs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addrs[i] = l.Addr().String()
		l.Close()
		var sb strings.Builder
		fmt.Fprintf(&sb, "clickhouse: {dsn: %q, spool_dir: %q, batch_size: 1000, flush_interval: 500ms}\n", db.DSN, filepath.Join(dir, fmt.Sprintf("spool-%d", i)))
		fmt.Fprintf(&sb, "coordination: {zookeeper: [%q]}\ncollect: {allow_private_networks: true, host_delay: 1ms}\nserver: {listen: %q}\n", zk.Addr(), addrs[i])
		sb.WriteString("brands: [{name: Acme, locations: [{name: Zagreb}, {name: Manila}]}]\nsources:\n")
		for c := 0; c < benchChains; c++ {
			fmt.Fprintf(&sb, "  - {name: site-%02d, kind: schemaorg, brand: Acme, location: Zagreb, schedule: \"@every 1h\", urls: [\"%s/c%d/p1\"], max_pages: 1000}\n", c, site.srv.URL, c)
		}
		for k := 0; k < benchImports; k++ {
			fmt.Fprintf(&sb, "  - {name: import-%02d, kind: import, brand: Acme, schedule: \"@every 1s\", path: %q}\n", k, filepath.Join(dir, fmt.Sprintf("inbox-%02d", k), "*.jsonl"))
		}
		fmt.Fprintf(&sb, "receivers: [{name: desk, kind: webhook, url: %q}]\nroute: {receiver: desk, group_by: [location], group_wait: 1s}\n", hook.URL+"/hook")
		configs[i] = filepath.Join(dir, fmt.Sprintf("earshot-%d.yaml", i))
		if err := os.WriteFile(configs[i], []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for k := 0; k < benchImports; k++ {
		if err := os.MkdirAll(filepath.Join(dir, fmt.Sprintf("inbox-%02d", k)), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if out, err := exec.Command(bin, "--config", configs[0], "migrate").CombinedOutput(); err != nil {
		b.Fatalf("migrate: %v\n%s", err, out)
	}
	for i := range configs {
		cmd := exec.Command(bin, "--config", configs[i], "run")
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "EARSHOT_CLICKHOUSE=")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &lockedWriter{w: &out}, &lockedWriter{w: &out}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		p := &proc{cmd: cmd, out: &out, done: make(chan error, 1)}
		go func() { p.done <- cmd.Wait() }()
		b.Cleanup(p.kill)
	}
	if !waitUntil(90*time.Second, func() bool {
		for _, a := range addrs {
			st, err := benchWorker(a)
			if err != nil || !st.Joined || len(st.Members) != n {
				return false
			}
		}
		return true
	}) {
		b.Fatalf("%d workers did not join within 90s", n)
	}
	time.Sleep(3 * time.Second) // past the workers' settle time: the split is final
	count := func(q string) uint64 {
		var v uint64
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = db.Conn.QueryRow(ctx, q).Scan(&v)
		return v
	}

	b.StartTimer()
	start := time.Now()
	site.open()
	if !waitUntil(5*time.Minute, func() bool { return count("SELECT count() FROM mentions WHERE source LIKE 'site-%'") >= 10*benchPages }) {
		b.Fatalf("collection not complete in 5m: %d of %d", count("SELECT count() FROM mentions WHERE source LIKE 'site-%'"), 10*benchPages)
	}
	collect := time.Since(start)
	start = time.Now()
	for k := 0; k < benchImports; k++ {
		benchReviews(b, filepath.Join(dir, fmt.Sprintf("inbox-%02d", k), "rows.jsonl"), fmt.Sprintf("i%d", k), benchRows)
	}
	if !waitUntil(5*time.Minute, func() bool {
		return count("SELECT count() FROM mentions WHERE source LIKE 'import-%'") >= benchImports*benchRows
	}) {
		b.Fatalf("import not complete in 5m: %d of %d", count("SELECT count() FROM mentions WHERE source LIKE 'import-%'"), benchImports*benchRows)
	}
	imp := time.Since(start)
	b.StopTimer()
	return float64(benchPages) / collect.Seconds(), float64(benchImports*benchRows) / imp.Seconds()
}

func benchBinary(tb testing.TB) string {
	path := filepath.Join(tb.TempDir(), "earshot")
	if out, err := exec.Command("go", "build", "-o", path, "../../cmd/earshot").CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return path
}

// benchWorker reads the "workers" part of a worker's /readyz.
func benchWorker(addr string) (struct {
	Joined  bool     `json:"joined"`
	Members []string `json:"members"`
}, error) {
	var body struct {
		Workers struct {
			Joined  bool     `json:"joined"`
			Members []string `json:"members"`
		} `json:"workers"`
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return body.Workers, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&body)
	return body.Workers, err
}

// benchReviews writes n JSONL reviews, one in five negative.
func benchReviews(tb testing.TB, path, prefix string, n int) {
	r := rand.New(rand.NewPCG(uint64(len(prefix)), 3))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := 0; i < n; i++ {
		text, rating := posTexts[r.IntN(len(posTexts))], 5
		if i%5 == 0 {
			text, rating = negTexts[r.IntN(len(negTexts))], 1
		}
		_ = enc.Encode(map[string]any{"id": fmt.Sprintf("%s:%d", prefix, i), "text": fmt.Sprintf("%s (#%d)", text, i), "rating": rating,
			"rating_max": 5, "author": fmt.Sprintf("%s guest %d", prefix, i), "lang": "en", "brand": "Acme", "location": "Manila",
			"published_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// benchSite is the benchmark's review site: pages in chains (one source
// each) behind a gate, 10 JSON-LD reviews a page, each page after delay.
type benchSite struct {
	srv    *httptest.Server
	chains []int
	delay  time.Duration
	once   sync.Once
	gate   chan struct{}
}

func newBenchSite(tb testing.TB, pages, chains int, delay time.Duration) *benchSite {
	s := &benchSite{delay: delay, gate: make(chan struct{})}
	for c := 0; c < chains; c++ {
		n := pages / chains
		if c < pages%chains {
			n++
		}
		s.chains = append(s.chains, n)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	tb.Cleanup(s.open)
	return s
}

func (s *benchSite) open() { s.once.Do(func() { close(s.gate) }) }

func (s *benchSite) serve(w http.ResponseWriter, r *http.Request) {
	var c, n int
	if _, err := fmt.Sscanf(r.URL.Path, "/c%d/p%d", &c, &n); err != nil || c < 0 || c >= len(s.chains) || n < 1 || n > s.chains[c] {
		http.NotFound(w, r)
		return
	}
	select {
	case <-s.gate:
	case <-r.Context().Done():
		return
	}
	select {
	case <-time.After(s.delay):
	case <-r.Context().Done():
		return
	}
	var items []string
	for i := 0; i < 10; i++ {
		rating := 5 - i%5
		body := "a lovely stay and friendly staff."
		if rating == 1 {
			body = "rude staff, a dirty room and we waited two hours. Never again."
		}
		items = append(items, fmt.Sprintf(`{"@type":"Review","@id":"c%d-p%d-r%d","author":"guest c%d p%d r%d","reviewBody":"Review %d on page %d of chain %d: %s","reviewRating":{"ratingValue":"%d","bestRating":"5"}}`,
			c, n, i, c, n, i, i, n, c, body, rating))
	}
	next := ""
	if n < s.chains[c] {
		next = fmt.Sprintf(`<link rel="next" href="/c%d/p%d">`, c, n+1)
	}
	fmt.Fprintf(w, `<html lang="en"><head>%s<script type="application/ld+json">{"@type":"Hotel","name":"Acme %d","review":[%s]}</script></head><body></body></html>`,
		next, c, strings.Join(items, ","))
}
