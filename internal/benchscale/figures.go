package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/earshot/earshot/internal/benchdata"
)

// exampleConfig is the config `make run` uses; its demo sources are the
// collection figure's workload.
var exampleConfig = "earshot.example.yaml"

// demoConfig writes a copy of the example config whose files (spool,
// outbox, local server dir) live under the work dir, one set per name.
func (e *env) demoConfig(name string) (string, error) {
	b, err := os.ReadFile(exampleConfig)
	if err != nil {
		return "", fmt.Errorf("demo config: %w (run from the repository root)", err)
	}
	dir := filepath.Join(e.work, name)
	s := string(b)
	for from, to := range map[string]string{
		"local_dir: var/clickhouse": "local_dir: " + filepath.Join(dir, "clickhouse"),
		"spool_dir: var/spool":      "spool_dir: " + filepath.Join(dir, "spool"),
		"dir: var/outbox":           "dir: " + filepath.Join(dir, "outbox"),
	} {
		if !strings.Contains(s, from) {
			return "", fmt.Errorf("demo config: %s no longer has %q", exampleConfig, from)
		}
		s = strings.ReplaceAll(s, from, to)
	}
	return writeConfig(dir, s)
}

// benchConfig writes a config naming every generated brand and location
// (import refuses rows of unknown places), with an outbox receiver.
func (e *env) benchConfig(name string) (string, error) {
	dir := filepath.Join(e.work, name)
	var b strings.Builder
	fmt.Fprintf(&b, "clickhouse:\n  spool_dir: %s\n  local_dir: %s\nbrands:\n", filepath.Join(dir, "spool"), filepath.Join(dir, "clickhouse"))
	places := benchdata.Places()
	var brands []string
	for br := range places {
		brands = append(brands, br)
	}
	sort.Strings(brands)
	for _, br := range brands {
		fmt.Fprintf(&b, "  - name: %s\n    locations:\n", br)
		for _, l := range places[br] {
			fmt.Fprintf(&b, "      - name: %s\n", l)
		}
	}
	fmt.Fprintf(&b, `receivers:
  - name: outbox
    kind: outbox
    dir: %s
route:
  receiver: outbox
  group_by: [location]
  group_wait: 30s
  group_interval: 5m
`, filepath.Join(dir, "outbox"))
	return writeConfig(dir, b.String())
}

func writeConfig(dir, text string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	path := filepath.Join(dir, "earshot.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	return path, nil
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func secs(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// figCollect: `earshot collect` of the demo config on a copy of the 10M
// store and on an empty store, first pass and the second (nothing new).
func (e *env) figCollect(ctx context.Context) error {
	if err := cloneDB(ctx, e, dbLarge, dbWork); err != nil {
		return err
	}
	if err := e.freshDB(ctx, dbEmpty); err != nil {
		return err
	}
	var took [2][2]time.Duration // store, pass
	for i, db := range []string{dbWork, dbEmpty} {
		cfg, err := e.demoConfig("collect-" + db)
		if err != nil {
			return err
		}
		for pass := 0; pass < 2; pass++ {
			r, err := e.earshot(ctx, cfg, db, nil, nil, "collect")
			if err != nil {
				return err
			}
			took[i][pass] = r.wall
			if pass == 0 {
				e.logf("  collect on %s: %s", db, lastLines(r.out, 1))
			}
		}
	}
	for pass, what := range []string{"collect demo, pass 1 (10M vs empty)", "collect demo, pass 2: nothing new"} {
		e.add("1 collect", what, secs(took[0][pass]), secs(took[1][pass]),
			ratio(took[0][pass].Seconds(), took[1][pass].Seconds()), "<= 2x")
	}
	return nil
}

// cpuTicks is utime+stime of pid in clock ticks (/proc/<pid>/stat).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	// Fields after the command name, which may hold spaces, in parentheses.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return u + st, nil
}

// clkTck is USER_HZ, 100 on every Linux this runs on.
const clkTck = 100

// figIdle: `earshot run` on the 10M copy and on the empty store, after
// its start-up passes, for e.idle: clickhouse-server's CPU. Also the
// server alone, and the daemon's query metrics (figure 6).
func (e *env) figIdle(ctx context.Context) error {
	alone := min(e.idle, 20*time.Second)
	t0, err := cpuTicks(e.srv.PID)
	if err != nil {
		return err
	}
	sleep(ctx, alone)
	t1, err := cpuTicks(e.srv.PID)
	if err != nil {
		return err
	}
	aloneCPU := float64(t1-t0) / clkTck
	var cpu, own [2]float64
	var metrics [2]string
	for i, db := range []string{dbWork, dbEmpty} {
		if i == 0 {
			// figCollect made the copy; without it, make it now.
			if err := e.ensureDB(ctx, dbWork, func() error { return cloneDB(ctx, e, dbLarge, dbWork) }); err != nil {
				return err
			}
		} else if err := e.ensureDB(ctx, dbEmpty, func() error { return e.freshDB(ctx, dbEmpty) }); err != nil {
			return err
		}
		cfg, err := e.demoConfig("idle-" + db)
		if err != nil {
			return err
		}
		c, o, m, err := e.idleDaemon(ctx, cfg, db)
		if err != nil {
			return err
		}
		cpu[i], own[i], metrics[i] = c, o, m
	}
	pct := func(s float64, d time.Duration) string { return fmt.Sprintf("%.1f%% (%.2f s)", 100*s/d.Seconds(), s) }
	e.add("2 idle", fmt.Sprintf("clickhouse-server CPU, daemon idle %s (10M vs empty)", e.idle), pct(cpu[0], e.idle), pct(cpu[1], e.idle),
		ratio(cpu[0], cpu[1]), "< 5% of a core")
	e.add("2 idle", fmt.Sprintf("clickhouse-server CPU, no daemon %s", alone), pct(aloneCPU, alone), "", "", "(background)")
	e.add("2 idle", "earshot run's own CPU (10M vs empty)", pct(own[0], e.idle), pct(own[1], e.idle), ratio(own[0], own[1]), "")
	e.queryMetrics(metrics[0], metrics[1])
	return nil
}

// ensureDB runs make when db does not exist.
func (e *env) ensureDB(ctx context.Context, db string, make func() error) error {
	st, err := e.conn(ctx, "default")
	if err != nil {
		return err
	}
	defer st.Close()
	var n uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = 'mentions'", db).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	return make()
}

// idleDaemon starts `earshot run`, waits for its start-up passes, then
// returns the server's and the daemon's CPU seconds over e.idle and the
// daemon's /metrics at the end.
func (e *env) idleDaemon(ctx context.Context, cfg, db string) (chCPU, ownCPU float64, metrics string, err error) {
	port, err := freePort()
	if err != nil {
		return 0, 0, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(e.bin, "--config", cfg, "--clickhouse", e.srv.DSN(db), "--log-level", "warn", "run")
	cmd.Dir = e.work
	cmd.Env = append(os.Environ(), "EARSHOT_CLICKHOUSE="+e.srv.DSN(db), "EARSHOT_LISTEN="+addr, "EARSHOT_BASE_URL=http://"+addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(filepath.Join(e.work, "run-"+db+".log"))
	if err != nil {
		return 0, 0, "", err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return 0, 0, "", fmt.Errorf("earshot run: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		// SIGTERM is the daemon's orderly stop; kill it if it hangs.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}()
	url := "http://" + addr + "/metrics"
	// Ready when every demo source finished its start-up pass.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, _ := scrape(ctx, url)
		if strings.Count(m, "earshot_collect_passes_total{") >= 4 {
			break
		}
		select {
		case err := <-exited:
			exited <- err
			b, _ := os.ReadFile(logf.Name())
			return 0, 0, "", fmt.Errorf("earshot run exited: %v: %s", err, lastLines(string(b), 5))
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, 0, "", fmt.Errorf("earshot run: start-up passes not done within 2 min")
		}
		sleep(ctx, 500*time.Millisecond)
	}
	sleep(ctx, 3*time.Second) // the passes' writes and first dispatch settle
	c0, err := cpuTicks(e.srv.PID)
	if err != nil {
		return 0, 0, "", err
	}
	o0, err := cpuTicks(cmd.Process.Pid)
	if err != nil {
		return 0, 0, "", err
	}
	sleep(ctx, e.idle)
	if ctx.Err() != nil {
		return 0, 0, "", ctx.Err()
	}
	c1, err := cpuTicks(e.srv.PID)
	if err != nil {
		return 0, 0, "", err
	}
	o1, err := cpuTicks(cmd.Process.Pid)
	if err != nil {
		return 0, 0, "", err
	}
	metrics, _ = scrape(ctx, url)
	return float64(c1-c0) / clkTck, float64(o1-o0) / clkTck, metrics, nil
}

func scrape(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

var querySeries = regexp.MustCompile(`^(earshot_query\w*)_(sum|count)\{([^}]*)\} (\S+)$`)

// queryMetrics adds the daemons' per-query durations (figure 6): mean
// seconds per call of every earshot_query* histogram, 10M vs empty.
func (e *env) queryMetrics(large, empty string) {
	type agg struct{ sum, count float64 }
	parse := func(text string) map[string]agg {
		out := map[string]agg{}
		for _, line := range strings.Split(text, "\n") {
			m := querySeries.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			v, err := strconv.ParseFloat(m[4], 64)
			if err != nil {
				continue
			}
			k := m[1] + "{" + m[3] + "}"
			a := out[k]
			if m[2] == "sum" {
				a.sum = v
			} else {
				a.count = v
			}
			out[k] = a
		}
		return out
	}
	l, z := parse(large), parse(empty)
	if len(l) == 0 {
		e.add("6 metrics", "no earshot_query* metrics on /metrics", "-", "-", "", "")
		return
	}
	var keys []string
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a, b := l[k], z[k]
		mean := func(a agg) (float64, string) {
			if a.count == 0 {
				return 0, "-"
			}
			return a.sum / a.count, fmt.Sprintf("%.1f ms x%.0f", 1000*a.sum/a.count, a.count)
		}
		ma, sa := mean(a)
		mb, sb := mean(b)
		e.add("6 metrics", k+" mean (10M vs empty)", sa, sb, ratio(ma, mb), "")
	}
}

var sqlBlock = regexp.MustCompile("(?s)```sql\n(.*?)```")

// docQueries returns docs/queries.md's SQL blocks, each named by the
// heading above it.
func docQueries() ([][2]string, error) {
	b, err := os.ReadFile("docs/queries.md")
	if err != nil {
		return nil, fmt.Errorf("docs/queries.md: %w", err)
	}
	s := string(b)
	var out [][2]string
	for _, m := range sqlBlock.FindAllStringSubmatchIndex(s, -1) {
		title := "query"
		if h := strings.LastIndex(s[:m[0]], "\n## "); h >= 0 {
			title = strings.TrimSpace(strings.SplitN(s[h+4:], "\n", 2)[0])
		}
		out = append(out, [2]string{title, strings.TrimSpace(s[m[2]:m[3]])})
	}
	return out, nil
}

// figQueries: the CLI's reads and the analyst queries, 10M vs 1M, median
// of 3 (the first run is not discarded: caches are part of the cost).
func (e *env) figQueries(ctx context.Context) error {
	cfg, err := e.benchConfig("queries")
	if err != nil {
		return err
	}
	for _, c := range [][]string{{"report", "--since", "30d"}, {"cases", "list"}, {"cases", "list", "--state", "open"}} {
		var med [2]time.Duration
		for i, db := range []string{dbLarge, dbSmall} {
			var ds []time.Duration
			for k := 0; k < 3; k++ {
				r, err := e.earshot(ctx, cfg, db, nil, nil, c...)
				if err != nil {
					return err
				}
				ds = append(ds, r.wall)
			}
			med[i] = median(ds)
		}
		e.add("3 queries", "earshot "+strings.Join(c, " ")+" (10M vs 1M)", secs(med[0]), secs(med[1]),
			ratio(med[0].Seconds(), med[1].Seconds()), "<= 2x")
	}
	qs, err := docQueries()
	if err != nil {
		return err
	}
	for _, q := range qs {
		var med [2]time.Duration
		for i, db := range []string{dbLarge, dbSmall} {
			st, err := e.conn(ctx, db)
			if err != nil {
				return err
			}
			var ds []time.Duration
			for k := 0; k < 3; k++ {
				t := time.Now()
				rows, err := st.Conn().Query(ctx, q[1])
				if err != nil {
					st.Close()
					return fmt.Errorf("docs/queries.md %q: %w", q[0], err)
				}
				for rows.Next() {
				}
				err = rows.Err()
				rows.Close()
				if err != nil {
					st.Close()
					return fmt.Errorf("docs/queries.md %q: %w", q[0], err)
				}
				ds = append(ds, time.Since(t))
			}
			st.Close()
			med[i] = median(ds)
		}
		e.add("3 queries", "SQL: "+q[0], secs(med[0]), secs(med[1]), ratio(med[0].Seconds(), med[1].Seconds()), "<= 2x")
	}
	return nil
}

// genFile writes a generated file into the cache once (its name carries
// the generator version and options).
func (e *env) genFile(name string, write func(io.Writer) error) (string, error) {
	path := filepath.Join(e.dir, "files", strings.ReplaceAll(benchdata.Version, "/", "-")+"-"+name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", fmt.Errorf("generate %s: %w", name, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		f.Close()
		return "", fmt.Errorf("generate %s: %w", name, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return "", fmt.Errorf("generate %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("generate %s: %w", name, err)
	}
	return path, os.Rename(tmp, path)
}

// figImport: `earshot import` of n generated lines without and with
// scoring vs clickhouse-client inserting the same rows, and the end-to-end
// import with a config whose receiver is an outbox.
func (e *env) figImport(ctx context.Context, seed int64, n int) error {
	o := benchdata.Options{N: n, Seed: seed + 1}
	t := time.Now()
	export, err := e.genFile(fmt.Sprintf("export-%d-%d.jsonl", o.Seed, n), func(w io.Writer) error { return benchdata.WriteExport(w, o) })
	if err != nil {
		return err
	}
	each, err := e.genFile(fmt.Sprintf("each-%d-%d.json", o.Seed, n), func(w io.Writer) error { return benchdata.WriteJSONEachRow(w, o) })
	if err != nil {
		return err
	}
	if fi, err := os.Stat(export); err == nil {
		e.logf("  import files ready in %s (%d bytes/line)", time.Since(t).Round(time.Millisecond), fi.Size()/int64(n))
	}
	rate := func(d time.Duration) float64 { return float64(n) / d.Seconds() }
	var base time.Duration
	if e.client != "" {
		if err := e.freshDB(ctx, "scale_import_client"); err != nil {
			return err
		}
		f, err := os.Open(each)
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, e.client, "--host", "127.0.0.1", "--port", strconv.Itoa(e.srv.TCPPort), "-d", "scale_import_client",
			"-q", "INSERT INTO mentions ("+benchdata.Columns+") FORMAT JSONEachRow")
		cmd.Stdin = f
		start := time.Now()
		out, err := cmd.CombinedOutput()
		base = time.Since(start)
		f.Close()
		if err != nil {
			return fmt.Errorf("clickhouse-client insert: %w: %s", err, out)
		}
	}
	for _, v := range []struct {
		db, what, target string
		args             []string
		min              float64
	}{
		{"scale_import_noscore", "import --no-score", ">= 0.8x", []string{"import", "--no-score", export}, 0.8},
		{"scale_import_score", "import (scoring, no config)", ">= 0.4x", []string{"import", export}, 0.4},
	} {
		if err := e.freshDB(ctx, v.db); err != nil {
			return err
		}
		r, err := e.earshot(ctx, "", v.db, nil, nil, v.args...)
		if err != nil {
			return err
		}
		if err := e.checkCount(ctx, v.db, n); err != nil {
			return err
		}
		b, rt := "-", "-"
		if base > 0 {
			b, rt = fmt.Sprintf("%.0f rows/s", rate(base)), ratio(rate(r.wall), rate(base))
		}
		e.add("4 import", fmt.Sprintf("%s, %d lines vs clickhouse-client", v.what, n), fmt.Sprintf("%.0f rows/s", rate(r.wall)), b, rt, v.target)
	}
	// End to end: import, score, store, open cases, route them to the
	// outbox; wall time and peak RSS of the one process.
	cfg, err := e.benchConfig("e2e")
	if err != nil {
		return err
	}
	if err := e.freshDB(ctx, "scale_import_e2e"); err != nil {
		return err
	}
	// Bounded, so that the harness ends even when the pipeline is far off
	// its target; the figure then says it was stopped.
	ectx, cancel := context.WithTimeout(ctx, e.e2eMax)
	defer cancel()
	r, err := e.earshot(ectx, cfg, "scale_import_e2e", nil, nil, "import", export)
	took := secs(r.wall)
	if err != nil {
		if ctx.Err() != nil || ectx.Err() == nil {
			return err
		}
		took = fmt.Sprintf("> %s (stopped)", e.e2eMax)
	}
	routed, mails := e.routed(ctx, "scale_import_e2e"), countFiles(filepath.Join(e.work, "e2e", "outbox"))
	e.add("4 import", fmt.Sprintf("end to end, %d lines -> cases -> outbox (%d routed, %d files)", n, routed, mails),
		took, "", "", "<= 120 s")
	e.add("4 import", "end to end: peak RSS", fmt.Sprintf("%.0f MB", float64(r.maxRSS)/(1<<20)), "", "", "<= 500 MB")
	return nil
}

func (e *env) checkCount(ctx context.Context, db string, n int) error {
	st, err := e.conn(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.CountMentions(ctx)
	if err != nil {
		return err
	}
	if c != uint64(n) {
		return fmt.Errorf("%s holds %d mentions after the import, want %d", db, c, n)
	}
	return nil
}

func (e *env) routed(ctx context.Context, db string) uint64 {
	st, err := e.conn(ctx, db)
	if err != nil {
		return 0
	}
	defer st.Close()
	var n uint64
	_ = st.Conn().QueryRow(ctx, "SELECT uniqExact(case_id) FROM case_events WHERE event = 'routed'").Scan(&n)
	return n
}

func countFiles(dir string) int {
	n := 0
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// figScore: `earshot score` over n generated lines on one core and on all.
func (e *env) figScore(ctx context.Context, seed int64, n int) error {
	o := benchdata.Options{N: n, Seed: seed + 2}
	in, err := e.genFile(fmt.Sprintf("export-%d-%d.jsonl", o.Seed, n), func(w io.Writer) error { return benchdata.WriteExport(w, o) })
	if err != nil {
		return err
	}
	for _, procs := range []int{1, runtime.NumCPU()} {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, e.bin, "--config", filepath.Join(e.work, "no-config.yaml"), "score")
		cmd.Dir = e.work
		cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", procs))
		cmd.Stdin = f
		var lines countLines
		cmd.Stdout = &lines
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		err = cmd.Run()
		took := time.Since(start)
		f.Close()
		if err != nil {
			return fmt.Errorf("earshot score: %w: %s", err, lastLines(stderr.String(), 3))
		}
		if int(lines) != n {
			return fmt.Errorf("earshot score: %d output lines for %d inputs", lines, n)
		}
		r := float64(n) / took.Seconds()
		e.add("5 score", fmt.Sprintf("earshot score, %d lines, GOMAXPROCS=%d", n, procs), fmt.Sprintf("%.0f /s", r),
			"", fmt.Sprintf("%.0f /s/core", r/float64(procs)), ">= 10000 /s/core")
	}
	return nil
}

type countLines int

func (c *countLines) Write(p []byte) (int, error) {
	*c += countLines(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}
