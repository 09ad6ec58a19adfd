// Command benchscale is `make bench-scale` (issue 16: cost that does not
// grow with history). It builds a 1M- and a 10M-mention store once, cached
// under EARSHOT_SCALE_DIR (default var/bench-scale) with a private
// clickhouse-server, then drives the built bin/earshot as a user would and
// prints each figure beside its baseline from the same run.
//
//	go run ./internal/benchscale -bin bin/earshot
//
// It touches only 127.0.0.1 and stops every process it started, on exit
// and on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/earshot/earshot/internal/benchdata"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chlocal"
)

// Databases on the private server.
const (
	dbSmall = "scale_1m"
	dbLarge = "scale_10m"
	dbWork  = "scale_10m_run" // a per-run copy of dbLarge for the figures that write
	dbEmpty = "scale_empty"
)

// negativeShare makes the 10M store hold ~100k negative mentions (cases);
// the 1M store, with the same density over a tenth of the time, ~10k.
const negativeShare = 0.01

type env struct {
	bin    string
	dir    string // the cache: server data, manifest, generated files
	work   string // this run's configs, spools and outboxes; removed at exit
	srv    *chlocal.Server
	client string // clickhouse-client, "" when absent
	idle   time.Duration
	e2eMax time.Duration
	out    io.Writer
	rows   []row
}

func main() {
	var (
		bin     = flag.String("bin", "bin/earshot", "the earshot binary to measure")
		dir     = flag.String("dir", "", "cache directory (default $EARSHOT_SCALE_DIR, else var/bench-scale)")
		seed    = flag.Int64("seed", 16, "generator seed")
		large   = flag.Int("large", 10_000_000, "mentions in the large store")
		small   = flag.Int("small", 1_000_000, "mentions in the small store")
		imports = flag.Int("import", 1_000_000, "lines in the import figures")
		scoreN  = flag.Int("score", 100_000, "lines in the score figure")
		idle    = flag.Duration("idle", 60*time.Second, "how long to watch the idle daemon")
		e2eMax  = flag.Duration("e2e-max", 10*time.Minute, "stop the end-to-end import after this long")
		only    = flag.String("only", "", "comma-separated figures to run (collect,idle,queries,import,score); default all")
	)
	flag.Parse()
	if *dir == "" {
		*dir = os.Getenv("EARSHOT_SCALE_DIR")
	}
	if *dir == "" {
		*dir = "var/bench-scale"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, *bin, *dir, *seed, *large, *small, *imports, *scoreN, *idle, *e2eMax, *only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-scale:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, bin, dir string, seed int64, large, small, imports, scoreN int, idle, e2eMax time.Duration, only string) error {
	var err error
	e := &env{out: os.Stdout, idle: idle, e2eMax: e2eMax}
	if e.bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	if _, err := os.Stat(e.bin); err != nil {
		return fmt.Errorf("earshot binary: %w (run make build)", err)
	}
	if e.dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		return fmt.Errorf("cache dir: %w", err)
	}
	if e.work, err = os.MkdirTemp("", "earshot-bench-scale-"); err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(e.work)
	e.client, _ = exec.LookPath("clickhouse-client")

	// The server outlives a cancelled ctx until Stop: it is started
	// detached and stopped here, whatever happens.
	e.srv, err = chlocal.Start(context.WithoutCancel(ctx), chlocal.Options{Dir: filepath.Join(e.dir, "clickhouse"), Timeout: 2 * time.Minute})
	if err != nil {
		return fmt.Errorf("clickhouse-server: %w", err)
	}
	defer func() {
		if err := e.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "bench-scale: stop clickhouse-server:", err)
		}
	}()
	e.logf("clickhouse-server pid %d on 127.0.0.1:%d, data in %s", e.srv.PID, e.srv.TCPPort, e.srv.Dir)

	want := manifest{Generator: benchdata.Version, Seed: seed, Small: small, Large: large, NegativeShare: negativeShare, Complete: true}
	have, ok := readManifest(e.dir)
	if ok && have.same(want) && e.hasStores(ctx, small, large) {
		e.logf("using the cached stores (built in %.0f s)", have.BuildSeconds)
		want.BuildSeconds = have.BuildSeconds
	} else {
		if err := os.Remove(filepath.Join(e.dir, "manifest.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		start := time.Now()
		for _, s := range []struct {
			db string
			n  int
		}{{dbSmall, small}, {dbLarge, large}} {
			t0 := time.Now()
			from, to := storeSpan(s.n, large)
			cases, err := buildStore(ctx, e, s.db, benchdata.Options{N: s.n, Seed: seed, Start: from, End: to, NegativeShare: negativeShare})
			if err != nil {
				return err
			}
			e.logf("built %s: %d mentions (%s .. %s), %d cases in %s", s.db, s.n, from.Format("2006-01-02"), to.Format("2006-01-02"),
				cases, time.Since(t0).Round(time.Second))
		}
		want.BuildSeconds = time.Since(start).Seconds()
		if err := writeManifest(e.dir, want); err != nil {
			return err
		}
	}
	e.add("build", "stores (1M + 10M mentions, cases)", fmt.Sprintf("%.0f s", want.BuildSeconds), "", "", "minutes, not hours")
	// Earlier runs' copies and the empty baseline start afresh; every
	// store gets whatever migrations the binary brings.
	for _, db := range []string{dbSmall, dbLarge} {
		if err := e.migrate(ctx, db); err != nil {
			return err
		}
	}
	e.waitMerges(ctx, 3*time.Minute)

	figures := map[string]func(context.Context) error{
		"collect": e.figCollect, "idle": e.figIdle, "queries": e.figQueries,
		"import": func(ctx context.Context) error { return e.figImport(ctx, seed, imports) },
		"score":  func(ctx context.Context) error { return e.figScore(ctx, seed, scoreN) },
	}
	for _, name := range []string{"collect", "idle", "queries", "import", "score"} {
		if only != "" && !strings.Contains(","+only+",", ","+name+",") {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		e.logf("figure: %s", name)
		if err := figures[name](ctx); err != nil {
			if ctx.Err() != nil {
				break
			}
			// One failing figure does not hide the others.
			e.add(name, "FAILED", err.Error(), "", "", "")
			e.logf("%s failed: %v", name, err)
		}
	}
	e.print()
	return ctx.Err()
}

// hasStores checks that the cached databases hold what the manifest says.
func (e *env) hasStores(ctx context.Context, small, large int) bool {
	for _, s := range []struct {
		db string
		n  int
	}{{dbSmall, small}, {dbLarge, large}} {
		var n uint64
		conn, err := e.conn(ctx, "default")
		if err != nil {
			return false
		}
		err = conn.Conn().QueryRow(ctx, "SELECT count() FROM "+s.db+".mentions").Scan(&n)
		conn.Close()
		if err != nil || n < uint64(s.n) {
			return false
		}
	}
	return true
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// conn opens a store on db (created when missing).
func (e *env) conn(ctx context.Context, db string) (*storage.Store, error) {
	return storage.Open(ctx, e.srv.DSN(db), nil)
}

func (e *env) dropDB(ctx context.Context, db string) error {
	st, err := e.conn(ctx, "default")
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Conn().Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
		return fmt.Errorf("drop database %s: %w", db, err)
	}
	return nil
}

// freshDB drops and migrates db.
func (e *env) freshDB(ctx context.Context, db string) error {
	if err := e.dropDB(ctx, db); err != nil {
		return err
	}
	return e.migrate(ctx, db)
}

// migrate applies the binary's migrations: the stores must have the schema
// of the earshot being measured, which may be newer than this harness's.
func (e *env) migrate(ctx context.Context, db string) error {
	if _, err := e.earshot(ctx, "", db, nil, nil, "migrate"); err != nil {
		return fmt.Errorf("migrate %s: %w", db, err)
	}
	return nil
}

// waitMerges waits until the server runs no merges (at most max), so that
// the build's background merges do not count against the idle daemon.
func (e *env) waitMerges(ctx context.Context, max time.Duration) {
	st, err := e.conn(ctx, "default")
	if err != nil {
		return
	}
	defer st.Close()
	deadline := time.Now().Add(max)
	quiet := 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var n uint64
		if err := st.Conn().QueryRow(ctx, "SELECT count() FROM system.merges").Scan(&n); err != nil {
			return
		}
		if n == 0 {
			if quiet++; quiet >= 3 {
				return
			}
		} else {
			quiet = 0
		}
		sleep(ctx, time.Second)
	}
	e.logf("merges still running after %s; measuring anyway", max)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// result of one earshot process.
type result struct {
	wall   time.Duration
	maxRSS int64 // bytes
	out    string
}

// earshot runs bin/earshot against db with the config cfg (""; none: the
// work dir has no earshot.yaml) and returns its wall time and peak RSS.
func (e *env) earshot(ctx context.Context, cfg, db string, extraEnv []string, stdin io.Reader, args ...string) (result, error) {
	if cfg == "" {
		cfg = filepath.Join(e.work, "no-config.yaml")
	}
	full := append([]string{"--config", cfg, "--clickhouse", e.srv.DSN(db), "--log-level", "warn"}, args...)
	cmd := exec.CommandContext(ctx, e.bin, full...)
	cmd.Dir = e.work
	cmd.Env = append(os.Environ(), "EARSHOT_CLICKHOUSE="+e.srv.DSN(db))
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdin = stdin
	// Its own process group: a Ctrl-C reaches this harness, which stops it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := result{wall: time.Since(start), out: out.String()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.maxRSS = ru.Maxrss * 1024 // Linux reports KiB
		}
	}
	if err != nil {
		return r, fmt.Errorf("earshot %s: %w: %s", strings.Join(args, " "), err, lastLines(r.out, 5))
	}
	return r, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// row is one line of the result table.
type row struct{ figure, what, a, b, ratio, target string }

func (e *env) add(figure, what, a, b, ratio, target string) {
	e.rows = append(e.rows, row{figure, what, a, b, ratio, target})
}

func (e *env) print() {
	w := [6]int{}
	head := row{"FIGURE", "WHAT", "MEASURED", "BASELINE", "RATIO", "TARGET"}
	all := append([]row{head}, e.rows...)
	for _, r := range all {
		for i, c := range []string{r.figure, r.what, r.a, r.b, r.ratio, r.target} {
			w[i] = max(w[i], len(c))
		}
	}
	fmt.Fprintln(e.out)
	for _, r := range all {
		fmt.Fprintf(e.out, "%-*s  %-*s  %*s  %*s  %*s  %s\n", w[0], r.figure, w[1], r.what, w[2], r.a, w[3], r.b, w[4], r.ratio, r.target)
	}
}
