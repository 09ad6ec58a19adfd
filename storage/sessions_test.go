package storage

import (
	"context"
	"testing"
	"time"
)

// TestSessionsTable: a session's start reads back; its end outranks the
// start whatever version the start carries (a clock ahead), before and
// after ClickHouse merges the two rows into one.
func TestSessionsTable(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	if _, found, err := s.LookupSession(ctx, "h1"); found || err != nil {
		t.Fatalf("empty: %v %v", found, err)
	}
	start := Session{TokenHash: "h1", User: "ana", Credential: "c", Created: now, Expires: now.Add(12 * time.Hour), Version: uint64(now.Add(time.Hour).UnixNano())}
	if err := s.SaveSession(ctx, start); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.LookupSession(ctx, "h1")
	if err != nil || !found || got.Ended || got.User != "ana" || got.Credential != "c" || !got.Expires.Equal(start.Expires) {
		t.Fatalf("start: %+v %v %v", got, found, err)
	}
	if err := s.SaveSession(ctx, Session{TokenHash: "h1", User: "ana", Created: now, Expires: start.Expires, Ended: true, Version: SessionEndVersion}); err != nil {
		t.Fatal(err)
	}
	for _, when := range []string{"before merging", "after merging"} {
		if got, found, err := s.LookupSession(ctx, "h1"); err != nil || !found || !got.Ended {
			t.Errorf("%s: %+v found %v err %v, want ended", when, got, found, err)
		}
		if err := s.conn.Exec(ctx, "OPTIMIZE TABLE sessions FINAL"); err != nil {
			t.Fatal(err)
		}
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM sessions").Scan(&n); err != nil || n != 1 && when == "before merging" {
			t.Errorf("%d rows after merging (%v), want 1", n, err)
		}
	}
}
