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
	"slices"
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
	cluster  string           // ClickHouse cluster the schema spans; "": one server
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
	return OpenWith(ctx, dsn, OpenOptions{Logger: log})
}

// OpenOptions tune OpenWith.
type OpenOptions struct {
	Logger *slog.Logger
	// Cluster is the ClickHouse cluster (a name in the servers'
	// remote_servers) Earshot's tables span: the database is created and
	// migrated ON CLUSTER, as Replicated tables behind Distributed ones
	// (see ClusterMigrations). Empty: one server.
	Cluster string
}

// clusterSettings make inserts into Distributed tables return once every
// shard stored its rows: the case pipeline reads back what it wrote. (18.16
// and current releases know it; current ones as an alias.) The driver
// sends 18.16 numeric settings only, so the string-valued ones a cluster
// needs come from the servers' profile: ClusterProfile.
var clusterSettings = clickhouse.Settings{"insert_distributed_sync": 1}

// ClusterProfile is what the servers' default profile must set on a
// cluster (storage/chcluster and deploy/cluster ship it): reads go to the
// replica writes went to (the first live one), so a read right after a
// write sees it; IN and JOIN subqueries over Distributed tables run once
// on the initiator (18.16's default refuses them), for Earshot's queries
// and analysts' alike.
var ClusterProfile = map[string]string{
	"load_balancing":           "in_order",
	"distributed_product_mode": "global",
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dsn string, o OpenOptions) (*Store, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Cluster != "" && !validDB.MatchString(o.Cluster) {
		return nil, fmt.Errorf("clickhouse cluster name %q: letters, digits and _ only", o.Cluster)
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
	create := "CREATE DATABASE IF NOT EXISTS " + db
	if o.Cluster != "" {
		if opts.Settings == nil {
			opts.Settings = clickhouse.Settings{}
		}
		for k, v := range clusterSettings {
			if _, set := opts.Settings[k]; !set { // the DSN's own win
				opts.Settings[k] = v
			}
		}
		create += " ON CLUSTER " + o.Cluster
	}
	// Create the database through the default one, then reconnect to it.
	opts.Auth.Database = "default"
	boot, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", redact(dsn), err)
	}
	defer boot.Close()
	// On a cluster each ON CLUSTER statement is a round of the distributed
	// DDL queue (~0.4 s on 18.16), paid by every command: skip it when this
	// node already has the database (it was created on all nodes at once).
	exists := false
	if o.Cluster != "" {
		var n uint64
		if err := boot.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = ?", db).Scan(&n); err == nil {
			exists = n > 0
		}
	}
	if !exists {
		if err := boot.Exec(ctx, create); err != nil {
			return nil, fmt.Errorf("clickhouse %s: create database %s: %w", redact(dsn), db, err)
		}
	}
	opts.Auth.Database = db
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", redact(dsn), err)
	}
	st := &Store{conn: conn, database: db, log: log, now: time.Now, cluster: o.Cluster}
	if o.Cluster != "" {
		st.checkProfile(ctx)
	}
	return st, nil
}

// checkProfile warns about ClusterProfile settings the server's profile
// lacks: Earshot works, but may miss a row it just wrote.
func (s *Store) checkProfile(ctx context.Context) {
	for name, want := range ClusterProfile {
		var got string
		if err := s.conn.QueryRow(ctx, "SELECT value FROM system.settings WHERE name = ?", name).Scan(&got); err != nil {
			s.log.Warn("clickhouse cluster: cannot read setting", "setting", name, "err", err)
			continue
		}
		if got != want {
			s.log.Warn("clickhouse cluster: set this in the servers' default profile (see deploy/cluster/users.xml)",
				"setting", name, "value", got, "want", want)
		}
	}
}

// Cluster is the ClickHouse cluster the store's tables span ("": one server).
func (s *Store) Cluster() string { return s.cluster }

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
	ledger := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version UInt32, name String, checksum String, applied_at DateTime
	) ENGINE = MergeTree() ORDER BY version`
	if s.cluster != "" {
		if ms, err = s.clusterMigrations(ctx, ms); err != nil {
			return nil, err
		}
		// One copy on every node (one ZooKeeper path, every node a replica
		// of it): whichever node a later Migrate connects to reads all rows.
		ledger = fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.schema_migrations ON CLUSTER %s (
		version UInt32, name String, checksum String, applied_at DateTime
	) ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/%s/schema_migrations', '{shard}_{replica}') ORDER BY version`,
			s.database, s.cluster, s.database)
	}
	if err := s.createLedger(ctx, ledger); err != nil {
		return nil, err
	}
	applied, err := s.readLedger(ctx)
	if err != nil {
		return nil, err
	}
	if s.cluster != "" && slices.ContainsFunc(ms, func(m schemas.Migration) bool { _, ok := applied[m.Version]; return !ok }) {
		// The ledger is replicated: a migration recorded on another node a
		// moment ago may not have reached this one, and would run twice.
		// Asked only when something looks unapplied, and bounded: 18.16's
		// SYNC REPLICA waits without limit for a part it cannot fetch.
		sctx, cancel := context.WithTimeout(ctx, ledgerSyncTimeout)
		err := s.conn.Exec(sctx, "SYSTEM SYNC REPLICA "+s.database+".schema_migrations")
		cancel()
		if err != nil {
			s.log.Warn("migrate: could not wait for the ledger's replica; a migration just applied elsewhere may run again", "err", err)
		} else if applied, err = s.readLedger(ctx); err != nil {
			return nil, err
		}
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

// ledgerSyncTimeout bounds the wait for the ledger's replica on a cluster.
const ledgerSyncTimeout = 20 * time.Second

// readLedger returns the applied migrations' checksums by version.
func (s *Store) readLedger(ctx context.Context) (map[uint32]string, error) {
	applied := map[uint32]string{}
	rows, err := s.conn.Query(ctx, "SELECT version, checksum FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: read applied: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v uint32
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, fmt.Errorf("migrate: read applied: %w", err)
		}
		applied[v] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read applied: %w", err)
	}
	return applied, nil
}

// createLedger runs the ledger's CREATE. On a cluster it first looks in
// system.tables: every command migrates on open, and an ON CLUSTER
// statement, even one with nothing to do, costs a round of the servers'
// DDL queue (~0.4 s on 18.16). The ledger is created on every node at
// once, so finding it on this node means it was made. (A node added to
// the cluster later gets no tables from Migrate at all: nothing is lost.)
func (s *Store) createLedger(ctx context.Context, ledger string) error {
	if s.cluster != "" {
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_migrations'",
			s.database).Scan(&n); err != nil {
			return fmt.Errorf("migrate: look for schema_migrations: %w", err)
		}
		if n > 0 {
			return nil
		}
	}
	if err := s.conn.Exec(ctx, ledger); err != nil {
		return fmt.Errorf("migrate: schema_migrations: %w", err)
	}
	return nil
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

// clusterMigrations rewrites the migrations for the store's cluster, with
// the DDL the server's version takes.
func (s *Store) clusterMigrations(ctx context.Context, ms []schemas.Migration) ([]schemas.Migration, error) {
	v, err := s.Version(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: server version: %w", err)
	}
	return ClusterMigrations(ms, ClusterOptions{Cluster: s.cluster, Database: s.database, DropSync: hasDropSync(v)})
}

// hasDropSync reports whether a server version has Atomic databases and
// DROP TABLE ... SYNC (20.10 and later; 18.16 has neither).
func hasDropSync(version string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 20 || major == 20 && minor >= 10
}
