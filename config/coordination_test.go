package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCoordination: the coordination section's defaults and the errors
// that name its bad values.
func TestCoordination(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       Coordination
		err        string
	}{
		{"absent", "", Coordination{SessionTimeout: 10 * time.Second, Path: "/earshot"}, ""},
		{"set", "coordination:\n  zookeeper: [\"zk1:2181\", \"127.0.0.1:2182\"]\n  session_timeout: 6s\n  path: /brand/x\n",
			Coordination{ZooKeeper: []string{"zk1:2181", "127.0.0.1:2182"}, SessionTimeout: 6 * time.Second, Path: "/brand/x"}, ""},
		{"no port", "coordination:\n  zookeeper: [zk1]\n", Coordination{}, "x.yaml:2: coordination.zookeeper[0]: want host:port"},
		{"short timeout", "coordination:\n  session_timeout: 100ms\n", Coordination{}, "x.yaml:2: coordination.session_timeout: want 1s to 5m"},
		{"relative path", "coordination:\n  path: earshot\n", Coordination{}, "x.yaml:2: coordination.path: want an absolute znode path"},
		{"trailing slash", "coordination:\n  path: /earshot/\n", Coordination{}, "x.yaml:2: coordination.path: want an absolute znode path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("x.yaml", []byte("brands: [{name: A}]\n"+tc.yaml), testSchema(nil))
			if tc.err != "" {
				// Line numbers count the brands line prepended above.
				want := strings.Replace(tc.err, "x.yaml:2:", "x.yaml:3:", 1)
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("err = %v, want prefix %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := c.Coordination
			if !slices.Equal(got.ZooKeeper, tc.want.ZooKeeper) || got.SessionTimeout != tc.want.SessionTimeout || got.Path != tc.want.Path {
				t.Errorf("coordination = %+v, want %+v", got, tc.want)
			}
		})
	}
}
