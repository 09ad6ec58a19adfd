package main

import (
	"testing"
	"time"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/storage"
)

// TestOverdue: which sources a worker runs at once when it takes them
// over from another (a dead one, or on a rebalance).
func TestOverdue(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	every15, err := config.ParseSchedule("@every 15m")
	if err != nil {
		t.Fatal(err)
	}
	hourly, err := config.ParseSchedule("30 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		run   storage.SourceRun
		found bool
		sched interface{ Next(time.Time) time.Time }
		want  bool
	}{
		{"never ran", storage.SourceRun{}, false, every15, true},
		{"recent ok", storage.SourceRun{LastRun: now.Add(-5 * time.Minute), Status: "ok"}, true, every15, false},
		{"recent partial", storage.SourceRun{LastRun: now.Add(-5 * time.Minute), Status: "partial"}, true, every15, false},
		// The dead worker's pass was never recorded: the last recorded one
		// is a whole period old.
		{"killed mid-pass", storage.SourceRun{LastRun: now.Add(-16 * time.Minute), Status: "ok"}, true, every15, true},
		{"due exactly now", storage.SourceRun{LastRun: now.Add(-15 * time.Minute), Status: "ok"}, true, every15, true},
		{"interrupted", storage.SourceRun{LastRun: now.Add(-time.Minute), Status: "interrupted"}, true, every15, true},
		// Stopped because the source moved to this worker: run it here.
		{"failed", storage.SourceRun{LastRun: now.Add(-time.Minute), Status: "failed"}, true, every15, true},
		{"cron not yet", storage.SourceRun{LastRun: now.Add(-30 * time.Minute), Status: "ok"}, true, hourly, false},
		{"cron missed", storage.SourceRun{LastRun: now.Add(-61 * time.Minute), Status: "ok"}, true, hourly, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := overdue(tc.run, tc.found, tc.sched, now); got != tc.want {
				t.Errorf("overdue = %v, want %v", got, tc.want)
			}
		})
	}
}
