package storage

import (
	"context"
	"fmt"
	"time"
)

// Seen returns which of ids are already stored. Downstream stages use it so
// that a re-collected mention is not scored, counted or alerted on again.
func (s *Store) Seen(ctx context.Context, ids []string) (map[string]bool, error) {
	seen := make(map[string]bool, len(ids))
	const chunk = 1000
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		in, args := inList(part)
		rows, err := s.conn.Query(ctx, "SELECT DISTINCT id FROM mentions WHERE id IN "+in, args...)
		if err != nil {
			return nil, fmt.Errorf("seen: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("seen: %w", err)
			}
			seen[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("seen: %w", err)
		}
	}
	return seen, nil
}

// PriorNegatives counts, per author, the negative mentions about brand
// published before a time: the scorer's repeat-complaint check.
func (s *Store) PriorNegatives(ctx context.Context, brand string, authors []string, before time.Time) (map[string]int, error) {
	out := map[string]int{}
	const chunk = 500
	for start := 0; start < len(authors); start += chunk {
		part := authors[start:min(start+chunk, len(authors))]
		in, authorArgs := inList(part)
		q := "SELECT author, uniqExact(story_id) FROM mentions FINAL WHERE brand = ? AND negative = 1 AND published_at < ? AND author IN " +
			in + " GROUP BY author"
		args := append([]any{brand, clampTime(before)}, authorArgs...)
		rows, err := s.conn.Query(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("prior negatives: %w", err)
		}
		for rows.Next() {
			var a string
			var n uint64
			if err := rows.Scan(&a, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("prior negatives: %w", err)
			}
			out[a] = int(n)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("prior negatives: %w", err)
		}
	}
	return out, nil
}
