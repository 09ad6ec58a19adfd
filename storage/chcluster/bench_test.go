package chcluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chcluster"
)

// BenchmarkImportShards imports the same mentions into a 1-shard and a
// 2-shard cluster (one replica each, so only sharding differs; the
// materialized views run as in production) through storage.Writer blocks,
// as `earshot import` does, and reports rows/s for each and their ratio.
// All servers share this machine's cores: the ratio shows the cost of the
// Distributed layer here, the gain needs a machine per shard.
func BenchmarkImportShards(b *testing.B) {
	const rows, block = 50_000, 10_000
	stores := make([]*storage.Store, 2)
	for i, shards := range []int{1, 2} {
		c := chcluster.ForTest(b, shards, 1)
		st, err := storage.OpenWith(context.Background(), c.DSN("bench"), storage.OpenOptions{Cluster: c.Name})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		if _, err := st.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		stores[i] = st
	}
	var took [2]time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		ms := gen(rows, fmt.Sprintf("bench%d", n), 1)
		for i, st := range stores {
			w := storage.NewWriter(st, storage.WriterOptions{})
			start := time.Now()
			importBlocks(b, w, ms, block, nil)
			took[i] += time.Since(start)
			_ = w.Close(context.Background())
		}
	}
	total := float64(rows * b.N)
	one, two := total/took[0].Seconds(), total/took[1].Seconds()
	b.ReportMetric(one, "rows/s_1shard")
	b.ReportMetric(two, "rows/s_2shards")
	b.ReportMetric(two/one, "ratio_2to1")
}
