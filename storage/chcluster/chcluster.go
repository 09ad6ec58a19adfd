// Package chcluster starts a ClickHouse cluster on loopback for tests and
// benchmarks: one ZooKeeper (internal/zklocal) and shards x replicas
// clickhouse-server processes (storage/chlocal), configured from the same
// Topology that renders the compose profile's configs (deploy/cluster).
//
//	c := chcluster.ForTest(t, 2, 2) // or Shared(t) for one per package run
//	st, _ := storage.OpenWith(ctx, c.DSN(db), storage.OpenOptions{Cluster: c.Name})
package chcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/zklocal"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chlocal"
)

// DefaultName is the cluster's name in remote_servers.
const DefaultName = "earshot"

// Options say what to start.
type Options struct {
	Dir      string // every server's state goes under it
	Shards   int    // default 2
	Replicas int    // per shard; default 2
	Name     string // default DefaultName
	Logger   *slog.Logger
}

// Node is one clickhouse-server of the cluster.
type Node struct {
	*chlocal.Server
	Shard, Replica int // from 0
}

// Cluster is a running ZooKeeper and its ClickHouse servers.
type Cluster struct {
	Name     string
	Topology Topology
	ZK       *zklocal.Server
	Nodes    []*Node // shard by shard
}

// Start launches ZooKeeper and the servers and waits until every server
// answers. On error, whatever started is stopped.
func Start(ctx context.Context, o Options) (_ *Cluster, err error) {
	if o.Shards <= 0 {
		o.Shards = 2
	}
	if o.Replicas <= 0 {
		o.Replicas = 2
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Name: o.Name}
	defer func() {
		if err != nil {
			_ = c.Stop()
		}
	}()
	if c.ZK, err = zklocal.Start(ctx, zklocal.Options{Dir: filepath.Join(dir, "zk")}); err != nil {
		return nil, fmt.Errorf("cluster zookeeper: %w", err)
	}
	// Every server's config lists every other's port, so all ports are
	// picked before the first server starts.
	n := o.Shards * o.Replicas
	ports, err := freePorts(3 * n)
	if err != nil {
		return nil, err
	}
	c.Topology = Topology{Cluster: o.Name, ZooKeeper: []Host{{Name: "127.0.0.1", Port: c.ZK.Port}}}
	for s := 0; s < o.Shards; s++ {
		var shard []Host
		for r := 0; r < o.Replicas; r++ {
			shard = append(shard, Host{Name: "127.0.0.1", Port: ports[3*(s*o.Replicas+r)]})
		}
		c.Topology.Shards = append(c.Topology.Shards, shard)
	}
	// Servers start in parallel: each spends most of its start waiting.
	c.Nodes = make([]*Node, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		s, r := i/o.Replicas, i%o.Replicas
		extra, err := c.Topology.NodeConfig(s, r, "127.0.0.1")
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv, err := chlocal.Start(ctx, chlocal.Options{
				Dir:     filepath.Join(dir, fmt.Sprintf("s%dr%d", s+1, r+1)),
				TCPPort: ports[3*i], HTTPPort: ports[3*i+1], InterserverPort: ports[3*i+2],
				ExtraConfig: extra, ExtraUsers: UsersConfig(storage.ClusterProfile), Logger: o.Logger, Timeout: 90 * time.Second,
			})
			if err != nil {
				errs[i] = fmt.Errorf("cluster node shard %d replica %d: %w", s+1, r+1, err)
				return
			}
			c.Nodes[i] = &Node{Server: srv, Shard: s, Replica: r}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := c.settle(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// settle waits until every server reads ZooKeeper. ClickHouse 18.16 at
// times crashes (SIGSEGV in zkutil::ZooKeeper::createImpl, from its
// DDLWorker thread) in its first seconds when several servers connect to
// ZooKeeper at once; a server found dead is started again.
func (c *Cluster) settle(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range c.Nodes {
		for {
			err := zkQuery(ctx, n.HTTPPort)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("cluster node shard %d replica %d does not read ZooKeeper: %w", n.Shard+1, n.Replica+1, err)
			}
			if !alive(n.PID) {
				if err := n.Restart(ctx); err != nil {
					return fmt.Errorf("cluster node shard %d replica %d crashed at start; restart: %w", n.Shard+1, n.Replica+1, err)
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	// A crash comes a moment after the first ZooKeeper reads, later on a
	// loaded machine (a CI run once lost a node's DDLWorker after this
	// check, and every ON CLUSTER statement then waited 180 s for it): a
	// no-op ON CLUSTER statement must go through every node's DDLWorker
	// before the cluster is handed out; a dead node is started again.
	time.Sleep(time.Second)
	return c.Heal(ctx)
}

// Heal starts again any node found dead (18.16's DDLWorker crash can come
// at any time its ZooKeeper session is renewed, and a dead node makes
// every ON CLUSTER statement wait 180 s for it) and checks that a no-op ON
// CLUSTER statement reaches every node. Tests call it before migrating.
func (c *Cluster) Heal(ctx context.Context) error {
	var err error
	for try := 0; try < 3; try++ {
		if try > 0 {
			time.Sleep(time.Second)
		}
		for _, n := range c.Nodes {
			if !alive(n.PID) {
				if err := n.Restart(ctx); err != nil {
					return fmt.Errorf("cluster node shard %d replica %d died; restart: %w", n.Shard+1, n.Replica+1, err)
				}
			}
		}
		if err = c.probeDDL(ctx); err == nil {
			return nil
		}
	}
	return fmt.Errorf("cluster: ON CLUSTER statements do not reach every node: %w", err)
}

// probeDDL runs a no-op ON CLUSTER statement, waiting at most 30 s for
// every node to run it.
func (c *Cluster) probeDDL(ctx context.Context) error {
	return httpQuery(ctx, c.Nodes[0].HTTPPort, http.MethodPost, "CREATE DATABASE IF NOT EXISTS earshot_settle ON CLUSTER "+c.Name,
		url.Values{"distributed_ddl_task_timeout": {"30"}})
}

// alive reports whether the process runs (and is no zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(after, "Z")
}

func zkQuery(ctx context.Context, port int) error {
	return httpQuery(ctx, port, http.MethodGet, "SELECT count() FROM system.zookeeper WHERE path = '/'", nil)
}

// httpQuery runs query on the server's HTTP port with settings; an answer
// other than 200 is an error with the server's message.
func httpQuery(ctx context.Context, port int, method, query string, settings url.Values) error {
	v := url.Values{"query": {query}}
	for k, vs := range settings {
		v[k] = vs
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://127.0.0.1:"+strconv.Itoa(port)+"/?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// Stop stops every server, then ZooKeeper.
func (c *Cluster) Stop() error {
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		if n == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Stop(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if c.ZK != nil {
		if err := c.ZK.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Node returns replica r of shard s (both from 0).
func (c *Cluster) Node(s, r int) *Node {
	for _, n := range c.Nodes {
		if n.Shard == s && n.Replica == r {
			return n
		}
	}
	return nil
}

// DSN is a DSN for database db on the first node.
func (c *Cluster) DSN(db string) string { return c.Nodes[0].DSN(db) }

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// The shared cluster is per test binary by nature (TestMain owns it), as
// storage/chtest's server is.
var shared struct {
	once sync.Once
	dir  string
	c    *Cluster
	err  error
}

// Shared returns the package run's 2x2 cluster, starting it on first use;
// Main stops it. Without clickhouse-server or ZooKeeper the test skips,
// except under CI=true.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "earshot-chcluster-"); shared.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		shared.c, shared.err = Start(ctx, Options{Dir: shared.dir})
	})
	skipOrFail(t, shared.err)
	return shared.c
}

// ForTest starts a cluster of its own for t, stopped at cleanup.
func ForTest(t testing.TB, shards, replicas int) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{Dir: t.TempDir(), Shards: shards, Replicas: replicas})
	skipOrFail(t, err)
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if (errors.Is(err, chlocal.ErrNoBinary) || errors.Is(err, zklocal.ErrNoBinary)) && os.Getenv("CI") != "true" {
		t.Skipf("skipping ClickHouse cluster test: %v", err)
	}
	t.Fatalf("clickhouse test cluster: %v", err)
}

// Main runs the tests and stops the shared cluster, if one was started.
func Main(m *testing.M) int {
	code := m.Run()
	StopShared()
	return code
}

// StopShared stops the shared cluster, for a TestMain that runs the tests
// through another harness's Main.
func StopShared() {
	if shared.c != nil {
		if err := shared.c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "chcluster:", err)
		}
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}

// Addrs lists the nodes' native addresses, for a DSN that fails over.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, net.JoinHostPort("127.0.0.1", strconv.Itoa(n.TCPPort)))
	}
	return out
}
