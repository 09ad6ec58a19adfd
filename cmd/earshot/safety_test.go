package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/storage"
)

// hostileCells are stored values a collected page or an import file can
// set, each trying to take over the analyst's terminal or forge a row.
var hostileCells = []struct{ name, value string }{
	{"clear screen and colour", "Acme\x1b[2J\x1b[31mRED\x1b[0m"},
	{"window title OSC", "Acme\x1b]0;pwned\x07"},
	{"hyperlink OSC 8", "\x1b]8;;http://evil.test\x1b\\Acme\x1b]8;;\x1b\\"},
	{"cursor up and erase", "Acme\x1b[1A\x1b[2K"},
	{"C1 CSI", "Acme\u009b2J"},
	{"forged row", "Acme\ncase:forged             resolved"},
	{"carriage return", "Acme\rcase:forged"},
	{"bidi override", "Acme\u202eemca\u202c"},
	{"other controls", "Ac\x00\x07\x08\x7fme"},
}

// terminalSafe reports what must never reach a terminal from a table.
func terminalUnsafe(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
	})
}

func TestCasesTableStripsControls(t *testing.T) {
	for _, tt := range hostileCells {
		t.Run(tt.name, func(t *testing.T) {
			cs := []storage.CaseState{{CaseID: "case:x:1", MentionID: "x:1", State: "open", Severity: "high",
				Brand: tt.value, Location: tt.value, OpenedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}}
			var out bytes.Buffer
			printCases(&out, cs, map[string]string{"case:x:1": "ack " + tt.value})
			s := out.String()
			if terminalUnsafe(s) {
				t.Errorf("control characters reach the terminal: %q", s)
			}
			if n := strings.Count(s, "\n"); n != 2 {
				t.Errorf("%d lines, want the header and one row:\n%s", n, s)
			}
			if !strings.Contains(s, "Ac") {
				t.Errorf("the text itself is gone: %q", s)
			}
		})
	}
}

func TestReportStripsControls(t *testing.T) {
	for _, tt := range hostileCells {
		t.Run(tt.name, func(t *testing.T) {
			r := &report{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
				Locations: []trendRow{{Brand: tt.value, Location: tt.value, Mentions: 3, Negatives: 1}},
				Languages: []langRow{{Lang: tt.value, Mentions: 3}},
				Aspects:   []aspectRow{{Aspect: tt.value, Negatives: 1}}}
			var out bytes.Buffer
			printReport(&out, r)
			s := out.String()
			if terminalUnsafe(s) {
				t.Errorf("control characters reach the terminal: %q", s)
			}
			if strings.Contains(s, "\ncase:forged") {
				t.Errorf("a value started a line of its own:\n%s", s)
			}
		})
	}
}

// TestDSNNotInHelp: the DSN from the environment, which may hold a
// password, is not the flag's default, so --help does not print it.
func TestDSNNotInHelp(t *testing.T) {
	t.Setenv("EARSHOT_CLICKHOUSE", "clickhouse://u:hunter2secret@127.0.0.1:1/db")
	code, out, errOut := earshot(t, "--help")
	if code != 0 || strings.Contains(out+errOut, "hunter2secret") {
		t.Errorf("exit %d; help shows the DSN's password:\n%s%s", code, out, errOut)
	}
}

// TestDSNRedactedInErrors: a DSN whose password or secret parameter the
// driver echoes when it cannot parse it is shown masked.
func TestDSNRedactedInErrors(t *testing.T) {
	tests := []struct{ name, dsn string }{
		{"password with a slash", "clickhouse://u:hunter2/secret@127.0.0.1:1/db"},
		{"token parameter, bad password", "clickhouse://u:a/b@127.0.0.1:1/db?token=hunter2secret"},
		{"password parameter", "clickhouse://127.0.0.1:1/db?password=hunter2secret&dial_timeout=200ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("EARSHOT_CLICKHOUSE", tt.dsn)
			code, out, errOut := earshot(t, "--config", t.TempDir()+"/none.yaml", "migrate")
			if code == 0 {
				t.Fatalf("migrate against a closed port succeeded")
			}
			if strings.Contains(out+errOut, "hunter2") || strings.Contains(out+errOut, "secret@") {
				t.Errorf("error shows a credential:\n%s", errOut)
			}
		})
	}
}
