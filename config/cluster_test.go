package config

import (
	"strings"
	"testing"
)

// TestClickHouseCluster: clickhouse.cluster is kept as written and must be
// a name ON CLUSTER takes unquoted.
func TestClickHouseCluster(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want, err string
	}{
		{"absent", "", "", ""},
		{"set", "clickhouse:\n  cluster: earshot_2x2\n", "earshot_2x2", ""},
		{"injection", "clickhouse:\n  cluster: \"x; DROP TABLE mentions\"\n", "", "x.yaml:3: clickhouse.cluster: want a cluster name"},
		{"leading digit", "clickhouse:\n  cluster: 2x2\n", "", "x.yaml:3: clickhouse.cluster: want a cluster name"},
		{"dash", "clickhouse:\n  cluster: my-cluster\n", "", "x.yaml:3: clickhouse.cluster: want a cluster name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("x.yaml", []byte("brands: [{name: A}]\n"+tc.yaml), testSchema(nil))
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("err = %v, want prefix %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ClickHouse.Cluster != tc.want {
				t.Errorf("cluster = %q, want %q", c.ClickHouse.Cluster, tc.want)
			}
		})
	}
}
