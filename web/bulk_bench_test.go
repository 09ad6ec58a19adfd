package web

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

// BenchmarkBulk measures one bulk action on a page of MaxBulk cases, as
// the inbox's "apply to selected" sends it, against the same cases acted
// on one by one (Act, the path every single-case action takes) in the same
// run: ack and resolve (the workflow's moves), note. Each iteration works
// on fresh cases; the store holds the cases of the earlier iterations too.
func BenchmarkBulk(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	admin := User{Name: "admin", Role: "admin"}
	batch := 0
	page := func(b *testing.B) []string {
		b.Helper()
		batch++
		now := time.Now().UTC().Truncate(time.Second)
		var ms []mention.Mention
		var evs []storage.CaseEvent
		var ids []string
		for i := range MaxBulk {
			m := mention.Mention{ID: fmt.Sprintf("bench:%d:%d", batch, i), Source: "demo-zagreb", Kind: "review", Brand: "Sunrise",
				Location: "Zagreb", Text: "Soba je bila prljava.", Lang: "hr", PublishedAt: now}
			m.Negative, m.Severity, m.ScorerVersion = true, "low", "bench"
			if err := m.Normalize(now); err != nil {
				b.Fatal(err)
			}
			m.StoryID = ""
			ms = append(ms, m)
			evs = append(evs, storage.CaseEvent{EventID: "case:" + m.ID + ":opened", CaseID: "case:" + m.ID, MentionID: m.ID, At: now,
				Event: "opened", State: "open", Brand: "Sunrise", Location: "Zagreb", Severity: "low"})
			ids = append(ids, "case:"+m.ID)
		}
		if err := f.st.InsertMentions(ctx, ms); err != nil {
			b.Fatal(err)
		}
		if err := f.st.AppendCaseEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
		return ids
	}
	for _, tc := range []struct {
		action string
		in     ActInput
	}{{"ack", ActInput{}}, {"resolve", ActInput{Outcome: "contacted_privately"}}, {"note", ActInput{Note: "called"}}} {
		b.Run(tc.action+"/bulk", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				ids := page(b)
				b.StartTimer()
				res, err := f.srv.svc.ActMany(ctx, admin, ids, tc.action, tc.in)
				if err != nil || res.Done != MaxBulk {
					b.Fatalf("%+v %v", res, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/page")
		})
		b.Run(tc.action+"/one-by-one", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				ids := page(b)
				b.StartTimer()
				for _, id := range ids {
					if _, err := f.srv.svc.Act(ctx, admin, id, tc.action, tc.in); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/page")
		})
	}
}
