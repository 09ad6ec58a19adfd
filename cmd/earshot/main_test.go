package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/earshot/earshot/collectors/demo"
	"github.com/earshot/earshot/importer"
	"github.com/earshot/earshot/scoring"
	"github.com/earshot/earshot/storage/chtest"
)

func TestMain(m *testing.M) { os.Exit(chtest.Main(m)) }

// earshot runs the CLI in-process and returns exit code, stdout, stderr.
func earshot(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`brands:
  - name: Acme
sources:
  - name: s
    kind: demo
    brand: Acme
    site: atlantis
    schedul: "@hourly"
receivers:
  - {name: box, kind: outbox}
route:
  receiver: nobody
`), 0o644)
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderrRE []string
	}{
		{"example is valid", []string{"--config", "../../earshot.example.yaml", "config", "validate"}, 0, "ok (1 brands, 4 sources, 2 receivers)", nil},
		{"broken config", []string{"--config", bad, "config", "validate"}, 2, "", []string{
			bad + `:7: sources[0].site: want one of manila, mumbai, yerevan, zagreb, got "atlantis"`,
			bad + `:8: sources[0].schedul: unknown field (did you mean "schedule"?)`,
			bad + `:12: route.receiver: undefined receiver "nobody" used in route`,
		}},
		{"missing config", []string{"--config", filepath.Join(dir, "none.yaml"), "config", "validate"}, 2, "", []string{"not found"}},
		{"bad flag", []string{"--bogus", "migrate"}, 2, "", []string{"unknown flag"}},
		{"extra argument", []string{"migrate", "now"}, 2, "", []string{"unknown command"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := earshot(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, errOut)
			}
			if !strings.Contains(out, tt.stdout) {
				t.Errorf("stdout %q lacks %q", out, tt.stdout)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if tt.stderrRE != nil && tt.code == 2 && strings.Contains(tt.name, "broken") && len(lines) != len(tt.stderrRE) {
				t.Errorf("stderr has %d lines, want %d:\n%s", len(lines), len(tt.stderrRE), errOut)
			}
			for _, want := range tt.stderrRE {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
		})
	}
}

// config writes a config for the test's database and spool.
func testConfig(t *testing.T, db *chtest.DB) string {
	dir := t.TempDir()
	example, err := os.ReadFile("../../earshot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(example), "dsn: ${EARSHOT_CLICKHOUSE:-}", "dsn: "+db.DSN, 1)
	cfg = strings.Replace(cfg, "spool_dir: var/spool", "spool_dir: "+filepath.Join(dir, "spool"), 1)
	cfg = strings.Replace(cfg, "${EARSHOT_LISTEN:-127.0.0.1:8377}", "127.0.0.1:0", 1)
	cfg = strings.Replace(cfg, "dir: var/outbox", "dir: "+filepath.Join(dir, "outbox"), 1)
	path := filepath.Join(dir, "earshot.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMigrateTwice(t *testing.T) {
	db := chtest.New(t)
	cfg := testConfig(t, db)
	code, out, errOut := earshot(t, "--config", cfg, "migrate")
	if code != 0 || !strings.Contains(out, "applied 0001_mentions.sql") {
		t.Fatalf("first migrate: %d %s %s", code, out, errOut)
	}
	code, out, _ = earshot(t, "--config", cfg, "migrate")
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Errorf("second migrate: %d %s", code, out)
	}
}

func writeJSONL(t *testing.T, n int, prefix string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"id":"%s-%d","text":"review %d from the import","rating":%d,"author":"u%d","published_at":"2026-11-%02dT10:00:00Z","brand":"Sunrise Hotels","location":"Zagreb"}`+"\n",
			prefix, i, i, 1+i%5, i, 1+i%20)
	}
	b.WriteString("{broken\n")
	p := filepath.Join(t.TempDir(), prefix+".jsonl")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportTwiceOneRowPerID(t *testing.T) {
	db := chtest.New(t)
	cfg := testConfig(t, db)
	file := writeJSONL(t, 2500, "imp")
	for i := 0; i < 2; i++ {
		code, out, errOut := earshot(t, "--config", cfg, "import", file)
		if code != 0 {
			t.Fatalf("import %d: exit %d: %s", i, code, errOut)
		}
		if !strings.Contains(out, "2501 rows read") || !strings.Contains(out, "1 bad rows skipped") || !strings.Contains(errOut, "imp.jsonl:2501: skipped: invalid JSON") {
			t.Errorf("import %d summary: %s\nstderr: %s", i, out, errOut)
		}
	}
	if n := db.Count(t, "SELECT count() FROM mentions FINAL"); n != 2500 {
		t.Errorf("after importing twice: %d rows, want 2500", n)
	}
	if code, _, _ := earshot(t, "--config", cfg, "import", "--strict", file); code != 1 {
		t.Errorf("--strict with a bad row: exit %d, want 1", code)
	}
}

// killAfter kills the server once n bytes were read: deterministic "in the
// middle of an import".
type killAfter struct {
	r    io.Reader
	n    int
	kill func()
	done bool
}

func (k *killAfter) Read(p []byte) (int, error) {
	if len(p) > 4096 {
		p = p[:4096]
	}
	n, err := k.r.Read(p)
	k.n -= n
	if k.n <= 0 && !k.done {
		k.done = true
		k.kill()
	}
	return n, err
}

func TestImportSurvivesClickHouseStop(t *testing.T) {
	db := chtest.New(t)
	cfgPath := testConfig(t, db)
	file := writeJSONL(t, 5000, "kill")
	a := &app{registry: registry(), stdout: io.Discard, stderr: io.Discard, configPath: cfgPath, logLevel: "error", logFormat: "text"}
	if err := a.setupLogging(); err != nil {
		t.Fatal(err)
	}
	cfg, err := a.loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ClickHouse.BatchSize = 200
	ctx := context.Background()
	st, done, err := a.openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := a.writer(st, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(file)
	defer f.Close()
	info, _ := f.Stat()
	r := &killAfter{r: f, n: int(info.Size() / 3), kill: db.Srv.Kill}
	res, err := importFile(ctx, r, file, importer.JSONL, importer.Defaults{}, w, nil, nil, io.Discard, false)
	if err != nil {
		t.Fatalf("import with server down: %v", err)
	}
	_ = w.Close(ctx) // the server is down: the rest stays in the spool
	stats := w.Stats()
	if res.rows != 5001 || stats.Spooled == 0 {
		t.Fatalf("rows %d, stats %+v: want 5001 rows and some spooled", res.rows, stats)
	}
	if err := db.Srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	// A later process replays the spool when it opens its writer.
	w2, err := a.writer(st, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := db.Count(t, "SELECT count() FROM mentions FINAL"); n != 5000 {
		t.Errorf("after restart and replay: %d rows, want 5000 (stats before: %+v, after: %+v)", n, stats, w2.Stats())
	}
}

func TestCollectTwiceNoDuplicates(t *testing.T) {
	db := chtest.New(t)
	cfg := testConfig(t, db)
	code, out, errOut := earshot(t, "--config", cfg, "collect")
	if code != 0 {
		t.Fatalf("collect: %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "mentions stored in "+db.Name+": 12") {
		t.Errorf("first pass:\n%s", out)
	}
	code, out, errOut = earshot(t, "--config", cfg, "collect", "--source", "demo-zagreb")
	if code != 0 || !strings.Contains(out, "mentions stored in "+db.Name+": 12") {
		t.Errorf("second pass: %d\n%s\n%s", code, out, errOut)
	}
	if n := db.Count(t, "SELECT count() FROM mentions FINAL"); n != 12 {
		t.Errorf("mentions = %d, want 12", n)
	}
	// Each negative review (six rated 1-2 of 5, and a 3/5 one whose text
	// complains about the Wi-Fi) opened one case, notified once through the
	// outbox, even after the second pass.
	if n := db.Count(t, "SELECT count() FROM case_events FINAL WHERE event = 'opened'"); n != 7 {
		t.Errorf("cases opened = %d, want 7", n)
	}
	if n := db.Count(t, "SELECT count() FROM case_events FINAL WHERE event = 'notified' AND receiver = 'outbox'"); n != 7 {
		t.Errorf("notifications = %d, want 7", n)
	}
	// Grouped by location (the example's group_by): Zagreb's critical case
	// goes on its own, its two others together; Yerevan's two together.
	if n := db.Count(t, "SELECT count() FROM alert_deliveries WHERE status = 'sent'"); n != 5 {
		t.Errorf("sent messages = %d, want 5", n)
	}
	if n := db.Count(t, "SELECT count() FROM alert_deliveries WHERE status = 'sent' AND length(case_ids) = 2"); n != 2 {
		t.Errorf("messages listing two cases = %d, want 2", n)
	}
	if n := db.Count(t, "SELECT count(DISTINCT source) FROM item_ratings WHERE item LIKE 'Sunrise Hotel %' AND best = 5"); n != 4 {
		t.Errorf("item_ratings cover %d demo hotels, want 4", n)
	}
	if n := db.Count(t, "SELECT count() FROM collection_runs WHERE status = 'ok'"); n != 5 {
		t.Errorf("collection_runs ok rows = %d, want 5", n)
	}
	if n := db.Count(t, "SELECT count() FROM mentions FINAL WHERE negative = 1"); n != 7 {
		t.Errorf("negative mentions = %d, want 7", n)
	}
	// The lexicon scorer's version, with a learned model's id after a "+"
	// when one is loaded (scoring.combine).
	if n := db.Count(t, "SELECT count() FROM mentions FINAL WHERE (scorer_version = ? OR scorer_version LIKE ?) AND lang != ''",
		scoring.Version, scoring.Version+"+%"); n != 12 {
		t.Errorf("text-scored mentions = %d, want all 12", n)
	}
	if n := db.Count(t, "SELECT count() FROM mentions FINAL WHERE severity = 'critical' AND has(signals, 'health') AND has(signals, 'legal') AND has(aspects, 'safety')"); n != 1 {
		t.Errorf("food-poisoning review scored critical with health+legal: %d, want 1", n)
	}
	// The case workflow from the shell.
	code, out, errOut = earshot(t, "--config", cfg, "cases", "list", "--state", "open", "--format", "json")
	if code != 0 || strings.Count(out, "\n") != 7 {
		t.Fatalf("cases list: %d\n%s\n%s", code, out, errOut)
	}
	var first, second, third struct {
		CaseID string `json:"id"`
	}
	lines := strings.Split(out, "\n")
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	json.Unmarshal([]byte(lines[2]), &third)
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"cases", "ack", first.CaseID, "--by", "ana"}, 0, "acknowledged by ana"},
		{[]string{"cases", "ack", first.CaseID, "--by", "ivo"}, 0, ""},                            // already: nothing to do
		{[]string{"cases", "resolve", first.CaseID, "--by", "ana", "--outcome", "refund"}, 2, ""}, // a bad --outcome is a usage error
		{[]string{"cases", "resolve", first.CaseID, "--by", "ana", "--outcome", "contacted_privately"}, 0, "resolved by ana"},
		{[]string{"cases", "ack", "case:nope", "--by", "ana"}, 2, ""},
		{[]string{"cases", "show", first.CaseID[:len(first.CaseID)-2]}, 0, "Why it was flagged"},                  // a unique prefix
		{[]string{"cases", "show", strings.TrimPrefix(first.CaseID, "case:story:")[:8]}, 0, "Why it was flagged"}, // the hash alone
		{[]string{"cases", "show", first.CaseID, "--format", "json"}, 0, `"suggested_reply"`},
		// Several at once: each acted on, the one that is not there named, exit 1.
		{[]string{"cases", "hold", second.CaseID, third.CaseID, "case:nope", "--by", "ana"}, 1, third.CaseID + ": on_hold by ana"},
	}
	for _, s := range steps {
		code, out, errOut := earshot(t, append([]string{"--config", cfg}, s.args...)...)
		if code != s.code || !strings.Contains(out, s.want) {
			t.Errorf("%v: exit %d (want %d)\n%s%s", s.args, code, s.code, out, errOut)
		}
	}
	if n := db.Count(t, "SELECT count() FROM case_events FINAL WHERE case_id = ? AND event IN ('acknowledged', 'resolved')", first.CaseID); n != 2 {
		t.Errorf("workflow events = %d, want 2", n)
	}
	// The list shows where each case stands; storms and digests from the shell.
	if code, out, errOut := earshot(t, "--config", cfg, "cases", "list"); code != 0 || !strings.Contains(out, " SLA") || !strings.Contains(out, "resolved") {
		t.Errorf("cases list: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := earshot(t, "--config", cfg, "alerts", "storms", "--all"); code != 0 || !strings.Contains(out, "storm when count >= 5") {
		t.Errorf("alerts storms: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := earshot(t, "--config", cfg, "alerts", "digest", "outbox", "--period", "weekly"); code != 0 ||
		!strings.Contains(out, "Subject: [Earshot] Weekly digest for all brands") || !strings.Contains(out, "Unresolved cases for outbox: 4 open, 0 acknowledged, 2 on hold") {
		t.Errorf("alerts digest: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := earshot(t, "--config", cfg, "alerts", "digest", "outbox", "--format", "png"); code != 0 || !strings.HasPrefix(out, "\x89PNG") {
		t.Errorf("alerts digest --format png: exit %d %q", code, errOut)
	}
	code, out, _ = earshot(t, "--config", cfg, "report", "--since", "3650d")
	if code != 0 || !strings.Contains(out, "Zagreb") || !strings.Contains(out, "hy") {
		t.Errorf("report: %d\n%s", code, out)
	}
	if code, _, errOut := earshot(t, "--config", cfg, "collect", "--source", "nope"); code != 2 || !strings.Contains(errOut, `no source named "nope"`) {
		t.Errorf("unknown source: exit %d %s", code, errOut)
	}
}

func TestRunOnce(t *testing.T) {
	db := chtest.New(t)
	cfg := testConfig(t, db)
	code, _, errOut := earshot(t, "--config", cfg, "run", "--once")
	if code != 0 {
		t.Fatalf("run --once: exit %d\n%s", code, errOut)
	}
	if n := db.Count(t, "SELECT count() FROM mentions FINAL"); n != 12 {
		t.Errorf("mentions after run --once = %d, want 12", n)
	}
}

func TestExtract(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html lang="en"><body><div class="r"><b>Jo</b><p>Waited an hour for a table.</p><i>2 out of 5</i></div>
<script type="application/ld+json">{"@type":"Review","reviewBody":"Marked up too","author":"Al"}</script></body></html>`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "e.yaml")
	os.WriteFile(cfg, []byte(`brands: [{name: A}]
sources:
  - {name: plain, kind: selector, brand: A, urls: ["`+srv.URL+`"], review: div.r, text: p, author: b, rating: i}
  - {name: marked, kind: schemaorg, brand: A, urls: ["`+srv.URL+`"]}
`), 0o644)
	tests := []struct {
		name  string
		args  []string
		code  int
		lines int
		want  string
	}{
		{"fixture file", []string{"extract", "../../collectors/schemaorg/testdata/fixtures/sdo-eg-0010-product-reviews.microdata.html"}, 0, 2, "Not a happy camper"},
		{"url, markup only", []string{"extract", srv.URL}, 0, 1, "Marked up too"},
		{"url with selector rules", []string{"--config", cfg, "extract", "--source", "plain", srv.URL}, 0, 2, `"rating":2`},
		{"non-selector source", []string{"--config", cfg, "extract", "--source", "marked", srv.URL}, 2, 0, ""},
		{"missing file", []string{"extract", filepath.Join(dir, "nope.html")}, 1, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := earshot(t, tt.args...)
			lines := strings.Count(out, "\n")
			if code != tt.code || lines != tt.lines || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d (want %d), %d lines (want %d), stdout lacks %q?\n%s\n%s", code, tt.code, lines, tt.lines, tt.want, out, errOut)
			}
		})
	}
}

// TestExampleSources uncomments every example source of earshot.example.yaml
// and validates them: the documented options must be the real ones, and
// every registered kind must have an example.
func TestExampleSources(t *testing.T) {
	b, err := os.ReadFile("../../earshot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start, end := strings.Index(s, "\nsources:"), strings.Index(s, "\nscoring:")
	lines := strings.Split(s[start:end], "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "  # - name:"):
			lines[i] = "  - name:" + strings.TrimPrefix(l, "  # - name:")
		case strings.HasPrefix(l, "  #   "):
			lines[i] = "    " + strings.TrimPrefix(l, "  #   ")
		}
	}
	all := s[:start] + strings.Join(lines, "\n") + s[end:]
	path := filepath.Join(t.TempDir(), "all.yaml")
	if err := os.WriteFile(path, []byte(all), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MASTODON_TOKEN", "x")
	code, out, errOut := earshot(t, "--config", path, "config", "validate")
	if code != 0 {
		t.Fatalf("uncommented example sources do not validate:\n%s", errOut)
	}
	for kind := range registry() {
		if !strings.Contains(all, "kind: "+kind+"\n") && !strings.Contains(all, "kind: "+kind+" ") {
			t.Errorf("kind %s has no example in earshot.example.yaml", kind)
		}
	}
	t.Log(strings.TrimSpace(out))
}

func TestAlertsTest(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "a.yaml")
	os.WriteFile(cfg, []byte("receivers:\n  - {name: box, kind: outbox, dir: "+filepath.Join(dir, "out")+"}\n  - {name: out, kind: stdout, format: json}\n"), 0o644)
	if code, _, errOut := earshot(t, "--config", cfg, "alerts", "test", "box"); code != 0 || !strings.Contains(errOut, "alerts test box: sent") {
		t.Errorf("outbox: %d %s", code, errOut)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "out", "*.eml")); len(files) != 1 {
		t.Errorf("eml files: %v", files)
	} else if eml, _ := os.ReadFile(files[0]); !strings.Contains(string(eml), "\nSubject: [TEST] [Earshot]") {
		t.Errorf("test mail's subject does not say TEST:\n%s", eml)
	}
	if code, out, _ := earshot(t, "--config", cfg, "alerts", "test", "out"); code != 0 || !strings.Contains(out, "TEST ALERT") || !strings.Contains(out, `"subject":"[TEST] [Earshot]`) {
		t.Errorf("stdout: %d %s", code, out)
	}
	if code, _, errOut := earshot(t, "--config", cfg, "alerts", "test", "nope"); code != 2 || !strings.Contains(errOut, `no receiver "nope"`) {
		t.Errorf("unknown receiver: %d %s", code, errOut)
	}
}

// TestUsageExitCodes: unknown commands and subcommands and bad flag values
// exit 2 with one line; a command group alone shows its help.
func TestUsageExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bogus"}, 2, `unknown command "bogus" for "earshot"`},
		{[]string{"cases", "frob"}, 2, `unknown command "frob" for "earshot cases"`},
		{[]string{"config", "frob"}, 2, `unknown command "frob" for "earshot config"`},
		{[]string{"cases", "list", "--limit", "-1"}, 2, "--limit -1"},
		{[]string{"cases", "list", "--state", "bogus"}, 2, "bogus"},
		{[]string{"--log-level", "loud", "cases", "list"}, 2, "--log-level"},
		// Checked before the config is read: the message names the flag,
		// not the missing config file.
		{[]string{"cases", "resolve", "case:x", "--by", "ana", "--outcome", "bogus"}, 2, `--outcome "bogus": want one of`},
		{[]string{"cases", "resolve", "case:x", "--by", "ana"}, 2, `--outcome "": want one of`},
		{[]string{"cases", "ack", "case:x", "--by", " "}, 2, "who acts? (--by)"},
		{[]string{"cases", "ack"}, 2, "requires at least 1 arg(s), only received 0"},
		{[]string{"alerts", "test"}, 2, "accepts 1 arg(s), received 0"},
		{[]string{"report", "--since", "soon"}, 2, "--since"},
		{[]string{"report", "--count-by", "bogus"}, 2, `--count-by "bogus": want published or collected`},
		{[]string{"cases"}, 0, ""},
		{[]string{"--version"}, 0, ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := earshot(t, append([]string{"--config", "testdata/does-not-exist.yaml"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q (stdout %q)", code, errOut, tc.code, tc.want, out)
			}
			if tc.code == 2 && strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Errorf("more than one line: %q", errOut)
			}
		})
	}
}

// TestVersion: --version prints one line, from the linker flag the Makefile
// passes, else from the build info.
func TestVersion(t *testing.T) {
	code, out, errOut := earshot(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "earshot ") || strings.Count(out, "\n") != 1 || len(strings.TrimSpace(out)) <= len("earshot ") {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	rev := func(kv ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}
		for i := 0; i+1 < len(kv); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return info
	}
	for _, tc := range []struct {
		name   string
		linked string
		info   *debug.BuildInfo
		want   string
	}{
		{"linked wins", "v1.2.3", &debug.BuildInfo{Main: debug.Module{Version: "v0.9.0"}}, "v1.2.3"},
		{"go install", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.9.0"}}, "v0.9.0"},
		{"checkout", "", rev("vcs.revision", "0123456789abcdef0123", "vcs.modified", "false"), "dev-0123456789ab"},
		{"dirty checkout", "", rev("vcs.revision", "0123456789abcdef0123", "vcs.modified", "true"), "dev-0123456789ab-dirty"},
		{"nothing known", "", rev(), "dev"},
		{"no build info", "", nil, "dev"},
	} {
		if got := versionString(tc.linked, tc.info); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if testing.Short() {
		return
	}
	// The variable the Makefile sets must exist under that name: a renamed
	// one makes -X a silent no-op.
	bin := filepath.Join(t.TempDir(), "earshot")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.9.9-test", "-o", bin, ".")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	b, err := exec.Command(bin, "--version").Output()
	if err != nil || string(b) != "earshot v9.9.9-test\n" {
		t.Errorf("built with -X main.version: %q %v", b, err)
	}
}

// TestDemoAYearLater: `make run` on a machine whose clock is a year past
// the demo pages' dates still shows a full report: the demo site dates its
// reviews back from the run, and a report can count by collection time.
func TestDemoAYearLater(t *testing.T) {
	db := chtest.New(t)
	cfg := testConfig(t, db)
	later := time.Now().AddDate(1, 0, 0)
	clock := func() time.Time { return later }
	atLater := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		reg := registry()
		reg["demo"] = demo.KindAt(clock)
		a := &app{registry: reg, stdout: &out, stderr: &errb, now: clock}
		code := a.execute(context.Background(), append([]string{"--config", cfg}, args...), strings.NewReader(""))
		return code, out.String(), errb.String()
	}
	if code, out, errOut := atLater("collect"); code != 0 || !strings.Contains(out, "mentions stored in "+db.Name+": 12") {
		t.Fatalf("collect a year later: exit %d\n%s%s", code, out, errOut)
	}
	for _, tc := range []struct {
		name  string
		run   func(args ...string) (int, string, string)
		args  []string
		wants []string
	}{
		{"published, this month", atLater, []string{"report", "--since", "30d"},
			[]string{"mentions counted by publication date", "Zagreb", "Yerevan", "Top aspects of negative mentions"}},
		{"published, this week", atLater, []string{"report", "--since", "12d"}, []string{"Zagreb", "Manila"}},
		// Collected today by the real clock: counted by collection, the
		// demo is today's news whatever its pages say.
		{"collected, today", func(args ...string) (int, string, string) {
			return earshot(t, append([]string{"--config", cfg}, args...)...)
		}, []string{"report", "--since", "1d", "--count-by", "collected"},
			[]string{"mentions counted by the day earshot collected them", "Zagreb", "Mumbai", "Top aspects of negative mentions"}},
		// and a year on from that, nothing was collected this month.
		{"collected, a year on", atLater, []string{"report", "--since", "30d", "--count-by", "collected"}, []string{"(no mentions in this period)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := tc.run(tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tc.wants {
				if !strings.Contains(out, w) {
					t.Errorf("report lacks %q:\n%s", w, out)
				}
			}
		})
	}
	code, out, _ := atLater("report", "--since", "30d", "--format", "json")
	var r struct {
		CountBy   string `json:"count_by"`
		Locations []struct {
			Mentions int `json:"mentions"`
		} `json:"locations"`
	}
	if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil || r.CountBy != "published" || len(r.Locations) != 4 {
		t.Errorf("json report: exit %d, %v, %+v\n%s", code, err, r, out)
	}
}

// TestClickHouseStartKeepsPorts: `earshot clickhouse start` prints the
// native and HTTP ports, and after a stop starts on the same ones, so a
// DSN or Grafana data source saved from its output keeps working.
func TestClickHouseStartKeepsPorts(t *testing.T) {
	if _, err := exec.LookPath("clickhouse-server"); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ch.yaml")
	if err := os.WriteFile(cfg, []byte("clickhouse:\n  local_dir: "+filepath.Join(dir, "ch")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { earshot(t, "--config", cfg, "clickhouse", "stop") })
	addrs := regexp.MustCompile(`DSN:   clickhouse://127\.0\.0\.1:(\d+)/earshot\n  HTTP:  http://127\.0\.0\.1:(\d+) `)
	var first []string
	for i := range 2 {
		code, out, errOut := earshot(t, "--config", cfg, "clickhouse", "start")
		m := addrs.FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("start %d: exit %d, output lacks the DSN and HTTP lines:\n%s%s", i, code, out, errOut)
		}
		if i == 0 {
			first = m
		} else if m[1] != first[1] || m[2] != first[2] {
			t.Errorf("restarted on tcp %s, http %s; first on tcp %s, http %s", m[1], m[2], first[1], first[2])
		}
		if resp, err := http.Get("http://127.0.0.1:" + m[2] + "/ping"); err != nil {
			t.Errorf("HTTP port %s: %v", m[2], err)
		} else {
			resp.Body.Close()
		}
		if code, out, errOut := earshot(t, "--config", cfg, "clickhouse", "stop"); code != 0 {
			t.Fatalf("stop: exit %d %s%s", code, out, errOut)
		}
	}
}

// TestDocLinks: every relative link in README.md and docs/*.md names a
// file of the repository (a heading, for #anchors), and every file the
// README names as NAME.md exists: a reader follows them from a fresh clone.
func TestDocLinks(t *testing.T) {
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdName := regexp.MustCompile(`[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b`)
	for _, doc := range append([]string{"../../README.md"}, docs...) {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		anchors := map[string]bool{}
		for _, l := range strings.Split(text, "\n") {
			if h, ok := strings.CutPrefix(l, "#"); ok {
				anchors[slug(strings.TrimLeft(h, "# "))] = true
			}
		}
		dir := filepath.Dir(doc)
		var targets []string
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			targets = append(targets, m[1])
		}
		if filepath.Base(doc) == "README.md" {
			targets = append(targets, mdName.FindAllString(text, -1)...)
		}
		for _, target := range targets {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			if file == "" {
				if !anchors[anchor] {
					t.Errorf("%s: link to #%s: no such heading", doc, anchor)
				}
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
				t.Errorf("%s: %s does not resolve: %v", doc, target, err)
			}
		}
	}
}

// slug is GitHub's anchor for a heading: lower case, spaces to hyphens,
// other punctuation dropped.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ' || r == '-':
			b.WriteRune('-')
		case r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
