package coord

import (
	"fmt"
	"slices"
	"testing"
)

func sources(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("source-%d", i)
	}
	return out
}

func TestOwner(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members []string
		key     string
		want    string
	}{
		{"no members", nil, "reviews", ""},
		{"one member", []string{"a"}, "reviews", "a"},
		// Fixed answers: a change of the hash would move every source of
		// every deployment at an upgrade; this fails first.
		{"fixed zagreb", []string{"w1", "w2", "w3"}, "zagreb", "w2"},
		{"fixed manila", []string{"w1", "w2", "w3"}, "manila", "w2"},
		{"fixed reviews-0", []string{"w1", "w2", "w3"}, "reviews-0", "w3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Owner(tc.members, tc.key); got != tc.want {
				t.Errorf("Owner(%v, %q) = %q, want %q", tc.members, tc.key, got, tc.want)
			}
		})
	}
	// The same owner whatever the order of the members.
	ms := []string{"host-a:8377", "host-b:8377", "host-c:8377", "host-d:8377"}
	for _, k := range sources(200) {
		want := Owner(ms, k)
		for _, perm := range [][]string{{ms[3], ms[2], ms[1], ms[0]}, {ms[1], ms[3], ms[0], ms[2]}} {
			if got := Owner(perm, k); got != want {
				t.Fatalf("Owner depends on member order: %q vs %q for %s", got, want, k)
			}
		}
	}
}

// TestOwnerMovesLittle: when a member leaves only its keys move, and when
// one joins it takes keys only for itself, about 1/n of them; the split is
// even enough.
func TestOwnerMovesLittle(t *testing.T) {
	keys := sources(3000)
	for _, tc := range []struct {
		name          string
		before, after []string
	}{
		{"leave 3->2", []string{"w1", "w2", "w3"}, []string{"w1", "w3"}},
		{"join 2->3", []string{"w1", "w2"}, []string{"w1", "w2", "w3"}},
		{"join 1->2", []string{"w1"}, []string{"w1", "w2"}},
		{"leave 5->4", []string{"a", "b", "c", "d", "e"}, []string{"a", "b", "d", "e"}},
		{"restart same id", []string{"w1", "w2", "w3"}, []string{"w1", "w2", "w3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			moved, share := 0, map[string]int{}
			for _, k := range keys {
				b, a := Owner(tc.before, k), Owner(tc.after, k)
				share[a]++
				if a == b {
					continue
				}
				moved++
				// A key moves only away from a member that left or to one
				// that joined, never between two that stayed.
				if slices.Contains(tc.after, b) && slices.Contains(tc.before, a) {
					t.Fatalf("%s moved from %s to %s, both members before and after", k, b, a)
				}
			}
			// Expected movement: the leaver's share, or the joiner's.
			var want float64
			switch {
			case len(tc.after) < len(tc.before):
				want = float64(len(keys)) / float64(len(tc.before))
			case len(tc.after) > len(tc.before):
				want = float64(len(keys)) / float64(len(tc.after))
			}
			if f := float64(moved); f < want*0.85 || f > want*1.15 {
				t.Errorf("moved %d of %d keys, want about %.0f", moved, len(keys), want)
			}
			even := float64(len(keys)) / float64(len(tc.after))
			for m, n := range share {
				if f := float64(n); f < even*0.85 || f > even*1.15 {
					t.Errorf("member %s owns %d of %d keys, want about %.0f", m, n, len(keys), even)
				}
			}
		})
	}
}

func TestParseNode(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
		want node
	}{
		{"w-0a1b2c3d-host:8377-0000000012", true, node{nonce: "0a1b2c3d", id: "host:8377", seq: 12, candidate: true}},
		{"w-0a1b2c3d-my-worker-1-0000000003", true, node{nonce: "0a1b2c3d", id: "my-worker-1", seq: 3, candidate: true}},
		{"w-0a1b2c3d-x-2147483647", true, node{nonce: "0a1b2c3d", id: "x", seq: 2147483647, candidate: true}},
		{"x-0a1b2c3d-collector-0000000001", true, node{nonce: "0a1b2c3d", id: "collector", seq: 1}},
		{"w-0a1b2c3d--0000000003", false, node{}},     // no id
		{"w-0a1b2c3d-host-000000003", false, node{}},  // 9 digits
		{"w-0a1b2c3d-host-00000000x3", false, node{}}, // not a number
		{"w-0a1b2c-host-0000000003", false, node{}},   // short nonce
		{"lock-0000000001", false, node{}},
		{"", false, node{}},
	} {
		got, ok := parseNode(tc.name)
		tc.want.name = tc.name
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseNode(%q) = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	// What nodeBase writes (plus the sequence) parses back.
	for _, candidate := range []bool{true, false} {
		n, ok := parseNode(nodeBase("deadbeef", "worker-7", candidate) + "0000000042")
		if !ok || n.id != "worker-7" || n.nonce != "deadbeef" || n.seq != 42 || n.candidate != candidate {
			t.Errorf("round trip (candidate %v): %+v %v", candidate, n, ok)
		}
	}
}

// TestElectionOrder: the lowest sequence leads, whatever the names sort
// as; foreign nodes are ignored; a worker with two nodes (restarted before
// its old session expired) is one member.
func TestElectionOrder(t *testing.T) {
	for _, tc := range []struct {
		name     string
		children []string
		leader   string
		members  []string
	}{
		{"empty", nil, "", []string{}},
		{"by sequence not name", []string{"w-00000000-c-0000000001", "w-00000000-a-0000000007", "w-00000000-b-0000000003"},
			"c", []string{"a", "b", "c"}},
		{"more digits", []string{"w-00000000-a-0000000010", "w-00000000-b-0000000009"}, "b", []string{"a", "b"}},
		{"foreign ignored", []string{"lock-0000000000", "w-00000000-a-0000000005", "zz"}, "a", []string{"a"}},
		{"same id twice", []string{"w-11111111-a-0000000004", "w-22222222-a-0000000009", "w-33333333-b-0000000006"},
			"a", []string{"a", "b"}},
		{"collect-only never leads", []string{"x-11111111-c-0000000001", "w-22222222-b-0000000006", "w-33333333-a-0000000008"},
			"b", []string{"a", "b", "c"}},
		{"only collect-only", []string{"x-11111111-c-0000000001"}, "", []string{"c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := electionOrder(tc.children)
			leader := ""
			if n, ok := leaderOf(ns); ok {
				leader = n.id
			}
			if leader != tc.leader {
				t.Errorf("leader %q, want %q", leader, tc.leader)
			}
			if got := members(ns); !slices.Equal(got, tc.members) {
				t.Errorf("members %v, want %v", got, tc.members)
			}
		})
	}
}

func TestCleanID(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"host:8377", "host:8377", ""},
		{" a/b ", "a_b", ""},
		{"x\ny", "x_y", ""},
		{"  ", "", "empty"},
	} {
		got, err := CleanID(tc.in)
		if (err != nil) != (tc.err != "") || got != tc.want {
			t.Errorf("CleanID(%q) = %q, %v; want %q (err %q)", tc.in, got, err, tc.want, tc.err)
		}
	}
}
