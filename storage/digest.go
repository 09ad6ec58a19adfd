package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/earshot/earshot/caselog"
)

// Bucket is one bar of a trend: mentions and negative mentions from Start.
type Bucket = caselog.Bucket

// Volume is what a digest says about a period.
type Volume = caselog.Volume

// brandFilter is " AND brand = ?" when brand is set.
func brandFilter(brand string, args []any) (string, []any) {
	if brand == "" {
		return "", args
	}
	return " AND brand = ?", append(args, brand)
}

// hourTables are the tables a digest reads for each way of counting:
// mention counts by the hour, and negative mentions' aspects. All are
// partitioned by month and ordered by time, so a period is a key range.
var hourTables = map[CountBy]struct{ counts, aspects string }{
	ByPublished: {"trend_hourly", "negatives ARRAY JOIN aspects AS aspect"},
	ByCollected: {"trend_collected_hourly", "trend_collected_aspect_hourly"},
}

// Series counts mentions per day (UTC) or per week (from Monday) in
// [from, to), every bucket present, zeros included. brand "" is all brands.
// Mentions count by publication time (SeriesBy for the other way).
func (s *Store) Series(ctx context.Context, brand string, from, to time.Time, weekly bool) ([]Bucket, error) {
	return s.SeriesBy(ctx, ByPublished, brand, from, to, weekly)
}

// SeriesBy is Series counting mentions by publication or collection time.
func (s *Store) SeriesBy(ctx context.Context, by CountBy, brand string, from, to time.Time, weekly bool) ([]Bucket, error) {
	by, err := ParseCountBy(string(by))
	if err != nil {
		return nil, fmt.Errorf("trend series: count by %w", err)
	}
	bucket, step := "toDate(hour)", 24*time.Hour
	first := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	if weekly {
		bucket, step = "toMonday(hour)", 7*24*time.Hour
		first = first.AddDate(0, 0, -((int(first.Weekday()) + 6) % 7))
	}
	defer s.timed("trend_series")()
	f, args := brandFilter(brand, []any{from.UTC(), to.UTC()})
	// trend_hourly is partitioned by month and ordered by hour: the range
	// reads the period's parts only. Whole hours count (see PeriodVolume).
	rows, err := s.conn.Query(ctx, `SELECT toDateTime(`+bucket+`) AS b, uniqExactMerge(mentions), uniqExactIfMerge(negatives)
FROM `+hourTables[by].counts+` WHERE hour >= ? AND hour < ?`+f+` GROUP BY b ORDER BY b`, args...)
	if err != nil {
		return nil, fmt.Errorf("trend series: %w", err)
	}
	defer rows.Close()
	counts := map[time.Time]Bucket{}
	for rows.Next() {
		var b Bucket
		var n, neg uint64
		if err := rows.Scan(&b.Start, &n, &neg); err != nil {
			return nil, fmt.Errorf("trend series: %w", err)
		}
		b.Start = b.Start.UTC()
		b.Mentions, b.Negative = int(n), int(neg)
		counts[b.Start] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trend series: %w", err)
	}
	var out []Bucket
	for t := first; t.Before(to); t = t.Add(step) {
		b := counts[t]
		b.Start = t
		out = append(out, b)
	}
	return out, nil
}

// PeriodVolume counts a period's mentions, negative ones per location and
// their aspects. Counts come from trend_hourly and negatives (both
// partitioned by month and ordered by time, so the period is a key range),
// not from mentions: a mention counts in the hour it was published (or
// collected, undated), so a period counts whole hours; digests end on their
// schedule's hour.
func (s *Store) PeriodVolume(ctx context.Context, brand string, from, to time.Time) (Volume, error) {
	return s.PeriodVolumeBy(ctx, ByPublished, brand, from, to)
}

// PeriodVolumeBy is PeriodVolume counting mentions by publication or
// collection time (trend_collected_hourly and trend_collected_aspect_hourly,
// 0016, for the latter: whole hours too).
func (s *Store) PeriodVolumeBy(ctx context.Context, by CountBy, brand string, from, to time.Time) (Volume, error) {
	v := Volume{NegativeByLocation: map[string]int{}, Aspects: map[string]int{}}
	by, err := ParseCountBy(string(by))
	if err != nil {
		return v, fmt.Errorf("period volume: count by %w", err)
	}
	defer s.timed("period_volume")()
	tables := hourTables[by]
	f, args := brandFilter(brand, []any{from.UTC(), to.UTC()})
	rows, err := s.conn.Query(ctx, `SELECT location, uniqExactMerge(mentions), uniqExactIfMerge(negatives), uniqExactIfMerge(severe)
FROM `+tables.counts+` WHERE hour >= ? AND hour < ?`+f+` GROUP BY location`, args...)
	if err != nil {
		return v, fmt.Errorf("period volume: %w", err)
	}
	for rows.Next() {
		var loc string
		var n, neg, severe uint64
		if err := rows.Scan(&loc, &n, &neg, &severe); err != nil {
			rows.Close()
			return v, fmt.Errorf("period volume: %w", err)
		}
		v.Mentions += int(n)
		v.Negative += int(neg)
		v.Severe += int(severe)
		if neg > 0 {
			v.NegativeByLocation[loc] = int(neg)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("period volume: %w", err)
	}
	aspects := `SELECT aspect, uniqExact(id) FROM ` + tables.aspects + ` WHERE at >= ? AND at < ?` + f + ` GROUP BY aspect`
	if by == ByCollected {
		aspects = `SELECT aspect, uniqExactMerge(negatives) FROM ` + tables.aspects + ` WHERE hour >= ? AND hour < ?` + f + ` GROUP BY aspect`
	}
	rows, err = s.conn.Query(ctx, aspects, args...)
	if err != nil {
		return v, fmt.Errorf("period aspects: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		var n uint64
		if err := rows.Scan(&a, &n); err != nil {
			return v, fmt.Errorf("period aspects: %w", err)
		}
		v.Aspects[a] = int(n)
	}
	return v, rows.Err()
}

// CasesFor lists the unresolved cases routed to a receiver (queued,
// notified, deferred or inhibited there), oldest first. brand "" is all.
func (s *Store) CasesFor(ctx context.Context, receiver, brand string, limit int) ([]CaseState, error) {
	q := caseSelect + " GROUP BY case_id HAVING st != 'resolved' AND has(groupUniqArrayIfMerge(receivers), ?)"
	args := []any{receiver}
	if brand != "" {
		q += " AND anyIfMerge(case_brand) = ?"
		args = append(args, brand)
	}
	return s.queryCases(ctx, q+fmt.Sprintf(" ORDER BY opened, case_id LIMIT %d", max(limit, 1)), args...)
}

// Delivered reports whether a message with this group key reached receiver
// (a "sent" delivery row): how a digest is sent once per period.
func (s *Store) Delivered(ctx context.Context, receiver, groupKey string) (bool, error) {
	rows, err := s.conn.Query(ctx, `SELECT count() FROM alert_deliveries WHERE receiver = ? AND group_key = ? AND status = 'sent'`,
		receiver, groupKey)
	if err != nil {
		return false, fmt.Errorf("deliveries: %w", err)
	}
	defer rows.Close()
	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return false, fmt.Errorf("deliveries: %w", err)
		}
	}
	return n > 0, rows.Err()
}
