package storage

import (
	"regexp"
	"strings"
	"testing"

	"github.com/earshot/earshot/schemas"
)

func TestClusterMigrations(t *testing.T) {
	const mentions = `CREATE TABLE IF NOT EXISTS mentions (
    id String,
    text String,
    negative UInt8,
    aspects Array(String),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id`
	wantMentions := []string{
		`CREATE TABLE IF NOT EXISTS db.mentions_local ON CLUSTER c (
    id String,
    text String,
    negative UInt8,
    aspects Array(String),
    version UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/mentions', '{replica}', version)
ORDER BY id`,
		`CREATE TABLE IF NOT EXISTS db.mentions ON CLUSTER c (id String, text String, negative UInt8, aspects Array(String), version UInt64) ENGINE = Distributed(c, db, mentions_local, cityHash64(id))`,
	}
	const trend = `CREATE TABLE IF NOT EXISTS trend_daily (day Date, n AggregateFunction(uniqExact, String)) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY day`
	wantTrend := []string{
		`CREATE TABLE IF NOT EXISTS db.trend_daily_local ON CLUSTER c (day Date, n AggregateFunction(uniqExact, String)) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/db/trend_daily', '{replica}') PARTITION BY toYYYYMM(day) ORDER BY day`,
		`CREATE TABLE IF NOT EXISTS db.trend_daily ON CLUSTER c (day Date, n AggregateFunction(uniqExact, String)) ENGINE = Distributed(c, db, trend_daily_local, rand())`,
	}
	for _, tc := range []struct {
		name  string
		sync  bool
		stmts []string
		want  []string // of the last statement
		err   string
	}{
		{name: "replacing table: replicated local, distributed by id", stmts: []string{mentions}, want: wantMentions},
		{name: "aggregating table", stmts: []string{trend}, want: wantTrend},
		{name: "new table: sharded by its first ORDER BY column", stmts: []string{
			"CREATE TABLE IF NOT EXISTS visits (who String, at DateTime) ENGINE = MergeTree() PARTITION BY toYYYYMM(at) ORDER BY (who, at)"},
			want: []string{
				"CREATE TABLE IF NOT EXISTS db.visits_local ON CLUSTER c (who String, at DateTime) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db/visits', '{replica}') PARTITION BY toYYYYMM(at) ORDER BY (who, at)",
				"CREATE TABLE IF NOT EXISTS db.visits ON CLUSTER c (who String, at DateTime) ENGINE = Distributed(c, db, visits_local, cityHash64(who))",
			}},
		{name: "add column: local altered, distributed re-created with it in place", stmts: []string{mentions,
			"ALTER TABLE mentions ADD COLUMN story_id String AFTER text"},
			want: []string{
				"ALTER TABLE db.mentions_local ON CLUSTER c ADD COLUMN story_id String AFTER text",
				"DROP TABLE IF EXISTS db.mentions ON CLUSTER c",
				"CREATE TABLE IF NOT EXISTS db.mentions ON CLUSTER c (id String, text String, story_id String, negative UInt8, aspects Array(String), version UInt64) ENGINE = Distributed(c, db, mentions_local, cityHash64(id))",
			}},
		{name: "add column at the end, then modify it", stmts: []string{mentions,
			"ALTER TABLE mentions ADD COLUMN status Enum8('a' = 0)", "ALTER TABLE mentions MODIFY COLUMN status Enum8('a' = 0, 'b, c' = 1)"},
			want: []string{
				"ALTER TABLE db.mentions_local ON CLUSTER c MODIFY COLUMN status Enum8('a' = 0, 'b, c' = 1)",
				"DROP TABLE IF EXISTS db.mentions ON CLUSTER c",
				"CREATE TABLE IF NOT EXISTS db.mentions ON CLUSTER c (id String, text String, negative UInt8, aspects Array(String), version UInt64, status Enum8('a' = 0, 'b, c' = 1)) ENGINE = Distributed(c, db, mentions_local, cityHash64(id))",
			}},
		{name: "mutation: local tables only", stmts: []string{mentions, "ALTER TABLE mentions UPDATE text = '' WHERE id = 'x'"},
			want: []string{"ALTER TABLE db.mentions_local ON CLUSTER c UPDATE text = '' WHERE id = 'x'"}},
		{name: "materialized view: local source into local target", stmts: []string{mentions, trend,
			"CREATE MATERIALIZED VIEW IF NOT EXISTS trend_daily_mv TO trend_daily AS\nSELECT toDate(now()) AS day, uniqExactState(id) AS n FROM mentions ARRAY JOIN aspects AS aspect WHERE text != 'FROM mentions' GROUP BY day"},
			want: []string{"CREATE MATERIALIZED VIEW IF NOT EXISTS db.trend_daily_mv ON CLUSTER c TO db.trend_daily_local AS SELECT toDate(now()) AS day, uniqExactState(id) AS n FROM db.mentions_local ARRAY JOIN aspects AS aspect WHERE text != 'FROM mentions' GROUP BY day"}},
		{name: "view: over the distributed tables; a view of a view", stmts: []string{trend,
			"CREATE VIEW IF NOT EXISTS daily AS SELECT day, uniqExactMerge(n) AS n FROM trend_daily GROUP BY day",
			"CREATE VIEW IF NOT EXISTS busy AS SELECT * FROM (SELECT day FROM daily WHERE n > 9) JOIN numbers(3) USING number"},
			want: []string{"CREATE VIEW IF NOT EXISTS db.busy ON CLUSTER c AS SELECT * FROM (SELECT day FROM db.daily WHERE n > 9) JOIN numbers(3) USING number"}},
		{name: "drop view", stmts: []string{trend, "CREATE VIEW daily AS SELECT day FROM trend_daily", "DROP TABLE IF EXISTS daily"},
			want: []string{"DROP TABLE IF EXISTS db.daily ON CLUSTER c"}},
		{name: "drop table: both parts; SYNC where the server has it", sync: true, stmts: []string{trend, "DROP TABLE trend_daily"},
			want: []string{"DROP TABLE IF EXISTS db.trend_daily ON CLUSTER c", "DROP TABLE IF EXISTS db.trend_daily_local ON CLUSTER c SYNC"}},
		{name: "drop table on 18.16: no SYNC", stmts: []string{trend, "DROP TABLE trend_daily"},
			want: []string{"DROP TABLE IF EXISTS db.trend_daily ON CLUSTER c", "DROP TABLE IF EXISTS db.trend_daily_local ON CLUSTER c"}},
		{name: "back-fill: once, through the distributed tables", stmts: []string{trend, "INSERT INTO trend_daily SELECT day, n FROM trend_daily"},
			want: []string{"INSERT INTO trend_daily SELECT day, n FROM trend_daily"}},
		{name: "optimize: the local tables", stmts: []string{trend, "OPTIMIZE TABLE trend_daily FINAL"},
			want: []string{"OPTIMIZE TABLE db.trend_daily_local ON CLUSTER c FINAL"}},
		{name: "unknown statement", stmts: []string{trend, "RENAME TABLE trend_daily TO t2"}, err: "no cluster form"},
		{name: "engine without a replicated variant", stmts: []string{"CREATE TABLE t (a String) ENGINE = Memory"}, err: "no replicated variant"},
		{name: "already replicated", stmts: []string{"CREATE TABLE t (a String) ENGINE = ReplicatedMergeTree('/x', 'r') ORDER BY a"}, err: "no replicated variant"},
		{name: "view into an unknown table", stmts: []string{"CREATE MATERIALIZED VIEW v TO nowhere AS SELECT 1"}, err: "not a table"},
		{name: "alter of an unknown table", stmts: []string{"ALTER TABLE nowhere ADD COLUMN a String"}, err: "not a table"},
		{name: "add after a missing column", stmts: []string{trend, "ALTER TABLE trend_daily ADD COLUMN a String AFTER nope"}, err: "no column nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := []schemas.Migration{{Version: 1, Name: "0001_x.sql", Statements: tc.stmts, Checksum: "sum"}}
			out, err := ClusterMigrations(ms, ClusterOptions{Cluster: "c", Database: "db", DropSync: tc.sync})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out[0].Version != 1 || out[0].Name != "0001_x.sql" || out[0].Checksum != "sum" {
				t.Errorf("migration identity changed: %+v", out[0])
			}
			got := out[0].Statements
			if len(got) < len(tc.want) {
				t.Fatalf("got %d statements, want at least %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			got = got[len(got)-len(tc.want):]
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Errorf("statement %d:\ngot  %s\nwant %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestClusterMigrationsOptions(t *testing.T) {
	for _, o := range []ClusterOptions{{Cluster: "", Database: "db"}, {Cluster: "c;", Database: "db"}, {Cluster: "c", Database: "a b"}} {
		if _, err := ClusterMigrations(nil, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

// TestClusterMigrationsEmbedded rewrites Earshot's own migrations: every
// statement has a cluster form, every schema change runs ON CLUSTER, every
// table gets a local and a Distributed part, and the tables that must
// collapse per key are sharded by it.
func TestClusterMigrationsEmbedded(t *testing.T) {
	ms, err := schemas.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	out, err := ClusterMigrations(ms, ClusterOptions{Cluster: "earshot", Database: "earshot"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(ms) {
		t.Fatalf("%d migrations out of %d", len(out), len(ms))
	}
	dist := regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS earshot\.(\w+) ON CLUSTER earshot \(.*\) ENGINE = Distributed\(earshot, earshot, (\w+), (.+)\)$`)
	keys := map[string]string{}
	for i, m := range out {
		if m.Checksum != ms[i].Checksum || m.Version != ms[i].Version {
			t.Errorf("%s: identity changed", m.Name)
		}
		for _, s := range m.Statements {
			if strings.HasPrefix(s, "INSERT INTO ") {
				continue
			}
			if !strings.Contains(s, " ON CLUSTER earshot ") && !strings.HasSuffix(s, " ON CLUSTER earshot") {
				t.Errorf("%s: not ON CLUSTER: %s", m.Name, s)
			}
			if d := dist.FindStringSubmatch(s); d != nil {
				if d[2] != d[1]+"_local" {
					t.Errorf("%s over %s", d[1], d[2])
				}
				keys[d[1]] = d[3]
			}
			if strings.HasPrefix(s, "CREATE MATERIALIZED VIEW") && regexp.MustCompile(`FROM earshot\.\w+\b`).MatchString(s) &&
				!regexp.MustCompile(`FROM earshot\.\w+_local\b`).MatchString(s) {
				t.Errorf("%s: a materialized view reads a Distributed table: %s", m.Name, s)
			}
		}
	}
	for table, key := range map[string]string{
		"mentions": "cityHash64(id)", "case_events": "cityHash64(case_id)", "source_state": "cityHash64(source)",
		"case_state": "cityHash64(case_id)", "case_inbox": "cityHash64(mention_id)", "labels": "cityHash64(mention_id)",
		"storms": "cityHash64(storm_id)", "case_event_ids": "cityHash64(case_id)", "item_ratings": "cityHash64(source, item)",
	} {
		if keys[table] != key {
			t.Errorf("%s sharded by %q, want %q", table, keys[table], key)
		}
	}
	// A column added by a later migration is in the final Distributed table.
	last := ""
	for _, m := range out {
		for _, s := range m.Statements {
			if strings.HasPrefix(s, "CREATE TABLE IF NOT EXISTS earshot.mentions ON") {
				last = s
			}
		}
	}
	for _, col := range []string{"story_id String", "app_version String", "entities Array(String)"} {
		if !strings.Contains(last, col) {
			t.Errorf("distributed mentions lacks %s: %s", col, last)
		}
	}
}

func TestHasDropSync(t *testing.T) {
	for v, want := range map[string]bool{"18.16.1": false, "20.9.3.45": false, "20.10.1": true, "25.8.2.29": true, "": false, "junk": false} {
		if got := hasDropSync(v); got != want {
			t.Errorf("hasDropSync(%q) = %v, want %v", v, got, want)
		}
	}
}
