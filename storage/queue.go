package storage

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/mention"
)

// QueuedCase is a case the case queue holds and the router has not routed
// yet, with its mention's routing labels.
type QueuedCase = caselog.Queued

// Unrouted lists up to limit queued cases that have no "routed" event,
// oldest first, from the key (since, after): cases opened after since, or
// at since with a case id above after (after "" starts at since). It also
// returns the server's clock (the router's watermark is in the server's
// time, as opened_at is).
//
// Cost is bounded by the window, not the history: case_queue is ordered by
// (opened_at, case_id), so the key condition is a primary-key range, and
// the routed check looks case_events up by its key prefix, case_id. Pages
// move the key on, so routing a backlog reads it once, not once per page.
func (s *Store) Unrouted(ctx context.Context, since time.Time, after string, limit int) ([]QueuedCase, time.Time, error) {
	defer s.timed("unrouted_cases")()
	var now time.Time
	if err := s.conn.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
		return nil, now, fmt.Errorf("unrouted cases: %w", err)
	}
	since = clampTime(since)
	const window = `opened_at >= ? AND (opened_at > ? OR case_id > ?)`
	const lab = `source != ''`
	rows, err := s.conn.Query(ctx, fmt.Sprintf(`SELECT case_id, if(max(`+lab+`) = 1, anyIf(mention_id, `+lab+`), any(mention_id)),
  min(opened_at) AS first, max(`+lab+`), anyIf(brand, `+lab+`), anyIf(location, `+lab+`), anyIf(source, `+lab+`),
  anyIf(kind, `+lab+`), anyIf(lang, `+lab+`), toString(anyIf(severity, `+lab+`)), anyIf(aspects, `+lab+`), anyIf(signals, `+lab+`)
FROM case_queue
WHERE `+window+` AND case_id `+s.notIn()+` (
  SELECT case_id FROM case_events
  WHERE event = 'routed' AND case_id `+s.in()+` (SELECT case_id FROM case_queue WHERE `+window+`))
GROUP BY case_id
ORDER BY first, case_id
LIMIT %d`, max(limit, 1)), since, since, after, since, since, after)
	if err != nil {
		return nil, now, fmt.Errorf("unrouted cases: %w", err)
	}
	defer rows.Close()
	var out []QueuedCase
	for rows.Next() {
		var q QueuedCase
		var labelled uint8
		if err := rows.Scan(&q.CaseID, &q.MentionID, &q.OpenedAt, &labelled, &q.Brand, &q.Location, &q.Source, &q.Kind, &q.Lang,
			&q.Severity, &q.Aspects, &q.Signals); err != nil {
			return nil, now, fmt.Errorf("unrouted cases: %w", err)
		}
		q.Labelled = labelled == 1
		out = append(out, q)
	}
	return out, now, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

// MentionHeads is Mentions without the text, author, reasons and entities:
// a flush of a large backlog holds every pending case's labels, and reads
// the words only of the cases its messages list.
func (s *Store) MentionHeads(ctx context.Context, ids []string) (map[string]mention.Mention, error) {
	defer s.timed("mention_heads_by_id")()
	return s.mentionsByID(ctx, ids, headColumns, 50000, scanHead)
}

// Mentions returns the newest stored version of each id found, in one
// query per 1,000 ids (a primary-key lookup: mentions are ordered by id).
func (s *Store) Mentions(ctx context.Context, ids []string) (map[string]mention.Mention, error) {
	defer s.timed("mentions_by_id")()
	return s.mentionsByID(ctx, ids, mentionColumns, 10000, scanMention)
}

// mentionsByID reads ids in chunks of `chunk` ids, each one query. A chunk
// of random ids touches granules all over the table (1,000 ids of a
// million-row table: most of its 122 granules), so a chunk costs about
// what a scan of the columns read costs: heads, a few narrow columns, go
// in large chunks; whole mentions, with their text, in smaller ones.
func (s *Store) mentionsByID(ctx context.Context, ids []string, cols string, chunk int, scan func(scanner) (mention.Mention, error)) (map[string]mention.Mention, error) {
	out := make(map[string]mention.Mention, len(ids))
	// Sorted, each chunk is a narrow key range: a few granules instead of
	// one in every part of the table.
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		// The ids go as an external table, not in the query text: 50,000
		// of them would pass max_query_size (256 KiB).
		tbl, err := ext.NewTable("wanted_ids", ext.Column("id", "String"))
		if err != nil {
			return nil, fmt.Errorf("mentions: %w", err)
		}
		for _, id := range part {
			if err := tbl.Append(id); err != nil {
				return nil, fmt.Errorf("mentions: %w", err)
			}
		}
		rows, err := s.conn.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(tbl)),
			"SELECT "+cols+" FROM mentions FINAL WHERE id IN wanted_ids")
		if err != nil {
			return nil, fmt.Errorf("mentions: %w", err)
		}
		for rows.Next() {
			m, err := scan(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("mentions: %w", err)
			}
			out[m.ID] = m
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("mentions: %w", err)
		}
	}
	return out, nil
}

// OldestOpen returns when the oldest case opened since `since` that is
// still open (nobody acknowledged, held or resolved it) was opened. It
// reads case_events from `since` on (monthly partitions), not case_state:
// the window's cases are spread over all of case_state's key range, so
// looking them up there reads nearly all of it.
func (s *Store) OldestOpen(ctx context.Context, since time.Time) (time.Time, bool, error) {
	var t time.Time
	var n uint64
	defer s.timed("oldest_open_case")()
	since = clampTime(since)
	err := s.conn.QueryRow(ctx, `SELECT min(opened), count() FROM (
  SELECT case_id, minIf(at, event = 'opened') AS opened, countIf(event = 'opened') AS opens, `+currentState+` AS current
  FROM case_events
  WHERE at >= ?
  GROUP BY case_id
) WHERE opens > 0 AND opened >= ? AND current = 0`, since, since).Scan(&t, &n)
	if err != nil {
		return t, false, fmt.Errorf("oldest open case: %w", err)
	}
	return t, n > 0, nil
}
