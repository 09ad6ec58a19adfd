package storage

import (
	"context"
	"fmt"
	"time"
)

// LabelledText is a labelled mention as a training item: the label staff
// gave last (across people) and the mention's text.
type LabelledText struct {
	MentionID string
	Label     string
	At        time.Time // when the latest label was given
	Brand     string
	Lang      string
	Title     string
	Text      string
	Rating    float64
	RatingMax float64
}

// TrainingLabels returns every labelled mention (of brand, or all brands
// when brand is empty) with its latest label and its text, by mention id.
// Labels whose mention is not stored (yet) are left out.
func (s *Store) TrainingLabels(ctx context.Context, brand string) ([]LabelledText, error) {
	q := `SELECT mention_id, argMax(toString(label), at), max(at), any(brand) FROM labels FINAL`
	var args []any
	if brand != "" {
		q += ` WHERE brand = ?`
		args = append(args, brand)
	}
	q += ` GROUP BY mention_id ORDER BY mention_id`
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("training labels: %w", err)
	}
	var out []LabelledText
	for rows.Next() {
		var l LabelledText
		if err := rows.Scan(&l.MentionID, &l.Label, &l.At, &l.Brand); err != nil {
			rows.Close()
			return nil, fmt.Errorf("training labels: %w", err)
		}
		out = append(out, l)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("training labels: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	ids := make([]string, len(out))
	for i, l := range out {
		ids[i] = l.MentionID
	}
	ms, err := s.Mentions(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("training labels: %w", err)
	}
	kept := out[:0]
	for _, l := range out {
		m, ok := ms[l.MentionID]
		if !ok {
			continue
		}
		l.Lang, l.Title, l.Text, l.Rating, l.RatingMax = m.Lang, m.Title, m.Text, m.Rating, m.RatingMax
		if l.Brand == "" {
			l.Brand = m.Brand
		}
		kept = append(kept, l)
	}
	return kept, nil
}

// CountLabelsSince counts the mentions (of brand, or all) labelled after
// since: the Retrainer's "enough new labels" check.
func (s *Store) CountLabelsSince(ctx context.Context, brand string, since time.Time) (int, error) {
	q := `SELECT count(DISTINCT mention_id) FROM labels WHERE at > ?`
	args := []any{clampTime(since)}
	if brand != "" {
		q += ` AND brand = ?`
		args = append(args, brand)
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count labels: %w", err)
	}
	return int(n), nil
}
