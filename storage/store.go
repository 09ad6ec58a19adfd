// Package storage keeps Earshot's durable state in ClickHouse: mentions with
// their scores, collection runs, per-source cursors, and (for alerts) case
// events and deliveries. Writes name their columns explicitly, as ClickHouse
// 18.16 requires for clickhouse-go v2 batches.
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/schemas"
)

// DefaultDatabase is used when the DSN names none.
const DefaultDatabase = "earshot"

// Store is a connection to Earshot's database.
type Store struct {
	conn     driver.Conn
	database string
	log      *slog.Logger
	now      func() time.Time
	metrics  *metrics.Metrics // nil: queries are not timed
}

// SetMetrics makes the store time its recurring queries
// (earshot_query_seconds{query}); call it before the store is shared.
func (s *Store) SetMetrics(m *metrics.Metrics) { s.metrics = m }

// timed starts timing one named query: defer s.timed("seen")().
func (s *Store) timed(name string) func() { return s.metrics.Query(name) }

var validDB = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Open connects to the DSN (clickhouse://user:pass@host:port/db?opts),
// creating the database when it does not exist.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("clickhouse dsn %s: %w", redact(dsn), err)
	}
	db := opts.Auth.Database
	if db == "" {
		db = DefaultDatabase
	}
	if !validDB.MatchString(db) {
		return nil, fmt.Errorf("clickhouse dsn: database name %q: letters, digits and _ only", db)
	}
	if opts.DialTimeout == 0 || opts.DialTimeout > 10*time.Second {
		opts.DialTimeout = 5 * time.Second
	}
	// Create the database through the default one, then reconnect to it.
	opts.Auth.Database = "default"
	boot, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", redact(dsn), err)
	}
	defer boot.Close()
	if err := boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return nil, fmt.Errorf("clickhouse %s: create database %s: %w", redact(dsn), db, err)
	}
	opts.Auth.Database = db
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", redact(dsn), err)
	}
	return &Store{conn: conn, database: db, log: log, now: time.Now}, nil
}

// Conn exposes the driver for packages that own their tables' queries.
func (s *Store) Conn() driver.Conn { return s.conn }

// Database is the database in use.
func (s *Store) Database() string { return s.database }

// Close closes the connection.
func (s *Store) Close() error { return s.conn.Close() }

// Ping checks the server answers.
func (s *Store) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

// Version returns the server version string, for gating newer features.
func (s *Store) Version(ctx context.Context) (string, error) {
	var v string
	err := s.conn.QueryRow(ctx, "SELECT version()").Scan(&v)
	return v, err
}

// Migrate applies the embedded migrations that have not run yet and records
// each in schema_migrations. It is idempotent: a second run applies nothing.
// It returns the names of the migrations it applied.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	ms, err := schemas.Migrations()
	if err != nil {
		return nil, err
	}
	if err := s.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version UInt32, name String, checksum String, applied_at DateTime
	) ENGINE = MergeTree() ORDER BY version`); err != nil {
		return nil, fmt.Errorf("migrate: schema_migrations: %w", err)
	}
	applied := map[uint32]string{}
	rows, err := s.conn.Query(ctx, "SELECT version, checksum FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: read applied: %w", err)
	}
	for rows.Next() {
		var v uint32
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			rows.Close()
			return nil, fmt.Errorf("migrate: read applied: %w", err)
		}
		applied[v] = sum
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read applied: %w", err)
	}
	var done []string
	for _, m := range ms {
		if sum, ok := applied[m.Version]; ok {
			if sum != m.Checksum {
				s.log.Warn("applied migration changed since it ran; write a new migration instead", "migration", m.Name)
			}
			continue
		}
		// Statements use IF NOT EXISTS, so a migration interrupted half-way
		// is safe to run again from the top.
		for i, stmt := range m.Statements {
			if err := s.conn.Exec(ctx, stmt); err != nil && !alreadyAdded(stmt, err) {
				return done, fmt.Errorf("migrate %s statement %d: %w", m.Name, i+1, err)
			}
		}
		if err := s.insertRow(ctx, "INSERT INTO schema_migrations (version, name, checksum, applied_at)",
			m.Version, m.Name, m.Checksum, s.now().UTC()); err != nil {
			return done, fmt.Errorf("migrate %s: record: %w", m.Name, err)
		}
		s.log.Info("migration applied", "migration", m.Name)
		done = append(done, m.Name)
	}
	return done, nil
}

// alreadyAdded reports an ADD COLUMN that failed because the column exists:
// the statement ran before (ClickHouse 18.16 lacks ADD COLUMN IF NOT EXISTS).
func alreadyAdded(stmt string, err error) bool {
	var ex *clickhouse.Exception
	return strings.Contains(strings.ToUpper(stmt), "ADD COLUMN") && errors.As(err, &ex) && ex.Code == 44 &&
		strings.Contains(ex.Message, "already exists")
}

// insertRow writes one row through a batch. ClickHouse 18.16 waits for a
// data block after any INSERT on the native protocol, so an Exec of
// INSERT ... VALUES with bound arguments hangs there; batches work on all
// versions.
func (s *Store) insertRow(ctx context.Context, insert string, values ...any) error {
	b, err := s.conn.PrepareBatch(ctx, insert)
	if err != nil {
		return err
	}
	if err := b.Append(values...); err != nil {
		_ = b.Abort()
		return err
	}
	return b.Send()
}

// IsUnavailable reports whether err means the server could not be reached
// or answer in time (as opposed to the server rejecting the query): the case
// for the spool. A cancelled context counts too, so rows in flight at
// shutdown go to disk rather than being lost.
func IsUnavailable(err error) bool {
	var ex *clickhouse.Exception
	return err != nil && !errors.As(err, &ex)
}

// redact hides the password of a DSN for messages and logs.
func redact(dsn string) string {
	return RedactDSN(dsn)
}
