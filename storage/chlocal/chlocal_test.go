package chlocal

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// startT starts a server for the test, skipping when none is installed.
func startT(t *testing.T, o Options) (*Server, error) {
	t.Helper()
	s, err := Start(context.Background(), o)
	if errors.Is(err, ErrNoBinary) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err == nil {
		t.Cleanup(func() { _ = s.Stop() })
	}
	return s, err
}

// hold keeps a loopback port busy for the test.
func hold(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// TestPortsKept: `earshot clickhouse start` after a stop serves on the same
// ports, so a DSN or Grafana data source saved once keeps working;
// configured ports are used as given, and a remembered port some other
// program took since is replaced rather than failing the start.
func TestPortsKept(t *testing.T) {
	dir := t.TempDir()
	first, err := startT(t, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tcp, http := first.TCPPort, first.HTTPPort
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	if rt, rh := RememberedPorts(dir); rt != tcp || rh != http {
		t.Errorf("remembered %d/%d, want %d/%d", rt, rh, tcp, http)
	}
	again, err := startT(t, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if again.TCPPort != tcp || again.HTTPPort != http {
		t.Errorf("restarted on %d/%d, want the earlier %d/%d", again.TCPPort, again.HTTPPort, tcp, http)
	}
	if err := again.Stop(); err != nil {
		t.Fatal(err)
	}

	// A remembered port taken by another program: a new one, remembered.
	taken := hold(t)
	if err := os.WriteFile(filepath.Join(dir, portsFile), []byte(`{"tcp_port":`+strconv.Itoa(taken)+`,"http_port":`+strconv.Itoa(http)+`}`), 0o644); err != nil {
		t.Fatal(err)
	}
	moved, err := startT(t, Options{Dir: dir})
	if err != nil {
		t.Fatalf("a taken remembered port failed the start: %v", err)
	}
	if moved.TCPPort == taken || moved.HTTPPort != http {
		t.Errorf("ports %d/%d: want a new TCP port instead of %d and HTTP %d kept", moved.TCPPort, moved.HTTPPort, taken, http)
	}
	if rt, _ := RememberedPorts(dir); rt != moved.TCPPort {
		t.Errorf("remembered TCP port %d, want the new %d", rt, moved.TCPPort)
	}
	if err := moved.Stop(); err != nil {
		t.Fatal(err)
	}

	// Configured ports win over remembered ones.
	free, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := startT(t, Options{Dir: dir, TCPPort: free[0], HTTPPort: free[1]})
	if err != nil {
		t.Fatal(err)
	}
	if pinned.TCPPort != free[0] || pinned.HTTPPort != free[1] || ping(context.Background(), free[1]) != nil {
		t.Errorf("configured %v, got %d/%d", free, pinned.TCPPort, pinned.HTTPPort)
	}
	if err := pinned.Stop(); err != nil {
		t.Fatal(err)
	}
}

// TestConfiguredPortInUse: a configured port another program holds is an
// error naming it, before any server starts.
func TestConfiguredPortInUse(t *testing.T) {
	if _, err := os.Stat(DefaultConfig); err != nil {
		t.Skip("no clickhouse-server config:", err)
	}
	taken := hold(t)
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"tcp", Options{TCPPort: taken}, "clickhouse TCP port " + strconv.Itoa(taken) + " is in use"},
		{"http", Options{HTTPPort: taken}, "clickhouse HTTP port " + strconv.Itoa(taken) + " is in use"},
		{"out of range", Options{TCPPort: 70000}, "want 1 to 65535"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Dir = t.TempDir()
			s, err := startT(t, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v (server %v), want an error with %q", err, s, tc.want)
			}
		})
	}
}

// TestExtraConfig: the extra config and users files are merged over the
// system-wide ones (copied, never touched), and the interserver port is
// the one asked for.
func TestExtraConfig(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inter := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	s, err := startT(t, Options{Dir: dir, InterserverPort: inter,
		ExtraConfig: `<?xml version="1.0"?><yandex><macros><shard>07</shard></macros></yandex>`,
		ExtraUsers:  `<?xml version="1.0"?><yandex><profiles><default><load_balancing>in_order</load_balancing></default></profiles></yandex>`})
	if err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{
		"SELECT substitution FROM system.macros WHERE macro = 'shard'":    "07",
		"SELECT value FROM system.settings WHERE name = 'load_balancing'": "in_order",
	} {
		resp, err := http.Get("http://" + s.HTTPAddr() + "/?query=" + url.QueryEscape(q))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := strings.TrimSpace(string(b)); got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}
	if portFree(inter) {
		t.Errorf("interserver port %d not taken by the server", inter)
	}
}
