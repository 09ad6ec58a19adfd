package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

// The run journal: while a pass runs, StateDir/runs/<id>.json describes it
// and the pass holds an flock on it. A pass killed with kill -9 leaves the
// file unlocked; the next earshot process on this machine finds it and
// records the run as interrupted, so collection_runs tells the truth.
func (p *Pipeline) journal(run storage.Run, log *slog.Logger) func() {
	if p.StateDir == "" {
		return func() {}
	}
	dir := filepath.Join(p.StateDir, "runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Warn("run journal unavailable", "err", err)
		return func() {}
	}
	path := filepath.Join(dir, run.ID+".json")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		log.Warn("run journal unavailable", "err", err)
		return func() {}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		os.Remove(path)
		return func() {}
	}
	b, _ := json.Marshal(run)
	_, _ = f.Write(b)
	return func() {
		os.Remove(path) // before unlocking: nobody may take a finished run for a killed one
		f.Close()
	}
}

// RecoverInterrupted records the passes a killed process left in the
// journal as interrupted and returns how many it found.
func (p *Pipeline) RecoverInterrupted(ctx context.Context) (int, error) {
	if p.StateDir == "" {
		return 0, nil
	}
	dir := filepath.Join(p.StateDir, "runs")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("run journal: %w", err)
	}
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // a live pass of another process
			continue
		}
		var run storage.Run
		err = json.NewDecoder(f).Decode(&run)
		info, _ := f.Stat()
		if err != nil || run.ID == "" {
			f.Close()
			os.Remove(path) // written half-way by a pass killed at its start
			continue
		}
		run.Status = "interrupted"
		run.FinishedAt = info.ModTime()
		run.LastError = "the earshot process running this pass stopped before it ended (killed or crashed)"
		if err := p.Store.RecordRun(ctx, run); err != nil {
			f.Close()
			return n, fmt.Errorf("record interrupted run %s: %w", run.ID, err)
		}
		os.Remove(path)
		f.Close()
		p.log().Warn("collection pass was interrupted", "source", run.Source, "run", run.ID, "started", run.StartedAt)
		n++
	}
	return n, nil
}

// The rescore list: ids of mentions stored while the scorer's history was
// unavailable, one per line in StateDir/rescore.ids.
func (p *Pipeline) deferRescore(ids []string, log *slog.Logger) { p.DeferRescore(ids, log) }

// DeferRescore adds ids to the rescore list (for imports, which score
// outside a pass).
func (p *Pipeline) DeferRescore(ids []string, log *slog.Logger) {
	if p.StateDir == "" || len(ids) == 0 {
		return
	}
	p.rescore.Lock()
	defer p.rescore.Unlock()
	if err := os.MkdirAll(p.StateDir, 0o755); err != nil {
		log.Warn("rescore list unavailable", "err", err)
		return
	}
	unlock, err := p.lockRescore()
	if err != nil {
		log.Warn("rescore list unavailable", "err", err)
		return
	}
	defer unlock()
	f, err := os.OpenFile(filepath.Join(p.StateDir, "rescore.ids"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		log.Warn("rescore list unavailable", "err", err)
		return
	}
	defer f.Close()
	_, _ = f.WriteString(strings.Join(ids, "\n") + "\n")
}

// lockRescore takes the rescore list's lock across processes (an import
// and a daemon may share the state directory): appends and the rewrite of
// the list never interleave. Held only around file operations, never
// during the rescoring itself.
func (p *Pipeline) lockRescore() (func(), error) {
	f, err := os.OpenFile(filepath.Join(p.StateDir, "rescore.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// RescoreStore reads the mentions to rescore; *storage.Store is one.
type RescoreStore interface {
	Mentions(ctx context.Context, ids []string) (map[string]mention.Mention, error)
}

// Rescore repeats the history check of the mentions on the rescore list
// and stores the new versions. It keeps the list when the history is still
// unavailable and returns how many mentions it rescored.
func (p *Pipeline) Rescore(ctx context.Context, store RescoreStore) (int, error) {
	r, ok := p.Scorer.(Rescorer)
	if p.StateDir == "" || !ok {
		return 0, nil
	}
	p.rescore.Lock()
	defer p.rescore.Unlock()
	path := filepath.Join(p.StateDir, "rescore.ids")
	unlock, err := p.lockRescore()
	if err != nil {
		return 0, fmt.Errorf("rescore: %w", err)
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		unlock()
		return 0, nil
	}
	if err != nil {
		unlock()
		return 0, fmt.Errorf("rescore: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		unlock()
		return 0, fmt.Errorf("rescore: %w", err)
	}
	readUpTo := info.Size()
	var ids []string
	sc := bufio.NewScanner(io.LimitReader(f, readUpTo))
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	f.Close()
	unlock()
	if len(ids) == 0 {
		return 0, p.rewriteRescore(path, nil, readUpTo)
	}
	found, err := store.Mentions(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("rescore: %w", err)
	}
	ms := make([]mention.Mention, 0, len(found))
	for _, id := range ids {
		if m, ok := found[id]; ok {
			ms = append(ms, m)
		}
	}
	// Ids not found are still in the spool (ClickHouse was down): keep them.
	var keep []string
	for _, id := range ids {
		if _, ok := found[id]; !ok {
			keep = append(keep, id)
		}
	}
	out, err := r.Rescore(ctx, ms)
	if err != nil {
		return 0, fmt.Errorf("rescore: %w", err)
	}
	if err := p.Writer.Add(ctx, out...); err == nil {
		err = p.Writer.Flush(ctx)
	}
	if err != nil {
		return 0, fmt.Errorf("rescore: store: %w", err)
	}
	return len(out), p.rewriteRescore(path, keep, readUpTo)
}

// rewriteRescore replaces the list with keep plus whatever other processes
// appended after the first readUpTo bytes were read.
func (p *Pipeline) rewriteRescore(path string, keep []string, readUpTo int64) error {
	unlock, err := p.lockRescore()
	if err != nil {
		return fmt.Errorf("rescore: %w", err)
	}
	defer unlock()
	var later []byte
	if f, err := os.Open(path); err == nil {
		if _, err := f.Seek(readUpTo, io.SeekStart); err == nil {
			later, _ = io.ReadAll(f)
		}
		f.Close()
	}
	content := strings.Join(keep, "\n")
	if content != "" {
		content += "\n"
	}
	content += string(later)
	if content == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rescore: %w", err)
		}
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return fmt.Errorf("rescore: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rescore: %w", err)
	}
	return nil
}
