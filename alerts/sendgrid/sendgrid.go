// Package sendgrid is the e-mail receiver: SendGrid's v3 mail send through
// sendgrid-go, HTML and plain text (or a dynamic template), the case ids in
// custom_args. 429 and 5xx are retryable, honouring Retry-After or the
// rate-limit reset time; other 4xx are final.
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

	sg "github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
)

// DefaultBaseURL is SendGrid's API.
const DefaultBaseURL = "https://api.sendgrid.com"

// Receiver sends mail through SendGrid.
type Receiver struct {
	name string
	o    config.SendGridOptions
	now  func() time.Time
}

// New returns a receiver; it does no I/O.
func New(name string, o config.SendGridOptions) *Receiver {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	return &Receiver{name: name, o: o, now: time.Now}
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
	req := sg.GetRequest(r.o.APIKey.Reveal(), "/v3/mail/send", strings.TrimRight(r.o.BaseURL, "/"))
	req.Method = "POST"
	req.Body = body
	resp, err := sg.MakeRequestWithContext(ctx, req)
	if err != nil {
		return alerts.Delivery{Retry: ctx.Err() == nil}, fmt.Errorf("sendgrid %s: %w", r.name, err)
	}
	d := alerts.Delivery{HTTPStatus: resp.StatusCode}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return d, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		d.Retry = true
		d.RetryAfter = r.retryAfter(resp.Headers)
	}
	return d, fmt.Errorf("sendgrid %s: HTTP %d: %s", r.name, resp.StatusCode, errorText(resp.Body))
}

// retryAfter reads Retry-After (seconds) or X-RateLimit-Reset (Unix time).
func (r *Receiver) retryAfter(h map[string][]string) time.Duration {
	get := func(k string) string {
		if v := http.Header(h).Get(k); v != "" {
			return v
		}
		return ""
	}
	if s, err := strconv.Atoi(get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := strconv.ParseInt(get("X-RateLimit-Reset"), 10, 64); err == nil {
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
