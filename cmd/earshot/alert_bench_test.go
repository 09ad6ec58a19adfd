package main

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/alerts/sendgrid"
	"github.com/earshot/earshot/alerts/sendgrid/sendgridtest"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

// BenchmarkAlertLatency measures a flagged mention's way from being stored
// in ClickHouse to SendGrid's 202: open and queue its case (case_events),
// flush (pending cases, send history, storms, the mention read back), render
// and send through sendgrid-go to a local endpoint that validates the body
// against SendGrid's OpenAPI schema, and record the delivery and the
// "notified" event. group_wait is 1 ms, so the figure is Earshot's own cost,
// not a configured wait (30 s by default). The baseline, measured in the same
// run, is the bare send of the same message to the same endpoint.
//
// prior= is the number of older cases in case_events (each opened, queued,
// notified): history the flush's pending-case query should not have to read.
func BenchmarkAlertLatency(b *testing.B) {
	for _, prior := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("prior=%d", prior), func(b *testing.B) { alertLatency(b, prior) })
	}
}

func alertLatency(b *testing.B, prior int) {
	st, _ := benchStore(b)
	ctx := context.Background()
	sg := sendgridtest.New(b, "../../alerts/sendgrid/testdata/tsg_mail_v3.json", "SG.bench")
	b.Setenv("EARSHOT_BENCH_SG_KEY", "SG.bench")
	cfg, err := config.Parse("bench.yaml", []byte(`
receivers:
  - {name: desk, kind: sendgrid, api_key: "${EARSHOT_BENCH_SG_KEY}", from: earshot@example.com, to: [desk@example.com], base_url: "`+sg.URL+`"}
route:
  receiver: desk
  group_by: [location]
  group_wait: 1ms
storms: {receiver: desk}
`), config.Schema{ReceiverKinds: receiverRegistry().Kinds()})
	if err != nil {
		b.Fatal(err)
	}
	tree, err := alerts.Tree(cfg)
	if err != nil {
		b.Fatal(err)
	}
	rcv := sendgrid.New("desk", *cfg.Receivers[0].Options.(*sendgrid.Options))
	n := &alerts.Notifier{Tree: tree, Receivers: map[string]alerts.Receiver{"desk": rcv}, Store: st, StormConfig: cfg.Storms, Storms: st,
		StormEvery: time.Hour}
	d := &alerts.Dispatcher{Notifier: n, Queue: st}
	mk := func(i int) mention.Mention {
		m := mention.Mention{ID: fmt.Sprintf("bench:%d", i), Source: "tripsite", Brand: "Sunrise", Location: fmt.Sprintf("loc%d", i),
			// Distinct authors: the same text by the same author is one story, one case.
			Author: fmt.Sprintf("Guest %d", i), Text: "We waited two hours at check-in and the receptionist was rude. Never again.", Lang: "en",
			Rating: 1, RatingMax: 5, URL: "https://reviews.example/r/1", PublishedAt: time.Now().Add(-48 * time.Hour)}
		m.Negative, m.Severity, m.Aspects, m.Signals = true, "high", []string{"wait", "staff"}, []string{"churn"}
		m.Reasons = []string{"rating 1/5", `"rude" (-2.3)`, `"never again" (churn)`}
		if err := m.Normalize(time.Now()); err != nil {
			b.Fatal(err)
		}
		return m
	}
	for i := 0; i < prior; i += 10_000 {
		var evs []storage.CaseEvent
		at := time.Now().Add(-30 * 24 * time.Hour)
		for j := i; j < min(prior, i+10_000); j++ {
			id := fmt.Sprintf("case:old:%d", j)
			for _, e := range []string{"opened", "queued", "notified"} {
				evs = append(evs, storage.CaseEvent{EventID: id + ":" + e, CaseID: id, MentionID: fmt.Sprintf("old:%d", j), At: at, Event: e,
					State: "open", Receiver: map[bool]string{true: "", false: "desk"}[e == "opened"], Brand: "Sunrise", Severity: "medium"})
			}
		}
		if err := st.AppendCaseEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	var lat, base []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := mk(i)
		if err := st.InsertMentions(ctx, []mention.Mention{m}); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		before := len(sg.Requests)
		// The real path: the case queue row came with the insert; the
		// dispatcher routes it and sends it.
		if err := d.Round(ctx, false); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		if len(sg.Requests) != before+1 {
			b.Fatalf("iteration %d: %d messages accepted, want 1 (schema violations: %v)", i, len(sg.Requests)-before, sg.Invalid)
		}
		b.StopTimer()
		t1 := time.Now()
		if _, err := rcv.Send(ctx, alerts.Message{Receiver: "desk", GroupKey: "x", Cases: []alerts.Case{{ID: "case:" + m.ID, Mention: m}}}); err != nil {
			b.Fatal(err)
		}
		base = append(base, time.Since(t1))
		b.StartTimer()
	}
	b.StopTimer()
	pct := func(d []time.Duration, p float64) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[min(len(d)-1, int(p*float64(len(d))))]
	}
	p50, p99, b50 := pct(lat, 0.50), pct(lat, 0.99), pct(base, 0.50)
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(b50.Microseconds())/1000, "bare-send-p50-ms")
	b.ReportMetric(float64(p50)/float64(b50), "x-bare-send")
}
