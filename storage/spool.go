package storage

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/earshot/earshot/mention"
)

// Spool keeps batches on local disk while ClickHouse is unreachable. Each
// batch is one JSONL file, written to a temporary name, synced and renamed,
// so a crash leaves either the whole batch or none of it. Names sort by time
// of writing, which is the order of replay.
type Spool struct {
	dir string
	seq atomic.Uint64
}

// OpenSpool creates dir (and dir/rejected) if needed.
func OpenSpool(dir string) (*Spool, error) {
	if err := os.MkdirAll(filepath.Join(dir, "rejected"), 0o755); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	return &Spool{dir: dir}, nil
}

// Dir is the spool directory.
func (s *Spool) Dir() string { return s.dir }

// Write stores one batch durably.
func (s *Spool) Write(batch []mention.Mention) (string, error) {
	// Time, then pid and a sequence number: unique across processes sharing
	// the directory, and in write order within one.
	name := fmt.Sprintf("%020d-%07d-%06d.jsonl", time.Now().UnixNano(), os.Getpid(), s.seq.Add(1))
	tmp := filepath.Join(s.dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", fmt.Errorf("spool write: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := range batch {
		if err := enc.Encode(&batch[i]); err != nil {
			f.Close()
			os.Remove(tmp)
			return "", fmt.Errorf("spool write: %w", err)
		}
	}
	if err := w.Flush(); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("spool write: %w", err)
	}
	return name, nil
}

// Pending lists the spooled batches, oldest first.
func (s *Spool) Pending() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("spool list: %w", err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".jsonl") && !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Read loads one spooled batch.
func (s *Spool) Read(name string) ([]mention.Mention, error) {
	f, err := os.Open(filepath.Join(s.dir, name))
	if err != nil {
		return nil, fmt.Errorf("spool read %s: %w", name, err)
	}
	defer f.Close()
	var out []mention.Mention
	dec := json.NewDecoder(bufio.NewReader(f))
	for {
		var m mention.Mention
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("spool read %s: record %d: %w", name, len(out)+1, err)
		}
		out = append(out, m)
	}
}

// Remove deletes a batch once it is stored.
func (s *Spool) Remove(name string) error {
	if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool remove: %w", err)
	}
	return nil
}

// Reject moves a batch the server refused (or that cannot be read) to
// rejected/, with the reason beside it, for a person to look at. It is
// never deleted.
func (s *Spool) Reject(name string, reason error) error {
	dst := filepath.Join(s.dir, "rejected", name)
	if err := os.Rename(filepath.Join(s.dir, name), dst); err != nil {
		return fmt.Errorf("spool reject: %w", err)
	}
	return os.WriteFile(dst+".error", []byte(reason.Error()+"\n"), 0o644)
}

// RejectBatch writes a batch straight to rejected/ with the reason.
func (s *Spool) RejectBatch(batch []mention.Mention, reason error) (string, error) {
	name, err := s.Write(batch)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.dir, "rejected", name), s.Reject(name, reason)
}

// Len returns the number of pending batches (0 on error).
func (s *Spool) Len() int {
	names, _ := s.Pending()
	return len(names)
}
