package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Trend is one chart's data: rows of text keys (Keys names them) and
// numbers (Values names them), and the exact SQL that produced them, which
// an analyst can paste into clickhouse-client. The SQL carries its
// parameters as literals (quoted by Quote), so what is shown is what ran.
type Trend struct {
	Name   string     `json:"name"`
	Title  string     `json:"title"`
	SQL    string     `json:"sql"`
	Keys   []string   `json:"keys"`
	Values []string   `json:"values"`
	Rows   []TrendRow `json:"rows"`
}

// TrendRow is one row of a Trend.
type TrendRow struct {
	Keys   []string  `json:"keys"`
	Values []float64 `json:"values"`
}

// TrendRange is a range of whole UTC days: From inclusive, To exclusive.
type TrendRange struct {
	From, To time.Time
}

// Days returns the range's length in days (at least 1).
func (r TrendRange) Days() int {
	return max(1, int(r.To.Sub(r.From).Hours()/24))
}

// Quote makes a ClickHouse string literal of s.
func Quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = Quote(v)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// scopeSQL is " AND brand IN (...) AND location IN (...)" for a scope,
// with the columns named by brandCol and locCol.
func scopeSQL(s Scope, brandCol, locCol string) string {
	var b strings.Builder
	if len(s.Brands) > 0 {
		b.WriteString("\n  AND " + brandCol + " IN " + quoteList(s.Brands))
	}
	if len(s.Locations) > 0 {
		b.WriteString("\n  AND " + locCol + " IN " + quoteList(s.Locations))
	}
	return b.String()
}

func day(t time.Time) string     { return "toDate('" + t.UTC().Format("2006-01-02") + "')" }
func instant(t time.Time) string { return fmt.Sprintf("toDateTime(%d)", clampTime(t).Unix()) }

// TrendNames are the charts of the trends page, in order.
var TrendNames = []string{"locations", "weekly_negative_share", "volume_by_source", "volume_by_language", "top_aspects",
	"response_times", "outcomes", "storms"}

// TrendSQL returns a chart's title, key and value column names and SQL.
// "locations" is `earshot report`'s location table and the others are
// docs/queries.md's queries, over the range and limited to the scope.
func TrendSQL(name string, r TrendRange, s Scope) (title string, keys, values []string, sql string, err error) {
	from, to := day(r.From), day(r.To)
	days := fmt.Sprintf("day >= %s AND day < %s", from, to)
	switch name {
	case "locations":
		return "Mentions and negative share per location", []string{"brand", "location"},
			[]string{"mentions", "negatives", "severe", "negative_share"}, `SELECT
    brand,
    location,
    toFloat64(uniqExactMerge(mentions)) AS n,
    toFloat64(uniqExactIfMerge(negatives)) AS neg,
    toFloat64(uniqExactIfMerge(severe)) AS sev,
    if(n > 0, neg / n, 0) AS negative_share
FROM trend_daily
WHERE ` + days + scopeSQL(s, "brand", "location") + `
GROUP BY brand, location
ORDER BY neg DESC, n DESC, brand, location`, nil
	case "weekly_negative_share":
		return "Negative share per week and location", []string{"week", "brand", "location"},
			[]string{"mentions", "negatives", "negative_share"}, `SELECT
    toString(toMonday(day)) AS week,
    brand,
    location,
    toFloat64(uniqExactMerge(mentions)) AS n_mentions,
    toFloat64(uniqExactIfMerge(negatives)) AS n_negative,
    round(if(n_mentions > 0, n_negative / n_mentions, 0), 3) AS negative_share
FROM trend_daily
WHERE ` + days + scopeSQL(s, "brand", "location") + `
GROUP BY week, brand, location
ORDER BY week, brand, location`, nil
	case "volume_by_source":
		return "Volume by source", []string{"source"}, []string{"mentions", "negatives"}, `SELECT
    source,
    toFloat64(uniqExactMerge(mentions)) AS n_mentions,
    toFloat64(uniqExactIfMerge(negatives)) AS n_negative
FROM trend_daily
WHERE ` + days + scopeSQL(s, "brand", "location") + `
GROUP BY source
ORDER BY n_mentions DESC, source`, nil
	case "volume_by_language":
		return "Volume by language", []string{"lang"}, []string{"mentions", "negatives"}, `SELECT
    lang,
    toFloat64(uniqExactMerge(mentions)) AS n_mentions,
    toFloat64(uniqExactIfMerge(negatives)) AS n_negative
FROM trend_daily
WHERE ` + days + scopeSQL(s, "brand", "location") + `
GROUP BY lang
ORDER BY n_mentions DESC, lang`, nil
	case "top_aspects":
		prev := day(r.From.AddDate(0, 0, -r.Days()))
		return "Top aspects of negative mentions: this period and the one before", []string{"aspect"},
			[]string{"this_period", "last_period"}, `SELECT
    aspect,
    toFloat64(uniqExactMergeIf(negatives, day >= ` + from + `)) AS this_period,
    toFloat64(uniqExactMergeIf(negatives, day < ` + from + `)) AS last_period
FROM trend_daily_aspect
WHERE day >= ` + prev + ` AND day < ` + to + scopeSQL(s, "brand", "location") + `
GROUP BY aspect
ORDER BY this_period DESC, last_period DESC, aspect
LIMIT 10`, nil
	case "response_times":
		f, t := instant(r.From), instant(r.To)
		return "Time to acknowledge and to resolve (minutes) per location, cases opened in the range", []string{"location"},
			[]string{"cases", "acknowledged", "ack_p50_min", "ack_p90_min", "resolved", "resolve_p50_min", "resolve_p90_min"}, `SELECT
    location,
    toFloat64(count()) AS cases,
    toFloat64(countIf(acked_at > toDateTime(0))) AS acknowledged,
    round(quantileExactIf(0.5)(toUInt32(acked_at) - toUInt32(opened_at), acked_at > toDateTime(0)) / 60, 1) AS ack_p50_min,
    round(quantileExactIf(0.9)(toUInt32(acked_at) - toUInt32(opened_at), acked_at > toDateTime(0)) / 60, 1) AS ack_p90_min,
    toFloat64(countIf(resolved_at > toDateTime(0))) AS resolved,
    round(quantileExactIf(0.5)(toUInt32(resolved_at) - toUInt32(opened_at), resolved_at > toDateTime(0)) / 60, 1) AS resolve_p50_min,
    round(quantileExactIf(0.9)(toUInt32(resolved_at) - toUInt32(opened_at), resolved_at > toDateTime(0)) / 60, 1) AS resolve_p90_min
FROM
(
    SELECT
        case_id,
        anyIf(brand, brand != '') AS brand,
        anyIf(location, location != '') AS location,
        minIf(at, event = 'opened') AS opened_at,
        minIf(at, event = 'acknowledged') AS acked_at,
        minIf(at, event = 'resolved') AS resolved_at,
        countIf(event = 'opened') AS opens
    FROM case_events
    WHERE at >= ` + f + `
    GROUP BY case_id
    HAVING opens > 0 AND opened_at >= ` + f + ` AND opened_at < ` + t + `
)
WHERE 1` + scopeSQL(s, "brand", "location") + `
GROUP BY location
ORDER BY location`, nil
	case "outcomes":
		return "How resolved cases ended", []string{"outcome"}, []string{"cases"}, `SELECT
    outcome,
    toFloat64(uniqExact(case_id)) AS cases
FROM case_events
WHERE event = 'resolved' AND at >= ` + instant(r.From) + ` AND at < ` + instant(r.To) + scopeSQL(s, "brand", "location") + `
GROUP BY outcome
ORDER BY cases DESC, outcome`, nil
	case "storms":
		return "Storms: negative volume far above its baseline", []string{"alerted_at", "brand", "location", "aspect"},
			[]string{"negative_mentions", "usual_per_window", "cases_listed"}, `SELECT
    toString(at) AS alerted_at,
    brand,
    location,
    aspect,
    toFloat64(count) AS negative_mentions,
    round(toFloat64(mean), 1) AS usual_per_window,
    toFloat64(length(case_ids)) AS cases_listed
FROM storms FINAL
WHERE at >= ` + instant(r.From) + ` AND at < ` + instant(r.To) + scopeSQL(s, "brand", "location") + `
ORDER BY at DESC, storm_id
LIMIT 100`, nil
	}
	return "", nil, nil, "", fmt.Errorf("unknown trend %q (known: %s)", name, strings.Join(TrendNames, ", "))
}

// TrendData runs a chart's query.
func (s *Store) TrendData(ctx context.Context, name string, r TrendRange, scope Scope) (Trend, error) {
	defer s.timed("trend_" + name)()
	title, keys, values, sql, err := TrendSQL(name, r, scope)
	if err != nil {
		return Trend{}, err
	}
	t := Trend{Name: name, Title: title, SQL: sql, Keys: keys, Values: values, Rows: []TrendRow{}}
	rows, err := s.conn.Query(ctx, sql)
	if err != nil {
		return t, fmt.Errorf("trend %s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		ks := make([]string, len(keys))
		vs := make([]float64, len(values))
		dest := make([]any, 0, len(keys)+len(values))
		for i := range ks {
			dest = append(dest, &ks[i])
		}
		for i := range vs {
			dest = append(dest, &vs[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return t, fmt.Errorf("trend %s: %w", name, err)
		}
		t.Rows = append(t.Rows, TrendRow{Keys: ks, Values: vs})
	}
	return t, rows.Err()
}

// SourceRun is a source's last collection pass and its recent failures.
type SourceRun struct {
	Source      string    `json:"source"`
	Kind        string    `json:"kind"`
	LastRun     time.Time `json:"last_run"`
	FinishedAt  time.Time `json:"finished_at"`
	Status      string    `json:"status"`
	Fetched     uint32    `json:"fetched"`
	New         uint32    `json:"new"`
	Errors      uint32    `json:"errors"`
	LastError   string    `json:"last_error"`
	Failures24h uint64    `json:"failures_24h"`
}

// SourceRunsSQL is docs/queries.md's "collection health" query.
const SourceRunsSQL = `SELECT
    source,
    argMax(kind, started_at) AS kind,
    max(started_at) AS last_run,
    argMax(finished_at, started_at) AS finished,
    toString(argMax(status, started_at)) AS last_status,
    argMax(fetched, started_at) AS last_fetched,
    argMax(new, started_at) AS last_new,
    argMax(errors, started_at) AS last_errors,
    argMax(last_error, started_at) AS last_error,
    countIf(status = 'failed' AND started_at >= now() - 86400) AS failures_24h
FROM collection_runs
GROUP BY source
ORDER BY source`

// SourceRuns returns each source's last pass.
func (s *Store) SourceRuns(ctx context.Context) (map[string]SourceRun, error) {
	defer s.timed("source_runs")()
	rows, err := s.conn.Query(ctx, SourceRunsSQL)
	if err != nil {
		return nil, fmt.Errorf("source runs: %w", err)
	}
	defer rows.Close()
	out := map[string]SourceRun{}
	for rows.Next() {
		var r SourceRun
		if err := rows.Scan(&r.Source, &r.Kind, &r.LastRun, &r.FinishedAt, &r.Status, &r.Fetched, &r.New, &r.Errors, &r.LastError,
			&r.Failures24h); err != nil {
			return nil, fmt.Errorf("source runs: %w", err)
		}
		out[r.Source] = r
	}
	return out, rows.Err()
}
