package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/earshot/earshot/mention"
)

// CountBy says which time puts a mention in a period (mention.CountBy:
// alerts' digests count the same way without importing storage).
type CountBy = mention.CountBy

const (
	ByPublished = mention.ByPublished
	ByCollected = mention.ByCollected
)

// ParseCountBy reads "published" or "collected"; "" is published.
func ParseCountBy(s string) (CountBy, error) { return mention.ParseCountBy(s) }

// LocationRow is a brand and location's mentions in a report's period.
type LocationRow struct {
	Brand     string  `json:"brand"`
	Location  string  `json:"location"`
	Mentions  uint64  `json:"mentions"`
	Negatives uint64  `json:"negatives"`
	Severe    uint64  `json:"severe"`
	NegShare  float64 `json:"negative_share"`
}

// LangRow is a language's mentions in a report's period.
type LangRow struct {
	Lang      string `json:"lang"`
	Mentions  uint64 `json:"mentions"`
	Negatives uint64 `json:"negatives"`
}

// AspectRow is an aspect's negative mentions in a report's period.
type AspectRow struct {
	Aspect    string `json:"aspect"`
	Negatives uint64 `json:"negatives"`
}

// Report is `earshot report`: per brand and location, per language, and
// the top aspects of negative mentions, from Since (a UTC midnight) on.
type Report struct {
	Since     time.Time     `json:"since"`
	CountBy   CountBy       `json:"count_by"`
	Locations []LocationRow `json:"locations"`
	Languages []LangRow     `json:"languages"`
	Aspects   []AspectRow   `json:"aspects"`
}

// reportSQL are the report's three queries for one way of counting; each
// takes the first day (a Date) as its one argument. Published: the daily
// trend tables (0004). Collected: the hourly ones by collection time
// (0016), from that day's first hour. Both read only the period's
// partitions and key range, never mentions.
var reportSQL = map[CountBy]struct{ locations, langs, aspects string }{
	ByPublished: {
		locations: `SELECT brand, location, toUInt64(uniqExactMerge(mentions)) AS n,
		toUInt64(uniqExactIfMerge(negatives)) AS neg, toUInt64(uniqExactIfMerge(severe)) AS sev
		FROM trend_daily WHERE day >= toDate(?) GROUP BY brand, location ORDER BY neg DESC, n DESC, brand, location`,
		langs: `SELECT lang, toUInt64(uniqExactMerge(mentions)) AS n, toUInt64(uniqExactIfMerge(negatives)) AS neg
		FROM trend_daily WHERE day >= toDate(?) GROUP BY lang ORDER BY n DESC, lang`,
		aspects: `SELECT aspect, toUInt64(uniqExactMerge(negatives)) AS neg
		FROM trend_daily_aspect WHERE day >= toDate(?) GROUP BY aspect ORDER BY neg DESC, aspect LIMIT 10`,
	},
	ByCollected: {
		locations: `SELECT brand, location, toUInt64(uniqExactMerge(mentions)) AS n,
		toUInt64(uniqExactIfMerge(negatives)) AS neg, toUInt64(uniqExactIfMerge(severe)) AS sev
		FROM trend_collected_hourly WHERE hour >= toDateTime(toDate(?)) GROUP BY brand, location ORDER BY neg DESC, n DESC, brand, location`,
		langs: `SELECT lang, toUInt64(uniqExactMerge(mentions)) AS n, toUInt64(uniqExactIfMerge(negatives)) AS neg
		FROM trend_collected_hourly WHERE hour >= toDateTime(toDate(?)) GROUP BY lang ORDER BY n DESC, lang`,
		aspects: `SELECT aspect, toUInt64(uniqExactMerge(negatives)) AS neg
		FROM trend_collected_aspect_hourly WHERE hour >= toDateTime(toDate(?)) GROUP BY aspect ORDER BY neg DESC, aspect LIMIT 10`,
	},
}

// Report counts mentions from since's day (UTC) on, by publication or by
// collection time.
func (s *Store) Report(ctx context.Context, since time.Time, by CountBy) (*Report, error) {
	by, err := ParseCountBy(string(by))
	if err != nil {
		return nil, fmt.Errorf("report: count by %w", err)
	}
	q := reportSQL[by]
	r := &Report{Since: since.UTC().Truncate(24 * time.Hour), CountBy: by}
	day := r.Since
	rows, err := s.conn.Query(ctx, q.locations, day)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	for rows.Next() {
		var t LocationRow
		if err := rows.Scan(&t.Brand, &t.Location, &t.Mentions, &t.Negatives, &t.Severe); err != nil {
			rows.Close()
			return nil, fmt.Errorf("report: %w", err)
		}
		if t.Mentions > 0 {
			t.NegShare = float64(t.Negatives) / float64(t.Mentions)
		}
		r.Locations = append(r.Locations, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	rows, err = s.conn.Query(ctx, q.langs, day)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	for rows.Next() {
		var l LangRow
		if err := rows.Scan(&l.Lang, &l.Mentions, &l.Negatives); err != nil {
			rows.Close()
			return nil, fmt.Errorf("report: %w", err)
		}
		r.Languages = append(r.Languages, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	rows, err = s.conn.Query(ctx, q.aspects, day)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var x AspectRow
		if err := rows.Scan(&x.Aspect, &x.Negatives); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		r.Aspects = append(r.Aspects, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return r, nil
}
