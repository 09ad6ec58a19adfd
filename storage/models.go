package storage

import (
	"context"
	"fmt"
	"time"
)

// ModelRecord is one publication of the learned scorer's models in use
// (table models): the current model and the one to roll back to, as the
// bytes of their files.
type ModelRecord struct {
	Key        string
	Seq        uint64 // the newest wins (Unix nanoseconds)
	At         time.Time
	CurrentID  string
	PreviousID string
	Current    []byte
	Previous   []byte
}

// PublishModels records r as the models in use under r.Key.
func (s *Store) PublishModels(ctx context.Context, r ModelRecord) error {
	if r.Key == "" || r.CurrentID == "" || len(r.Current) == 0 || r.Seq == 0 {
		return fmt.Errorf("publish models: key, current model and seq are required")
	}
	if err := s.insertRow(ctx, `INSERT INTO models (key, seq, at, current_id, previous_id, current, previous)`,
		r.Key, r.Seq, r.At.UTC(), r.CurrentID, r.PreviousID, string(r.Current), string(r.Previous)); err != nil {
		return fmt.Errorf("publish models %s: %w", r.Key, err)
	}
	return nil
}

// LatestModels returns the newest record under key (found false when
// none). Without withModels only the ids and seq are read: the
// once-a-minute check moves no model bytes.
func (s *Store) LatestModels(ctx context.Context, key string, withModels bool) (ModelRecord, bool, error) {
	// argMax rather than FINAL: it reads one key's rows through a
	// Distributed table as well.
	cols := "max(seq), argMax(at, seq), argMax(current_id, seq), argMax(previous_id, seq)"
	if withModels {
		cols += ", argMax(current, seq), argMax(previous, seq)"
	}
	rows, err := s.conn.Query(ctx, "SELECT "+cols+" FROM models WHERE key = ?", key)
	if err != nil {
		return ModelRecord{}, false, fmt.Errorf("models %s: %w", key, err)
	}
	defer rows.Close()
	r := ModelRecord{Key: key}
	if rows.Next() {
		var cur, prev string
		dst := []any{&r.Seq, &r.At, &r.CurrentID, &r.PreviousID}
		if withModels {
			dst = append(dst, &cur, &prev)
		}
		if err := rows.Scan(dst...); err != nil {
			return ModelRecord{}, false, fmt.Errorf("models %s: %w", key, err)
		}
		if withModels {
			r.Current, r.Previous = []byte(cur), []byte(prev)
		}
	}
	if err := rows.Err(); err != nil {
		return ModelRecord{}, false, fmt.Errorf("models %s: %w", key, err)
	}
	return r, r.Seq > 0, nil
}
