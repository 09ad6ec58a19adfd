package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
