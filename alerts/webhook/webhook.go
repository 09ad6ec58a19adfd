// Package webhook posts each message as JSON to a URL, signed with
// HMAC-SHA256 over "timestamp.body" so the receiver can check it came from
// Earshot and is fresh:
//
//	X-Earshot-Timestamp: 1795435200
//	X-Earshot-Signature: sha256=<hex>
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// Receiver posts JSON.
type Receiver struct {
	name string
	o    config.WebhookOptions
	hc   *http.Client
	now  func() time.Time
}

// New returns a receiver; it does no I/O.
func New(name string, o config.WebhookOptions) *Receiver {
	return &Receiver{name: name, o: o, hc: &http.Client{Timeout: 15 * time.Second}, now: time.Now}
}

// Name implements alerts.Receiver.
func (r *Receiver) Name() string { return r.name }

// Payload is the JSON body.
type Payload struct {
	Receiver string        `json:"receiver"`
	GroupKey string        `json:"group_key"`
	Step     int           `json:"step"`
	Subject  string        `json:"subject"`
	Title    string        `json:"title,omitempty"`   // storms and digests
	Summary  []string      `json:"summary,omitempty"` // their figures
	Cases    []PayloadCase `json:"cases"`
	// Attachments (the digest's chart) travel base64-encoded.
	Attachments []PayloadAttachment `json:"attachments,omitempty"`
}

// PayloadAttachment is a file sent with a message.
type PayloadAttachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// PayloadCase is one case: the mention as stored, and its links.
type PayloadCase struct {
	ID         string          `json:"id"`
	AckURL     string          `json:"ack_url,omitempty"`
	ResolveURL string          `json:"resolve_url,omitempty"`
	Status     string          `json:"status,omitempty"` // digests: where the case stands
	Mention    mention.Mention `json:"mention"`
}

// Sign returns the signature header value for body at timestamp ts.
func Sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Send implements alerts.Receiver.
func (r *Receiver) Send(ctx context.Context, m alerts.Message) (alerts.Delivery, error) {
	p := Payload{Receiver: r.name, GroupKey: m.GroupKey, Step: m.Step, Subject: alerts.Subject(m), Title: m.Title, Summary: m.Summary,
		Cases: []PayloadCase{}}
	for _, c := range m.Cases {
		p.Cases = append(p.Cases, PayloadCase{ID: c.ID, AckURL: c.AckURL, ResolveURL: c.ResolveURL, Status: c.Status, Mention: c.Mention})
	}
	for _, a := range m.Attachments {
		p.Attachments = append(p.Attachments, PayloadAttachment{Filename: a.Filename, ContentType: a.ContentType, Data: a.Data})
	}
	body, err := json.Marshal(p)
	if err != nil {
		return alerts.Delivery{}, fmt.Errorf("webhook %s: %w", r.name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.o.URL, bytes.NewReader(body))
	if err != nil {
		return alerts.Delivery{}, fmt.Errorf("webhook %s: %w", r.name, err)
	}
	for k, v := range r.o.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Earshot")
	ts := strconv.FormatInt(r.now().Unix(), 10)
	req.Header.Set("X-Earshot-Timestamp", ts)
	if s := r.o.Secret.Reveal(); s != "" {
		req.Header.Set("X-Earshot-Signature", Sign(s, ts, body))
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return alerts.Delivery{Retry: ctx.Err() == nil}, fmt.Errorf("webhook %s: %w", r.name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	d := alerts.Delivery{HTTPStatus: resp.StatusCode}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return d, nil
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		d.Retry = true
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			d.RetryAfter = time.Duration(s) * time.Second
		}
	}
	return d, fmt.Errorf("webhook %s: HTTP %d", r.name, resp.StatusCode)
}
