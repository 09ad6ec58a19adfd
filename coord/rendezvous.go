package coord

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
)

// Owner picks the member that owns key by rendezvous (highest random
// weight) hashing: every member scores every key and the highest score
// wins. All workers compute the same owner from the same member list, in
// any order, and when a member leaves only its own keys move (each to
// the member that scored second); when one joins, it takes only the keys
// it now scores highest, about 1/n of them. "" when there are no members.
func Owner(members []string, key string) string {
	best, bestW := "", uint64(0)
	for _, m := range members {
		w := weight(m, key)
		// Ties (astronomically rare) go to the smaller name, so that the
		// answer never depends on the order of members.
		if best == "" || w > bestW || (w == bestW && m < best) {
			best, bestW = m, w
		}
	}
	return best
}

// weight is member's score for key: FNV-1a over both, then a 64-bit
// finaliser, since FNV's low bits alone are poorly mixed for short,
// similar names (source-1, source-2, ...).
func weight(member, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(member))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return mix64(h.Sum64())
}

// mix64 is splitmix64's finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// node is one worker's znode under <root>/workers, named
// "w-<nonce>-<id>-<sequence>": ZooKeeper appends the 10-digit sequence;
// the nonce is random per process, so a process knows its own nodes
// (even one whose create reply was lost) from a restarted process's of
// the same id.
type node struct {
	name  string
	nonce string
	id    string
	seq   int64
	// candidate: the worker may be elected dispatcher ("w-" nodes); a
	// --collect-only worker's node ("x-") is a member that never leads.
	candidate bool
}

const (
	nodePrefix      = "w-"
	collectorPrefix = "x-"
	nonceLen        = 8
	seqLen          = 10
)

// nodeBase is what Create is given: ZooKeeper appends the sequence.
func nodeBase(nonce, id string, candidate bool) string {
	p := nodePrefix
	if !candidate {
		p = collectorPrefix
	}
	return p + nonce + "-" + id + "-"
}

// parseNode reads a child name; ok is false for names this package did
// not write (an operator's node, another tool's), which are ignored.
func parseNode(name string) (node, bool) {
	rest, candidate := strings.CutPrefix(name, nodePrefix)
	if !candidate {
		var ok bool
		if rest, ok = strings.CutPrefix(name, collectorPrefix); !ok {
			return node{}, false
		}
	}
	if len(rest) < nonceLen+1+1+1+seqLen || rest[nonceLen] != '-' {
		return node{}, false
	}
	nonce, rest := rest[:nonceLen], rest[nonceLen+1:]
	cut := len(rest) - seqLen
	if rest[cut-1] != '-' {
		return node{}, false
	}
	seq, err := strconv.ParseInt(rest[cut:], 10, 64)
	if err != nil {
		return node{}, false
	}
	id := rest[:cut-1]
	if id == "" {
		return node{}, false
	}
	return node{name: name, nonce: nonce, id: id, seq: seq, candidate: candidate}, true
}

// electionOrder sorts the workers' nodes by sequence: the first
// candidate is the leader (the longest-standing one; a worker that
// rejoins after losing its session queues behind the others).
func electionOrder(children []string) []node {
	var ns []node
	for _, c := range children {
		if n, ok := parseNode(c); ok {
			ns = append(ns, n)
		}
	}
	slices.SortFunc(ns, func(a, b node) int { return cmp.Or(cmp.Compare(a.seq, b.seq), strings.Compare(a.name, b.name)) })
	return ns
}

// members is the sorted set of worker ids among nodes (a worker restarted
// before its old session expired has two nodes for a while: one member).
func members(ns []node) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, n.id)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// CleanID makes a worker name usable in a znode name: no slashes, no
// control characters, not empty.
func CleanID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", fmt.Errorf("worker id is empty")
	}
	var b strings.Builder
	for _, r := range id {
		switch {
		case r == '/' || r < ' ' || r == 0x7f:
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

// leaderOf is the first candidate in election order; ok is false when
// there is none.
func leaderOf(ns []node) (node, bool) {
	for _, n := range ns {
		if n.candidate {
			return n, true
		}
	}
	return node{}, false
}
