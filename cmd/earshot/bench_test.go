package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/earshot/earshot/importer"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chtest"
)

const benchRows = 50000

// benchFiles writes the same rows twice: as an export earshot imports
// (JSONL with RFC 3339 dates), and as JSONEachRow in the column formats
// ClickHouse 18.16 parses natively, for clickhouse-client.
func benchFiles(b *testing.B) (jsonl, each string) {
	dir := b.TempDir()
	var e, c strings.Builder
	for i := 0; i < benchRows; i++ {
		text := fmt.Sprintf("Waited %d minutes at the front desk, staff ignored us and the room was not cleaned. Review number %d.", i%90, i)
		day := 1 + i%28
		fmt.Fprintf(&e, `{"id":"b-%d","source":"bench","brand":"Acme","location":"L%d","author":"user %d","text":%q,"rating":%d,"rating_max":5,"lang":"en","published_at":"2026-10-%02dT10:00:00Z"}`+"\n",
			i, i%7, i, text, 1+i%5, day)
		fmt.Fprintf(&c, `{"id":"b-%d","source":"bench","kind":"review","brand":"Acme","location":"L%d","url":"","author":"user %d","title":"","text":%q,"rating":%d,"rating_max":5,"lang":"en","published_at":"2026-10-%02d 10:00:00","collected_at":"2026-11-23 00:00:00","likes":0,"shares":0,"replies":0,"followers":0,"parent_id":"","sentiment":0,"negative":0,"severity":"none","aspects":[],"signals":[],"reasons":[],"scorer_version":"","truncated":0,"version":%d}`+"\n",
			i, i%7, i, text, 1+i%5, day, i+1)
	}
	jsonl, each = filepath.Join(dir, "export.jsonl"), filepath.Join(dir, "each.json")
	if err := os.WriteFile(jsonl, []byte(e.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(each, []byte(c.String()), 0o644); err != nil {
		b.Fatal(err)
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

// BenchmarkImport compares `earshot import` (parse, normalise, batch, insert
// through clickhouse-go) with clickhouse-client inserting the same rows as
// JSONEachRow, on the same server in the same run. rows/s is the figure.
func BenchmarkImport(b *testing.B) {
	st, db := benchStore(b)
	jsonl, each := benchFiles(b)
	ctx := context.Background()
	b.Run("earshot", func(b *testing.B) {
		sp, err := storage.OpenSpool(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			f, err := os.Open(jsonl)
			if err != nil {
				b.Fatal(err)
			}
			w := storage.NewWriter(st, storage.WriterOptions{BatchSize: 10000, Spool: sp})
			res, err := importFile(ctx, f, jsonl, importer.JSONL, importer.Defaults{}, w, nil, nil, io.Discard, false)
			if cerr := w.Close(ctx); err == nil {
				err = cerr
			}
			f.Close()
			if err != nil || res.bad > 0 || w.Stats().Spooled > 0 {
				b.Fatalf("import: %v, %+v, %+v", err, res, w.Stats())
			}
		}
		b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	client, err := exec.LookPath("clickhouse-client")
	if err != nil {
		b.Log("clickhouse-client not installed: no baseline")
		return
	}
	b.Run("clickhouse-client", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f, err := os.Open(each)
			if err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(client, "--port", strconv.Itoa(db.Srv.TCPPort), "-d", db.Name, "-q",
				"INSERT INTO mentions (id, source, kind, brand, location, url, author, title, text, rating, rating_max, lang, published_at, collected_at, likes, shares, replies, followers, parent_id, sentiment, negative, severity, aspects, signals, reasons, scorer_version, truncated, version) FORMAT JSONEachRow")
			cmd.Stdin = f
			out, err := cmd.CombinedOutput()
			f.Close()
			if err != nil {
				b.Fatalf("clickhouse-client: %v: %s", err, out)
			}
		}
		b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	var n uint64
	if err := db.Conn.QueryRow(ctx, "SELECT count() FROM mentions FINAL").Scan(&n); err != nil || n != benchRows {
		b.Errorf("mentions FINAL = %d (%v), want %d", n, err, benchRows)
	}
}
