package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/benchdata"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chtest"
)

// benchRowsDefault is the size issue 16 measures at; EARSHOT_BENCH_ROWS
// lowers it for a quick run.
const benchRowsDefault = 1_000_000

func benchRows(b *testing.B) int {
	if s := os.Getenv("EARSHOT_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("EARSHOT_BENCH_ROWS=%q: want a positive number", s)
		}
		return n
	}
	return benchRowsDefault
}

// benchFiles writes the same generated rows twice: as the export earshot
// imports, and as JSONEachRow in the mentions table's columns for
// clickhouse-client. They are cached in the temp directory (1M rows are
// ~560 MB and take a while to generate), keyed by the generator's version.
func benchFiles(b *testing.B, n int) (jsonl, each string) {
	b.Helper()
	seed := int64(16)
	if s := os.Getenv("EARSHOT_BENCH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			b.Fatalf("EARSHOT_BENCH_SEED=%q: %v", s, err)
		}
	}
	dir := filepath.Join(os.TempDir(), "earshot-bench", fmt.Sprintf("%s-%d-%d", strings.ReplaceAll(benchdata.Version, "/", "-"), n, seed))
	o := benchdata.Options{N: n, Seed: seed}
	writeExport, writeEach := benchdata.WriteExport, benchdata.WriteJSONEachRow
	if os.Getenv("EARSHOT_BENCH_GEN") == "simple" {
		// The local generator, for when benchdata cannot be used.
		dir += "-simple2"
		writeExport, writeEach = simpleExport, simpleJSONEachRow
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	jsonl, each = filepath.Join(dir, "export.jsonl"), filepath.Join(dir, "each.json")
	for _, f := range []struct {
		path  string
		write func(*os.File) error
	}{
		{jsonl, func(f *os.File) error { return writeExport(f, o) }},
		{each, func(f *os.File) error { return writeEach(f, o) }},
	} {
		if _, err := os.Stat(f.path); err == nil {
			continue
		}
		tmp, err := os.CreateTemp(dir, ".gen-*")
		if err != nil {
			b.Fatal(err)
		}
		err = f.write(tmp)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), f.path)
		}
		if err != nil {
			os.Remove(tmp.Name())
			b.Fatal(err)
		}
	}
	return jsonl, each
}

// benchStore opens a migrated store in a fresh database of the package's
// test server; it is closed when the benchmark ends.
func benchStore(b *testing.B) (*storage.Store, *chtest.DB) {
	b.Helper()
	db := chtest.New(b)
	st, err := storage.Open(context.Background(), db.DSN, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return st, db
}

// BenchmarkImport compares `earshot import FILE` (the command as a user runs
// it, with its defaults: no config, default batching) with clickhouse-client
// inserting the same rows as JSONEachRow into a table of the same schema, on
// the same server in the same run, with --no-score and with scoring. Each
// iteration imports into a fresh database so both sides do the same work.
// rows/s is the figure; "ratio" is earshot's rows/s over clickhouse-client's.
func BenchmarkImport(b *testing.B) {
	client, err := exec.LookPath("clickhouse-client")
	if err != nil {
		b.Log("clickhouse-client not installed: no baseline")
	}
	n := benchRows(b)
	jsonl, each := benchFiles(b, n)
	// The command keeps its spool in ./var/spool without a config.
	b.Chdir(b.TempDir())
	baseline := 0.0
	if client != "" {
		b.Run("clickhouse-client", func(b *testing.B) {
			var took time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				_, db := benchStore(b)
				f, err := os.Open(each)
				if err != nil {
					b.Fatal(err)
				}
				cmd := exec.Command(client, "--port", strconv.Itoa(db.Srv.TCPPort), "-d", db.Name, "-q",
					"INSERT INTO mentions ("+benchdata.Columns+") FORMAT JSONEachRow")
				cmd.Stdin = f
				cmd.Env = append(os.Environ(), "TZ=UTC")
				b.StartTimer()
				start := time.Now()
				out, err := cmd.CombinedOutput()
				took += time.Since(start)
				f.Close()
				if err != nil {
					b.Fatalf("clickhouse-client: %v: %s", err, out)
				}
				if got := db.Count(b, "SELECT count() FROM mentions"); got != uint64(n) {
					b.Fatalf("clickhouse-client stored %d rows, want %d", got, n)
				}
			}
			baseline = float64(n*b.N) / took.Seconds()
			b.ReportMetric(baseline, "rows/s")
		})
	}
	for _, mode := range []struct {
		name string
		args []string
	}{{"earshot-no-score", []string{"--no-score"}}, {"earshot-score", nil}} {
		b.Run(mode.name, func(b *testing.B) {
			var took time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				_, db := benchStore(b)
				args := append([]string{"--clickhouse", db.DSN, "--log-level", "error", "import"}, mode.args...)
				args = append(args, jsonl)
				var out, errb bytes.Buffer
				b.StartTimer()
				start := time.Now()
				code := run(context.Background(), args, &out, &errb)
				took += time.Since(start)
				if code != 0 || !strings.Contains(out.String(), fmt.Sprintf(" %d stored,", n)) {
					b.Fatalf("earshot import: exit %d\n%s\n%.2000s", code, out.String(), errb.String())
				}
				if got := db.Count(b, "SELECT count() FROM mentions"); got != uint64(n) {
					b.Fatalf("earshot stored %d rows, want %d", got, n)
				}
			}
			rate := float64(n*b.N) / took.Seconds()
			b.ReportMetric(rate, "rows/s")
			if baseline > 0 {
				b.ReportMetric(rate/baseline, "ratio")
			}
		})
	}
}

// simpleMentions makes o.N mentions of ~560 bytes as an export line: a few
// brands and locations, multilingual texts with accents and emoji, repeat
// authors, published in time order with a day's jitter over two years, as
// exports come (and as benchdata makes them). It is the fallback of
// benchdata (EARSHOT_BENCH_GEN=simple).
func simpleMentions(o benchdata.Options, fn func(*mention.Mention) error) error {
	r := rand.New(rand.NewPCG(uint64(o.Seed), 16))
	texts := []string{
		"Waited forty minutes at the front desk, the staff ignored us and the room was not cleaned. The manager never called back.",
		"Lovely stay, friendly staff and a spotless room. Breakfast was great and the view over the old town was worth every euro.",
		"Osoblje je bilo neljubazno, soba prljava, a doručak hladan. Čekali smo sat vremena na ključ. Nikad više ovdje!",
		"Die Lieferung kam zwei Tage zu spät und die Verpackung war beschädigt. Der Kundenservice hat nicht geantwortet.",
		"Service impeccable, équipe très accueillante — nous reviendrons avec plaisir. Le petit-déjeuner était délicieux 😊",
		"The app keeps crashing when I try to book a table, and I was charged twice for the same order. Refund please!!",
		"Comida fría, camarero maleducado y tuvimos que esperar una hora para pagar la cuenta. Muy decepcionante.",
	}
	brands := []string{"Sunrise Hotels", "Acme Foods", "Bistro Nova"}
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for i := 0; i < o.N; i++ {
		t := texts[r.IntN(len(texts))] + " " + texts[r.IntN(len(texts))] + fmt.Sprintf(" (visit %d)", i)
		m := mention.Mention{ID: fmt.Sprintf("g:%d", i), Source: "bench", Kind: "review", Brand: brands[i%len(brands)],
			Location: fmt.Sprintf("Location %d", r.IntN(50)), URL: fmt.Sprintf("https://reviews.example/r/%d", i),
			Author: fmt.Sprintf("guest %d", r.IntN(o.N/3+1)), Title: "Our stay", Text: t, Rating: float64(1 + r.IntN(5)), RatingMax: 5,
			Lang: "en", PublishedAt: now.Add(-730*24*time.Hour + time.Duration(float64(730*24*time.Hour)*float64(i)/float64(o.N)) +
				time.Duration(r.IntN(24*3600))*time.Second), CollectedAt: now}
		if err := m.Normalize(now); err != nil {
			return err
		}
		m.Version = uint64(i + 1)
		if err := fn(&m); err != nil {
			return err
		}
	}
	return nil
}

func simpleExport(w io.Writer, o benchdata.Options) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	err := simpleMentions(o, func(m *mention.Mention) error {
		return enc.Encode(map[string]any{"id": m.ID, "source": m.Source, "kind": m.Kind, "brand": m.Brand, "location": m.Location,
			"url": m.URL, "author": m.Author, "title": m.Title, "text": m.Text, "rating": m.Rating, "rating_max": m.RatingMax,
			"lang": m.Lang, "published_at": m.PublishedAt.Format(time.RFC3339)})
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

func simpleJSONEachRow(w io.Writer, o benchdata.Options) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	const dt = "2006-01-02 15:04:05"
	err := simpleMentions(o, func(m *mention.Mention) error {
		return enc.Encode(map[string]any{"id": m.ID, "source": m.Source, "kind": m.Kind, "brand": m.Brand, "location": m.Location,
			"url": m.URL, "author": m.Author, "title": m.Title, "text": m.Text, "rating": m.Rating, "rating_max": m.RatingMax,
			"lang": m.Lang, "published_at": m.PublishedAt.Format(dt), "collected_at": m.CollectedAt.Format(dt),
			"likes": 0, "shares": 0, "replies": 0, "followers": 0, "parent_id": "", "story_id": m.StoryID, "app_version": "",
			"sentiment": 0, "negative": 0, "severity": "none", "aspects": []string{}, "signals": []string{}, "reasons": []string{},
			"entities": []string{}, "scorer_version": "", "truncated": 0, "version": m.Version})
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}
