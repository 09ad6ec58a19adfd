package web

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkBulk measures one bulk action on a page of MaxBulk cases, as
// the inbox's "apply to selected" sends it, against the same cases acted
// on one by one (Act, the path every single-case action takes) in the same
// run: ack and resolve (the workflow's moves), note, label. Each iteration works
// on fresh cases; the store holds the cases of the earlier iterations too.
func BenchmarkBulk(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	admin := User{Name: "admin", Role: "admin"}
	batch := 0
	page := func(b *testing.B) []string {
		b.Helper()
		batch++
		return f.openCases(b, fmt.Sprintf("bench:%d:", batch), MaxBulk)
	}
	for _, tc := range []struct {
		action string
		in     ActInput
	}{{"ack", ActInput{}}, {"resolve", ActInput{Outcome: "contacted_privately"}}, {"note", ActInput{Note: "called"}},
		{"label", ActInput{Label: "neutral"}}} {
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
