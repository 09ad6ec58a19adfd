package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/earshot/earshot/alerts/alertstest/recorder"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/storage/chtest"
)

// runWith runs earshot as run does, with the receiver registry given.
func runWith(t *testing.T, reg func() *app, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	a := reg()
	a.stdout, a.stderr = &out, &errb
	root := a.root()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	return errb.String(), err
}

// TestAddReceiverKind: a receiver kind from its own folder
// (alerts/alertstest/recorder), added with one registry line, is
// configured from YAML, validated with file and line like the built-in
// kinds, and receives the cases routed to it.
func TestAddReceiverKind(t *testing.T) {
	withRecorder := func() *app {
		reg := receiverRegistry()
		reg["recorder"] = recorder.Kind() // the registry line
		return &app{registry: registry(), receivers: reg}
	}
	dir := t.TempDir()

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("brands: [{name: Acme}]\nreceivers:\n  - name: rec\n    kind: recorder\n    file: relative.jsonl\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := runWith(t, withRecorder, "--config", bad, "config", "validate")
	var cfgErrs config.Errors
	if !errors.As(err, &cfgErrs) || !strings.Contains(err.Error(), "bad.yaml:5: receivers[0].file: \"relative.jsonl\" is not an absolute path") {
		t.Fatalf("bad option: %v, want a line-numbered error", err)
	}
	// Without the registry line the kind is unknown.
	_, err = runWith(t, func() *app { return &app{registry: registry()} }, "--config", bad, "config", "validate")
	if err == nil || !strings.Contains(err.Error(), `bad.yaml:4: receivers[0].kind: unknown kind "recorder"`) {
		t.Fatalf("without the registry line: %v", err)
	}

	db := chtest.New(t)
	base, err := os.ReadFile(testConfig(t, db))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "recorded.jsonl")
	cfg := strings.Replace(string(base), "receivers:\n", "receivers:\n  - name: rec\n    kind: recorder\n    file: "+file+"\n", 1)
	cfg = strings.Replace(cfg, "\n  receiver: ${EARSHOT_ALERTS_TO:-outbox}\n", "\n  receiver: rec\n", 1)
	path := filepath.Join(dir, "earshot.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if errOut, err := runWith(t, withRecorder, "--config", path, "collect"); err != nil {
		t.Fatalf("collect: %v\n%s", err, errOut)
	}
	lines, err := recorder.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, l := range lines {
		if l.Receiver != "rec" || l.ID == "" || l.Subject == "" {
			t.Errorf("recorded %+v", l)
		}
		cases += len(l.Cases)
	}
	if len(lines) == 0 || cases == 0 {
		t.Fatalf("the recorder received %d messages, %d cases; want the routed cases", len(lines), cases)
	}
	if n := db.Count(t, "SELECT count() FROM case_events FINAL WHERE event = 'notified' AND receiver = 'rec'"); n != uint64(cases) {
		t.Errorf("notified events for rec = %d, want %d (one per recorded case)", n, cases)
	}
}
