package chcluster

import (
	"strings"
	"testing"
)

func TestNodeConfig(t *testing.T) {
	topo := Topology{Cluster: "c", ZooKeeper: []Host{{"zk", 2181}}, Shards: [][]Host{{{"a", 9000}, {"b", 9000}}, {{"c", 9001}}}}
	x, err := topo.NodeConfig(1, 0, "c")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<c>", "<host>b</host>", "<port>9001</port>", "<shard>02</shard>", "<replica>r1</replica>",
		"<internal_replication>true</internal_replication>", "<interserver_http_host>c</interserver_http_host>", "<host>zk</host>"} {
		if !strings.Contains(x, want) {
			t.Errorf("config lacks %s:\n%s", want, x)
		}
	}
	for _, bad := range []struct {
		topo Topology
		s, r int
	}{{topo, 1, 1}, {topo, 2, 0}, {Topology{Cluster: "a-b", Shards: topo.Shards, ZooKeeper: topo.ZooKeeper}, 0, 0},
		{Topology{Cluster: "c", Shards: topo.Shards}, 0, 0}} {
		if _, err := bad.topo.NodeConfig(bad.s, bad.r, ""); err == nil {
			t.Errorf("%+v shard %d replica %d: no error", bad.topo, bad.s, bad.r)
		}
	}
}
