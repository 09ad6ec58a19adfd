package storage

import (
	"context"
	"fmt"
	"time"
)

// RecordLogins writes a failed login (cleared false) or a successful one
// (cleared true: earlier failures stop counting) for each key hash.
func (s *Store) RecordLogins(ctx context.Context, keyHashes []string, at time.Time, cleared bool) error {
	if len(keyHashes) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, `INSERT INTO login_failures (key_hash, at, at_us, cleared)`)
	if err != nil {
		return fmt.Errorf("login failures: %w", err)
	}
	for _, k := range keyHashes {
		if err := b.Append(k, at.UTC(), uint64(at.UnixMicro()), boolU8(cleared)); err != nil {
			_ = b.Abort()
			return fmt.Errorf("login failures: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("login failures: %w", err)
	}
	return nil
}

// maxLoginRows bounds what LoginFailures reads per call: a limit of a few
// failures needs no more, whatever an attack wrote.
const maxLoginRows = 1000

// LoginFailures returns each key hash's failed logins since `since` that
// came after its latest success, oldest first (a primary-key range read).
func (s *Store) LoginFailures(ctx context.Context, keyHashes []string, since time.Time) (map[string][]time.Time, error) {
	out := map[string][]time.Time{}
	if len(keyHashes) == 0 {
		return out, nil
	}
	in, args := inList(keyHashes)
	args = append(args, uint64(since.UnixMicro()), maxLoginRows)
	rows, err := s.conn.Query(ctx, `SELECT key_hash, at_us, cleared FROM login_failures
		WHERE key_hash IN `+in+` AND at_us >= ? ORDER BY at_us DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("login failures: %w", err)
	}
	defer rows.Close()
	cleared := map[string]bool{}
	for rows.Next() {
		var k string
		var us uint64
		var c uint8
		if err := rows.Scan(&k, &us, &c); err != nil {
			return nil, fmt.Errorf("login failures: %w", err)
		}
		switch {
		case cleared[k]: // newest first: everything after a success's row is before it
		case c == 1:
			cleared[k] = true
		default:
			out[k] = append([]time.Time{time.UnixMicro(int64(us)).UTC()}, out[k]...)
		}
	}
	return out, rows.Err()
}
