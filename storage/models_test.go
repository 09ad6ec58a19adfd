package storage

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// TestModelsTable: the newest publication of a key wins, whatever order
// the rows arrive in; the model bytes (2 MB of binary, as a model file is
// gzip) come back unchanged, and only when asked for; keys stay apart.
func TestModelsTable(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, found, err := s.LatestModels(ctx, "default/m-1", true); found || err != nil {
		t.Fatalf("empty table: found %v err %v", found, err)
	}
	blob := make([]byte, 2<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range blob {
		blob[i] = byte(rng.Uint32())
	}
	at := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	for _, r := range []ModelRecord{
		{Key: "default/m-1", Seq: 30, At: at.Add(2 * time.Minute), CurrentID: "m-1", PreviousID: "m-2", Current: []byte("old"), Previous: blob},
		{Key: "default/m-1", Seq: 20, At: at.Add(time.Minute), CurrentID: "m-2", PreviousID: "m-1", Current: blob, Previous: []byte("x")},
		{Key: "default/m-1", Seq: 40, At: at.Add(3 * time.Minute), CurrentID: "m-3", PreviousID: "m-1", Current: blob, Previous: []byte("old")},
		{Key: "brand:B/m-1", Seq: 50, At: at, CurrentID: "b-1", Current: []byte("b")},
	} {
		if err := s.PublishModels(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	r, found, err := s.LatestModels(ctx, "default/m-1", false)
	if err != nil || !found || r.Seq != 40 || r.CurrentID != "m-3" || r.PreviousID != "m-1" || !r.At.Equal(at.Add(3*time.Minute)) || r.Current != nil {
		t.Fatalf("latest ids: %+v found %v err %v", r, found, err)
	}
	r, _, err = s.LatestModels(ctx, "default/m-1", true)
	if err != nil || !bytes.Equal(r.Current, blob) || string(r.Previous) != "old" {
		t.Fatalf("latest models: %d bytes, previous %q, err %v", len(r.Current), r.Previous, err)
	}
	if r, _, _ := s.LatestModels(ctx, "brand:B/m-1", true); r.CurrentID != "b-1" || len(r.Previous) != 0 {
		t.Errorf("brand key: %+v", r)
	}
	if err := s.PublishModels(ctx, ModelRecord{Key: "k", Seq: 1, CurrentID: "x"}); err == nil {
		t.Error("a publication without the model's bytes accepted")
	}
}
