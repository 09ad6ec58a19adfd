// Package chlocal starts and stops a private clickhouse-server on loopback
// ports with all of its state under one directory. Tests use it for a real
// server per package run; `earshot` uses it when no DSN is configured, so a
// fresh machine needs nothing but the clickhouse-server binary.
package chlocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultConfig is the server config shipped by Debian's clickhouse-server
// package; ports and paths are overridden on the command line.
const DefaultConfig = "/etc/clickhouse-server/config.xml"

// ErrNoBinary means clickhouse-server is not installed.
var ErrNoBinary = errors.New("clickhouse-server not found in PATH (Debian: apt-get install clickhouse-server)")

// Options say where the server lives.
type Options struct {
	Dir        string        // data, logs and tmp go here; created if missing
	Binary     string        // default: clickhouse-server from PATH
	ConfigFile string        // default: DefaultConfig
	Timeout    time.Duration // how long to wait for the server to answer; default 60s
	Logger     *slog.Logger
	// TCPPort and HTTPPort pin the server's loopback ports. 0: the ports
	// this Dir's server had last time (remembered in Dir), else free ones,
	// so a DSN or a Grafana data source saved once keeps working.
	TCPPort, HTTPPort int
	// InterserverPort pins the port replicas fetch parts from each other
	// on (a cluster's config names it before the server starts); 0: a free one.
	InterserverPort int
	// ExtraConfig is an XML document (<clickhouse>...</clickhouse>, or
	// <yandex> for 18.16) merged over ConfigFile, as a file in its config.d
	// would be: a cluster's macros, remote_servers, zookeeper. The config
	// file and its users.xml are copied under Dir/etc for that, so the
	// system-wide config is never touched.
	ExtraConfig string
	// ExtraUsers is merged over the users.xml beside ConfigFile, as a file
	// in its users.d would be (profile settings); it implies the copy too.
	ExtraUsers string
}

// Server is a running clickhouse-server.
type Server struct {
	Dir      string
	TCPPort  int
	HTTPPort int
	PID      int
	cmd      *exec.Cmd // nil when attached to a server another process started
	done     chan error
	binary   string
	args     []string
	timeout  time.Duration
	log      *slog.Logger
}

// state is what a running server leaves in Dir so that another earshot
// process can reuse it instead of starting a second one on the same data.
type state struct {
	PID      int `json:"pid"`
	TCPPort  int `json:"tcp_port"`
	HTTPPort int `json:"http_port"`
}

const stateFile = "earshot-server.json"

// portsFile remembers the ports of the last server started on a Dir. Unlike
// stateFile it outlives the server: the next start takes the same ports.
const portsFile = "earshot-ports.json"

type ports struct {
	TCPPort  int `json:"tcp_port"`
	HTTPPort int `json:"http_port"`
}

// RememberedPorts returns the ports the last server on dir listened on (0
// when none was started there).
func RememberedPorts(dir string) (tcp, http int) {
	b, err := os.ReadFile(filepath.Join(dir, portsFile))
	if err != nil {
		return 0, 0
	}
	var p ports
	if json.Unmarshal(b, &p) != nil {
		return 0, 0
	}
	return p.TCPPort, p.HTTPPort
}

// HTTPAddr is the HTTP interface's address, host:port (clickhouse-client
// over HTTP, Grafana's and most BI tools' ClickHouse data sources).
func (s *Server) HTTPAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.HTTPPort)) }

// Addr is the native-protocol address, host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.TCPPort)) }

// DSN is a clickhouse-go DSN for database db.
func (s *Server) DSN(db string) string { return "clickhouse://" + s.Addr() + "/" + db }

// Owned reports whether this process started the server (and so stops it).
func (s *Server) Owned() bool { return s.cmd != nil }

// Attach returns the server already running on Dir, if any.
func Attach(ctx context.Context, dir string) (*Server, bool) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, false
	}
	var st state
	if json.Unmarshal(b, &st) != nil || st.PID <= 0 {
		return nil, false
	}
	if syscall.Kill(st.PID, 0) != nil {
		return nil, false
	}
	s := &Server{Dir: dir, TCPPort: st.TCPPort, HTTPPort: st.HTTPPort, PID: st.PID}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if ping(pctx, s.HTTPPort) != nil {
		return nil, false
	}
	return s, true
}

// Start launches clickhouse-server on free loopback ports and waits until it
// answers. Port races with other processes are retried.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Binary == "" {
		p, err := exec.LookPath("clickhouse-server")
		if err != nil {
			return nil, ErrNoBinary
		}
		o.Binary = p
	}
	if o.ConfigFile == "" {
		o.ConfigFile = DefaultConfig
	}
	if _, err := os.Stat(o.ConfigFile); err != nil {
		return nil, fmt.Errorf("clickhouse config: %w", err)
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("clickhouse dir: %w", err)
		}
	}
	want, err := wantPorts(o, dir)
	if err != nil {
		return nil, err
	}
	if o.ExtraConfig != "" || o.ExtraUsers != "" {
		if o.ConfigFile, err = withExtraConfig(o.ConfigFile, filepath.Join(dir, "etc"), o.ExtraConfig, o.ExtraUsers); err != nil {
			return nil, err
		}
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(ctx, o, dir, want)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if ctx.Err() != nil || !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	return nil, lastErr
}

// wantPorts picks the TCP and HTTP ports: configured ones must be free; a
// remembered one that another program took since is given up for a free
// one, with a warning, since the server must start.
func wantPorts(o Options, dir string) (ports, error) {
	tcp, http := RememberedPorts(dir)
	want := ports{TCPPort: tcp, HTTPPort: http}
	for _, p := range []struct {
		name       string
		configured int
		port       *int
	}{{"TCP", o.TCPPort, &want.TCPPort}, {"HTTP", o.HTTPPort, &want.HTTPPort}} {
		if p.configured < 0 || p.configured > 65535 {
			return want, fmt.Errorf("clickhouse %s port %d: want 1 to 65535, or 0 for the last one used", p.name, p.configured)
		}
		if p.configured != 0 {
			*p.port = p.configured
			if !portFree(p.configured) {
				return want, fmt.Errorf("clickhouse %s port %d is in use by another program", p.name, p.configured)
			}
			continue
		}
		if *p.port != 0 && !portFree(*p.port) {
			o.Logger.Warn("the local clickhouse-server's last port is taken by another program; using a new one (update saved DSNs)",
				"protocol", p.name, "port", *p.port)
			*p.port = 0
		}
	}
	if want.TCPPort != 0 && want.TCPPort == want.HTTPPort {
		return want, fmt.Errorf("clickhouse TCP and HTTP ports are both %d", want.TCPPort)
	}
	return want, nil
}

// portFree reports whether a loopback port can be listened on now.
func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func start(ctx context.Context, o Options, dir string, want ports) (*Server, error) {
	// Five free ports held at once are distinct; at most three of them are
	// the wanted ones, which leaves the two or three still to pick.
	free, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	used := map[int]bool{want.TCPPort: true, want.HTTPPort: true, o.InterserverPort: true}
	next := func() int {
		for _, p := range free {
			if !used[p] {
				used[p] = true
				return p
			}
		}
		return 0 // not reached: see above
	}
	tcp, http := want.TCPPort, want.HTTPPort
	if tcp == 0 {
		tcp = next()
	}
	if http == 0 {
		http = next()
	}
	inter := o.InterserverPort
	if inter == 0 {
		inter = next()
	}
	s := &Server{Dir: dir, TCPPort: tcp, HTTPPort: http, binary: o.Binary, timeout: o.Timeout, log: o.Logger}
	s.args = []string{
		"--config-file=" + o.ConfigFile, "--",
		"--tcp_port=" + strconv.Itoa(tcp),
		"--http_port=" + strconv.Itoa(http),
		"--interserver_http_port=" + strconv.Itoa(inter),
		"--listen_host=127.0.0.1",
		"--path=" + filepath.Join(dir, "data") + "/",
		"--tmp_path=" + filepath.Join(dir, "tmp") + "/",
		"--user_files_path=" + filepath.Join(dir, "user_files") + "/",
		"--format_schema_path=" + filepath.Join(dir, "format_schemas") + "/",
		"--logger.log=" + filepath.Join(dir, "log", "server.log"),
		"--logger.errorlog=" + filepath.Join(dir, "log", "server.err.log"),
	}
	if err := s.launch(ctx); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(state{PID: s.PID, TCPPort: s.TCPPort, HTTPPort: s.HTTPPort})
	if err := os.WriteFile(filepath.Join(dir, stateFile), b, 0o644); err != nil {
		o.Logger.Warn("clickhouse state file", "err", err)
	}
	b, _ = json.Marshal(ports{TCPPort: s.TCPPort, HTTPPort: s.HTTPPort})
	if err := os.WriteFile(filepath.Join(dir, portsFile), b, 0o644); err != nil {
		o.Logger.Warn("clickhouse ports file", "err", err)
	}
	o.Logger.Debug("clickhouse-server started", "dir", dir, "tcp_port", s.TCPPort, "pid", s.PID)
	return s, nil
}

// withExtraConfig copies the config file and the users.xml beside it into
// etc and writes extra as etc/config.d/earshot.xml and users as
// etc/users.d/earshot.xml, which the server merges over the copies. It
// returns the copy's path.
func withExtraConfig(config, etc, extra, users string) (string, error) {
	for _, d := range []string{"config.d", "users.d"} {
		if err := os.MkdirAll(filepath.Join(etc, d), 0o755); err != nil {
			return "", fmt.Errorf("clickhouse config dir: %w", err)
		}
	}
	for _, name := range []string{filepath.Base(config), "users.xml"} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(config), name))
		if errors.Is(err, os.ErrNotExist) && name == "users.xml" {
			continue // the config names its users some other way
		}
		if err != nil {
			return "", fmt.Errorf("clickhouse config: %w", err)
		}
		if err := os.WriteFile(filepath.Join(etc, name), b, 0o644); err != nil {
			return "", fmt.Errorf("clickhouse config: %w", err)
		}
	}
	for d, body := range map[string]string{"config.d": extra, "users.d": users} {
		if body == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(etc, d, "earshot.xml"), []byte(body), 0o644); err != nil {
			return "", fmt.Errorf("clickhouse config: %w", err)
		}
	}
	return filepath.Join(etc, filepath.Base(config)), nil
}

// launch runs the server process and waits until it answers /ping.
func (s *Server) launch(ctx context.Context) error {
	out, err := os.OpenFile(filepath.Join(s.Dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	// Not CommandContext: the caller decides when the server stops, and a
	// cancelled ctx must not SIGKILL a server mid-write.
	cmd := exec.Command(s.binary, s.args...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = out, out
	// Own process group: a Ctrl-C in the terminal reaches earshot, which then
	// stops the server cleanly, instead of killing both at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start clickhouse-server: %w", err)
	}
	s.cmd, s.PID, s.done = cmd, cmd.Process.Pid, make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()

	errLog := filepath.Join(s.Dir, "log", "server.err.log")
	deadline := time.NewTimer(s.timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-s.done:
			s.done <- err
			s.cmd = nil
			return fmt.Errorf("clickhouse-server exited during start (%v): %s", err, tail(errLog))
		case <-ctx.Done():
			_ = s.Stop()
			return ctx.Err()
		case <-deadline.C:
			_ = s.Stop()
			return fmt.Errorf("clickhouse-server did not answer within %s: %s", s.timeout, tail(errLog))
		case <-tick.C:
			if ping(ctx, s.HTTPPort) == nil {
				return nil
			}
		}
	}
}

// Stop asks the server to shut down and waits up to 30 s before killing it.
// It does nothing for a server this process did not start.
func (s *Server) Stop() error {
	if s == nil || s.cmd == nil {
		return nil
	}
	_ = os.Remove(filepath.Join(s.Dir, stateFile))
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	// The exit goes back into done, as Kill does: a second Stop returns
	// at once instead of waiting for an exit it already took.
	select {
	case err := <-s.done:
		s.done <- err
		return nil
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-s.PID, syscall.SIGKILL)
		s.done <- <-s.done
		return errors.New("clickhouse-server did not stop within 30s; killed")
	}
}

// Kill stops the server at once, as a crash would. For fault tests.
func (s *Server) Kill() {
	if s == nil || s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.PID, syscall.SIGKILL)
	<-s.done
	s.done <- nil
}

// Restart starts a killed or stopped server again on the same ports and
// directory, so clients configured with its address reconnect. The old
// process may hold its ports for a moment, so a failed start is retried.
func (s *Server) Restart(ctx context.Context) error {
	if s.binary == "" {
		return errors.New("restart: server not started by this process")
	}
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		if err = s.launch(ctx); err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
	return err
}

func ping(ctx context.Context, port int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+"/ping", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// tail returns the last lines of a log file for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no error log"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return strings.Join(lines, " | ")
}

// Shutdown stops the server running on dir, whichever process started it.
// It reports false when none was running.
func Shutdown(ctx context.Context, dir string) (bool, error) {
	s, ok := Attach(ctx, dir)
	if !ok {
		return false, nil
	}
	if err := syscall.Kill(s.PID, syscall.SIGTERM); err != nil {
		return true, fmt.Errorf("stop clickhouse-server %d: %w", s.PID, err)
	}
	for i := 0; i < 300; i++ {
		if syscall.Kill(s.PID, 0) != nil {
			_ = os.Remove(filepath.Join(dir, stateFile))
			return true, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true, fmt.Errorf("clickhouse-server %d did not stop within 30s", s.PID)
}

// Supervise restarts the server whenever it exits until ctx ends: a daemon
// that manages its own ClickHouse brings it back after a crash or an OOM
// kill (the spool holds what arrives meanwhile). It returns when ctx ends;
// call Stop only after it returned.
func (s *Server) Supervise(ctx context.Context) {
	if s == nil || s.cmd == nil {
		return
	}
	for {
		done := s.done
		select {
		case <-ctx.Done():
			return
		case err := <-done:
			done <- err // Stop and Kill read it too
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("local clickhouse-server exited; restarting it", "err", err, "dir", s.Dir)
			if rerr := s.Restart(ctx); rerr != nil {
				s.log.Error("local clickhouse-server did not restart; retrying in 5s", "err", rerr)
				select {
				case <-ctx.Done():
					return
				case <-time.After(5 * time.Second):
				}
				continue
			}
			// Other earshot processes find it through the state file.
			b, _ := json.Marshal(state{PID: s.PID, TCPPort: s.TCPPort, HTTPPort: s.HTTPPort})
			if err := os.WriteFile(filepath.Join(s.Dir, stateFile), b, 0o644); err != nil {
				s.log.Warn("clickhouse state file", "err", err)
			}
			s.log.Info("local clickhouse-server restarted", "pid", s.PID, "tcp_port", s.TCPPort)
		}
	}
}
