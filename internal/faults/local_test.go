package faults

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestDaemonRestartsLocalClickHouse: with no DSN configured, earshot runs
// its own clickhouse-server; when that dies (kill -9, an OOM kill), the
// daemon starts it again on the same ports and data, and goes on storing.
func TestDaemonRestartsLocalClickHouse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts earshot and clickhouse-server processes")
	}
	s := &setup{t: t, dir: t.TempDir(), sink: newSink(t)}
	s.inbox = filepath.Join(s.dir, "inbox")
	if err := os.MkdirAll(s.inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(s.dir, "clickhouse")
	cfg := fmt.Sprintf(`clickhouse:
  local_dir: %s
  spool_dir: %s
server:
  listen: 127.0.0.1:0
brands: [{name: Acme, locations: [{name: Zagreb}, {name: Manila}]}]
sources: [{name: exports, kind: import, brand: Acme, schedule: "@every 1s", path: "%s/*.jsonl"}]
receivers: [{name: desk, kind: webhook, url: "%s"}]
route: {receiver: desk, group_wait: 1ms, group_interval: 1s}
`, local, filepath.Join(s.dir, "spool"), s.inbox, s.sink.srv.URL)
	s.config = filepath.Join(s.dir, "earshot.yaml")
	if err := os.WriteFile(s.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	type state struct {
		PID      int `json:"pid"`
		HTTPPort int `json:"http_port"`
	}
	read := func() (state, bool) {
		var st state
		b, err := os.ReadFile(filepath.Join(local, "earshot-server.json"))
		if err != nil || json.Unmarshal(b, &st) != nil || st.PID == 0 {
			return st, false
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/ping", st.HTTPPort))
		if err != nil {
			return st, false
		}
		resp.Body.Close()
		return st, resp.StatusCode == http.StatusOK
	}
	p := s.start("run")
	var first state
	waitFor(t, 90*time.Second, "the local server", func() (ok bool) { first, ok = read(); return ok })
	writeReviews(t, filepath.Join(s.inbox, "a.jsonl"), "a", 50, 50, 1)
	deadline := time.Now().Add(30 * time.Second)
	for len(s.sink.counts()) == 0 {
		if time.Now().After(deadline) {
			ls, _ := filepath.Glob(filepath.Join(s.inbox, "*"))
			t.Fatalf("first export not alerted (inbox %v):\n%s", ls, p.output()[:3000])
		}
		time.Sleep(100 * time.Millisecond)
	}

	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var second state
	waitFor(t, 90*time.Second, "the local server back", func() (ok bool) {
		second, ok = read()
		return ok && second.PID != first.PID
	})
	if second.HTTPPort != first.HTTPPort {
		t.Errorf("restarted on port %d, was %d", second.HTTPPort, first.HTTPPort)
	}
	before := len(s.sink.counts())
	neg := writeReviews(t, filepath.Join(s.inbox, "b.jsonl"), "b", 50, 50, 2)
	waitFor(t, 60*time.Second, "the second export alerted", func() bool { return len(s.sink.counts()) >= before+neg })
	p.stop(t)
	if _, ok := read(); ok {
		t.Errorf("the local server outlived the daemon that started it")
	}
}
