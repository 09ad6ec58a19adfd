// Package slack posts messages to a Slack incoming webhook as Block Kit.
// Review text is escaped for mrkdwn (&, <, >), so a review cannot ping
// <!channel>, forge links or break out of the quote.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/earshot/earshot/alerts"
)

// Receiver posts to a webhook.
type Receiver struct {
	name string
	o    Options
	hc   *http.Client
	now  func() time.Time
}

// New returns a receiver; it does no I/O.
func New(name string, o Options) *Receiver {
	return &Receiver{name: name, o: o, hc: &http.Client{Timeout: 15 * time.Second}, now: time.Now}
}

// Name implements alerts.Receiver.
func (r *Receiver) Name() string { return r.name }

// Escape makes text safe inside mrkdwn: Slack's own rule is to escape
// exactly these three characters.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// maxBlocks is Slack's limit of blocks per message.
const maxBlocks = 50

// headerText fits a header block: plain text of at most 150 characters.
func headerText(s string) string {
	if r := []rune(s); len(r) > 150 {
		return string(r[:149]) + "…"
	}
	return s
}

// cut shortens s to n runes, for Slack's per-block text limits.
func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// compact is one line per case, for storm and digest lists.
func compact(c alerts.Case) string {
	mm := c.Mention
	text := []rune(strings.Join(strings.Fields(mm.Text), " "))
	if len(text) > 200 {
		text = append(text[:200], ' ', '…')
	}
	line := fmt.Sprintf("*%s* %s%s · %s", Escape(strings.ToUpper(orNone(mm.Severity))), Escape(mm.Brand), Escape(prefix(" · ", mm.Location)), Escape(mm.Source))
	if c.Status != "" {
		line += " · _" + Escape(c.Status) + "_"
	}
	line += "\n" + Escape(string(text))
	var links []string
	for _, l := range []string{link(alerts.SafeURL(mm.URL), "Original"), link(alerts.SafeURL(c.CaseURL), "Open case"), link(c.AckURL, "Acknowledge"), link(c.ResolveURL, "Resolve")} {
		if l != "" {
			links = append(links, l)
		}
	}
	if len(links) > 0 {
		line += "\n" + strings.Join(links, " · ")
	}
	return cut(line, 2900)
}

// link renders <url|label> when url is http(s) and cannot break the syntax.
func link(url, label string) string {
	if url == "" || strings.ContainsAny(url, "|<> \n") {
		return ""
	}
	return "<" + url + "|" + label + ">"
}

// Payload builds the webhook body.
func (r *Receiver) Payload(m alerts.Message) map[string]any {
	blocks := []any{map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": headerText(alerts.Subject(m)), "emoji": false}}}
	if len(m.Summary) > 0 {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": cut(Escape(strings.Join(m.Summary, "\n")), 2900)}})
	}
	// Slack takes at most 50 blocks a message: a long list ends with a count.
	shown := len(m.Cases)
	if m.Compact {
		shown = min(shown, maxBlocks-len(blocks)-1)
	} else {
		shown = min(shown, (maxBlocks-len(blocks)-1)/3)
	}
	for _, c := range m.Cases[:shown] {
		if m.Compact {
			blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": compact(c)}})
			continue
		}
		mm := c.Mention
		text := mm.Text
		if len([]rune(text)) > 2500 { // a section's text is limited to 3,000 characters
			text = string([]rune(text)[:2500]) + " …"
		}
		quote := "> " + strings.ReplaceAll(Escape(text), "\n", "\n> ")
		head := fmt.Sprintf("*%s*%s · %s · %s", Escape(mm.Brand), Escape(prefix(" · ", mm.Location)), Escape(mm.Source), Escape(strings.ToUpper(orNone(mm.Severity))))
		if mm.Rating > 0 {
			head += fmt.Sprintf(" · %g/%g", mm.Rating, mm.RatingMax)
		}
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": head + "\n" + quote}})
		if c.Reply != "" {
			blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn",
				"text": "*Suggested reply* (edit before sending):\n" + Escape(c.Reply)}})
		}
		var ctx []string
		if mm.Author != "" {
			ctx = append(ctx, "by "+Escape(mm.Author))
		}
		if len(mm.Reasons) > 0 {
			ctx = append(ctx, "why: "+Escape(strings.Join(mm.Reasons, "; ")))
		}
		for _, l := range []string{link(alerts.SafeURL(mm.URL), "Original"), link(alerts.SafeURL(c.CaseURL), "Open case"), link(c.AckURL, "Acknowledge"), link(c.ResolveURL, "Resolve")} {
			if l != "" {
				ctx = append(ctx, l)
			}
		}
		ctx = append(ctx, "case "+Escape(c.ID))
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": strings.Join(ctx, " · ")}}})
	}
	if more := len(m.Cases) + len(m.More) - shown; more > 0 {
		where := "`earshot cases list`"
		if l := link(m.MoreURL, "all cases of this alert"); l != "" {
			where = l
		}
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn",
			"text": fmt.Sprintf("… and %d more cases: %s", more, where)}}})
	}
	p := map[string]any{"text": alerts.Subject(m), "blocks": blocks}
	if r.o.Channel != "" {
		p["channel"] = r.o.Channel
	}
	if m.ID != "" {
		// Incoming webhooks take message metadata like chat.postMessage
		// (Slack's SDKs send it through webhooks too); Slack itself does
		// not deduplicate, but an app reading the channel can spot a
		// repeat by its message_id.
		p["metadata"] = map[string]any{"event_type": "earshot_alert", "event_payload": map[string]any{"message_id": m.ID}}
	}
	return p
}

// Send implements alerts.Receiver.
func (r *Receiver) Send(ctx context.Context, m alerts.Message) (alerts.Delivery, error) {
	body, err := json.Marshal(r.Payload(m))
	if err != nil {
		return alerts.Delivery{}, fmt.Errorf("slack %s: %w", r.name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.o.WebhookURL.Reveal(), bytes.NewReader(body))
	if err != nil {
		return alerts.Delivery{}, fmt.Errorf("slack %s: bad webhook URL", r.name) // never print the secret URL
	}
	req.Header.Set("Content-Type", "application/json")
	// SendHTTP's errors name the host only, never the secret URL path.
	reply, d, err := alerts.SendHTTP(r.hc, req, 4096)
	if err != nil {
		return d, fmt.Errorf("slack %s: %w", r.name, err)
	}
	if reply.Status == http.StatusOK {
		return d, nil
	}
	return alerts.HTTPDelivery(reply, r.now()), fmt.Errorf("slack %s: HTTP %d: %s", r.name, reply.Status, strings.TrimSpace(string(reply.Body)))
}

func prefix(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
