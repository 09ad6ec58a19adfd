package main

import (
	"os"
	"testing"
	"time"
)

func TestDocQueries(t *testing.T) {
	if err := os.Chdir("../.."); err != nil {
		t.Fatal(err)
	}
	qs, err := docQueries()
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 3 {
		t.Fatalf("%d SQL blocks in docs/queries.md", len(qs))
	}
	for _, q := range qs {
		if q[0] == "" || q[1] == "" || q[1][0] == '`' {
			t.Errorf("bad block %q", q)
		}
	}
}

func TestCPUTicks(t *testing.T) {
	if _, err := cpuTicks(os.Getpid()); err != nil {
		t.Fatal(err)
	}
}

// TestStoreSpan: the small store is the large one's recent tail, at the
// same density.
func TestStoreSpan(t *testing.T) {
	from, to := storeSpan(10, 10)
	sFrom, sTo := storeSpan(1, 10)
	if !sTo.Equal(to) || to.Sub(from) < 700*24*time.Hour {
		t.Fatalf("large %v..%v, small %v..%v", from, to, sFrom, sTo)
	}
	if d := to.Sub(sFrom) * 10; d < to.Sub(from)-time.Hour || d > to.Sub(from)+time.Hour {
		t.Fatalf("small span %v, want a tenth of %v", to.Sub(sFrom), to.Sub(from))
	}
}
