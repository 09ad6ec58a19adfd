// Package coord lets several earshot workers share their work through
// ZooKeeper: each live worker holds an ephemeral, sequential node under
// <root>/workers; the live members split the sources by rendezvous
// hashing (Owner), and the member with the oldest node is the one
// dispatcher (Lead).
//
// Fencing: a worker whose ZooKeeper connection drops stops leading at
// once (the client notices after 2/3 of the session timeout without an
// answer; the server expires the session, and only then can another
// worker lead, after the whole timeout). A lease measured from the last
// request ZooKeeper answered stops it too, should the client's own
// detection lag. Leadership comes as a context (Term) that ends at the
// fence, so that whatever sends on the leader's behalf stops with it.
//
// Membership and election share one children watch on <root>/workers:
// membership needs every change anyway, so a separate predecessor watch
// would add a second source of truth and no fewer wake-ups.
package coord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// ErrNotLeader is the cause of a Term context's end, and what Term
// reports when this worker does not lead.
var ErrNotLeader = errors.New("not the elected dispatcher (ZooKeeper leadership lost or not held)")

// Options configure a Coordinator.
type Options struct {
	Servers []string // host:port of the ZooKeeper ensemble
	// SessionTimeout is asked of ZooKeeper (which bounds it to 2..20 of
	// its ticks); a dead worker's sources move after about this long.
	// Default 10s.
	SessionTimeout time.Duration
	// Root is this deployment's znode, e.g. /earshot/<database>; created
	// if missing.
	Root string
	// ID names this worker among the members (sources are assigned to
	// ids, so a worker restarted with the same id gets its sources back).
	// Default: hostname-pid.
	ID string
	// NoLead: a member that owns sources but is never elected dispatcher
	// (earshot run --collect-only).
	NoLead bool
	Logger *slog.Logger
}

// View is the cluster as this worker last saw it.
type View struct {
	Self    string   `json:"self"`
	Members []string `json:"members"` // live worker ids, sorted
	Leader  string   `json:"leader"`  // the dispatcher's id; "" while unknown
	// Joined: this worker's node is among the members and its session
	// lease is current; only then does it own sources.
	Joined bool `json:"joined"`
	// Leading: this worker is the dispatcher now (Term succeeds).
	Leading bool   `json:"leading"`
	Epoch   uint64 `json:"epoch"` // counts views: a new one on every change
	// Connected is the ZooKeeper client's state (false while it
	// reconnects).
	Connected bool `json:"connected"`
}

// Coordinator is one worker's membership. New connects, Run keeps the
// membership until its ctx ends, Close leaves the group.
type Coordinator struct {
	opts  Options
	root  string
	nonce string
	conn  *zk.Conn
	log   *slog.Logger
	wake  chan struct{}

	mu         sync.Mutex
	view       View
	changed    chan struct{} // closed when the view changes, then replaced
	session    int64         // the session our node was created in
	mine       string        // our node's name in that session
	leaseUntil time.Time     // monotonic: no request answered since lease start
	leaseTimer *time.Timer
	connected  bool
	lowest     bool // our node is the first in election order
	term       context.Context
	endTerm    context.CancelCauseFunc
	closed     bool
	granted    atomic.Int64 // the session timeout the server granted, ms; 0 until known
}

// New connects to ZooKeeper (in the background: it does not wait for the
// ensemble) and returns a Coordinator to Run.
func New(o Options) (*Coordinator, error) {
	if len(o.Servers) == 0 {
		return nil, errors.New("coord: no ZooKeeper servers")
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 10 * time.Second
	}
	if o.Root == "" || !strings.HasPrefix(o.Root, "/") || (len(o.Root) > 1 && strings.HasSuffix(o.Root, "/")) {
		return nil, fmt.Errorf("coord: root %q: want an absolute znode path such as /earshot/earshot", o.Root)
	}
	if o.ID == "" {
		h, _ := os.Hostname()
		o.ID = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	id, err := CleanID(o.ID)
	if err != nil {
		return nil, fmt.Errorf("coord: %w", err)
	}
	o.ID = id
	b := make([]byte, nonceLen/2)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("coord: nonce: %w", err)
	}
	c := &Coordinator{opts: o, root: o.Root, nonce: hex.EncodeToString(b), wake: make(chan struct{}, 1),
		changed: make(chan struct{}), log: o.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.view.Self = o.ID
	c.leaseTimer = time.AfterFunc(time.Hour, c.checkLease)
	c.leaseTimer.Stop()
	// WithLogInfo: the client's "authenticated" line is the only place
	// it tells the session timeout the server granted (zkLogger reads it).
	conn, _, err := zk.Connect(o.Servers, o.SessionTimeout, zk.WithLogger(zkLogger{c}), zk.WithLogInfo(true),
		zk.WithEventCallback(c.onEvent))
	if err != nil {
		return nil, fmt.Errorf("coord: connect %v: %w", o.Servers, err)
	}
	c.conn = conn
	return c, nil
}

// ID is this worker's name among the members.
func (c *Coordinator) ID() string { return c.opts.ID }

// View returns the current view.
func (c *Coordinator) View() View {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.view
	v.Members = slices.Clone(v.Members)
	return v
}

// Changed returns a channel closed at the next change of the view.
func (c *Coordinator) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// Owns reports whether this worker owns key now: it is a member with a
// current lease and the rendezvous owner of key among the live members.
func (c *Coordinator) Owns(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.view.Joined && time.Now().Before(c.leaseUntil) && Owner(c.view.Members, key) == c.view.Self
}

// Term returns a context derived from ctx that ends when this worker
// stops leading (the fence), and false (with a cancelled context) when it
// does not lead now. Everything sent on the leader's behalf should go
// under a Term context and check it right before sending.
func (c *Coordinator) Term(ctx context.Context) (context.Context, context.CancelFunc, bool) {
	c.mu.Lock()
	term, ok := c.term, c.leadingLocked()
	c.mu.Unlock()
	tctx, cancel := context.WithCancelCause(ctx)
	if !ok {
		cancel(ErrNotLeader)
		return tctx, func() {}, false
	}
	stop := context.AfterFunc(term, func() { cancel(ErrNotLeader) })
	return tctx, func() { stop(); cancel(context.Canceled) }, true
}

// Lead runs fn each time this worker becomes the dispatcher, with a
// context that ends at the fence, and returns when ctx ends.
func (c *Coordinator) Lead(ctx context.Context, fn func(ctx context.Context)) {
	for {
		changed := c.Changed()
		if tctx, cancel, ok := c.Term(ctx); ok {
			fn(tctx)
			ended := tctx.Err() != nil
			cancel()
			if ended {
				continue
			}
			// fn returned while still leading: wait for a change rather
			// than spin.
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-time.After(time.Second):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// Run keeps this worker's node and the view up to date until ctx ends,
// reconnecting and rejoining as ZooKeeper allows. It returns ctx's error;
// call Close after the work done under the view has stopped.
func (c *Coordinator) Run(ctx context.Context) error {
	c.poke()
	retry := 200 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.wake:
		case <-time.After(c.timeout() / 6):
		}
		if c.conn.State() != zk.StateHasSession {
			continue // the connect callback wakes us
		}
		watch, err := c.refresh()
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("zookeeper membership", "err", err, "retry_in", retry)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(retry):
			}
			retry = min(2*retry, c.timeout()/3)
			c.poke()
			continue
		}
		retry = 200 * time.Millisecond
		// Between changes, a cheap request every timeout/6 renews the lease.
		beat := time.NewTicker(c.timeout() / 6)
	wait:
		for {
			select {
			case <-ctx.Done():
				beat.Stop()
				return ctx.Err()
			case <-watch:
				break wait
			case <-c.wake:
				break wait
			case <-beat.C:
				start := time.Now()
				ok, _, err := c.conn.Exists(path.Join(c.workers(), c.currentNode()))
				if err != nil {
					break wait
				}
				if !ok {
					c.log.Warn("this worker's node was deleted; rejoining", "node", c.currentNode())
					c.mu.Lock()
					c.session = 0
					c.mu.Unlock()
					break wait
				}
				c.renew(start)
			}
		}
		beat.Stop()
		c.poke()
	}
}

// Close fences this worker (it leads no more) and leaves the group: its
// node goes at once, so the others take over without waiting for the
// session timeout.
func (c *Coordinator) Close() {
	c.mu.Lock()
	c.closed = true
	c.connected = false
	c.leaseUntil = time.Time{}
	c.updateLocked(c.view.Members, c.view.Leader, false)
	c.mu.Unlock()
	c.leaseTimer.Stop()
	c.conn.Close()
}

func (c *Coordinator) workers() string { return path.Join(c.root, "workers") }

func (c *Coordinator) currentNode() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mine
}

func (c *Coordinator) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// refresh makes sure this session has our node, reads the members with a
// watch and computes the view.
func (c *Coordinator) refresh() (<-chan zk.Event, error) {
	sid := c.conn.SessionID()
	c.mu.Lock()
	need := c.session != sid || c.mine == ""
	c.mu.Unlock()
	if need {
		if err := c.ensurePath(c.workers()); err != nil {
			return nil, err
		}
		data, _ := json.Marshal(map[string]any{"id": c.opts.ID, "pid": os.Getpid(), "since": time.Now().UTC().Format(time.RFC3339)})
		name, err := c.conn.Create(path.Join(c.workers(), nodeBase(c.nonce, c.opts.ID, !c.opts.NoLead)), data, zk.FlagEphemeral|zk.FlagSequence, zk.WorldACL(zk.PermAll))
		if err != nil {
			// A create whose reply was lost may have made the node: the
			// children list below finds it by this process's nonce.
			c.log.Debug("zookeeper: create worker node", "err", err)
		}
		c.mu.Lock()
		c.session, c.mine = sid, path.Base(name)
		c.mu.Unlock()
		if err == nil {
			c.log.Info("joined the workers", "node", path.Join(c.workers(), path.Base(name)), "id", c.opts.ID)
		}
	}
	start := time.Now()
	children, _, watch, err := c.conn.ChildrenW(c.workers())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", c.workers(), err)
	}
	ns := electionOrder(children)
	var mine []node
	for _, n := range ns {
		if n.nonce == c.nonce {
			mine = append(mine, n)
		}
	}
	c.mu.Lock()
	if c.conn.SessionID() != sid {
		c.mu.Unlock()
		return nil, errors.New("zookeeper session changed while reading the members")
	}
	switch {
	case len(mine) == 0:
		// Not there (a create that failed, or an operator deleted it):
		// create it again on the next refresh.
		c.mine = ""
	case !slices.ContainsFunc(mine, func(n node) bool { return n.name == c.mine }):
		c.mine = mine[0].name // found after a lost reply
	}
	leader := ""
	first, ok := leaderOf(ns)
	if ok {
		leader = first.id
	}
	c.lowest = ok && first.nonce == c.nonce
	joined := len(mine) > 0
	c.connected = true
	c.renewLocked(start)
	c.updateLocked(members(ns), leader, joined)
	c.mu.Unlock()
	if !joined {
		c.poke()
	}
	return watch, nil
}

// ensurePath creates p and its parents (persistent nodes) if missing.
func (c *Coordinator) ensurePath(p string) error {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := ""
	for _, part := range parts {
		cur += "/" + part
		if _, err := c.conn.Create(cur, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", cur, err)
		}
	}
	return nil
}

// renew extends the lease to start + 2/3 of the session timeout: the
// server answered a request sent at start, so it cannot expire the
// session before start + timeout; the third left over is the margin for
// the fence to act before another worker can lead.
func (c *Coordinator) renew(start time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.renewLocked(start)
	c.updateLocked(c.view.Members, c.view.Leader, c.view.Joined)
}

func (c *Coordinator) renewLocked(start time.Time) {
	if c.closed || !c.connected {
		return
	}
	until := start.Add(c.timeout() * 2 / 3)
	if until.After(c.leaseUntil) {
		c.leaseUntil = until
		c.leaseTimer.Reset(time.Until(until))
	}
}

// checkLease runs when the lease may have run out: fence if it has.
func (c *Coordinator) checkLease() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := time.Until(c.leaseUntil); d > 0 {
		c.leaseTimer.Reset(d) // renewed meanwhile
		return
	}
	if c.view.Joined || c.view.Leading {
		c.log.Warn("zookeeper lease ran out: no answer within 2/3 of the session timeout; this worker stops leading and owning sources",
			"session_timeout", c.timeout())
	}
	c.updateLocked(c.view.Members, c.view.Leader, c.view.Joined)
}

// onEvent runs on the ZooKeeper client's goroutine for every event; it
// must not block. Losing the connection is the fence: leadership ends
// here, before the server can expire the session.
func (c *Coordinator) onEvent(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	c.mu.Lock()
	was := c.connected
	switch ev.State {
	case zk.StateHasSession:
		c.mu.Unlock()
		c.poke()
		return
	case zk.StateExpired:
		c.session, c.mine = 0, ""
	}
	c.connected = false
	c.updateLocked(c.view.Members, c.view.Leader, c.view.Joined)
	c.mu.Unlock()
	if was && ev.State != zk.StateConnecting {
		c.log.Warn("zookeeper connection lost; not leading until it is back", "state", ev.State.String())
	}
}

// leadingLocked: our node is first and the lease and connection are
// current.
func (c *Coordinator) leadingLocked() bool {
	return !c.closed && c.connected && c.lowest && c.view.Joined && time.Now().Before(c.leaseUntil)
}

// updateLocked sets the view, starts or ends the leader's term, and wakes
// whoever waits on Changed when anything changed.
func (c *Coordinator) updateLocked(members []string, leader string, joined bool) {
	old := c.view
	v := View{Self: c.opts.ID, Members: members, Leader: leader, Connected: c.connected && !c.closed}
	v.Joined = joined && v.Connected && time.Now().Before(c.leaseUntil)
	c.view.Joined = v.Joined // leadingLocked reads it
	v.Leading = c.leadingLocked()
	switch {
	case v.Leading && c.term == nil:
		c.term, c.endTerm = context.WithCancelCause(context.Background())
		c.log.Info("elected dispatcher", "id", c.opts.ID, "members", len(members))
	case !v.Leading && c.term != nil:
		c.endTerm(ErrNotLeader)
		c.term, c.endTerm = nil, nil
		c.log.Warn("no longer the dispatcher", "id", c.opts.ID, "connected", v.Connected, "joined", v.Joined)
	}
	if old.Leader == v.Leader && old.Joined == v.Joined && old.Leading == v.Leading && old.Connected == v.Connected &&
		slices.Equal(old.Members, v.Members) {
		c.view = old
		c.view.Members = v.Members
		return
	}
	v.Epoch = old.Epoch + 1
	c.view = v
	close(c.changed)
	c.changed = make(chan struct{})
}

// timeout is the session timeout in force: the one asked for, or the
// server's, which may be shorter (ZooKeeper caps it at 20 ticks); the
// lease must never outlast the server's idea of the session.
func (c *Coordinator) timeout() time.Duration {
	if g := time.Duration(c.granted.Load()) * time.Millisecond; g > 0 && g < c.opts.SessionTimeout {
		return g
	}
	return c.opts.SessionTimeout
}

// zkLogger sends the client's own log lines to slog at debug level (its
// reconnect chatter is not news; the Coordinator logs what matters), and
// reads the granted session timeout from its "authenticated" line.
type zkLogger struct{ c *Coordinator }

func (z zkLogger) Printf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	var id, ms int64
	if n, _ := fmt.Sscanf(line, "authenticated: id=%d, timeout=%d", &id, &ms); n == 2 && ms > 0 {
		if z.c.granted.Swap(ms) != ms && time.Duration(ms)*time.Millisecond < z.c.opts.SessionTimeout {
			z.c.log.Warn("zookeeper granted a shorter session timeout than asked; using it", "asked", z.c.opts.SessionTimeout,
				"granted", time.Duration(ms)*time.Millisecond)
			// A lease taken before this line (it follows the session
			// event) may be too long: drop it; the next refresh renews it.
			z.c.mu.Lock()
			z.c.leaseUntil = time.Time{}
			z.c.updateLocked(z.c.view.Members, z.c.view.Leader, z.c.view.Joined)
			z.c.mu.Unlock()
			z.c.poke()
		}
	}
	z.c.log.Debug("zookeeper client: " + line)
}
