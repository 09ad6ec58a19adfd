package flock

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestExclusiveAndReleasedOnExit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dispatch.lock")
	l, _, err := TryLock(path, "run")
	if err != nil {
		t.Fatal(err)
	}
	// flock is per open file description: a second open in this process
	// conflicts like another process would.
	if _, h, err := TryLock(path, "collect"); !errors.Is(err, ErrHeld) || h.PID != os.Getpid() || h.Command != "run" {
		t.Fatalf("second lock: err %v holder %+v, want ErrHeld by this pid's run", err, h)
	}
	l.Release()
	l2, _, err := TryLock(path, "collect")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()

	// A holder killed with SIGKILL leaves the lock free.
	cmd := exec.Command("flock", "-x", "-o", path, "sleep", "30") // -o: sleep does not inherit the lock
	if err := cmd.Start(); err != nil {
		t.Skip("flock(1) not available:", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, _, err := TryLock(path, "run")
		if errors.Is(err, ErrHeld) {
			break
		}
		if err == nil {
			l.Release()
		}
		if time.Now().After(deadline) {
			t.Fatal("flock(1) never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	// flock(1) forks its command holding the lock and the child closes it
	// just before exec: killed in that moment, the child holds it a moment
	// longer. Released within a second either way.
	deadline = time.Now().Add(2 * time.Second)
	for {
		l3, _, err := TryLock(path, "run")
		if err == nil {
			l3.Release()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after kill -9 of the holder: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
