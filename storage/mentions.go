package storage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/earshot/earshot/mention"
)

// InsertMentions writes one batch. It is all or nothing as far as the
// caller can tell: on error the whole batch should be retried or spooled,
// which is safe because rows collapse by id and version.
//
// Rows go in column by column: one typed slice per column is appended
// whole, which costs the client a fraction of appending row by row (each
// Append of a row boxes 31 values and converts them one at a time).
func (s *Store) InsertMentions(ctx context.Context, ms []mention.Mention) error {
	if len(ms) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, insertMentions)
	if err != nil {
		return fmt.Errorf("insert mentions: prepare: %w", err)
	}
	cols := insertColumns(ms)
	for i, c := range cols {
		if err := b.Column(i).Append(c); err != nil {
			_ = b.Abort()
			return fmt.Errorf("insert mentions: column %d of %d rows: %w", i, len(ms), err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert mentions: send batch of %d: %w", len(ms), err)
	}
	return nil
}

// MentionStream is one INSERT fed in several blocks: ClickHouse squashes
// the blocks of one insert into parts of up to a million rows
// (min_insert_block_size_rows), so a bulk load sent this way makes as few
// parts, and costs the server as little, as clickhouse-client's single
// insert, while the client holds only one block at a time. Nothing is
// certain to be stored until Send returns nil.
type MentionStream struct {
	b    driver.Batch
	rows int
}

// BeginMentions opens a stream.
func (s *Store) BeginMentions(ctx context.Context) (*MentionStream, error) {
	b, err := s.conn.PrepareBatch(ctx, insertMentions)
	if err != nil {
		return nil, fmt.Errorf("insert mentions: prepare: %w", err)
	}
	return &MentionStream{b: b}, nil
}

// Append sends ms as one block of the insert.
func (st *MentionStream) Append(ms []mention.Mention) error {
	if len(ms) == 0 {
		return nil
	}
	for i, c := range insertColumns(ms) {
		if err := st.b.Column(i).Append(c); err != nil {
			return fmt.Errorf("insert mentions: column %d of %d rows: %w", i, len(ms), err)
		}
	}
	if err := st.b.Flush(); err != nil {
		return fmt.Errorf("insert mentions: send block of %d: %w", len(ms), err)
	}
	st.rows += len(ms)
	return nil
}

// Rows is how many rows were appended.
func (st *MentionStream) Rows() int { return st.rows }

// Send ends the insert; nil means every appended row is stored.
func (st *MentionStream) Send() error {
	if err := st.b.Send(); err != nil {
		return fmt.Errorf("insert mentions: end insert of %d: %w", st.rows, err)
	}
	return nil
}

// Abort drops the insert.
func (st *MentionStream) Abort() { _ = st.b.Abort() }

// insertMentionsRows is the row-by-row insert InsertMentions replaced,
// kept for BenchmarkInsertMentions to measure against.
func (s *Store) insertMentionsRows(ctx context.Context, ms []mention.Mention) error {
	b, err := s.conn.PrepareBatch(ctx, insertMentions)
	if err != nil {
		return fmt.Errorf("insert mentions: prepare: %w", err)
	}
	for i := range ms {
		m := &ms[i]
		if err := b.Append(m.ID, m.Source, m.Kind, m.Brand, m.Location, m.URL, m.Author, m.Title, m.Text,
			float32(m.Rating), float32(m.RatingMax), m.Lang, clampTime(m.PublishedAt), clampTime(m.CollectedAt),
			m.Likes, m.Shares, m.Replies, m.Followers, m.ParentID, m.StoryID, m.AppVersion,
			float32(m.Sentiment), boolU8(m.Negative), severityOr(m.Severity), nonNil(m.Aspects), nonNil(m.Signals), nonNil(m.Reasons),
			nonNil(m.Entities), m.ScorerVersion, boolU8(m.Truncated), m.Version); err != nil {
			_ = b.Abort()
			return fmt.Errorf("insert mentions: row %s: %w", m.ID, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert mentions: send batch of %d: %w", len(ms), err)
	}
	return nil
}

// inList renders values as an IN list with one placeholder each and the
// matching arguments: a bound slice renders as an array literal, which
// ClickHouse 18.16 rejects inside IN.
func inList(values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?,", len(values)), ",") + ")", args
}

// CountMentions returns the number of mention rows stored: ClickHouse
// answers it from part metadata, without reading the table. A mention
// stored again (re-scored, replayed) counts twice until its versions merge;
// `SELECT count() FROM mentions FINAL` is exact and reads every id.
func (s *Store) CountMentions(ctx context.Context) (uint64, error) {
	var n uint64
	err := s.conn.QueryRow(ctx, "SELECT count() FROM mentions").Scan(&n)
	return n, err
}

func boolU8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func severityOr(s string) string {
	if mention.SeverityRank(s) < 0 {
		return "none"
	}
	return s
}

// ClickHouse DateTime holds 1970..2105; dates outside become the zero value
// (meaning unknown) rather than failing the whole batch.
var maxDateTime = time.Date(2105, 12, 31, 0, 0, 0, 0, time.UTC)

func clampTime(t time.Time) time.Time {
	if t.Before(time.Unix(0, 0)) || t.After(maxDateTime) {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}

// InsertRatings appends observations of items' aggregate ratings.
func (s *Store) InsertRatings(ctx context.Context, rs []mention.ItemRating) error {
	if len(rs) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, `INSERT INTO item_ratings (source, brand, location, item, url, rating, best, worst,
		rating_count, review_count, observed_at)`)
	if err != nil {
		return fmt.Errorf("insert ratings: prepare: %w", err)
	}
	for _, r := range rs {
		if err := b.Append(r.Source, r.Brand, r.Location, r.Item, r.URL, float32(r.Rating), float32(r.Best), float32(r.Worst),
			r.RatingCount, r.ReviewCount, clampTime(r.ObservedAt)); err != nil {
			_ = b.Abort()
			return fmt.Errorf("insert ratings: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert ratings: send: %w", err)
	}
	return nil
}
