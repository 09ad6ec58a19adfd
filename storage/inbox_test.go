package storage

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/earshot/earshot/mention"
)

// inboxFixture stores negative mentions in two locations and opens their
// cases, as the dispatcher would.
func inboxFixture(t *testing.T) (*Store, []mention.Mention) {
	t.Helper()
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	mk := func(id, loc, src, lang, sev, text, author string, aspects, signals []string, ago time.Duration) mention.Mention {
		m := mention.Mention{ID: id, Source: src, Brand: "Sunrise", Location: loc, Author: author, Text: text, Lang: lang,
			Rating: 1, RatingMax: 5, PublishedAt: now.Add(-ago), URL: "https://example.com/" + id}
		m.Negative, m.Severity, m.Aspects, m.Signals = true, sev, aspects, signals
		if err := m.Normalize(now); err != nil {
			t.Fatal(err)
		}
		m.StoryID = "" // case id = the mention id
		return m
	}
	ms := []mention.Mention{
		mk("m:zg1", "Zagreb", "demo-zagreb", "hr", "high", "Osoblje je bilo neljubazno, čekali smo sat vremena", "Ivana", []string{"staff", "wait"}, nil, 3*time.Hour),
		mk("m:zg2", "Zagreb", "demo-zagreb", "en", "medium", "Dirty room and a rude night clerk", "Bob", []string{"cleanliness"}, []string{"churn"}, 2*time.Hour),
		mk("m:mn1", "Manila", "demo-manila", "tl", "critical", "Food poisoning after the buffet, calling a lawyer", "Jose", []string{"quality"}, []string{"health", "legal"}, time.Hour),
		mk("m:zg0", "Zagreb", "demo-zagreb", "en", "low", "Earlier complaint about the noise", "Bob", []string{"quality"}, nil, 48*time.Hour),
	}
	if err := s.InsertMentions(ctx, ms); err != nil {
		t.Fatal(err)
	}
	var evs []CaseEvent
	for i, m := range ms {
		cid := "case:" + m.ID
		evs = append(evs, CaseEvent{EventID: cid + ":opened", CaseID: cid, MentionID: m.ID, At: now.Add(time.Duration(i) * time.Minute),
			Event: "opened", State: "open", Brand: m.Brand, Location: m.Location, Severity: m.Severity})
	}
	if err := s.AppendCaseEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	return s, ms
}

func caseIDs(rows []InboxRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.CaseID)
	}
	slices.Sort(out)
	return out
}

func TestInboxFiltersAndScope(t *testing.T) {
	s, _ := inboxFixture(t)
	ctx := context.Background()
	zagreb := Scope{Brands: []string{"Sunrise"}, Locations: []string{"Zagreb"}}
	tests := []struct {
		name string
		f    InboxFilter
		want []string
	}{
		{"all", InboxFilter{}, []string{"case:m:mn1", "case:m:zg0", "case:m:zg1", "case:m:zg2"}},
		{"zagreb scope", InboxFilter{Scope: zagreb}, []string{"case:m:zg0", "case:m:zg1", "case:m:zg2"}},
		{"zagreb scope searching Manila's text", InboxFilter{Scope: zagreb, Search: "lawyer"}, nil},
		{"search is case-insensitive, any script", InboxFilter{Search: "ОСОБЉЕ"}, nil},
		{"search", InboxFilter{Search: "NEljubazno"}, []string{"case:m:zg1"}},
		{"location", InboxFilter{Location: "Manila"}, []string{"case:m:mn1"}},
		{"severity", InboxFilter{Severity: "critical"}, []string{"case:m:mn1"}},
		{"source", InboxFilter{Source: "demo-zagreb", Lang: "en"}, []string{"case:m:zg0", "case:m:zg2"}},
		{"aspect", InboxFilter{Aspect: "wait"}, []string{"case:m:zg1"}},
		{"signal", InboxFilter{Signal: "legal"}, []string{"case:m:mn1"}},
		{"state resolved", InboxFilter{State: "resolved"}, nil},
		{"active", InboxFilter{State: "active", Scope: Scope{Locations: []string{"Manila"}}}, []string{"case:m:mn1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, total, err := s.Inbox(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := caseIDs(rows); !slices.Equal(got, tt.want) || int(total) != len(tt.want) {
				t.Errorf("got %v (total %d), want %v", got, total, tt.want)
			}
		})
	}
	rows, _, err := s.Inbox(ctx, InboxFilter{Sort: "severity"})
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].CaseID != "case:m:mn1" || rows[0].Source != "demo-manila" || rows[0].Lang != "tl" || !slices.Contains(rows[0].Signals, "legal") {
		t.Errorf("worst first with labels: %+v", rows[0])
	}
	rows, _, err = s.Inbox(ctx, InboxFilter{Sort: "newest", Limit: 1, Offset: 1})
	if err != nil || len(rows) != 1 || rows[0].CaseID != "case:m:mn1" {
		t.Errorf("newest page 2: %+v %v", rows, err)
	}
}

func TestInboxAssignAndResolvePrefix(t *testing.T) {
	s, _ := inboxFixture(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	if err := s.AppendCaseEvents(ctx, []CaseEvent{{EventID: "case:m:zg1:assigned:1", CaseID: "case:m:zg1", At: now, Event: "assigned",
		State: "open", Actor: "admin", Note: "ana"}, {EventID: "case:m:zg1:assigned:2", CaseID: "case:m:zg1", At: now.Add(time.Minute),
		Event: "assigned", State: "open", Actor: "admin", Note: "marko"}}); err != nil {
		t.Fatal(err)
	}
	rows, _, err := s.Inbox(ctx, InboxFilter{AssignedTo: "marko"})
	if err != nil || len(rows) != 1 || rows[0].CaseID != "case:m:zg1" || rows[0].Assignee != "marko" {
		t.Fatalf("assigned to marko: %+v %v", rows, err)
	}
	if rows, _, _ := s.Inbox(ctx, InboxFilter{AssignedTo: "ana"}); len(rows) != 0 {
		t.Errorf("reassigned case still ana's: %+v", rows)
	}
	for _, tt := range []struct {
		prefix string
		scope  Scope
		want   []string
	}{
		{"case:m:mn", Scope{}, []string{"case:m:mn1"}},
		{"case:m:zg", Scope{}, []string{"case:m:zg0", "case:m:zg1"}},
		{"case:m:mn", Scope{Locations: []string{"Zagreb"}}, nil},
		{"case:m:zg1", Scope{}, []string{"case:m:zg1"}},
		{"case:m_", Scope{}, nil},
	} {
		got, err := s.ResolveCase(ctx, tt.scope, tt.prefix)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ResolveCase(%q, %v) = %v, %v; want %v", tt.prefix, tt.scope, got, err, tt.want)
		}
	}
	ids, err := s.AuthorComplaints(ctx, "Sunrise", "Bob", now.Add(-3*time.Hour-time.Minute), 10)
	if err != nil || !slices.Equal(ids, []string{"m:zg0"}) {
		t.Errorf("Bob's earlier complaints: %v %v", ids, err)
	}
	ids, err = s.CaseMentionIDs(ctx, "case:m:zg2")
	if err != nil || !slices.Equal(ids, []string{"m:zg2"}) {
		t.Errorf("case mentions: %v %v", ids, err)
	}
}

func TestLabels(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	l := Label{MentionID: "m1", Who: "ana", At: at, Label: "neutral", CaseID: "case:m1", Brand: "B", Location: "L", Lang: "en",
		ScorerVersion: "v1", ScoredNegative: true, ScoredAspects: []string{"staff"}}
	if err := s.InsertLabel(ctx, l); err != nil {
		t.Fatal(err)
	}
	l.At, l.Label, l.Corrected, l.Aspects = at.Add(time.Minute), "negative", true, []string{"wait"}
	if err := s.InsertLabel(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertLabel(ctx, Label{MentionID: "m1", Who: "x", Label: "bogus"}); err == nil {
		t.Error("bogus label accepted")
	}
	got, err := s.Labels(ctx, []string{"m1"})
	if err != nil || len(got) != 1 || got[0].Label != "negative" || !got[0].Corrected || !slices.Equal(got[0].Aspects, []string{"wait"}) ||
		!got[0].ScoredNegative {
		t.Errorf("labels: %+v %v", got, err)
	}
}

func TestTrendsRunAndScope(t *testing.T) {
	s, _ := inboxFixture(t)
	ctx := context.Background()
	r := TrendRange{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	for _, name := range TrendNames {
		all, err := s.TrendData(ctx, name, r, Scope{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		zg, err := s.TrendData(ctx, name, r, Scope{Locations: []string{"Zagreb"}})
		if err != nil {
			t.Fatalf("%s scoped: %v", name, err)
		}
		for _, row := range zg.Rows {
			if slices.Contains(row.Keys, "Manila") {
				t.Errorf("%s: Zagreb scope shows Manila: %v", name, row)
			}
		}
		if name == "locations" && (len(all.Rows) != 2 || len(zg.Rows) != 1) {
			t.Errorf("locations: all %v, zagreb %v", all.Rows, zg.Rows)
		}
	}
	// The same figures as docs/queries.md's per-location query
	// (and `earshot report`, which runs it without an end).
	loc, _ := s.TrendData(ctx, "locations", r, Scope{Locations: []string{"Zagreb"}})
	var n, neg uint64
	if err := s.conn.QueryRow(ctx, `SELECT uniqExactMerge(mentions), uniqExactIfMerge(negatives) FROM trend_daily
		WHERE day >= toDate('2026-11-01') AND location = 'Zagreb'`).Scan(&n, &neg); err != nil {
		t.Fatal(err)
	}
	if got := loc.Rows[0].Values; got[0] != float64(n) || got[1] != float64(neg) {
		t.Errorf("locations Zagreb %v, report query %d/%d", got, n, neg)
	}
	// And `earshot report`'s own figures, location by location.
	rep, err := s.Report(ctx, r.From, ByPublished)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := s.TrendData(ctx, "locations", r, Scope{})
	if len(rep.Locations) != len(all.Rows) {
		t.Fatalf("report has %d locations, the chart %d", len(rep.Locations), len(all.Rows))
	}
	for _, row := range all.Rows {
		i := slices.IndexFunc(rep.Locations, func(l LocationRow) bool { return l.Brand == row.Keys[0] && l.Location == row.Keys[1] })
		if i < 0 {
			t.Errorf("report lacks %v", row.Keys)
			continue
		}
		l := rep.Locations[i]
		if row.Values[0] != float64(l.Mentions) || row.Values[1] != float64(l.Negatives) || row.Values[2] != float64(l.Severe) {
			t.Errorf("%v: chart %v, report %+v", row.Keys, row.Values, l)
		}
	}
	asp, _ := s.TrendData(ctx, "top_aspects", r, Scope{})
	if len(asp.Rows) == 0 || asp.Rows[0].Values[0] < 1 {
		t.Errorf("top aspects: %+v", asp.Rows)
	}
}

// TestInboxLimitCounts: the total read from the page query's rows before
// its LIMIT (18.16) equals the count query's, on every page.
func TestInboxLimitCounts(t *testing.T) {
	s, _ := inboxFixture(t)
	ctx := context.Background()
	v, err := s.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !ExactRowsBeforeLimit(v) {
		t.Skipf("server %s reports rows before LIMIT as a lower bound; the count query is used", v)
	}
	for _, f := range []InboxFilter{{}, {Search: "a"}, {Location: "Zagreb"}, {Sort: "newest"}, {State: "resolved"}} {
		for _, lim := range []int{1, 2, 50} {
			for off := 0; off <= 4; off++ {
				f.Limit, f.Offset = lim, off
				f.LimitCounts = false
				_, want, err := s.Inbox(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				f.LimitCounts = true
				rows, got, err := s.Inbox(ctx, f)
				if err != nil || got != want {
					t.Errorf("%+v: total %d from the LIMIT, %d counted (%d rows, %v)", f, got, want, len(rows), err)
				}
			}
		}
	}
}

func TestExactRowsBeforeLimit(t *testing.T) {
	for v, want := range map[string]bool{"18.16.1": true, "19.13.6.51": true, "19.17.5.18": false, "25.3.3.42": false, "": false} {
		if got := ExactRowsBeforeLimit(v); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}
