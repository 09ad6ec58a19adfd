// Package alertstest has fixtures for testing receivers.
package alertstest

import (
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/mention"
)

// Hostile is a message whose review tries everything a hostile page can:
// script and markup in the text, a javascript: URL, header injection in the
// author and title, Slack mentions and link forgery, and non-ASCII text.
func Hostile() alerts.Message {
	m := mention.Mention{ID: "schemaorg:r1", Source: "tripsite", Brand: "Sunrise Hotels", Location: "Zagreb",
		Author: "Mallory\r\nBcc: victim@example.com", URL: "javascript:alert(1)", Lang: "hr", Rating: 1, RatingMax: 5,
		Text: "<script>alert(1)</script> Trovanje hranom <img src=x onerror=alert(1)>. <!channel> *click* <https://evil.test|your bank>\n" +
			"Moj odvjetnik će vas kontaktirati.",
		Title: "Loše\r\nSubject: injected", PublishedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	m.Severity, m.Negative, m.Signals, m.Reasons = "critical", true, []string{"legal", "health"}, []string{"rating 1/5", `"odvjetnik" (legal)`}
	return alerts.Message{Receiver: "desk", GroupKey: "desk|location=Zagreb",
		Cases: []alerts.Case{{ID: "case-1", Mention: m, AckURL: "https://e.test/ack?t=x", ResolveURL: "https://e.test/resolve?t=y",
			Reply: alerts.SuggestReply(m, "Ana <Horvat>")}}}
}
