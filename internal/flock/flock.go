// Package flock is an exclusive, non-blocking lock on a file (flock(2)),
// released by the kernel when its holder exits, kill -9 included. The
// holder writes who it is into the file so that the others can say so.
package flock

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Holder describes the process holding a lock.
type Holder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"` // e.g. "run", "collect"
	Since   time.Time `json:"since"`
}

func (h Holder) String() string {
	if h.PID == 0 {
		return "another process"
	}
	return fmt.Sprintf("earshot %s (pid %d, since %s)", h.Command, h.PID, h.Since.Format(time.RFC3339))
}

// ErrHeld means another process holds the lock.
var ErrHeld = errors.New("lock held")

// Lock is a held lock.
type Lock struct {
	f *os.File
}

// TryLock takes the lock at path for command, or returns ErrHeld and the
// holder it found.
func TryLock(path, command string) (*Lock, Holder, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, Holder{}, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, Holder{}, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		var h Holder
		if b, rerr := os.ReadFile(path); rerr == nil {
			_ = json.Unmarshal(b, &h)
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, h, ErrHeld
		}
		return nil, h, fmt.Errorf("lock %s: %w", path, err)
	}
	h := Holder{PID: os.Getpid(), Command: command, Since: time.Now().UTC().Truncate(time.Second)}
	b, _ := json.Marshal(h)
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(b, '\n'), 0)
	}
	return &Lock{f: f}, h, nil
}

// Release lets the lock go.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}
