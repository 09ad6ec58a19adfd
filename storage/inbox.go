package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/earshot/earshot/mention"
)

// Scope limits what a user of the inbox sees: cases of these brands and
// locations only. An empty list allows every value.
type Scope struct {
	Brands    []string
	Locations []string
}

// Allows reports whether a case of brand and location is in scope.
func (s Scope) Allows(brand, location string) bool {
	return allowed(s.Brands, brand) && allowed(s.Locations, location)
}

func allowed(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// InboxFilter selects cases for the inbox. Empty fields do not filter.
type InboxFilter struct {
	Scope Scope
	// State: open, acknowledged, on_hold, resolved; "active" is every
	// state but resolved; "" is every state.
	State                         string
	Severity                      string
	Brand, Location, Source, Lang string
	Aspect, Signal                string
	AssignedTo                    string
	Search                        string // in the review's text and author, case-insensitive
	// Sort: "severity" (worst first, then by SLA due time: see SLAPlan)
	// or "newest".
	Sort          string
	Limit, Offset int
	// Overdue keeps only cases past an SLA deadline (needs SLA).
	Overdue bool
	// SLA says which deadlines apply to which cases; nil: none do.
	SLA *SLAPlan
	// LimitCounts says the server counts the rows a sorted query had
	// before its LIMIT exactly (18.16 does; later releases report "at
	// least" that many): the page's query then gives the total, and no
	// second aggregation runs for it. See ExactRowsBeforeLimit.
	LimitCounts bool
}

// ExactRowsBeforeLimit reports whether a server version counts the rows
// before a LIMIT exactly (up to 19.13; later ones stop reading early).
func ExactRowsBeforeLimit(version string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major < 19 || major == 19 && minor <= 13
}

// InboxRow is a case in the inbox with its mention's labels (from
// case_inbox; zero when the case has none there).
type InboxRow struct {
	CaseState
	Source, Kind, Lang, Author string
	Aspects, Signals           []string
	Rating, RatingMax          float64
	PublishedAt                time.Time
	Excerpt                    string
	Assignee                   string
	// Events is the case's history when the inbox read it (for its SLA).
	Events []CaseEvent
}

// RouteLabels are the routing labels the SLA plan can depend on.
var RouteLabels = []string{"brand", "location", "severity", "source", "kind", "lang", "aspect", "signal"}

// SLAKey is one combination of routing label values among the cases
// (only the labels the routing tree reads; the others are empty), with
// ClickHouse's hash of it. The caller routes it and sets Policy.
type SLAKey struct {
	Key                                           uint64
	Brand, Location, Severity, Source, Kind, Lang string
	Aspects, Signals                              []string
	Policy                                        int // 0: no deadline; i: SLAPlan.Policies[i-1]
}

// SLAPolicy is the deadlines of the cases whose labels lead to one route.
type SLAPolicy struct {
	AckWithin, ResolveWithin time.Duration
	// Business: the receiver's clock counts business hours only.
	// WeekMin is then at most the SLA time in any 7 × 24 hours (a lower
	// bound the SQL uses to settle most cases that were on hold).
	Business bool
	WeekMin  time.Duration
	// AckCut and ResolveCut: a case opened at or before them has spent
	// more than AckWithin / ResolveWithin on its clock by SLAPlan.Now
	// (time on hold not taken off). Exact to the second for any clock.
	AckCut, ResolveCut time.Time
}

// SLAPlan lets the inbox sort by SLA due time and keep overdue cases in
// SQL. Policies are found by routing the label combinations of SLAKeys.
//
// Overdue is exact: an open or acknowledged case is overdue when its
// opening is at or before the cut of a deadline it has not met, time on
// hold taken off (summed in SQL for wall clocks). Cases whose holds SQL
// cannot settle (a business-hours clock near the deadline, or holds and
// resumes that do not pair up) are decided by Late from their events.
//
// The sort's due time counts wall-clock time (opening + deadline + time on
// hold): exact for routes without business hours; for business-hours
// routes it keeps their cases in the order of their real due times (both
// grow with the opening time) but may place them differently among other
// routes' cases.
type SLAPlan struct {
	Now      time.Time
	Labels   []string // the routing labels the tree reads (of RouteLabels)
	Keys     []SLAKey
	Policies []SLAPolicy
	// Late decides an unclear case (see above) from its events.
	Late func(policy int, evs []CaseEvent) bool
}

func (p *SLAPlan) uses(label string) bool { return p != nil && slices.Contains(p.Labels, label) }

// inboxLabelsUsed reports whether the tree reads labels only case_inbox
// has (the SQL then joins it).
func (p *SLAPlan) inboxLabelsUsed() bool {
	for _, l := range []string{"source", "kind", "lang", "aspect", "signal"} {
		if p.uses(l) {
			return true
		}
	}
	return false
}

// routeKeyExpr hashes the routing labels the plan reads; the others are
// ” so that they do not split keys. cols names each label's expression.
func (p *SLAPlan) routeKeyExpr(cols map[string]string) string {
	parts := make([]string, len(RouteLabels))
	for i, l := range RouteLabels {
		parts[i] = "''"
		if p.uses(l) {
			parts[i] = cols[l]
		}
	}
	return "cityHash64(" + strings.Join(parts, ", ") + ")"
}

// SLAKeys lists the routing label combinations among the cases (of the
// labels named; brand, location and severity as case_state has them: each
// combination is listed with every severity).
func (s *Store) SLAKeys(ctx context.Context, labels []string) ([]SLAKey, error) {
	p := &SLAPlan{Labels: labels}
	// The distinct combinations first (a few hundred), then each with
	// every severity, hashed as inboxQuery hashes a case's.
	col := func(l, expr, none string) string {
		if p.uses(l) {
			return expr
		}
		return none
	}
	inner := "SELECT DISTINCT " + col("brand", "brand", "''") + " AS b, " + col("location", "location", "''") + " AS l, " +
		col("source", "source", "''") + " AS src, " + col("kind", "kind", "''") + " AS knd, " + col("lang", "lang", "''") + " AS lng, " +
		col("aspect", "aspects", "emptyArrayString()") + " AS asp, " + col("signal", "signals", "emptyArrayString()") + " AS sig FROM case_inbox"
	sev, from := "''", "("+inner+")"
	if p.uses("severity") {
		sev = "toString(sevx)"
		from += " ARRAY JOIN [toUInt8(0), 1, 2, 3, 4] AS sevx"
	}
	key := p.routeKeyExpr(map[string]string{"brand": "b", "location": "l", "severity": sev, "source": "src", "kind": "knd",
		"lang": "lng", "aspect": "arrayStringConcat(asp, ',')", "signal": "arrayStringConcat(sig, ',')"})
	q := "SELECT " + key + " AS k, any(b), any(l), any(" + col("severity", "sevx", "toUInt8(0)") + "), any(src), any(knd), any(lng), any(asp), any(sig) FROM " +
		from + " GROUP BY k ORDER BY k"
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("sla keys: %w", err)
	}
	defer rows.Close()
	var out []SLAKey
	for rows.Next() {
		var k SLAKey
		var sv uint8
		if err := rows.Scan(&k.Key, &k.Brand, &k.Location, &sv, &k.Source, &k.Kind, &k.Lang, &k.Aspects, &k.Signals); err != nil {
			return nil, fmt.Errorf("sla keys: %w", err)
		}
		if p.uses("severity") {
			k.Severity = mention.Severities[sv]
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// inboxQuery builds the query of every case matching f, one row per case:
// case_id, sev (rank), opened, due (Unix seconds, 0: no deadline), late
// (1: overdue for sure) and unclear (1: overdue only Late can tell).
//
// Label and text filters read case_inbox (one row per case and mention,
// ordered by case), the assignee case_assignee; both narrow case_state by
// its key. Scope is checked on case_state's own brand and location, the
// same values every action checks. Only the columns filtering and ordering
// need are aggregated over every case; the page's other columns are read
// afterwards for its cases only, by key. in is the subquery filter's
// operator (Store.in).
func inboxQuery(f InboxFilter, in string) (string, []any, error) {
	// Narrowing filters go in HAVING: as WHERE, 18.16 analyses a large IN
	// set against the primary key first, which costs more than it saves.
	var narrow []string
	var args []any
	var label []string
	var largs []any
	add := func(cond string, v any) {
		label = append(label, cond)
		largs = append(largs, v)
	}
	if f.Source != "" {
		add("source = ?", f.Source)
	}
	if f.Lang != "" {
		add("lang = ?", f.Lang)
	}
	if f.Aspect != "" {
		add("has(aspects, ?)", f.Aspect)
	}
	if f.Signal != "" {
		add("has(signals, ?)", f.Signal)
	}
	if q := strings.TrimSpace(f.Search); q != "" {
		label = append(label, "(positionCaseInsensitiveUTF8(text, ?) > 0 OR positionCaseInsensitiveUTF8(author, ?) > 0)")
		largs = append(largs, q, q)
	}
	if len(label) > 0 {
		// The mentions' own brand and location narrow the scan first (as
		// PREWHERE: a scoped user's search reads only their reviews'
		// text); case_state's, checked below, still decide.
		var pre []string
		var pargs []any
		for _, c := range []struct {
			col  string
			vals []string
		}{{"brand", f.Scope.Brands}, {"location", f.Scope.Locations}, {"brand", nonEmpty(f.Brand)}, {"location", nonEmpty(f.Location)}} {
			if len(c.vals) > 0 {
				in, a := inList(c.vals)
				pre = append(pre, c.col+" IN "+in)
				pargs = append(pargs, a...)
			}
		}
		sub := "SELECT case_id FROM case_inbox "
		if len(pre) > 0 {
			sub += "PREWHERE " + strings.Join(pre, " AND ") + " "
		}
		narrow = append(narrow, "case_id "+in+" ("+sub+"WHERE "+strings.Join(label, " AND ")+")")
		args = append(append(args, pargs...), largs...)
	}
	if f.AssignedTo != "" {
		narrow = append(narrow, "case_id "+in+" (SELECT case_id FROM case_assignee_us GROUP BY case_id HAVING argMaxMerge(assignee) = ?)")
		args = append(args, f.AssignedTo)
	}
	plan := f.SLA
	if plan == nil {
		plan = &SLAPlan{}
	}
	q := `SELECT case_id, argMaxIfMerge(cur_state) AS s, minMerge(opened_at) AS opened, maxMerge(max_severity) AS sev,
	anyIfMerge(case_brand) AS cb, anyIfMerge(case_location) AS cl, anyIfMerge(mention) AS mention_id FROM case_state`
	q += " GROUP BY case_id"
	having := append([]string{"opened > toDateTime(0)"}, narrow...)
	states := []string{"open", "acknowledged", "on_hold", "resolved"}
	switch f.State {
	case "":
	case "active":
		having = append(having, "s != 3")
	default:
		i := slices.Index(states, f.State)
		if i < 0 {
			return "", nil, fmt.Errorf("state %q: want open, acknowledged, on_hold, resolved or active", f.State)
		}
		having = append(having, fmt.Sprintf("s = %d", i))
	}
	if f.Severity != "" {
		r := severityRank(f.Severity)
		if r < 0 {
			return "", nil, fmt.Errorf("severity %q: want none, low, medium, high or critical", f.Severity)
		}
		having = append(having, fmt.Sprintf("sev = %d", r))
	}
	among := func(expr string, vals []string) {
		if len(vals) == 0 {
			return
		}
		in, a := inList(vals)
		having = append(having, expr+" IN "+in)
		args = append(args, a...)
	}
	among("cb", f.Scope.Brands)
	among("cl", f.Scope.Locations)
	if f.Brand != "" {
		having = append(having, "cb = ?")
		args = append(args, f.Brand)
	}
	if f.Location != "" {
		having = append(having, "cl = ?")
		args = append(args, f.Location)
	}
	q += " HAVING " + strings.Join(having, " AND ")
	if f.Overdue {
		q += " AND s IN (0, 1)" // on hold and resolved cases are never overdue
	}
	// The labels of the case's own mention, when the tree reads any that
	// only case_inbox has (one more join; most trees route by brand,
	// location and severity).
	if plan.inboxLabelsUsed() {
		q = `SELECT case_id, s, opened, sev, cb, cl, src, knd, lng, asp, sig FROM (` + q + `) ANY LEFT JOIN (
	SELECT case_id, mention_id, argMax(source, version) AS src, argMax(kind, version) AS knd, argMax(lang, version) AS lng,
		arrayStringConcat(argMax(aspects, version), ',') AS asp, arrayStringConcat(argMax(signals, version), ',') AS sig
	FROM case_inbox GROUP BY case_id, mention_id) USING (case_id, mention_id)`
	}
	key := plan.routeKeyExpr(map[string]string{"brand": "cb", "location": "cl", "severity": "toString(sev)", "source": "src",
		"kind": "knd", "lang": "lng", "aspect": "asp", "signal": "sig"})
	policy := plan.policyExpr("k")
	// Each policy's seconds and cuts, looked up once per case (p = 0:
	// no deadline, every value 0).
	ids := make([]string, len(plan.Policies))
	for i := range plan.Policies {
		ids[i] = fmt.Sprint(i + 1)
	}
	var cols []string
	col := func(name string, v func(SLAPolicy) int64) {
		if len(ids) == 0 {
			cols = append(cols, "toInt64(0) AS "+name)
			return
		}
		vals := make([]string, len(plan.Policies))
		for i, p := range plan.Policies {
			vals[i] = fmt.Sprint(v(p))
		}
		cols = append(cols, "transform(p, ["+strings.Join(ids, ", ")+"], [toInt64("+strings.Join(vals, "), toInt64(")+")], toInt64(0)) AS "+name)
	}
	secs := func(d time.Duration) int64 { return int64(d / time.Second) }
	cut := func(t time.Time) int64 {
		if t.IsZero() {
			return -1
		}
		return t.Unix()
	}
	col("aw", func(p SLAPolicy) int64 { return secs(p.AckWithin) })
	col("rw", func(p SLAPolicy) int64 { return secs(p.ResolveWithin) })
	col("fd", func(p SLAPolicy) int64 { // the first deadline of an unacknowledged case
		a, r := secs(p.AckWithin), secs(p.ResolveWithin)
		if a > 0 && (r <= 0 || a < r) {
			return a
		}
		return max(r, 0)
	})
	col("ac", func(p SLAPolicy) int64 { return cut(p.AckCut) })
	col("rc", func(p SLAPolicy) int64 { return cut(p.ResolveCut) })
	col("bz", func(p SLAPolicy) int64 {
		if p.Business {
			return 1
		}
		return 0
	})
	col("wk", func(p SLAPolicy) int64 { return secs(p.WeekMin) })
	// h: wall-clock seconds on hold (each hold ended by a resume; clean
	// says they pair up), from the hold events (a few cases' rows). A
	// case on hold before is settled when its clock counts every hour,
	// or when whole weeks since its opening hold more business time than
	// its deadline and its holds together.
	settled := fmt.Sprintf("(clean AND (bz = 0 AND o + h <= rc OR bz = 1 AND intDiv(%d - o, 604800) * wk > rw + h))", plan.Now.Unix())
	q = `SELECT case_id, sev, opened, p, o,
	multiIf(s = 0 AND fd > 0, o + fd, s = 1 AND rw > 0, o + if(clean, h, 0) + rw, toInt64(0)) AS due,
	s = 0 AND (aw > 0 AND o <= ac OR rw > 0 AND o <= rc) OR s = 1 AND rw > 0 AND o <= rc AND (held = 0 OR ` + settled + `) AS late,
	s = 1 AND held = 1 AND rw > 0 AND o <= rc AND NOT ` + settled + ` AS unclear
FROM (SELECT case_id, s, opened, sev, p, toInt64(toUInt32(opened)) AS o, ` + strings.Join(cols, ", ") + `
	FROM (SELECT case_id, s, opened, sev, ` + policy + ` AS p FROM (SELECT case_id, s, opened, sev, ` + key + ` AS k FROM (` + q + `)))) ANY LEFT JOIN (
	SELECT case_id, 1 AS held, sum(if(event = 'resumed', 1, -1) * toInt64(toUInt32(at))) AS h, sum(if(event = 'resumed', 1, -1)) = 0 AS clean
	FROM (SELECT case_id, event, at FROM case_events WHERE event IN ('held', 'resumed') GROUP BY case_id, event_id, event, at)
	GROUP BY case_id) USING case_id`
	return q, args, nil
}

// policyExpr maps a routing key column to its policy: one IN set per
// policy (a set is built once per query; transform() over hundreds of keys
// costs several times more), the policy with the most keys the default. A
// key that SLAKeys did not list (a case opened between the two queries)
// gets the default too.
func (p *SLAPlan) policyExpr(key string) string {
	by := map[int][]string{}
	for _, k := range p.Keys {
		by[k.Policy] = append(by[k.Policy], fmt.Sprint(k.Key))
	}
	def := 0
	for pol, ks := range by {
		if len(ks) > len(by[def]) || len(ks) == len(by[def]) && pol < def {
			def = pol
		}
	}
	var arms []string
	for pol := 0; pol <= len(p.Policies); pol++ {
		if ks := by[pol]; pol != def && len(ks) > 0 {
			arms = append(arms, fmt.Sprintf("%s IN (toUInt64(%s)), toUInt32(%d)", key, strings.Join(ks, "), toUInt64("), pol))
		}
	}
	if len(arms) == 0 {
		return fmt.Sprintf("toUInt32(%d)", def)
	}
	return "multiIf(" + strings.Join(arms, ", ") + fmt.Sprintf(", toUInt32(%d))", def)
}

// inboxOrder orders inboxQuery's rows.
func inboxOrder(sort string) string {
	if sort == "newest" {
		return " ORDER BY opened DESC, case_id"
	}
	return " ORDER BY sev DESC, due = 0, due, opened, case_id"
}

// inboxKey is a case's place in the inbox's order.
type inboxKey struct {
	id      string
	sev     uint8
	opened  time.Time
	due     int64
	policy  uint32
	unclear bool
}

func less(sort string, a, b inboxKey) bool {
	if sort == "newest" {
		if !a.opened.Equal(b.opened) {
			return a.opened.After(b.opened)
		}
		return a.id < b.id
	}
	if a.sev != b.sev {
		return a.sev > b.sev
	}
	if (a.due == 0) != (b.due == 0) {
		return a.due != 0
	}
	if a.due != b.due {
		return a.due < b.due
	}
	if !a.opened.Equal(b.opened) {
		return a.opened.Before(b.opened)
	}
	return a.id < b.id
}

// Inbox lists a page of cases matching f and counts all that match.
func (s *Store) Inbox(ctx context.Context, f InboxFilter) ([]InboxRow, uint64, error) {
	defer s.timed("inbox")()
	if f.Overdue && (f.SLA == nil || f.SLA.Late == nil) {
		return nil, 0, fmt.Errorf("inbox: the overdue filter needs an SLA plan")
	}
	q, args, err := inboxQuery(f, s.in())
	if err != nil {
		return nil, 0, err
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	offset := max(f.Offset, 0)
	var keys []inboxKey
	var total uint64
	if f.Overdue {
		keys, total, err = s.overdueKeys(ctx, f, q, args, offset, limit)
	} else {
		keys, total, err = s.pageKeys(ctx, f, q, args, offset, limit)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("inbox: %w", err)
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	rows, err := s.inboxPage(ctx, ids)
	return rows, total, err
}

// unclearRoom is how many unclear cases the overdue view's single query
// leaves room for before it falls back to counting apart.
const unclearRoom = 1000

// pageKeys returns the page's keys and the number of cases matching. The
// count and the page each aggregate case_state: they run side by side, so
// the page costs one aggregation's time, not two; when the server counts
// the rows before a LIMIT exactly, the page's query gives the total and
// the count does not run at all.
func (s *Store) pageKeys(ctx context.Context, f InboxFilter, q string, args []any, offset, limit int) ([]inboxKey, uint64, error) {
	page := q + inboxOrder(f.Sort) + fmt.Sprintf(" LIMIT %d, %d", offset, limit)
	var total uint64
	if f.LimitCounts {
		keys, n, ok, err := s.keysCounted(ctx, page, offset, limit, args)
		if err != nil || ok {
			return keys, n, err
		}
		err = s.conn.QueryRow(ctx, "SELECT count() FROM ("+q+")", args...).Scan(&total)
		return keys, total, err
	}
	counted := make(chan error, 1)
	go func() { counted <- s.conn.QueryRow(ctx, "SELECT count() FROM ("+q+")", args...).Scan(&total) }()
	keys, err := s.inboxKeys(ctx, page, args...)
	if cerr := <-counted; err == nil && cerr != nil {
		err = fmt.Errorf("count: %w", cerr)
	}
	return keys, total, err
}

// keysCounted runs a page query and reads how many rows it had before its
// LIMIT (ok false: the server did not say, and the page was full).
func (s *Store) keysCounted(ctx context.Context, q string, offset, limit int, args []any) ([]inboxKey, uint64, bool, error) {
	var total uint64
	var applied bool
	pctx := clickhouse.Context(ctx, clickhouse.WithProfileInfo(func(p *clickhouse.ProfileInfo) {
		if p.AppliedLimit && p.CalculatedRowsBeforeLimit {
			applied, total = true, p.RowsBeforeLimit
		}
	}))
	keys, err := s.inboxKeys(pctx, q, args...)
	switch {
	case err != nil:
		return nil, 0, false, err
	case applied:
		return keys, total, true, nil
	case len(keys) < limit && (len(keys) > 0 || offset == 0): // the last page: every row was read
		return keys, uint64(offset + len(keys)), true, nil
	}
	return keys, 0, false, nil
}

// overdueKeys returns the overdue view's page: the late cases and the
// unclear ones Late finds overdue, in order, and how many there are.
func (s *Store) overdueKeys(ctx context.Context, f InboxFilter, q string, args []any, offset, limit int) ([]inboxKey, uint64, error) {
	order := inboxOrder(f.Sort)
	var keys []inboxKey
	var late uint64
	done := false
	if f.LimitCounts {
		// One query: the unclear cases first (all of them, if they fit),
		// then the late ones up to the page's end; the rows before its
		// LIMIT count both.
		n := offset + limit + unclearRoom
		ks, all, ok, err := s.keysCounted(ctx, "SELECT * FROM ("+q+") WHERE late OR unclear ORDER BY unclear DESC, "+
			strings.TrimPrefix(order, " ORDER BY ")+fmt.Sprintf(" LIMIT %d", n), 0, n, args)
		if err != nil {
			return nil, 0, err
		}
		u := 0
		for _, k := range ks {
			if k.unclear {
				u++
			}
		}
		if ok && (len(ks) < n || u <= unclearRoom) {
			keys, late, done = ks, all-uint64(u), true
		}
	}
	if !done {
		// The count, and every unclear case (few: on hold earlier,
		// business hours, near the deadline) with the late ones up to the
		// page's end, side by side.
		var unclear uint64
		counted := make(chan error, 1)
		go func() {
			counted <- s.conn.QueryRow(ctx, "SELECT countIf(late), countIf(unclear) FROM ("+q+")", args...).Scan(&late, &unclear)
		}()
		n := max(offset+limit, unclearRoom)
		var err error
		keys, err = s.inboxKeys(ctx, "SELECT * FROM ("+q+") WHERE late OR unclear"+order+fmt.Sprintf(" LIMIT %d BY unclear", n), args...)
		if cerr := <-counted; err == nil && cerr != nil {
			err = fmt.Errorf("count: %w", cerr)
		}
		if err == nil && unclear > uint64(n) { // the page's query stopped short of them
			var more []inboxKey
			more, err = s.inboxKeys(ctx, "SELECT * FROM ("+q+") WHERE unclear"+order, args...)
			keys = append(slices.DeleteFunc(keys, func(k inboxKey) bool { return k.unclear }), more...)
		}
		if err != nil {
			return nil, 0, err
		}
	}
	keys, err := s.decideUnclear(ctx, f.SLA, keys)
	if err != nil {
		return nil, 0, err
	}
	slices.SortFunc(keys, func(a, b inboxKey) int {
		if less(f.Sort, a, b) {
			return -1
		}
		return 1
	})
	total := late
	for _, k := range keys { // the unclear ones Late found overdue
		if k.unclear {
			total++
		}
	}
	return keys[min(offset, len(keys)):min(offset+limit, len(keys))], total, nil
}

// inboxKeys runs an inboxQuery and returns its rows' order keys.
func (s *Store) inboxKeys(ctx context.Context, q string, args ...any) ([]inboxKey, error) {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []inboxKey
	for rows.Next() {
		var k inboxKey
		var o int64
		var late, unclear uint8
		if err := rows.Scan(&k.id, &k.sev, &k.opened, &k.policy, &o, &k.due, &late, &unclear); err != nil {
			return nil, err
		}
		k.unclear = unclear == 1
		out = append(out, k)
	}
	return out, rows.Err()
}

// decideUnclear keeps the unclear cases that Late finds overdue (marking
// them settled) and every other key.
func (s *Store) decideUnclear(ctx context.Context, plan *SLAPlan, keys []inboxKey) ([]inboxKey, error) {
	var ids []string
	for _, k := range keys {
		if k.unclear {
			ids = append(ids, k.id)
		}
	}
	if len(ids) == 0 {
		return keys, nil
	}
	evs, err := s.CaseEvents(ctx, ids)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(keys, func(k inboxKey) bool {
		return k.unclear && !plan.Late(int(k.policy), evs[k.id])
	}), nil
}

// inboxPage reads the page's cases (state, labels, assignee, events) by
// key, each table side by side.
func (s *Store) inboxPage(ctx context.Context, ids []string) ([]InboxRow, error) {
	if len(ids) == 0 {
		return []InboxRow{}, nil
	}
	var (
		cs     []CaseState
		labels map[string]InboxRow
		who    map[string]string
		evs    map[string][]CaseEvent
	)
	in, a := inList(ids)
	err := parallel(
		func() (err error) {
			cs, err = s.queryCases(ctx, caseSelect+" PREWHERE case_id IN "+in+" GROUP BY case_id", a...)
			return err
		},
		func() (err error) { labels, err = s.caseLabels(ctx, ids); return err },
		func() (err error) { who, err = s.Assignees(ctx, ids); return err },
		func() (err error) { evs, err = s.CaseEvents(ctx, ids); return err },
	)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	byID := make(map[string]CaseState, len(cs))
	for _, c := range cs {
		byID[c.CaseID] = c
	}
	var out []InboxRow
	for _, id := range ids { // the page's order
		if c, ok := byID[id]; ok {
			r := withLabels(c, labels)
			r.Assignee, r.Events = who[id], evs[id]
			out = append(out, r)
		}
	}
	return out, nil
}

// withLabels is a case with its mention's labels (the case's own mention,
// else its first).
func withLabels(c CaseState, labels map[string]InboxRow) InboxRow {
	r, ok := labels[c.CaseID+"\x00"+c.MentionID]
	if !ok {
		r, ok = labels[c.CaseID]
	}
	if !ok {
		r = InboxRow{}
	}
	r.CaseState = c
	return r
}

// parallel runs fns side by side and returns the first error.
func parallel(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// InboxRows adds each case's mention labels (case_inbox, by case id) and
// its assignee.
func (s *Store) InboxRows(ctx context.Context, cs []CaseState) ([]InboxRow, error) {
	out := make([]InboxRow, len(cs))
	if len(cs) == 0 {
		return out, nil
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.CaseID
		out[i].CaseState = c
	}
	labels, err := s.caseLabels(ctx, ids)
	if err != nil {
		return nil, err
	}
	who, err := s.Assignees(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i] = withLabels(out[i].CaseState, labels)
		out[i].Assignee = who[out[i].CaseID]
	}
	return out, nil
}

// caseLabels reads the cases' rows of case_inbox by key: under
// "case\x00mention" and, for the case's first mention, under the case id.
// Without FINAL: of a mention's versions (re-scored, not merged yet) the
// newest wins.
func (s *Store) caseLabels(ctx context.Context, ids []string) (map[string]InboxRow, error) {
	out := map[string]InboxRow{}
	version := map[string]uint64{}
	in, args := inList(ids)
	rows, err := s.conn.Query(ctx, `SELECT case_id, mention_id, version, source, kind, lang, aspects, signals, rating, rating_max, author,
		published_at, substring(text, 1, 240) FROM case_inbox PREWHERE case_id IN `+in+` ORDER BY case_id, published_at, mention_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("case labels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r InboxRow
		var caseID, mentionID string
		var v uint64
		var rating, ratingMax float32
		if err := rows.Scan(&caseID, &mentionID, &v, &r.Source, &r.Kind, &r.Lang, &r.Aspects, &r.Signals, &rating, &ratingMax,
			&r.Author, &r.PublishedAt, &r.Excerpt); err != nil {
			return nil, fmt.Errorf("case labels: %w", err)
		}
		r.Rating, r.RatingMax = float64(rating), float64(ratingMax)
		k := caseID + "\x00" + mentionID
		if old, ok := version[k]; ok && old > v {
			continue
		}
		version[k] = v
		out[k] = r
		if first, ok := out[caseID]; !ok || first.MentionID == mentionID {
			r.MentionID = mentionID // marks which mention the case id's entry is
			out[caseID] = r
		}
	}
	return out, rows.Err()
}

// Assignees returns whom each case is assigned to (absent: nobody).
func (s *Store) Assignees(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := inList(ids)
	rows, err := s.conn.Query(ctx, "SELECT case_id, argMaxMerge(assignee) FROM case_assignee_us WHERE case_id IN "+in+" GROUP BY case_id", args...)
	if err != nil {
		return nil, fmt.Errorf("assignees: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, who string
		if err := rows.Scan(&id, &who); err != nil {
			return nil, fmt.Errorf("assignees: %w", err)
		}
		if who != "" {
			out[id] = who
		}
	}
	return out, rows.Err()
}

// ResolveCase returns up to two case ids in scope that start with prefix
// (an exact id first): one means the prefix names a case, two that it is
// ambiguous. A range read on case_state's key.
func (s *Store) ResolveCase(ctx context.Context, scope Scope, prefix string) ([]string, error) {
	if prefix == "" {
		return nil, nil
	}
	q := "SELECT case_id FROM case_state WHERE case_id LIKE ? GROUP BY case_id HAVING minMerge(opened_at) > toDateTime(0)"
	args := []any{likePrefix(prefix)}
	if len(scope.Brands) > 0 {
		in, a := inList(scope.Brands)
		q += " AND anyIfMerge(case_brand) IN " + in
		args = append(args, a...)
	}
	if len(scope.Locations) > 0 {
		in, a := inList(scope.Locations)
		q += " AND anyIfMerge(case_location) IN " + in
		args = append(args, a...)
	}
	rows, err := s.conn.Query(ctx, q+" ORDER BY case_id != ?, case_id LIMIT 2", append(args, prefix)...)
	if err != nil {
		return nil, fmt.Errorf("resolve case %s: %w", prefix, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("resolve case %s: %w", prefix, err)
		}
		out = append(out, id)
	}
	if len(out) == 2 && out[0] == prefix {
		out = out[:1] // an exact id wins over longer ids it prefixes
	}
	return out, rows.Err()
}

// likePrefix makes a LIKE pattern matching strings that start with p.
func likePrefix(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(p) + "%"
}

// CaseMentionIDs returns the ids of a case's negative mentions (the same
// story on several sites), from case_inbox by key.
func (s *Store) CaseMentionIDs(ctx context.Context, caseID string) ([]string, error) {
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT mention_id FROM case_inbox WHERE case_id = ? ORDER BY mention_id", caseID)
	if err != nil {
		return nil, fmt.Errorf("case mentions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("case mentions: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// AuthorComplaints returns the ids of an author's negative mentions about
// brand published before `before`, newest first (complaints, by key).
func (s *Store) AuthorComplaints(ctx context.Context, brand, author string, before time.Time, limit int) ([]string, error) {
	if author == "" {
		return nil, nil
	}
	rows, err := s.conn.Query(ctx, `SELECT id, max(published_at) AS p FROM complaints WHERE brand = ? AND author = ? AND published_at < ?
		GROUP BY id ORDER BY p DESC, id LIMIT `+fmt.Sprint(max(limit, 1)), brand, author, clampTime(before))
	if err != nil {
		return nil, fmt.Errorf("author complaints: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		var p time.Time
		if err := rows.Scan(&id, &p); err != nil {
			return nil, fmt.Errorf("author complaints: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// severityRank is the Enum8 value of a severity name (-1 unknown).
func severityRank(s string) int { return slices.Index(mention.Severities, s) }

func nonEmpty(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}
