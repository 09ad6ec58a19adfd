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

// HostileDigest is Hostile as a digest: a headline and figures carrying
// hostile text too, compact case entries with a status, and a PNG chart
// shown inline.
func HostileDigest() alerts.Message {
	m := Hostile()
	m.Title = "Daily digest for <b>Sunrise</b>\r\nBcc: victim@example.com"
	m.Summary = []string{"Negative by location: <script>x</script> 3.", "Top aspects: *wait* 2, <!here> 1."}
	m.Compact = true
	m.Cases[0].Status = "open for 3h 5m; OVERDUE: not acknowledged within 2h <i>"
	m.Attachments = []alerts.Attachment{{Filename: "trend.png", ContentType: "image/png", ContentID: "trend.png", Data: PNG}}
	return m
}

// PNG is a valid 1×1 PNG image.
var PNG = []byte{0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41,
	0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00,
	0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82}
