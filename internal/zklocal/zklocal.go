// Package zklocal runs a private ZooKeeper on loopback from Debian's
// zookeeper package, for tests and local cluster setups: the coordination
// ClickHouse replication and Earshot's worker membership use.
//
//	zk := zklocal.ForTest(t) // started for t, stopped at cleanup
//	... zk.Addr() ...
package zklocal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ErrNoBinary means ZooKeeper (or the java runtime it needs) is not installed.
var ErrNoBinary = errors.New("zookeeper not installed (Debian: apt-get install zookeeper)")

// Jar is where Debian's zookeeper package puts the server; its manifest's
// Class-Path names the other jars, so it is the whole classpath.
const Jar = "/usr/share/java/zookeeper.jar"

// Options configure Start.
type Options struct {
	Dir  string // data, config and log; created if missing
	Port int    // client port on 127.0.0.1; 0 picks a free one
	// TickTime is ZooKeeper's time unit; session timeouts are bounded to
	// 2..20 ticks. Default 500ms: sessions of 1-10 s, so tests see a dead
	// worker's ephemeral nodes go quickly.
	TickTime time.Duration
}

// Server is a running ZooKeeper.
type Server struct {
	Port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	opts Options
	java string
}

// Addr is host:port for clients.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Start launches ZooKeeper and waits until it answers "ruok".
func Start(ctx context.Context, o Options) (*Server, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, ErrNoBinary
	}
	if _, err := os.Stat(Jar); err != nil {
		return nil, ErrNoBinary
	}
	if o.Dir == "" {
		return nil, errors.New("zklocal: Options.Dir is required")
	}
	if o.TickTime <= 0 {
		o.TickTime = 500 * time.Millisecond
	}
	if o.Port == 0 {
		if o.Port, err = freePort(); err != nil {
			return nil, fmt.Errorf("zklocal: pick a port: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(o.Dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("zklocal: %w", err)
	}
	cfg := fmt.Sprintf(`tickTime=%d
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
admin.enableServer=false
maxClientCnxns=0
4lw.commands.whitelist=ruok,srvr,mntr
`, o.TickTime.Milliseconds(), filepath.Join(o.Dir, "data"), o.Port)
	cfgPath := filepath.Join(o.Dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("zklocal: %w", err)
	}
	s := &Server{Port: o.Port, dir: o.Dir, opts: o}
	s.java = java
	if err := s.launch(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) launch(ctx context.Context) error {
	logf, err := os.OpenFile(filepath.Join(s.dir, "zookeeper.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("zklocal: %w", err)
	}
	defer logf.Close()
	// A small heap: tests start several servers on a 2-core machine.
	cmd := exec.Command(s.java, "-Xmx256m", "-XX:+UseSerialGC", "-Dzookeeper.admin.enableServer=false",
		"-cp", Jar, "org.apache.zookeeper.server.quorum.QuorumPeerMain", filepath.Join(s.dir, "zoo.cfg"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("zklocal: start: %w", err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if Ruok(s.Addr()) == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("zklocal: zookeeper exited at start: %s", tail(filepath.Join(s.dir, "zookeeper.log")))
		case <-ctx.Done():
			s.Kill()
			return fmt.Errorf("zklocal: waiting for zookeeper: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Kill()
			return fmt.Errorf("zklocal: zookeeper did not answer on %s within 60s: %s", s.Addr(), tail(filepath.Join(s.dir, "zookeeper.log")))
		}
	}
}

// Ruok asks a ZooKeeper at addr whether it is serving.
func Ruok(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("ruok")); err != nil {
		return err
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "imok") {
		return fmt.Errorf("zookeeper at %s answered %q", addr, line)
	}
	return nil
}

// Stop ends ZooKeeper gracefully (SIGTERM), then kills it after 10 s.
func (s *Server) Stop() error {
	if s.cmd == nil {
		return nil
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.Kill()
	}
	return nil
}

// Kill ends ZooKeeper at once (SIGKILL), as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
}

// Restart starts a stopped or killed server again on the same port and data.
func (s *Server) Restart(ctx context.Context) error {
	select {
	case <-s.done:
	default:
		return errors.New("zklocal: restart: server still running")
	}
	return s.launch(ctx)
}

// ForTest starts a ZooKeeper for t and stops it when t ends. Without
// ZooKeeper installed the test is skipped, except under CI=true, where
// that is a failure.
func ForTest(t testing.TB) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, err := Start(ctx, Options{Dir: t.TempDir()})
	if err != nil {
		if errors.Is(err, ErrNoBinary) && os.Getenv("CI") != "true" {
			t.Skipf("skipping ZooKeeper integration test: %v", err)
		}
		t.Fatalf("zookeeper test server: %v", err)
	}
	t.Cleanup(func() { s.Kill() })
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}
