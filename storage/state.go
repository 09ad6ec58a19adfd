package storage

import (
	"context"
	"fmt"
	"time"
)

// SourceState is a source's incremental cursor and HTTP validators.
type SourceState struct {
	Source       string
	Cursor       string
	ETag         string
	LastModified string
	UpdatedAt    time.Time
}

// LoadState returns the newest state of source, or a zero state.
func (s *Store) LoadState(ctx context.Context, source string) (SourceState, error) {
	st := SourceState{Source: source}
	rows, err := s.conn.Query(ctx, `SELECT argMax(cursor, version), argMax(etag, version),
		argMax(last_modified, version), max(updated_at) FROM source_state WHERE source = ? GROUP BY source`, source)
	if err != nil {
		return st, fmt.Errorf("load state %s: %w", source, err)
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&st.Cursor, &st.ETag, &st.LastModified, &st.UpdatedAt); err != nil {
			return st, fmt.Errorf("load state %s: %w", source, err)
		}
	}
	return st, rows.Err()
}

// SaveState records a new state for a source. Call it only after the
// mentions collected up to that cursor were stored (or spooled).
func (s *Store) SaveState(ctx context.Context, st SourceState) error {
	now := s.now().UTC()
	if err := s.insertRow(ctx, `INSERT INTO source_state (source, cursor, etag, last_modified, updated_at, version)`, st.Source, st.Cursor, st.ETag, st.LastModified, now.Truncate(time.Second), uint64(now.UnixNano())); err != nil {
		return fmt.Errorf("save state %s: %w", st.Source, err)
	}
	return nil
}

// Run is the outcome of one collection pass of one source.
type Run struct {
	ID         string
	Source     string
	Kind       string
	StartedAt  time.Time
	FinishedAt time.Time
	Fetched    uint32
	New        uint32
	Errors     uint32
	Status     string // ok, partial, failed
	LastError  string
	Worker     string
}

// RecordRun appends a collection_runs row.
func (s *Store) RecordRun(ctx context.Context, r Run) error {
	if err := s.insertRow(ctx, `INSERT INTO collection_runs (run_id, source, kind, started_at, finished_at,
		fetched, new, errors, status, last_error, worker)`,
		r.ID, r.Source, r.Kind, r.StartedAt.UTC(), r.FinishedAt.UTC(), r.Fetched, r.New, r.Errors, r.Status, r.LastError, r.Worker); err != nil {
		return fmt.Errorf("record run %s: %w", r.Source, err)
	}
	return nil
}
