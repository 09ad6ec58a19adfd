package storage

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Seen returns which of ids are already stored. Downstream stages use it so
// that a re-collected mention is not scored, counted or alerted on again.
//
// mentions is ordered by id, so the IN list is a primary-key lookup: each
// id reads its granule (8,192 ids) in each part, whatever the table's size.
func (s *Store) Seen(ctx context.Context, ids []string) (map[string]bool, error) {
	defer s.timed("seen")()
	seen := make(map[string]bool, len(ids))
	// Sorted, each chunk is a narrow key range: a few granules instead of
	// one in every part of the table.
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
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
// published before a time: the scorer's repeat-complaint check. It reads
// complaints (fed by a view on negative mentions): a mention re-scored as
// not negative since still counts there, as in the trend tables.
func (s *Store) PriorNegatives(ctx context.Context, brand string, authors []string, before time.Time) (map[string]int, error) {
	defer s.timed("prior_negatives")()
	out := map[string]int{}
	const chunk = 500
	for start := 0; start < len(authors); start += chunk {
		part := authors[start:min(start+chunk, len(authors))]
		in, authorArgs := inList(part)
		// complaints is ordered by (brand, author, published_at): each
		// author is a primary-key range, whatever the brand's history.
		q := "SELECT author, uniqExact(story_id) FROM complaints WHERE brand = ? AND author IN " + in +
			" AND published_at < ? GROUP BY author"
		args := append(append([]any{brand}, authorArgs...), clampTime(before))
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
