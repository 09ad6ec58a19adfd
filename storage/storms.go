package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/earshot/earshot/caselog"
)

// StormKey is what a storm is about: a brand and location, or a brand and
// an aspect (Location empty).
type StormKey = caselog.StormKey

// NegativeBuckets counts negative mentions per key in n+1 windows ending at
// end: bucket 0 is the current window, 1..n the ones before. A mention's
// time is when it was published (when known), so a backfill of old reviews
// lands in old buckets instead of looking like a storm.
//
// It reads the negatives table (partitioned by month of that time, ordered
// by brand and time): the n+1 windows are a partition and key range, so the
// cost follows the windows' volume, not the history. A mention stored twice
// counts once (uniqExact).
func (s *Store) NegativeBuckets(ctx context.Context, end time.Time, window time.Duration, n int) (map[StormKey][]int, error) {
	defer s.timed("storm_buckets")()
	sec := uint32(window.Seconds())
	start := end.Add(-time.Duration(n+1) * window)
	out := map[StormKey][]int{}
	// The same count per brand and location, then per brand and aspect.
	for _, by := range []struct {
		name, from, column string
		field              func(*StormKey) *string
	}{
		{"location", "negatives", "location", func(k *StormKey) *string { return &k.Location }},
		{"aspect", "negatives ARRAY JOIN aspects AS aspect", "aspect", func(k *StormKey) *string { return &k.Aspect }},
	} {
		rows, err := s.conn.Query(ctx, `SELECT brand, `+by.column+`, toUInt32(intDiv(toUInt32(?) - 1 - toUInt32(at), ?)) AS b, uniqExact(id)
FROM `+by.from+` WHERE at >= ? AND at < ?
GROUP BY brand, `+by.column+`, b`, end.UTC(), sec, start.UTC(), end.UTC())
		if err != nil {
			return nil, fmt.Errorf("storm buckets by %s: %w", by.name, err)
		}
		for rows.Next() {
			var k StormKey
			var b uint32
			var c uint64
			if err := rows.Scan(&k.Brand, by.field(&k), &b, &c); err != nil {
				rows.Close()
				return nil, fmt.Errorf("storm buckets by %s: %w", by.name, err)
			}
			v := out[k]
			if v == nil {
				v = make([]int, n+1)
				out[k] = v
			}
			if int(b) <= n {
				v[b] += int(c)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("storm buckets by %s: %w", by.name, err)
		}
	}
	return out, nil
}

// StormMentions returns up to limit ids of the negative mentions a storm
// covers (newest first), from the negatives table by brand and time (its
// key). A mention re-scored as not negative since may be among them:
// callers read the mentions and check.
func (s *Store) StormMentions(ctx context.Context, k StormKey, from, to time.Time, limit int) ([]string, error) {
	defer s.timed("storm_mentions")()
	q := `SELECT id FROM negatives WHERE brand = ? AND at >= ? AND at < ?`
	args := []any{k.Brand, from.UTC(), to.UTC()}
	if k.Aspect != "" {
		q += " AND has(aspects, ?)"
		args = append(args, k.Aspect)
	} else {
		q += " AND location = ?"
		args = append(args, k.Location)
	}
	rows, err := s.conn.Query(ctx, q+fmt.Sprintf(" GROUP BY id ORDER BY max(at) DESC, id LIMIT %d", max(limit, 1)), args...)
	if err != nil {
		return nil, fmt.Errorf("storm mentions: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("storm mentions: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Storm is a row of the storms table.
type Storm = caselog.Storm

// RecordStorm writes a storm.
func (s *Store) RecordStorm(ctx context.Context, st Storm) error {
	if err := s.insertRow(ctx, `INSERT INTO storms (storm_id, at, window_start, window_end, brand, location, aspect, count, mean,
		stddev, receiver, case_ids)`, st.ID, st.At.UTC(), st.WindowStart.UTC(), st.WindowEnd.UTC(), st.Key.Brand, st.Key.Location,
		st.Key.Aspect, uint32(st.Count), float32(st.Mean), float32(st.Stddev), st.Receiver, nonNil(st.CaseIDs)); err != nil {
		return fmt.Errorf("record storm: %w", err)
	}
	return nil
}

// StormsSince returns the storms alerted at or after a time (the ones still
// in their cooldown, which inhibit per-mention alerts).
func (s *Store) StormsSince(ctx context.Context, since time.Time) ([]Storm, error) {
	rows, err := s.conn.Query(ctx, `SELECT storm_id, at, window_start, window_end, brand, location, aspect, count, mean, stddev,
		receiver, case_ids FROM storms FINAL WHERE at >= ? ORDER BY at`, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("storms: %w", err)
	}
	defer rows.Close()
	var out []Storm
	for rows.Next() {
		var st Storm
		var count uint32
		var mean, sd float32
		if err := rows.Scan(&st.ID, &st.At, &st.WindowStart, &st.WindowEnd, &st.Key.Brand, &st.Key.Location, &st.Key.Aspect,
			&count, &mean, &sd, &st.Receiver, &st.CaseIDs); err != nil {
			return nil, fmt.Errorf("storms: %w", err)
		}
		st.Count, st.Mean, st.Stddev = int(count), float64(mean), float64(sd)
		out = append(out, st)
	}
	return out, rows.Err()
}
