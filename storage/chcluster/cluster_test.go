package chcluster_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/schemas"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chcluster"
	"github.com/earshot/earshot/storage/chtest"
)

// The cluster is shared by the package's tests (one start per run), and
// chtest's single server is there for comparisons.
func TestMain(m *testing.M) {
	code := chtest.Main(m)
	chcluster.StopShared()
	os.Exit(code)
}

// migrated holds the package run's migrated databases on the shared
// cluster (ON CLUSTER DDL takes ~0.4 s a statement on 18.16, so tests
// share them). Two databases: "docs" for exact comparisons, "bulk" for imports.
var migrated = map[string]*struct {
	once sync.Once
	st   *storage.Store
	err  error
}{"docs": {}, "bulk": {}}

func sharedStore(t testing.TB, name string) (*chcluster.Cluster, *storage.Store) {
	t.Helper()
	c := chcluster.Shared(t)
	m := migrated[name]
	m.once.Do(func() {
		ctx := context.Background()
		if err := c.Heal(ctx); err != nil {
			m.err = err
			return
		}
		st, err := storage.OpenWith(ctx, c.DSN("earshot_"+name), storage.OpenOptions{Cluster: c.Name})
		if err == nil {
			_, err = st.Migrate(ctx)
		}
		m.st, m.err = st, err
	})
	if m.err != nil {
		for _, n := range c.Nodes {
			b, _ := os.ReadFile(n.Dir + "/log/server.err.log")
			lines := strings.Split(string(b), "\n")
			t.Logf("s%dr%d: %s", n.Shard+1, n.Replica+1, strings.Join(lines[max(0, len(lines)-8):], "\n"))
		}
		t.Fatal(m.err)
	}
	return c, m.st
}

// gen makes n scored mentions with ids prefix:0.. prefix:n-1, a quarter
// of them negative, published in the last days.
func gen(n int, prefix string, version uint64) []mention.Mention {
	now := time.Now().UTC().Truncate(time.Second)
	out := make([]mention.Mention, n)
	for i := range out {
		m := mention.Mention{
			ID: fmt.Sprintf("%s:%d", prefix, i), Source: "demo", Kind: "demo", Brand: "Acme", Location: fmt.Sprintf("loc%d", i%3),
			Author: fmt.Sprintf("user%d", i%5000), Text: fmt.Sprintf("%s review number %d", prefix, i),
			Rating: float64(1 + i%5), RatingMax: 5, PublishedAt: now.Add(-time.Duration(i%200) * time.Hour), CollectedAt: now,
			Lang: []string{"en", "de", "hi"}[i%3], Version: version,
		}
		if i%4 == 0 {
			m.Negative, m.Severity, m.Aspects = true, []string{"medium", "high", "critical"}[i%3], []string{"staff", "wait"}
		}
		out[i] = m
	}
	return out
}

// importBlocks writes ms through a storage.Writer in blocks, as `earshot
// import` does (a block is one insert; one that cannot reach the server
// is spooled). after runs after each block.
func importBlocks(t testing.TB, w *storage.Writer, ms []mention.Mention, block int, after func(i int)) {
	t.Helper()
	for i := 0; i < len(ms); i += block {
		if err := w.AddBlock(context.Background(), ms[i:min(i+block, len(ms))]); err != nil {
			t.Fatalf("block %d: %v", i/block, err)
		}
		if after != nil {
			after(i / block)
		}
	}
}

// nodeConn is a connection to one node of the cluster.
func nodeConn(t testing.TB, n *chcluster.Node, db string) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{n.Addr()}, Auth: clickhouse.Auth{Database: db}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func count(t testing.TB, conn driver.Conn, q string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestMigrateTwice: the migrations run ON CLUSTER: every node has every
// table as a replicated local table behind a Distributed one, the ledger
// is on every node, and a second run applies nothing.
func TestMigrateTwice(t *testing.T) {
	c, st := sharedStore(t, "docs")
	ms, err := schemas.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	again, err := st.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Errorf("second migrate applied %v", again)
	}
	// A store on another node sees the same ledger: nothing to apply.
	other, err := storage.OpenWith(context.Background(), c.Node(1, 1).DSN(st.Database()), storage.OpenOptions{Cluster: c.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if done, err := other.Migrate(context.Background()); err != nil || len(done) != 0 {
		t.Errorf("migrate from another node: applied %v, err %v", done, err)
	}
	for _, n := range c.Nodes {
		conn := nodeConn(t, n, st.Database())
		if got := count(t, conn, "SELECT count() FROM schema_migrations"); got != uint64(len(ms)) {
			t.Errorf("node s%dr%d: %d migrations recorded, want %d", n.Shard+1, n.Replica+1, got, len(ms))
		}
		for table, engine := range map[string]string{
			"mentions": "Distributed", "mentions_local": "ReplicatedReplacingMergeTree", "case_events_local": "ReplicatedReplacingMergeTree",
			"trend_daily_local": "ReplicatedAggregatingMergeTree", "case_current": "View", "trend_daily_mv": "MaterializedView",
		} {
			var got string
			if err := conn.QueryRow(context.Background(), "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = ?", table).Scan(&got); err != nil || got != engine {
				t.Errorf("node s%dr%d: %s engine %q (%v), want %s", n.Shard+1, n.Replica+1, table, got, err, engine)
			}
		}
		if got := count(t, conn, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'case_queue_mv'"); got != 0 {
			t.Errorf("node s%dr%d: case_queue_mv not dropped", n.Shard+1, n.Replica+1)
		}
	}
}

// TestImportTwice: 100,000 mentions imported twice through the Distributed
// table are 100,000 after FINAL (every version of a mention on one shard),
// both shards hold some, and the per-shard trend views count each once.
func TestImportTwice(t *testing.T) {
	c, st := sharedStore(t, "bulk")
	const n = 100_000
	ms := gen(n, "imp", 1)
	w := storage.NewWriter(st, storage.WriterOptions{})
	defer w.Close(context.Background())
	importBlocks(t, w, ms, 25_000, nil)
	importBlocks(t, w, gen(n, "imp", 2), 25_000, nil)
	conn := st.Conn()
	// Before FINAL there are up to 2n rows: replicated tables also drop a
	// block identical to a recent one (same rows, same second).
	if got := count(t, conn, "SELECT count() FROM mentions WHERE id LIKE 'imp:%'"); got < n {
		t.Errorf("%d rows before FINAL, want at least %d", got, n)
	}
	if got := count(t, conn, "SELECT count() FROM mentions FINAL WHERE id LIKE 'imp:%'"); got != n {
		t.Errorf("%d mentions after FINAL, want %d", got, n)
	}
	if got := count(t, conn, "SELECT toUInt64(uniqExactMerge(mentions)) FROM trend_daily WHERE brand = 'Acme'"); got < n {
		t.Errorf("trend_daily counts %d mentions, want at least %d", got, n)
	}
	for s := 0; s < 2; s++ {
		local := count(t, nodeConn(t, c.Node(s, 0), st.Database()), "SELECT count() FROM mentions_local FINAL WHERE id LIKE 'imp:%'")
		if local < n/3 || local > 2*n/3 {
			t.Errorf("shard %d holds %d of %d mentions: not sharded", s+1, local, n)
		}
	}
}

// TestKillReplicaDuringImport: kill -9 the replica of shard 2 that takes
// its inserts, mid-import: inserts fail over to the other replica (a block
// in flight is spooled and replayed, as `earshot import` does), and once
// the killed replica is back it has caught up: nothing is lost, counted
// through the Distributed table and on each replica.
func TestKillReplicaDuringImport(t *testing.T) {
	c, st := sharedStore(t, "bulk")
	const n = 20_000
	spool, err := storage.OpenSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := storage.NewWriter(st, storage.WriterOptions{Spool: spool})
	defer w.Close(context.Background())
	victim := c.Node(1, 0) // first in remote_servers: load_balancing in_order writes to it
	importBlocks(t, w, gen(n, "kill", 1), 2_000, func(i int) {
		if i == 4 {
			victim.Kill()
		}
	})
	if _, err := w.Replay(context.Background()); err != nil {
		t.Fatal(err)
	}
	conn := st.Conn()
	if got := count(t, conn, "SELECT count() FROM mentions FINAL WHERE id LIKE 'kill:%'"); got != n {
		t.Errorf("with a replica down: %d mentions, want %d", got, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := victim.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	// The restarted replica fetches what it missed from the other one.
	var perNode []uint64
	for {
		perNode = perNode[:0]
		for _, node := range c.Nodes {
			perNode = append(perNode, count(t, nodeConn(t, node, st.Database()), "SELECT count() FROM mentions_local FINAL WHERE id LIKE 'kill:%'"))
		}
		if perNode[0] == perNode[1] && perNode[2] == perNode[3] && perNode[0]+perNode[2] == n {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("replicas did not converge: s1r1 %d, s1r2 %d, s2r1 %d, s2r2 %d; want shards summing to %d", perNode[0], perNode[1], perNode[2], perNode[3], n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got := count(t, conn, "SELECT count() FROM mentions FINAL WHERE id LIKE 'kill:%'"); got != n {
		t.Errorf("after the restart: %d mentions, want %d", got, n)
	}
	t.Logf("spooled %d rows while the replica died, replayed %d", w.Stats().Spooled, w.Stats().Replayed)
}

// TestDocsQueriesMatchOneNode: every SQL block of docs/queries.md returns
// the same rows on the cluster as on one server holding the same data.
func TestDocsQueriesMatchOneNode(t *testing.T) {
	_, cl := sharedStore(t, "docs")
	one := chtest.New(t)
	single, err := storage.Open(context.Background(), one.DSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer single.Close()
	if _, err := single.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/queries.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 3 {
		t.Fatalf("%d SQL blocks in docs/queries.md", len(blocks))
	}
	now := time.Now().UTC().Truncate(time.Second)
	ms := gen(3000, "docs", 1)
	for _, st := range []*storage.Store{single, cl} {
		ctx := context.Background()
		if err := st.InsertMentions(ctx, ms); err != nil {
			t.Fatal(err)
		}
		if err := st.InsertRatings(ctx, []mention.ItemRating{{Source: "demo", Item: "Hotel", Rating: 4.2, Best: 5, RatingCount: 10, ObservedAt: now},
			{Source: "demo", Item: "Hotel", Rating: 8, Best: 10, RatingCount: 12, ObservedAt: now.Add(-7 * 24 * time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		if err := st.RecordRun(ctx, storage.Run{ID: "r", Source: "demo", Kind: "demo", StartedAt: now, FinishedAt: now, Status: "ok", New: 3}); err != nil {
			t.Fatal(err)
		}
		b, err := st.Conn().PrepareBatch(ctx, "INSERT INTO case_events (event_id, case_id, mention_id, at, event, state, actor, receiver, step, outcome, note, brand, location, severity)")
		if err != nil {
			t.Fatal(err)
		}
		// 200 cases: opened an hour ago, most acknowledged, some resolved.
		for i := 0; i < 200; i++ {
			cs, loc := fmt.Sprintf("case:docs:%d", i*4), fmt.Sprintf("loc%d", i%3)
			at := now.Add(-time.Hour)
			add := func(ev, state string, min int, outcome string) {
				if err := b.Append(fmt.Sprintf("%s|%s", cs, ev), cs, fmt.Sprintf("docs:%d", i*4), at.Add(time.Duration(min)*time.Minute), ev, state, "ana", "outbox", uint8(0), outcome, "", "Acme", loc, "high"); err != nil {
					t.Fatal(err)
				}
			}
			add("opened", "open", 0, "")
			if i%5 != 0 {
				add("acknowledged", "acknowledged", 5+i%40, "")
			}
			if i%3 == 0 {
				add("resolved", "resolved", 50, []string{"replied_publicly", "contacted_privately"}[i%2])
			}
		}
		if err := b.Send(); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for i, blk := range blocks {
		want, err := rowsOf(one.Conn, blk[1])
		if err != nil {
			t.Errorf("query %d on one server: %v", i+1, err)
			continue
		}
		got, err := rowsOf(cl.Conn(), blk[1])
		if err != nil {
			t.Errorf("query %d on the cluster: %v\n%s", i+1, err, blk[1])
			continue
		}
		total += len(want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("query %d differs on the cluster:\n%s\ncluster:\n%s\none server:\n%s", i+1, blk[1], strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if total == 0 {
		t.Error("no query returned rows: nothing compared")
	}
}

// rowsOf runs q and returns its rows printed and sorted (ties in ORDER BY
// may come in any order from several shards).
func rowsOf(conn driver.Conn, q string) ([]string, error) {
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		cols := rows.ColumnTypes()
		vals := make([]any, len(cols))
		for i, ct := range cols {
			vals[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(vals...); err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, v := range vals {
			fmt.Fprintf(&b, "%v\t", reflect.ValueOf(v).Elem().Interface())
		}
		out = append(out, b.String())
	}
	sort.Strings(out)
	return out, rows.Err()
}
