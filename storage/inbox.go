package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
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
	Sort                          string // "severity" (worst first, then oldest: nearest its SLA) or "newest"
	Limit, Offset                 int
	OpenedBefore                  time.Time // zero: no bound (the overdue filter's candidates)
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
}

// severityRank is the Enum8 value of a severity name (-1 unknown).
func severityRank(s string) int {
	for i, v := range []string{"none", "low", "medium", "high", "critical"} {
		if v == s {
			return i
		}
	}
	return -1
}

// inboxQuery builds the filtered case query (without ORDER BY and LIMIT).
// Label and text filters read case_inbox (one row per case and mention,
// ordered by case), the assignee case_assignee; both narrow case_state by
// its key. Scope is checked on case_state's own brand and location, the
// same values every action checks.
// inboxKeys is what filtering and ordering need of each case: the page's
// other columns are read afterwards for its cases only (by key), so the
// aggregation over every case merges 4 states instead of 11.
const inboxKeys = `SELECT case_id, arrayElement(['open', 'acknowledged', 'on_hold', 'resolved'], argMaxIfMerge(cur_state) + 1) AS st,
	minMerge(opened_at) AS opened FROM case_state`

func inboxQuery(f InboxFilter) (string, []any, error) {
	var where []string
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
		where = append(where, "case_id IN (SELECT case_id FROM case_inbox WHERE "+strings.Join(label, " AND ")+")")
		args = append(args, largs...)
	}
	if f.AssignedTo != "" {
		where = append(where, "case_id IN (SELECT case_id FROM case_assignee GROUP BY case_id HAVING argMaxMerge(assignee) = ?)")
		args = append(args, f.AssignedTo)
	}
	q := inboxKeys
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " GROUP BY case_id"
	having := []string{"opened > toDateTime(0)"}
	switch f.State {
	case "":
	case "active":
		having = append(having, "st != 'resolved'")
	case "open", "acknowledged", "on_hold", "resolved":
		having = append(having, "st = ?")
		args = append(args, f.State)
	default:
		return "", nil, fmt.Errorf("state %q: want open, acknowledged, on_hold, resolved or active", f.State)
	}
	if f.Severity != "" {
		r := severityRank(f.Severity)
		if r < 0 {
			return "", nil, fmt.Errorf("severity %q: want none, low, medium, high or critical", f.Severity)
		}
		having = append(having, fmt.Sprintf("maxMerge(max_severity) = %d", r))
	}
	among := func(expr string, vals []string) {
		if len(vals) == 0 {
			return
		}
		in, a := inList(vals)
		having = append(having, expr+" IN "+in)
		args = append(args, a...)
	}
	among("anyIfMerge(case_brand)", f.Scope.Brands)
	among("anyIfMerge(case_location)", f.Scope.Locations)
	if f.Brand != "" {
		having = append(having, "anyIfMerge(case_brand) = ?")
		args = append(args, f.Brand)
	}
	if f.Location != "" {
		having = append(having, "anyIfMerge(case_location) = ?")
		args = append(args, f.Location)
	}
	if !f.OpenedBefore.IsZero() {
		having = append(having, "opened <= ?")
		args = append(args, clampTime(f.OpenedBefore))
	}
	return q + " HAVING " + strings.Join(having, " AND "), args, nil
}

// Inbox lists a page of cases matching f and counts all that match.
func (s *Store) Inbox(ctx context.Context, f InboxFilter) ([]InboxRow, uint64, error) {
	defer s.timed("inbox")()
	q, args, err := inboxQuery(f)
	if err != nil {
		return nil, 0, err
	}
	// The count and the page each aggregate case_state; they run side by
	// side, so the page costs one aggregation's time, not two.
	var total uint64
	counted := make(chan error, 1)
	go func() {
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM ("+q+")", args...).Scan(&total); err != nil {
			counted <- fmt.Errorf("inbox count: %w", err)
			return
		}
		counted <- nil
	}()
	order := " ORDER BY maxMerge(max_severity) DESC, opened, case_id"
	if f.Sort == "newest" {
		order = " ORDER BY opened DESC, case_id"
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	ids, err := s.pageIDs(ctx, q+order+fmt.Sprintf(" LIMIT %d, %d", max(f.Offset, 0), limit), args...)
	if cerr := <-counted; err == nil {
		err = cerr
	}
	var cs []CaseState
	if err == nil && len(ids) > 0 {
		in, a := inList(ids)
		var got []CaseState
		got, err = s.queryCases(ctx, caseSelect+" WHERE case_id IN "+in+" GROUP BY case_id", a...)
		byID := make(map[string]CaseState, len(got))
		for _, c := range got {
			byID[c.CaseID] = c
		}
		for _, id := range ids { // the page's order
			if c, ok := byID[id]; ok {
				cs = append(cs, c)
			}
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("inbox: %w", err)
	}
	rows, err := s.InboxRows(ctx, cs)
	return rows, total, err
}

// pageIDs runs a keys query and returns its case ids in order.
func (s *Store) pageIDs(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id, st string
		var opened time.Time
		if err := rows.Scan(&id, &st, &opened); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
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
		c := out[i].CaseState
		if r, ok := labels[c.CaseID+"\x00"+c.MentionID]; ok {
			r.CaseState = c
			out[i] = r
		} else if r, ok := labels[c.CaseID]; ok {
			r.CaseState = c
			out[i] = r
		}
		out[i].Assignee = who[c.CaseID]
	}
	return out, nil
}

func (s *Store) caseLabels(ctx context.Context, ids []string) (map[string]InboxRow, error) {
	out := map[string]InboxRow{}
	in, args := inList(ids)
	rows, err := s.conn.Query(ctx, `SELECT case_id, mention_id, source, kind, lang, aspects, signals, rating, rating_max, author,
		published_at, substring(text, 1, 240) FROM case_inbox FINAL WHERE case_id IN `+in+` ORDER BY case_id, published_at`, args...)
	if err != nil {
		return nil, fmt.Errorf("case labels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r InboxRow
		var caseID, mentionID string
		var rating, ratingMax float32
		if err := rows.Scan(&caseID, &mentionID, &r.Source, &r.Kind, &r.Lang, &r.Aspects, &r.Signals, &rating, &ratingMax,
			&r.Author, &r.PublishedAt, &r.Excerpt); err != nil {
			return nil, fmt.Errorf("case labels: %w", err)
		}
		r.Rating, r.RatingMax = float64(rating), float64(ratingMax)
		out[caseID+"\x00"+mentionID] = r
		if _, ok := out[caseID]; !ok {
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
	rows, err := s.conn.Query(ctx, "SELECT case_id, argMaxMerge(assignee) FROM case_assignee WHERE case_id IN "+in+" GROUP BY case_id", args...)
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
