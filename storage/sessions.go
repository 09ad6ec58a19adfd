package storage

import (
	"context"
	"fmt"
	"time"
)

// Session is a web inbox session as stored (table sessions): its token's
// hash, never the token.
type Session struct {
	TokenHash string
	User      string
	Created   time.Time
	Expires   time.Time
	Ended     bool
	Version   uint64
}

// SaveSession records a session's start or end.
func (s *Store) SaveSession(ctx context.Context, ss Session) error {
	if err := s.insertRow(ctx, `INSERT INTO sessions (token_hash, user, created, expires, ended, version)`,
		ss.TokenHash, ss.User, ss.Created.UTC(), ss.Expires.UTC(), boolU8(ss.Ended), ss.Version); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return nil
}

// LookupSession returns the newest record of the session with tokenHash.
func (s *Store) LookupSession(ctx context.Context, tokenHash string) (Session, bool, error) {
	rows, err := s.conn.Query(ctx, `SELECT max(version), argMax(user, version), argMax(created, version), argMax(expires, version),
		argMax(ended, version) FROM sessions WHERE token_hash = ?`, tokenHash)
	if err != nil {
		return Session{}, false, fmt.Errorf("session: %w", err)
	}
	defer rows.Close()
	ss := Session{TokenHash: tokenHash}
	if rows.Next() {
		var ended uint8
		if err := rows.Scan(&ss.Version, &ss.User, &ss.Created, &ss.Expires, &ended); err != nil {
			return Session{}, false, fmt.Errorf("session: %w", err)
		}
		ss.Ended = ended == 1
	}
	if err := rows.Err(); err != nil {
		return Session{}, false, fmt.Errorf("session: %w", err)
	}
	return ss, ss.Version > 0, nil
}
