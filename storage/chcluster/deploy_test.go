package chcluster_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/earshot/earshot/alerts/outbox"
	"github.com/earshot/earshot/alerts/smtp"
	"github.com/earshot/earshot/collectors/demo"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chcluster"
)

var update = flag.Bool("update", false, "rewrite deploy/cluster's generated ClickHouse configs")

const deployDir = "../../deploy/cluster"

// composeTopology is the compose profile's cluster: the same 2 shards x 2
// replicas as the harness, by service name on the default ports.
func composeTopology() chcluster.Topology {
	t := chcluster.Topology{Cluster: chcluster.DefaultName, ZooKeeper: []chcluster.Host{{Name: "zookeeper", Port: 2181}}}
	for s := 0; s < 2; s++ {
		var shard []chcluster.Host
		for r := 0; r < 2; r++ {
			shard = append(shard, chcluster.Host{Name: composeNode(s, r), Port: 9000})
		}
		t.Shards = append(t.Shards, shard)
	}
	return t
}

func composeNode(s, r int) string { return fmt.Sprintf("ch-s%dr%d", s+1, r+1) }

// TestDeployClusterConfigs: deploy/cluster's ClickHouse files are what
// Topology.NodeConfig and UsersConfig render, the template the harness's
// servers run on (`go test -run TestDeployCluster ./storage/chcluster
// -update` rewrites them after a change there).
func TestDeployClusterConfigs(t *testing.T) {
	topo := composeTopology()
	want := map[string]string{"users.xml": chcluster.UsersConfig(storage.ClusterProfile)}
	for s := range topo.Shards {
		for r := range topo.Shards[s] {
			xml, err := topo.NodeConfig(s, r, composeNode(s, r))
			if err != nil {
				t.Fatal(err)
			}
			want[composeNode(s, r)+".xml"] = xml
		}
	}
	for name, body := range want {
		path := filepath.Join(deployDir, name)
		if *update {
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to write it)", err)
		}
		if string(got) != body {
			t.Errorf("%s differs from what storage/chcluster renders (run with -update):\n%s", path, body)
		}
	}
}

// composeFile is the part of docker-compose.yml the test checks.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Hostname    string            `yaml:"hostname"`
		Profiles    []string          `yaml:"profiles"`
		Volumes     []string          `yaml:"volumes"`
		Environment map[string]string `yaml:"environment"`
		Entrypoint  []string          `yaml:"entrypoint"`
		Command     []string          `yaml:"command"`
		DependsOn   map[string]any    `yaml:"depends_on"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// TestComposeClusterProfile: docker-compose.yml parses, its cluster profile
// has ZooKeeper, the four servers with their generated configs, a one-shot
// migration and three `earshot run` on the cluster config (two workers and
// the web one), and the single-node services are left as they were.
func TestComposeClusterProfile(t *testing.T) {
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, single := range []string{"clickhouse", "earshot", "mailpit"} {
		if s, ok := c.Services[single]; !ok || len(s.Profiles) != 0 {
			t.Errorf("single-node service %s missing or moved into a profile", single)
		}
	}
	inProfile := func(name string) bool {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
			return false
		}
		if !slices.Equal(s.Profiles, []string{"cluster"}) {
			t.Errorf("%s: profiles %v, want [cluster]", name, s.Profiles)
			return false
		}
		return true
	}
	mounts := func(name, host, container string) {
		for _, v := range c.Services[name].Volumes {
			if strings.HasPrefix(v, host+":"+container) {
				if _, err := os.Stat(filepath.Join("../..", host)); err != nil {
					t.Errorf("%s mounts %s: %v", name, host, err)
				}
				return
			}
		}
		t.Errorf("%s does not mount %s at %s: %v", name, host, container, c.Services[name].Volumes)
	}
	inProfile("zookeeper")
	topo := composeTopology()
	for s := range topo.Shards {
		for r := range topo.Shards[s] {
			name := composeNode(s, r)
			if !inProfile(name) {
				continue
			}
			svc := c.Services[name]
			if svc.Image != c.Services["clickhouse"].Image {
				t.Errorf("%s runs %s, the single-node service %s", name, svc.Image, c.Services["clickhouse"].Image)
			}
			if svc.Hostname != name {
				t.Errorf("%s: hostname %q, want the name other replicas reach it by", name, svc.Hostname)
			}
			mounts(name, "./deploy/cluster/"+name+".xml", "/etc/clickhouse-server/config.d/")
			mounts(name, "./deploy/cluster/users.xml", "/etc/clickhouse-server/users.d/")
		}
	}
	runs := 0
	for _, name := range []string{"earshot-migrate", "earshot-worker-1", "earshot-worker-2", "earshot-web"} {
		if !inProfile(name) {
			continue
		}
		svc := c.Services[name]
		mounts(name, "./deploy/cluster/earshot.yaml", "/etc/earshot/earshot.yaml")
		dsn := svc.Environment["EARSHOT_CLICKHOUSE"]
		for s := range topo.Shards {
			for r := range topo.Shards[s] {
				if !strings.Contains(dsn, composeNode(s, r)+":9000") {
					t.Errorf("%s: DSN %q lacks %s (fail-over)", name, dsn, composeNode(s, r))
				}
			}
		}
		args := strings.Join(append(svc.Entrypoint, svc.Command...), " ")
		switch {
		case name == "earshot-migrate":
			if !strings.HasSuffix(args, " migrate") {
				t.Errorf("%s runs %q", name, args)
			}
		case strings.HasSuffix(args, " run"): // plain run: no --shard, coordination decides
			runs++
			if _, ok := svc.DependsOn["earshot-migrate"]; !ok {
				t.Errorf("%s does not wait for earshot-migrate", name)
			}
		default:
			t.Errorf("%s runs %q, want plain earshot run", name, args)
		}
	}
	if runs != 3 {
		t.Errorf("%d earshot run services, want 3", runs)
	}
}

// TestDeployClusterEarshotConfig: the config the compose services run is
// valid and names the cluster and the ZooKeeper of the topology.
func TestDeployClusterEarshotConfig(t *testing.T) {
	schema := config.Schema{
		SourceKinds:   map[string]func() any{"demo": demo.Kind().Options},
		ReceiverKinds: map[string]func() any{"outbox": outbox.Kind().Options, "smtp": smtp.Kind().Options},
		Getenv: func(k string) (string, bool) {
			if k == "EARSHOT_CLICKHOUSE" { // set by docker-compose.yml
				return "clickhouse://ch-s1r1:9000/earshot", true
			}
			return "", false
		},
	}
	cfg, err := config.Load(filepath.Join(deployDir, "earshot.yaml"), schema)
	if err != nil {
		t.Fatal(err)
	}
	topo := composeTopology()
	if cfg.ClickHouse.Cluster != topo.Cluster {
		t.Errorf("clickhouse.cluster %q, want %q", cfg.ClickHouse.Cluster, topo.Cluster)
	}
	zk := fmt.Sprintf("%s:%d", topo.ZooKeeper[0].Name, topo.ZooKeeper[0].Port)
	if !slices.Equal(cfg.Coordination.ZooKeeper, []string{zk}) {
		t.Errorf("coordination.zookeeper %v, want [%s]", cfg.Coordination.ZooKeeper, zk)
	}
}
