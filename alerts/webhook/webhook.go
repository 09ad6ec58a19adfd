// Package webhook posts each message as JSON to a URL, signed with
// HMAC-SHA256 over "timestamp.body" so the receiver can check it came from
// Earshot and is fresh:
//
//	X-Earshot-Timestamp: 1795435200
//	X-Earshot-Signature: sha256=<hex>
//
// A message with an ID carries it as Idempotency-Key and as "id" in the
// body: a retry after an unknown outcome repeats it, so the receiver can
// drop the duplicate.
package webhook

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/mention"
)

// Receiver posts JSON.
type Receiver struct {
	name string
	o    Options
	hc   *http.Client
	now  func() time.Time
}

// New returns a receiver; it does no I/O.
func New(name string, o Options) *Receiver {
	return &Receiver{name: name, o: o, hc: &http.Client{Timeout: cmp.Or(o.Timeout, 15*time.Second)}, now: time.Now}
}

// Name implements alerts.Receiver.
func (r *Receiver) Name() string { return r.name }

// Payload is the JSON body.
type Payload struct {
	ID       string        `json:"id,omitempty"` // the same on every retry of the message
	Receiver string        `json:"receiver"`
	GroupKey string        `json:"group_key"`
	Step     int           `json:"step"`
	Subject  string        `json:"subject"`
	Title    string        `json:"title,omitempty"`   // storms and digests
	Summary  []string      `json:"summary,omitempty"` // their figures
	Cases    []PayloadCase `json:"cases"`
	// MoreCaseIDs are the message's cases not listed in full (a large
	// group lists its worst ones).
	MoreCaseIDs []string `json:"more_case_ids,omitempty"`
	// MoreURL is a signed link to a page listing all of the message's cases.
	MoreURL string `json:"more_url,omitempty"`
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
	CaseURL    string          `json:"case_url,omitempty"`
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
	p := Payload{ID: m.ID, Receiver: r.name, GroupKey: m.GroupKey, Step: m.Step, Subject: alerts.Subject(m), Title: m.Title, Summary: m.Summary, MoreCaseIDs: m.More, MoreURL: m.MoreURL,
		Cases: []PayloadCase{}}
	for _, c := range m.Cases {
		p.Cases = append(p.Cases, PayloadCase{ID: c.ID, AckURL: c.AckURL, ResolveURL: c.ResolveURL, CaseURL: alerts.SafeURL(c.CaseURL), Status: c.Status, Mention: c.Mention})
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
	if m.ID != "" {
		// Set after the configured headers: the key must be the message's.
		// It also makes net/http treat the POST as replayable, resending it
		// on its own when a reused connection turns out closed; the
		// receiver's dedup covers that too.
		req.Header.Set("Idempotency-Key", m.ID)
	}
	reply, d, err := alerts.SendHTTP(r.hc, req, 4096)
	if err != nil {
		return d, fmt.Errorf("webhook %s: %w", r.name, err)
	}
	if reply.Status >= 200 && reply.Status < 300 {
		return d, nil
	}
	return alerts.HTTPDelivery(reply, r.now()), fmt.Errorf("webhook %s: HTTP %d", r.name, reply.Status)
}
