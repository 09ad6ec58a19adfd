package chcluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/earshot/earshot/schemas"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chcluster"
)

// TestOneShardCluster runs on a cluster of one shard and one replica, a
// second cluster of its own (the shared one has 2 shards), migrated once:
//   - subqueries: the case pipeline's subquery filters work. 18.16 skips
//     distributed_product_mode on one shard, so a plain IN over a
//     Distributed table reaches the shard unqualified and fails there
//     ("Table default.case_events doesn't exist"); only the store's
//     GLOBAL IN (storage/globalin.go) makes these pass.
//   - ledger: a second Migrate puts nothing in the distributed DDL queue
//     (it finds schema_migrations in system.tables instead of running its
//     CREATE ... ON CLUSTER again).
func TestOneShardCluster(t *testing.T) {
	c := chcluster.ForTest(t, 1, 1)
	ctx := context.Background()
	st, err := storage.OpenWith(ctx, c.DSN("earshot_one"), storage.OpenOptions{Cluster: c.Name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	start := time.Now()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("migrate on 1 x 1: %v", time.Since(start).Round(100*time.Millisecond))

	t.Run("ledger", func(t *testing.T) {
		ms, err := schemas.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		conn := nodeConn(t, c.Nodes[0], st.Database())
		// Every ON CLUSTER statement is one node under the DDL queue's
		// path (deploy/cluster configs; 18.16 keeps up to 1,000).
		const queue = "SELECT count() FROM system.zookeeper WHERE path = '/clickhouse/task_queue/ddl'"
		before := count(t, conn, queue)
		if before == 0 {
			t.Fatal("no distributed DDL queue entries after the first migrate: the count sees nothing")
		}
		start := time.Now()
		again, err := st.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("second migrate: %v", time.Since(start).Round(time.Millisecond))
		if len(again) != 0 {
			t.Errorf("second migrate applied %v", again)
		}
		if after := count(t, conn, queue); after != before {
			t.Errorf("second migrate queued %d ON CLUSTER statements, want 0", after-before)
		}
		// Every command opens the store: opening again must not queue the
		// database's CREATE ... ON CLUSTER either.
		st2, err := storage.OpenWith(ctx, c.DSN("earshot_one"), storage.OpenOptions{Cluster: c.Name})
		if err != nil {
			t.Fatal(err)
		}
		st2.Close()
		if after := count(t, conn, queue); after != before {
			t.Errorf("opening the store again queued %d ON CLUSTER statements, want 0", after-before)
		}
		if got := count(t, conn, "SELECT count() FROM schema_migrations"); got != uint64(len(ms)) {
			t.Errorf("%d migrations recorded, want %d", got, len(ms))
		}
	})
	t.Run("subqueries", func(t *testing.T) { checkSubqueryFilters(t, st) })
}
