package chcluster_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/earshot/earshot/storage"
)

// TestSubqueryFiltersOnCluster: the case pipeline's queries that filter by
// a subquery (the router's unrouted cases, pending notifications, a
// message's cases, the inbox's label and assignee filters) work through
// the Distributed tables and see rows on every shard: a case routed on one
// shard is not listed again because its mention sits on the other.
// (Store writes GLOBAL IN on a cluster. On 2 shards 18.16 would also turn
// a plain IN into GLOBAL IN through distributed_product_mode, but on a
// 1-shard cluster it sends the subquery to the shard unqualified, where it
// reads the database `default` and fails: found by hand with `earshot
// collect` on 1 x 1: TestOneShardCluster.)
func TestSubqueryFiltersOnCluster(t *testing.T) {
	_, st := sharedStore(t, "bulk")
	checkSubqueryFilters(t, st)
}

// checkSubqueryFilters runs the checks of TestSubqueryFiltersOnCluster on
// st (also on a 1-shard cluster: TestOneShardCluster).
func checkSubqueryFilters(t *testing.T, st *storage.Store) {
	ctx := context.Background()
	// The queue's opened_at is the server's insert second: start in a
	// fresh second so that only this test's cases are in the window.
	var since time.Time
	if err := st.Conn().QueryRow(ctx, "SELECT now()").Scan(&since); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	since = since.Add(time.Second)
	const brand = "PipeBrand"
	ms := gen(400, fmt.Sprintf("pipe%d", time.Now().UnixNano()), 1)
	for i := range ms {
		ms[i].Brand = brand
	}
	if err := st.InsertMentions(ctx, ms); err != nil {
		t.Fatal(err)
	}
	unrouted := func() []string {
		t.Helper()
		qs, _, err := st.Unrouted(ctx, since, "", 10_000)
		if err != nil {
			t.Errorf("unrouted: %v", err)
			return nil
		}
		var ids []string
		for _, q := range qs {
			if q.Brand != brand {
				t.Errorf("unrouted lists %s of brand %q", q.CaseID, q.Brand)
			}
			ids = append(ids, q.CaseID)
		}
		sort.Strings(ids)
		return ids
	}
	// One case per negative mention; each check below reports on its own
	// (a failing query does not hide the others').
	var cases []string
	for _, m := range ms {
		if m.Negative {
			cases = append(cases, "case:"+m.ID)
		}
	}
	sort.Strings(cases)
	if got := unrouted(); !slices.Equal(got, cases) {
		t.Errorf("%d unrouted cases, want %d (one per negative mention)", len(got), len(cases))
	}
	// Route half: opened, routed, queued for a receiver; ten of them sent
	// in one message.
	now := time.Now().UTC().Truncate(time.Second)
	var evs []storage.CaseEvent
	for i, id := range cases[:50] {
		mid := id[len("case:"):]
		ev := func(name, state, receiver, note string) storage.CaseEvent {
			return storage.CaseEvent{EventID: id + "|" + name, CaseID: id, MentionID: mid, At: now, Event: name, State: state,
				Receiver: receiver, Note: note, Brand: brand, Location: "loc0", Severity: "high"}
		}
		evs = append(evs, ev("opened", "open", "", ""), ev("routed", "open", "", ""), ev("queued", "open", "outbox", "group"))
		if i < 10 {
			evs = append(evs, ev("sending", "open", "outbox", "msg-pipe"))
		}
	}
	if err := st.AppendCaseEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if left := unrouted(); len(left) != 50 || left[0] != cases[50] {
		t.Errorf("after routing 50 of 100: %d unrouted, want the other 50", len(left))
	}
	pending, err := st.PendingNotifications(ctx, since)
	if err != nil {
		t.Errorf("pending: %v", err)
	} else if len(pending) != 50 {
		t.Errorf("%d pending notifications, want 50", len(pending))
	}
	sent, err := st.MessageCases(ctx, "msg-pipe", since.Add(-time.Hour), 100)
	if err != nil {
		t.Errorf("message cases: %v", err)
	} else if len(sent) != 10 {
		t.Errorf("message lists %d cases, want 10", len(sent))
	}
	lang := map[string]string{}
	for _, m := range ms {
		lang["case:"+m.ID] = m.Lang
	}
	en := 0
	for _, id := range cases[:50] {
		if lang[id] == "en" {
			en++
		}
	}
	for _, tc := range []struct {
		f    storage.InboxFilter
		want uint64
	}{
		{storage.InboxFilter{Brand: brand, Lang: "en", Limit: 100}, uint64(en)},              // case_inbox subquery
		{storage.InboxFilter{Brand: brand, Search: "review", Limit: 100}, 50},                // its text search
		{storage.InboxFilter{Brand: brand, AssignedTo: "nobody", Limit: 100}, 0},             // case_assignee subquery
		{storage.InboxFilter{Brand: brand, Source: "demo", State: "active", Limit: 100}, 50}, // with a state
	} {
		_, total, err := st.Inbox(ctx, tc.f)
		if err != nil {
			t.Errorf("inbox %+v: %v", tc.f, err)
		} else if total != tc.want {
			t.Errorf("inbox %+v: %d cases, want %d", tc.f, total, tc.want)
		}
	}
}
