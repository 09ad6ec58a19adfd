package coord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/zklocal"
)

// proxy is a TCP relay to ZooKeeper that the test can freeze, as a
// network partition would: the worker behind it stays alive, its
// connection stays open, and it hears nothing (no EOF, no reset).
type proxy struct {
	l      net.Listener
	target string

	mu     sync.Mutex
	frozen bool
	thaw   chan struct{} // closed when unfrozen
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target, thaw: make(chan struct{})}
	close(p.thaw)
	t.Cleanup(func() { l.Close(); p.setFrozen(false) })
	go p.serve()
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			c.Close()
			continue
		}
		go p.relay(s, c)
		go p.relay(c, s)
	}
}

// relay copies src to dst, holding every chunk while frozen.
func (p *proxy) relay(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			thaw := p.thaw
			p.mu.Unlock()
			<-thaw
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) setFrozen(frozen bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if frozen == p.frozen {
		return
	}
	p.frozen = frozen
	if frozen {
		p.thaw = make(chan struct{})
	} else {
		close(p.thaw)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// worker is a Coordinator running for a test.
type worker struct {
	c      *Coordinator
	cancel context.CancelFunc
	done   chan struct{}
}

func startWorker(t *testing.T, root, id string, timeout time.Duration, servers ...string) *worker {
	t.Helper()
	c, err := New(Options{Servers: servers, SessionTimeout: timeout, Root: root, ID: id, Logger: testLogger(t).With("worker", id)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{c: c, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(w.done); _ = c.Run(ctx) }()
	t.Cleanup(w.stop)
	return w
}

func (w *worker) stop() {
	w.cancel()
	<-w.done
	w.c.Close()
}

// waitView polls the workers' views until cond holds for all of them.
func waitView(t *testing.T, timeout time.Duration, what string, ws []*worker, cond func(v []View) bool) []View {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		vs := make([]View, len(ws))
		for i, w := range ws {
			vs[i] = w.c.View()
		}
		if cond(vs) {
			return vs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; views: %+v", timeout, what, vs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func leaders(vs []View) []string {
	var out []string
	for _, v := range vs {
		if v.Leading {
			out = append(out, v.Self)
		}
	}
	return out
}

func agree(n int) func([]View) bool {
	return func(vs []View) bool {
		for _, v := range vs {
			if !v.Joined || len(v.Members) != n || v.Leader != vs[0].Leader {
				return false
			}
		}
		return len(leaders(vs)) == 1
	}
}

// TestMembershipAndElection: three workers join, agree on the members,
// the leader (the first to join) and the owner of every key; one key has
// exactly one owner. The leader leaves (Close): another leads at once and
// the leaver's keys, only those, move.
func TestMembershipAndElection(t *testing.T) {
	zk := zklocal.ForTest(t)
	root := "/earshot/" + t.Name()
	const timeout = 2 * time.Second
	first := startWorker(t, root, "w1", timeout, zk.Addr())
	waitView(t, 20*time.Second, "w1 alone leads", []*worker{first}, agree(1))
	ws := []*worker{first, startWorker(t, root, "w2", timeout, zk.Addr())}
	waitView(t, 20*time.Second, "two members", ws, agree(2)) // w2 joins before w3: next in line
	ws = append(ws, startWorker(t, root, "w3", timeout, zk.Addr()))
	vs := waitView(t, 20*time.Second, "three members, one leader", ws, agree(3))
	if l := leaders(vs); !slices.Equal(l, []string{"w1"}) || vs[1].Leader != "w1" {
		t.Fatalf("leaders %v (w2 sees %q), want w1: the first to join", l, vs[1].Leader)
	}
	keys := sources(60)
	owned := map[string]string{}
	for _, k := range keys {
		var owners []string
		for _, w := range ws {
			if w.c.Owns(k) {
				owners = append(owners, w.c.ID())
			}
		}
		if len(owners) != 1 {
			t.Fatalf("%s owned by %v, want exactly one", k, owners)
		}
		owned[k] = owners[0]
	}
	if tctx, cancel, ok := ws[1].c.Term(context.Background()); ok || tctx.Err() == nil {
		t.Errorf("w2 got a term while w1 leads")
	} else {
		cancel()
	}

	// The leader leaves cleanly: its term ends, w2 (next oldest) leads.
	tctx, cancel, ok := first.c.Term(context.Background())
	if !ok {
		t.Fatal("w1 has no term")
	}
	defer cancel()
	left := time.Now()
	first.stop()
	if !errors.Is(context.Cause(tctx), ErrNotLeader) {
		t.Errorf("w1's term did not end at Close: %v", context.Cause(tctx))
	}
	vs = waitView(t, 10*time.Second, "w2 leads after w1 left", ws[1:], agree(2))
	t.Logf("%v leads %s after w1 left", leaders(vs), time.Since(left).Round(time.Millisecond))
	if l := leaders(vs); !slices.Equal(l, []string{"w2"}) {
		t.Errorf("leaders %v, want w2", l)
	}
	for _, k := range keys {
		now := ""
		for _, w := range ws[1:] {
			if w.c.Owns(k) {
				now = w.c.ID()
			}
		}
		if owned[k] != "w1" && now != owned[k] {
			t.Errorf("%s moved from %s to %s though %s stayed", k, owned[k], now, owned[k])
		}
		if now == "" {
			t.Errorf("%s has no owner after w1 left", k)
		}
	}
}

// TestFenceBeforeTakeover cuts the leader off from ZooKeeper by silence
// (it stays alive, its connection open): its term must end before any
// other worker's begins, and another must lead within about the session
// timeout. Healed, the old leader rejoins as a member, not as a second
// leader. The second case asks for a longer session than zklocal grants
// (its ticks cap it at 10s): the fence must follow the granted timeout.
func TestFenceBeforeTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for ZooKeeper session timeouts")
	}
	for _, tc := range []struct {
		name         string
		asked, grant time.Duration
	}{
		{"2s", 2 * time.Second, 2 * time.Second},
		{"asked 30s granted 10s", 30 * time.Second, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zk := zklocal.ForTest(t)
			root := "/earshot/fence"
			px := newProxy(t, zk.Addr())
			a := startWorker(t, root, "a", tc.asked, px.addr())
			waitView(t, 20*time.Second, "a leads", []*worker{a}, agree(1))
			b := startWorker(t, root, "b", tc.asked, zk.Addr())
			c := startWorker(t, root, "c", tc.asked, zk.Addr())
			ws := []*worker{a, b, c}
			waitView(t, 20*time.Second, "three members", ws, agree(3))
			if !a.c.View().Leading {
				t.Fatal("a does not lead")
			}
			// When a's term ends, and when b's or c's begins.
			var mu sync.Mutex
			var fenced, took time.Time
			var taker string
			tctx, cancel, ok := a.c.Term(context.Background())
			if !ok {
				t.Fatal("a has no term")
			}
			defer cancel()
			context.AfterFunc(tctx, func() { mu.Lock(); fenced = time.Now(); mu.Unlock() })
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			for _, w := range ws[1:] {
				go w.c.Lead(ctx, func(lctx context.Context) {
					mu.Lock()
					if took.IsZero() {
						took, taker = time.Now(), w.c.ID()
					}
					mu.Unlock()
					<-lctx.Done()
				})
			}
			cutAt := time.Now()
			px.setFrozen(true)
			waitView(t, 3*tc.grant, "b or c leads", ws[1:], func(vs []View) bool { return len(leaders(vs)) == 1 && len(vs[0].Members) == 2 })
			mu.Lock()
			f, tk := fenced, took
			mu.Unlock()
			t.Logf("cut at 0; a fenced after %s; %s leads after %s (session timeout granted %s)", f.Sub(cutAt).Round(time.Millisecond), taker,
				tk.Sub(cutAt).Round(time.Millisecond), tc.grant)
			if f.IsZero() || tk.IsZero() || !f.Before(tk) {
				t.Fatalf("a's term ended at %v, the new leader's began at %v: the fence must come first", f, tk)
			}
			if d := f.Sub(cutAt); d >= tc.grant {
				t.Errorf("a fenced %s after the cut, not within the session timeout %s", d, tc.grant)
			}
			if a.c.Owns("source-1") || a.c.Owns("source-2") || a.c.View().Joined {
				t.Errorf("a still owns sources while cut off: %+v", a.c.View())
			}
			// Healed: a rejoins (a new session: the old one expired) behind
			// the others, and nobody else leads.
			px.setFrozen(false)
			vs := waitView(t, 4*tc.grant, "a back as a member", ws, agree(3))
			if l := leaders(vs); !slices.Equal(l, []string{taker}) {
				t.Errorf("leaders %v after a rejoined, want %s only", l, taker)
			}
		})
	}
}

func TestMain(m *testing.M) {
	// Fail loudly instead of hanging if ZooKeeper leaves a test stuck.
	done := make(chan int)
	go func() { done <- m.Run() }()
	select {
	case code := <-done:
		os.Exit(code)
	case <-time.After(8 * time.Minute):
		fmt.Fprintln(os.Stderr, "coord tests: timed out")
		os.Exit(1)
	}
}
