package storage

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Session is a web inbox session as stored (table sessions): its token's
// hash, never the token.
type Session struct {
	TokenHash string
	User      string
	// Credential is a digest of the user's password hash at sign-in.
	Credential string
	Created    time.Time
	Expires    time.Time
	Ended      bool
	Version    uint64
}

// SessionEndVersion is the version of every end row: above any start's.
const SessionEndVersion = math.MaxUint64

// SaveSession records a session's start or end.
func (s *Store) SaveSession(ctx context.Context, ss Session) error {
	if err := s.insertRow(ctx, `INSERT INTO sessions (token_hash, user, credential, created, expires, ended, version)`,
		ss.TokenHash, ss.User, ss.Credential, ss.Created.UTC(), ss.Expires.UTC(), boolU8(ss.Ended), ss.Version); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return nil
}

// LookupSession returns the session with tokenHash as its start recorded
// it, Ended when any end was recorded.
func (s *Store) LookupSession(ctx context.Context, tokenHash string) (Session, bool, error) {
	rows, err := s.conn.Query(ctx, `SELECT max(version), argMinIf(user, version, ended = 0), argMinIf(credential, version, ended = 0),
		argMinIf(created, version, ended = 0), argMinIf(expires, version, ended = 0), max(ended), countIf(ended = 0)
		FROM sessions WHERE token_hash = ?`, tokenHash)
	if err != nil {
		return Session{}, false, fmt.Errorf("session: %w", err)
	}
	defer rows.Close()
	ss := Session{TokenHash: tokenHash}
	var starts uint64
	if rows.Next() {
		var ended uint8
		if err := rows.Scan(&ss.Version, &ss.User, &ss.Credential, &ss.Created, &ss.Expires, &ended, &starts); err != nil {
			return Session{}, false, fmt.Errorf("session: %w", err)
		}
		ss.Ended = ended == 1
	}
	if err := rows.Err(); err != nil {
		return Session{}, false, fmt.Errorf("session: %w", err)
	}
	// An end without a start (recorded while the start was not) still
	// ends it: found, Ended.
	return ss, starts > 0 || ss.Ended, nil
}
