package storage

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/earshot/earshot/schemas"
)

// ClusterOptions say how single-node migrations become a cluster's.
type ClusterOptions struct {
	Cluster  string // a cluster of the servers' remote_servers
	Database string
	// DropSync adds SYNC to DROP TABLE of replicated tables: servers whose
	// databases are Atomic (20.10 on) otherwise keep the table's ZooKeeper
	// path for minutes, so re-creating it fails. 18.16 has no SYNC.
	DropSync bool
}

// shardKeys are the Distributed sharding keys of the tables the migrations
// create, chosen so that rows that must collapse or aggregate together
// (ReplacingMergeTree versions, FINAL, argMax) meet on one shard, and that
// a table fed by a materialized view is sharded as the view's rows land
// (the view runs on the shard of its source row), so a back-fill through
// the Distributed table puts its rows where the view puts theirs. A table
// not listed here (a migration added later) is sharded by its first ORDER
// BY column, which keeps every row of one sorting key on one shard.
var shardKeys = map[string]string{
	"mentions":         "cityHash64(id)", // every version of a mention on one shard
	"collection_runs":  "cityHash64(source)",
	"source_state":     "cityHash64(source)",
	"case_events":      "cityHash64(case_id)",  // argMax over a case's events
	"alert_deliveries": "cityHash64(receiver)", // as ORDER BY; rows never collapse
	"item_ratings":     "cityHash64(source, item)",
	"storms":           "cityHash64(storm_id)",
	"models":           "cityHash64(key)", // every publication of one model line
	"sessions":         "cityHash64(token_hash)",
	// Fed by views over mentions: the mention's shard.
	"case_queue": "cityHash64(mention_id)",
	"case_inbox": "cityHash64(mention_id)",
	"negatives":  "cityHash64(id)",
	"complaints": "cityHash64(id)",
	// Fed by views over case_events: the case's shard.
	"case_state":       "cityHash64(case_id)",
	"case_event_ids":   "cityHash64(case_id)",
	"case_assignee":    "cityHash64(case_id)",
	"case_assignee_us": "cityHash64(case_id)",
	"labels":           "cityHash64(mention_id)",
	// Aggregate states merge exactly across shards; rows of one key may
	// sit on several (the views write on each mention's shard).
	"trend_daily":                   "rand()",
	"trend_daily_aspect":            "rand()",
	"trend_hourly":                  "rand()",
	"trend_collected_hourly":        "rand()",
	"trend_collected_aspect_hourly": "rand()",
}

// LocalSuffix names the replicated table under each Distributed one.
const LocalSuffix = "_local"

// ClusterMigrations rewrites single-node migrations for a cluster, keeping
// their versions, names and checksums (schema_migrations records the same
// rows either way):
//   - CREATE TABLE t becomes t_local, the Replicated variant of its engine
//     (ZooKeeper path /clickhouse/tables/{shard}/<db>/t, replica
//     {replica}), and t, a Distributed table over it with t's columns;
//   - ALTER TABLE t alters t_local; a column change re-creates t with the
//     new columns (18.16 refuses ALTER ... ON CLUSTER of a Distributed
//     table on a cluster whose shards replicate);
//   - materialized views run on every node, from the local tables into
//     the local targets; plain views read the Distributed tables;
//   - INSERT ... SELECT (back-fills) run once, through the Distributed
//     tables, as written.
//
// Every statement that changes the schema runs ON CLUSTER. Migrations are
// rewritten in order from the first, applied or not, so that a later one
// knows the columns of the tables earlier ones created.
func ClusterMigrations(ms []schemas.Migration, o ClusterOptions) ([]schemas.Migration, error) {
	if !validDB.MatchString(o.Cluster) {
		return nil, fmt.Errorf("cluster name %q: letters, digits and _ only", o.Cluster)
	}
	if !validDB.MatchString(o.Database) {
		return nil, fmt.Errorf("database name %q: letters, digits and _ only", o.Database)
	}
	c := &clusterSchema{o: o, tables: map[string]*clusterTable{}, views: map[string]bool{}}
	out := make([]schemas.Migration, 0, len(ms))
	for _, m := range ms {
		r := m
		r.Statements = nil
		for i, stmt := range m.Statements {
			stmts, err := c.rewrite(stmt)
			if err != nil {
				return nil, fmt.Errorf("migration %s statement %d on a cluster: %w", m.Name, i+1, err)
			}
			r.Statements = append(r.Statements, stmts...)
		}
		out = append(out, r)
	}
	return out, nil
}

type clusterSchema struct {
	o      ClusterOptions
	tables map[string]*clusterTable // tables with a _local and a Distributed part
	views  map[string]bool          // views and materialized views: one object per node
}

type clusterTable struct {
	cols []clusterColumn
	key  string
}

type clusterColumn struct{ name, def string } // def: the type and any DEFAULT

var (
	createTableRe = regexp.MustCompile(`(?is)^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_]\w*)\s*\(`)
	engineRe      = regexp.MustCompile(`(?is)^\s*ENGINE\s*=\s*(\w+)\s*`)
	orderByRe     = regexp.MustCompile(`(?is)\bORDER\s+BY\s+`)
	createMVRe    = regexp.MustCompile(`(?is)^CREATE\s+MATERIALIZED\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_]\w*)\s+TO\s+([A-Za-z_]\w*)\s+AS\s+(SELECT\b.*)$`)
	createViewRe  = regexp.MustCompile(`(?is)^CREATE\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_]\w*)\s+AS\s+(SELECT\b.*)$`)
	alterRe       = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+([A-Za-z_]\w*)\s+(.*)$`)
	dropRe        = regexp.MustCompile(`(?is)^DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?([A-Za-z_]\w*)\s*$`)
	optimizeRe    = regexp.MustCompile(`(?is)^OPTIMIZE\s+TABLE\s+([A-Za-z_]\w*)\b(.*)$`)
	insertRe      = regexp.MustCompile(`(?is)^INSERT\s+INTO\s+([A-Za-z_]\w*)\b`)
	addColumnRe   = regexp.MustCompile(`(?is)^ADD\s+COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_]\w*)\s+(.*?)(?:\s+AFTER\s+([A-Za-z_]\w*)|\s+(FIRST))?$`)
	modifyColRe   = regexp.MustCompile(`(?is)^MODIFY\s+COLUMN\s+(?:IF\s+EXISTS\s+)?([A-Za-z_]\w*)\s+(.*)$`)
	dropColumnRe  = regexp.MustCompile(`(?is)^DROP\s+COLUMN\s+(?:IF\s+EXISTS\s+)?([A-Za-z_]\w*)$`)
	tableRefRe    = regexp.MustCompile(`(?i)\b(FROM|JOIN)\s+([A-Za-z_]\w*)\b`)
)

// rewrite turns one single-node statement into the cluster's statements.
func (c *clusterSchema) rewrite(stmt string) ([]string, error) {
	stmt = strings.TrimSpace(stmt)
	switch {
	case createTableRe.MatchString(stmt):
		return c.createTable(stmt)
	case createMVRe.MatchString(stmt):
		m := createMVRe.FindStringSubmatch(stmt)
		name, target, sel := m[1], m[2], m[3]
		if c.tables[target] == nil {
			return nil, fmt.Errorf("materialized view %s: target %s is not a table the migrations created", name, target)
		}
		c.views[name] = true
		return []string{fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s ON CLUSTER %s TO %s AS %s",
			c.qualify(name), c.o.Cluster, c.qualify(target+LocalSuffix), c.tableRefs(sel, true))}, nil
	case createViewRe.MatchString(stmt):
		m := createViewRe.FindStringSubmatch(stmt)
		c.views[m[1]] = true
		return []string{fmt.Sprintf("CREATE VIEW IF NOT EXISTS %s ON CLUSTER %s AS %s",
			c.qualify(m[1]), c.o.Cluster, c.tableRefs(m[2], false))}, nil
	case alterRe.MatchString(stmt):
		return c.alter(stmt)
	case dropRe.MatchString(stmt):
		name := dropRe.FindStringSubmatch(stmt)[1]
		if c.tables[name] != nil {
			delete(c.tables, name)
			return []string{c.drop(name, false), c.drop(name+LocalSuffix, true)}, nil
		}
		delete(c.views, name)
		return []string{c.drop(name, false)}, nil
	case optimizeRe.MatchString(stmt):
		m := optimizeRe.FindStringSubmatch(stmt)
		if c.tables[m[1]] == nil {
			return nil, fmt.Errorf("OPTIMIZE %s: not a table the migrations created", m[1])
		}
		return []string{fmt.Sprintf("OPTIMIZE TABLE %s ON CLUSTER %s%s", c.qualify(m[1]+LocalSuffix), c.o.Cluster, m[2])}, nil
	case insertRe.MatchString(stmt):
		// Runs once, on the node Earshot is connected to: the Distributed
		// tables spread the rows and the views fire on their shards.
		return []string{stmt}, nil
	}
	first, _, _ := strings.Cut(stmt, "\n")
	return nil, fmt.Errorf("no cluster form for %q: write it so that storage/cluster.go can rewrite it, or extend that", first)
}

func (c *clusterSchema) qualify(name string) string { return c.o.Database + "." + name }

func (c *clusterSchema) drop(name string, replicated bool) string {
	s := fmt.Sprintf("DROP TABLE IF EXISTS %s ON CLUSTER %s", c.qualify(name), c.o.Cluster)
	if replicated && c.o.DropSync {
		s += " SYNC"
	}
	return s
}

func (c *clusterSchema) createTable(stmt string) ([]string, error) {
	m := createTableRe.FindStringSubmatchIndex(stmt)
	name := stmt[m[2]:m[3]]
	open := m[1] - 1
	end := closing(stmt, open)
	if end < 0 {
		return nil, fmt.Errorf("table %s: unbalanced parentheses", name)
	}
	var cols []clusterColumn
	for _, part := range splitTop(stmt[open+1 : end]) {
		n, def, _ := strings.Cut(strings.TrimSpace(part), " ")
		if strings.EqualFold(n, "INDEX") || strings.EqualFold(n, "CONSTRAINT") || strings.EqualFold(n, "PROJECTION") {
			return nil, fmt.Errorf("table %s: %s clauses have no cluster form here", name, n)
		}
		cols = append(cols, clusterColumn{name: strings.Trim(n, "`"), def: strings.TrimSpace(def)})
	}
	rest := stmt[end+1:]
	em := engineRe.FindStringSubmatchIndex(rest)
	if em == nil {
		return nil, fmt.Errorf("table %s: no ENGINE", name)
	}
	engine := rest[em[2]:em[3]]
	if !strings.HasSuffix(engine, "MergeTree") || strings.HasPrefix(engine, "Replicated") {
		return nil, fmt.Errorf("table %s: engine %s has no replicated variant to rewrite to", name, engine)
	}
	args, tail := "", rest[em[1]:]
	if strings.HasPrefix(tail, "(") {
		ae := closing(tail, 0)
		if ae < 0 {
			return nil, fmt.Errorf("table %s: unbalanced engine arguments", name)
		}
		args, tail = strings.TrimSpace(tail[1:ae]), tail[ae+1:]
	}
	repl := fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s', '{replica}'", c.o.Database, name)
	if args != "" {
		repl += ", " + args
	}
	key, ok := shardKeys[name]
	if !ok {
		key = "rand()"
		if om := orderByRe.FindStringIndex(tail); om != nil {
			if first := firstOrderBy(tail[om[1]:]); first != "" {
				key = "cityHash64(" + first + ")"
			}
		}
	}
	t := &clusterTable{cols: cols, key: key}
	c.tables[name] = t
	local := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s ON CLUSTER %s (%s) ENGINE = Replicated%s(%s)%s",
		c.qualify(name+LocalSuffix), c.o.Cluster, stmt[open+1:end], engine, repl, strings.TrimRight(tail, " \t\n"))
	return []string{local, c.distributed(name, t)}, nil
}

// distributed is the CREATE of the Distributed table in front of name.
func (c *clusterSchema) distributed(name string, t *clusterTable) string {
	defs := make([]string, len(t.cols))
	for i, col := range t.cols {
		defs[i] = col.name + " " + col.def
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s ON CLUSTER %s (%s) ENGINE = Distributed(%s, %s, %s, %s)",
		c.qualify(name), c.o.Cluster, strings.Join(defs, ", "), c.o.Cluster, c.o.Database, name+LocalSuffix, t.key)
}

func (c *clusterSchema) alter(stmt string) ([]string, error) {
	m := alterRe.FindStringSubmatch(stmt)
	name, cmds := m[1], m[2]
	t := c.tables[name]
	if t == nil {
		return nil, fmt.Errorf("ALTER %s: not a table the migrations created", name)
	}
	changed := false
	for _, cmd := range splitTop(cmds) {
		cmd = strings.TrimSpace(cmd)
		switch {
		case addColumnRe.MatchString(cmd):
			a := addColumnRe.FindStringSubmatch(cmd)
			if t.index(a[1]) >= 0 {
				continue // IF NOT EXISTS, or a column added again
			}
			col := clusterColumn{name: a[1], def: strings.TrimSpace(a[2])}
			at := len(t.cols)
			if a[4] != "" {
				at = 0
			} else if a[3] != "" {
				if i := t.index(a[3]); i >= 0 {
					at = i + 1
				} else {
					return nil, fmt.Errorf("ALTER %s: no column %s to add %s after", name, a[3], a[1])
				}
			}
			t.cols = append(t.cols[:at], append([]clusterColumn{col}, t.cols[at:]...)...)
			changed = true
		case modifyColRe.MatchString(cmd):
			a := modifyColRe.FindStringSubmatch(cmd)
			i := t.index(a[1])
			if i < 0 {
				return nil, fmt.Errorf("ALTER %s: no column %s to modify", name, a[1])
			}
			t.cols[i].def = strings.TrimSpace(a[2])
			changed = true
		case dropColumnRe.MatchString(cmd):
			if i := t.index(dropColumnRe.FindStringSubmatch(cmd)[1]); i >= 0 {
				t.cols = append(t.cols[:i], t.cols[i+1:]...)
				changed = true
			}
		}
		// Anything else (UPDATE, DELETE, partitions) is a mutation of the
		// stored rows: the local tables only.
	}
	out := []string{fmt.Sprintf("ALTER TABLE %s ON CLUSTER %s %s", c.qualify(name+LocalSuffix), c.o.Cluster, cmds)}
	if changed {
		// The Distributed table stores nothing (inserts are synchronous),
		// so dropping it loses no rows; queries in between fail and retry.
		out = append(out, c.drop(name, false), c.distributed(name, t))
	}
	return out, nil
}

func (t *clusterTable) index(col string) int {
	for i, c := range t.cols {
		if c.name == col {
			return i
		}
	}
	return -1
}

// tableRefs qualifies the tables a SELECT reads (after FROM and JOIN):
// local (a materialized view, which runs on every node over its shard's
// rows) reads the _local tables, otherwise the Distributed ones. Views are
// qualified as they are.
func (c *clusterSchema) tableRefs(sel string, local bool) string {
	masked := maskQuoted(sel)
	var b strings.Builder
	last := 0
	for _, m := range tableRefRe.FindAllStringSubmatchIndex(masked, -1) {
		name := sel[m[4]:m[5]]
		if next := strings.TrimLeft(masked[m[5]:], " \t\n"); strings.HasPrefix(next, "(") || strings.HasPrefix(next, ".") {
			continue // a table function, or already qualified
		}
		var ref string
		switch {
		case c.tables[name] != nil && local:
			ref = c.qualify(name + LocalSuffix)
		case c.tables[name] != nil || c.views[name]:
			ref = c.qualify(name)
		default:
			continue // a column after FROM (EXTRACT), an ARRAY JOIN alias
		}
		b.WriteString(sel[last:m[4]])
		b.WriteString(ref)
		last = m[5]
	}
	b.WriteString(sel[last:])
	return b.String()
}

// closing returns the index of the parenthesis closing the one at open,
// skipping quoted text; -1 when there is none.
func closing(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\'', '"', '`':
			i = endQuote(s, i)
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// endQuote returns the index of the quote closing the one at i.
func endQuote(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if s[j] == '\\' {
			j++
			continue
		}
		if s[j] == q {
			return j
		}
	}
	return len(s) - 1
}

// splitTop splits s at commas outside parentheses and quotes.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'', '"', '`':
			i = endQuote(s, i)
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

// firstOrderBy returns the first expression of an ORDER BY clause's text.
func firstOrderBy(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "(") {
		end := closing(s, 0)
		if end < 0 {
			return ""
		}
		parts := splitTop(s[1:end])
		if len(parts) == 0 {
			return ""
		}
		return strings.TrimSpace(parts[0])
	}
	if m := regexp.MustCompile(`^[A-Za-z_]\w*`).FindString(s); m != "" {
		return m
	}
	return ""
}

// maskQuoted replaces the inside of quoted strings with spaces, so that
// matching finds no keywords in literals; offsets stay the same.
func maskQuoted(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		if b[i] == '\'' || b[i] == '"' || b[i] == '`' {
			j := endQuote(s, i)
			for k := i + 1; k < j; k++ {
				b[k] = ' '
			}
			i = j
		}
	}
	return string(b)
}
