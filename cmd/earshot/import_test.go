package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/earshot/earshot/importer"
	"github.com/earshot/earshot/storage/chtest"
)

// TestImportScoresAndAlerts: an import scores its rows like collection, so
// imported 1-star reviews open cases and are alerted at the end; rows whose
// brand or location the config does not name are bad rows; --no-score is a
// silent back-fill.
func TestImportScoresAndAlerts(t *testing.T) {
	db := chtest.New(t)
	cfg := testConfig(t, db)
	outbox := filepath.Join(filepath.Dir(cfg), "outbox")
	write := func(name string, rows ...string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	row := func(id, brand, loc string, rating int, text string) string {
		return fmt.Sprintf(`{"id":%q,"brand":%q,"location":%q,"rating":%d,"rating_max":5,"author":"guest %s","text":%q,"published_at":"2026-11-20T10:00:00Z"}`,
			id, brand, loc, rating, id, text)
	}
	var rows []string
	for i := 0; i < 4; i++ {
		rows = append(rows, row(fmt.Sprintf("neg%d", i), "Sunrise Hotels", "Zagreb", 1, "Rude staff and a dirty room. Never again."))
	}
	for i := 0; i < 6; i++ {
		rows = append(rows, row(fmt.Sprintf("pos%d", i), "Sunrise Hotels", "Zagreb", 5, "Lovely stay, friendly staff."))
	}
	rows = append(rows, row("x1", "Moonset Motels", "Zagreb", 1, "Awful."), row("x2", "Sunrise Hotels", "Atlantis", 1, "Awful."))
	file := write("reviews.jsonl", rows...)

	code, out, errOut := earshot(t, "--config", cfg, "import", file)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"12 rows read", "10 stored", "2 bad rows skipped", "4 negative"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q: %s", want, out)
		}
	}
	for _, want := range []string{`reviews.jsonl:11: skipped: brand "Moonset Motels" is not in`, `reviews.jsonl:12: skipped: location "Atlantis" is not a location of brand "Sunrise Hotels"`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if n := db.Count(t, "SELECT uniqExact(case_id) FROM case_events WHERE event = 'opened'"); n != 4 {
		t.Errorf("%d cases opened, want 4", n)
	}
	if n := db.Count(t, "SELECT uniqExact(case_id) FROM case_events WHERE event = 'notified'"); n != 4 {
		t.Errorf("%d cases notified, want 4", n)
	}
	mails, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(mails) == 0 {
		t.Errorf("no alert in %s", outbox)
	}

	// A silent back-fill: stored, unscored, no case.
	fill := write("backfill.jsonl", row("old1", "Sunrise Hotels", "Zagreb", 1, "Terrible."), row("old2", "Sunrise Hotels", "Zagreb", 1, "Terrible."))
	if code, out, errOut := earshot(t, "--config", cfg, "import", "--no-score", fill); code != 0 {
		t.Fatalf("import --no-score: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := db.Count(t, "SELECT count() FROM mentions FINAL WHERE id IN ('old1', 'old2') AND scorer_version = '' AND negative = 0"); n != 2 {
		t.Errorf("back-filled rows: %d unscored, want 2", n)
	}
	if n := db.Count(t, "SELECT count() FROM case_queue WHERE mention_id IN ('old1', 'old2')"); n != 0 {
		t.Errorf("--no-score opened %d cases", n)
	}
}

// TestCollectOnly: a --collect-only pass stores and queues cases but sends
// nothing; the next dispatching pass sends them, once.
func TestCollectOnly(t *testing.T) {
	db := chtest.New(t)
	cfg := testConfig(t, db)
	outbox := filepath.Join(filepath.Dir(cfg), "outbox")
	if code, out, errOut := earshot(t, "--config", cfg, "collect", "--collect-only"); code != 0 {
		t.Fatalf("collect --collect-only: exit %d\n%s\n%s", code, out, errOut)
	}
	queued := db.Count(t, "SELECT uniqExact(case_id) FROM case_queue")
	if queued == 0 {
		t.Fatal("no case queued by the demo pass")
	}
	if n := db.Count(t, "SELECT count() FROM case_events WHERE event = 'notified'"); n != 0 {
		t.Errorf("--collect-only sent %d alerts", n)
	}
	if mails, _ := filepath.Glob(filepath.Join(outbox, "*.eml")); len(mails) != 0 {
		t.Errorf("--collect-only wrote %d mails", len(mails))
	}
	for i := 0; i < 2; i++ {
		if code, out, errOut := earshot(t, "--config", cfg, "collect"); code != 0 {
			t.Fatalf("collect: exit %d\n%s\n%s", code, out, errOut)
		}
	}
	if n := db.Count(t, "SELECT uniqExact(case_id) FROM case_events WHERE event = 'notified'"); n != queued {
		t.Errorf("%d cases notified after the dispatching passes, want %d", n, queued)
	}
	if n := db.Count(t, "SELECT count() FROM case_events FINAL WHERE event = 'notified'"); n != queued {
		t.Errorf("%d notified events, want one per case (%d)", n, queued)
	}
}

// TestCollectCoordinated: with coordination.zookeeper set, a one-shot
// collect queues its cases and leaves them to the elected dispatcher of the
// workers (none here): it sends nothing, even with the local lock free.
func TestCollectCoordinated(t *testing.T) {
	db := chtest.New(t)
	cfg := testConfig(t, db)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing listens there: collect must not need ZooKeeper at all.
	coordinated := strings.Replace(string(b), "\ncoordination:\n", "\ncoordination:\n  zookeeper: [\"127.0.0.1:1\"]\n", 1)
	if coordinated == string(b) {
		t.Fatal("the test config has no coordination section to fill")
	}
	if err := os.WriteFile(cfg, []byte(coordinated), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := earshot(t, "--config", cfg, "collect")
	if code != 0 {
		t.Fatalf("collect: exit %d\n%s\n%s", code, out, errOut)
	}
	if db.Count(t, "SELECT uniqExact(case_id) FROM case_queue") == 0 {
		t.Fatal("no case queued by the demo pass")
	}
	if n := db.Count(t, "SELECT count() FROM case_events WHERE event IN ('sending', 'notified')"); n != 0 {
		t.Errorf("a coordinated one-shot collect sent %d alerts", n)
	}
	if !strings.Contains(errOut+out, "elected dispatcher") {
		t.Errorf("collect does not say who sends the alerts:\n%s\n%s", out, errOut)
	}
}

// TestImportBulk: a file of several blocks' worth of chunks, with bad lines
// spread through it, is stored whole, each bad line reported as
// FILE:LINE: skipped: reason, in file order.
func TestImportBulk(t *testing.T) {
	db := chtest.New(t)
	t.Chdir(t.TempDir()) // the spool without a config: ./var/spool
	file := filepath.Join(t.TempDir(), "bulk.jsonl")
	var b strings.Builder
	var wantBad []string
	good := 0
	for i := 1; i <= 12000; i++ {
		switch {
		case i%997 == 0:
			b.WriteString(`{"id":"broken` + "\n")
			wantBad = append(wantBad, fmt.Sprintf("%s:%d: skipped: invalid JSON", file, i))
		case i%1999 == 0:
			fmt.Fprintf(&b, `{"id":"n%d","text":"x","rating":9,"rating_max":5}`+"\n", i)
			wantBad = append(wantBad, fmt.Sprintf("%s:%d: skipped: rating 9 of 5 is out of range", file, i))
		default:
			fmt.Fprintf(&b, `{"id":"r%d","text":"Row %d: caf\u00e9 \"quoted\"","rating":%d,"published_at":"2026-11-20T10:00:00Z"}`+"\n", i, i, 1+i%5)
			good++
		}
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := earshot(t, "--clickhouse", db.DSN, "import", "--no-score", file)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "12000 rows read in") || !strings.Contains(out, fmt.Sprintf(" %d stored,", good)) ||
		!strings.Contains(out, fmt.Sprintf("%d bad rows skipped", len(wantBad))) {
		t.Errorf("summary: %s", out)
	}
	var gotBad []string
	for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if strings.Contains(l, ": skipped: ") {
			gotBad = append(gotBad, l)
		}
	}
	if len(gotBad) != len(wantBad) {
		t.Fatalf("%d skipped lines, want %d:\n%s", len(gotBad), len(wantBad), errOut)
	}
	for i := range wantBad {
		if !strings.HasPrefix(gotBad[i], wantBad[i]) {
			t.Errorf("skipped line %d = %q, want prefix %q", i, gotBad[i], wantBad[i])
		}
	}
	if n := db.Count(t, "SELECT count() FROM mentions WHERE text LIKE 'Row %: café \"quoted\"'"); n != uint64(good) {
		t.Errorf("%d rows stored, want %d", n, good)
	}
}

// killAfterAt is killAfter for a file importFile can read again.
type killAfterAt struct {
	killAfter
	ra io.ReaderAt
}

func (k *killAfterAt) ReadAt(p []byte, off int64) (int, error) { return k.ra.ReadAt(p, off) }

// TestImportStreamSurvivesClickHouseStop: the server dies while a long
// insert is streaming; that insert's rows are read again from the file and
// spooled with the rest, and after a restart every row is stored once.
func TestImportStreamSurvivesClickHouseStop(t *testing.T) {
	db := chtest.New(t)
	cfgPath := testConfig(t, db)
	const n = 3*importBlockRows + 500
	file := writeJSONL(t, n, "stream")
	a := &app{registry: registry(), stdout: io.Discard, stderr: io.Discard, configPath: cfgPath, logLevel: "error", logFormat: "text"}
	if err := a.setupLogging(); err != nil {
		t.Fatal(err)
	}
	cfg, err := a.loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, done, err := a.openReady(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	w, err := a.writer(st, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(file)
	defer f.Close()
	info, _ := f.Stat()
	// Killed after about two blocks were read: the first is streaming.
	r := &killAfterAt{killAfter: killAfter{r: f, n: int(info.Size() * 2 / 3), kill: db.Srv.Kill}, ra: f}
	var errOut bytes.Buffer
	res, err := importFile(ctx, r, file, importer.JSONL, importer.Defaults{}, w, nil, nil, &errOut, false)
	if err != nil {
		t.Fatalf("import with server down: %v\n%s", err, errOut.String())
	}
	_ = w.Close(ctx)
	if !strings.Contains(errOut.String(), "bulk insert failed, storing them again") {
		t.Errorf("the streaming insert did not fail over:\n%s", errOut.String())
	}
	stats := w.Stats()
	if res.rows != n+1 || res.bad != 1 || stats.Spooled < n-importBlockRows || stats.Written > 0 {
		t.Fatalf("rows %d bad %d, stats %+v: want %d rows, nothing counted written, the rest spooled\n%s", res.rows, res.bad, stats, n+1, errOut.String())
	}
	if err := db.Srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	w2, err := a.writer(st, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := db.Count(t, "SELECT count() FROM mentions FINAL"); got != n {
		t.Errorf("after restart and replay: %d rows, want %d (stats %+v, then %+v)", got, n, stats, w2.Stats())
	}
}
