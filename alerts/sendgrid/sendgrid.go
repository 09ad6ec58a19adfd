// Package sendgrid is the e-mail receiver: SendGrid's v3 mail send through
// sendgrid-go, HTML and plain text (or a dynamic template), the case ids in
// custom_args (with the message id, for deduplicating events). 429 and 5xx
// are retryable, honouring Retry-After or the rate-limit reset time; other
// 4xx are final.
//
// What sendgrid-go v3.16.1 and sendgrid/rest v2.6.9 do, read from their
// source: MakeRequestWithContext is a single attempt (rest.Client.
// SendWithContext: BuildRequestObject, req.WithContext(ctx), one Do, the
// whole body read), so it neither retries nor reuses a context.
// MakeRequestRetryWithContext and the Async variants do retry 429, up to 6
// times with the same context, sleeping (time.Sleep, deaf to the context)
// until X-RateLimit-Reset: never used here, the notifier retries with a
// fresh context per attempt. The default client is package-level state
// shared with every other user of the library (sendgrid.DefaultClient ==
// rest.DefaultClient, an http.Client without a timeout), and it cannot
// tell whether the request was written before a failure. So sendgrid-go
// still builds the request (GetRequest: URL and headers; mail.
// GetRequestBody: the body; rest.BuildRequestObject: the http.Request),
// and the receiver's own http.Client sends it once, through
// alerts.SendHTTP.
package sendgrid

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/rest"
	sg "github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/earshot/earshot/alerts"
)

// DefaultBaseURL is SendGrid's API.
const DefaultBaseURL = "https://api.sendgrid.com"

// Receiver sends mail through SendGrid.
type Receiver struct {
	name string
	o    Options
	hc   *http.Client
	now  func() time.Time
}

// New returns a receiver; it does no I/O.
func New(name string, o Options) *Receiver {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	// Our own client, not sendgrid-go's shared default; the timeout bounds
	// a caller without a deadline, as for the other receivers.
	return &Receiver{name: name, o: o, hc: &http.Client{Timeout: 15 * time.Second}, now: time.Now}
}

// Name implements alerts.Receiver.
func (r *Receiver) Name() string { return r.name }

// Body builds the v3 mail send request body for a message.
func (r *Receiver) Body(m alerts.Message) ([]byte, error) {
	msg := mail.NewV3Mail()
	msg.SetFrom(mail.NewEmail("Earshot", r.o.From))
	msg.Subject = alerts.Subject(m)
	p := mail.NewPersonalization()
	for _, to := range r.o.To {
		p.AddTos(mail.NewEmail("", to))
	}
	ids := make([]string, len(m.Cases))
	for i, c := range m.Cases {
		ids[i] = c.ID
	}
	// custom_args values must be strings; they come back in SendGrid's
	// event webhook, tying opens and bounces to cases.
	p.SetCustomArg("case_ids", strings.Join(ids, ","))
	p.SetCustomArg("step", strconv.Itoa(m.Step))
	if m.ID != "" {
		// The same on every retry: SendGrid does not deduplicate sends, but
		// event webhook consumers can tell a repeated message by it.
		p.SetCustomArg("message_id", m.ID)
	}
	html, err := alerts.HTML(m)
	if err != nil {
		return nil, err
	}
	text := alerts.Text(m)
	if r.o.TemplateID != "" {
		msg.SetTemplateID(r.o.TemplateID)
		p.SetDynamicTemplateData("subject", msg.Subject)
		p.SetDynamicTemplateData("text", text)
		p.SetDynamicTemplateData("html", html)
		p.SetDynamicTemplateData("case_count", len(m.Cases))
	} else {
		msg.AddContent(mail.NewContent("text/plain", text), mail.NewContent("text/html", html))
	}
	for _, a := range m.Attachments {
		att := mail.NewAttachment().SetContent(base64.StdEncoding.EncodeToString(a.Data)).SetType(a.ContentType).
			SetFilename(a.Filename).SetDisposition("attachment")
		if a.ContentID != "" {
			att.SetDisposition("inline").SetContentID(a.ContentID)
		}
		msg.AddAttachment(att)
	}
	msg.AddPersonalizations(p)
	return mail.GetRequestBody(msg), nil
}

// Send implements alerts.Receiver.
func (r *Receiver) Send(ctx context.Context, m alerts.Message) (alerts.Delivery, error) {
	body, err := r.Body(m)
	if err != nil {
		return alerts.Delivery{}, err
	}
	sr := sg.GetRequest(r.o.APIKey.Reveal(), "/v3/mail/send", strings.TrimRight(r.o.BaseURL, "/"))
	sr.Method = rest.Post
	sr.Body = body
	req, err := rest.BuildRequestObject(sr)
	if err != nil {
		return alerts.Delivery{}, fmt.Errorf("sendgrid %s: build request: %w", r.name, err)
	}
	// This attempt's context, and only this attempt's.
	reply, d, err := alerts.SendHTTP(r.hc, req.WithContext(ctx), 64<<10)
	if err != nil {
		return d, fmt.Errorf("sendgrid %s: %w", r.name, err)
	}
	if reply.Status >= 200 && reply.Status < 300 {
		return d, nil
	}
	d = alerts.HTTPDelivery(reply, r.now())
	if d.Retry && d.RetryAfter == 0 {
		d.RetryAfter = r.rateLimitReset(reply.Header)
	}
	return d, fmt.Errorf("sendgrid %s: HTTP %d: %s", r.name, reply.Status, errorText(string(reply.Body)))
}

// rateLimitReset reads X-RateLimit-Reset (Unix time), which SendGrid
// sends on 429 when it gives no Retry-After.
func (r *Receiver) rateLimitReset(h http.Header) time.Duration {
	if t, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		if d := time.Unix(t, 0).Sub(r.now()); d > 0 {
			return d
		}
	}
	return 0
}

// errorText extracts SendGrid's error messages for the delivery log.
func errorText(body string) string {
	var e struct {
		Errors []struct {
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &e) == nil && len(e.Errors) > 0 {
		var parts []string
		for _, x := range e.Errors {
			parts = append(parts, strings.TrimSpace(x.Field+" "+x.Message))
		}
		return strings.Join(parts, "; ")
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return body
}
