// Package outbox is the receiver that needs no account: each message is an
// RFC 5322 .eml file (multipart text + HTML) in a directory, readable in any
// mail client and the default when nothing else is configured.
package outbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/earshot/earshot/alerts"
)

// Receiver writes .eml files.
type Receiver struct {
	name string
	dir  string
	now  func() time.Time
}

// New returns a receiver writing to dir (created on first send).
func New(name, dir string) *Receiver {
	if dir == "" {
		dir = "var/outbox"
	}
	return &Receiver{name: name, dir: dir, now: time.Now}
}

// Name implements alerts.Receiver.
func (r *Receiver) Name() string { return r.name }

// Send writes the message; the file appears whole or not at all.
func (r *Receiver) Send(_ context.Context, m alerts.Message) (alerts.Delivery, error) {
	raw, id, err := r.Compose(m)
	if err != nil {
		return alerts.Delivery{}, err
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return alerts.Delivery{Retry: true}, fmt.Errorf("outbox %s: %w", r.name, err)
	}
	name := fmt.Sprintf("%s-%s.eml", r.now().UTC().Format("20060102T150405Z"), id[:12])
	tmp := filepath.Join(r.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return alerts.Delivery{Retry: true}, fmt.Errorf("outbox %s: %w", r.name, err)
	}
	if err := os.Rename(tmp, filepath.Join(r.dir, name)); err != nil {
		os.Remove(tmp)
		return alerts.Delivery{Retry: true}, fmt.Errorf("outbox %s: %w", r.name, err)
	}
	return alerts.Delivery{}, nil
}

// Compose renders the RFC 5322 message and returns it with its id.
func (r *Receiver) Compose(m alerts.Message) ([]byte, string, error) {
	html, err := alerts.HTML(m)
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%d", r.name, m.GroupKey, m.Step)
	for _, c := range m.Cases {
		fmt.Fprintf(h, "|%s", c.ID)
	}
	id := hex.EncodeToString(h.Sum(nil))
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct{ typ, content string }{{"text/plain", alerts.Text(m)}, {"text/html", html}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, "", err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(part.content)); err != nil {
			return nil, "", err
		}
		qp.Close()
	}
	mw.Close()
	contentType := "multipart/alternative; boundary=" + mw.Boundary()
	if len(m.Attachments) > 0 {
		// multipart/related: the alternative bodies first, then the images
		// the HTML shows inline by Content-ID (RFC 2387).
		alt := body.Bytes()
		var rel bytes.Buffer
		rw := multipart.NewWriter(&rel)
		w, err := rw.CreatePart(textproto.MIMEHeader{"Content-Type": {contentType}})
		if err != nil {
			return nil, "", err
		}
		w.Write(alt)
		for _, a := range m.Attachments {
			hdr := textproto.MIMEHeader{
				"Content-Type":              {mime.FormatMediaType(a.ContentType, map[string]string{"name": a.Filename})},
				"Content-Transfer-Encoding": {"base64"},
				"Content-Disposition":       {mime.FormatMediaType("inline", map[string]string{"filename": a.Filename})},
			}
			if a.ContentID != "" {
				hdr.Set("Content-ID", "<"+a.ContentID+">")
			}
			w, err := rw.CreatePart(hdr)
			if err != nil {
				return nil, "", err
			}
			enc := base64.StdEncoding.EncodeToString(a.Data)
			for len(enc) > 76 {
				fmt.Fprintf(w, "%s\r\n", enc[:76])
				enc = enc[76:]
			}
			fmt.Fprintf(w, "%s\r\n", enc)
		}
		rw.Close()
		body = rel
		contentType = `multipart/related; type="multipart/alternative"; boundary=` + rw.Boundary()
	}
	var out bytes.Buffer
	// alerts.Subject has no CR/LF; Q-encoding keeps non-ASCII subjects valid.
	headers := [][2]string{
		{"From", "Earshot <earshot@localhost>"},
		{"To", "\"" + strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(r.name) + "\" <" + "outbox@localhost>"},
		{"Subject", mime.QEncoding.Encode("utf-8", alerts.Subject(m))},
		{"Date", r.now().UTC().Format(time.RFC1123Z)},
		{"Message-ID", "<" + id[:32] + "@earshot.local>"},
		{"MIME-Version", "1.0"},
		{"Content-Type", contentType},
	}
	for _, kv := range headers {
		fmt.Fprintf(&out, "%s: %s\r\n", kv[0], kv[1])
	}
	out.WriteString("\r\n")
	out.Write(body.Bytes())
	return out.Bytes(), id, nil
}
