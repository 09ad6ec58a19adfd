// Package smtp is the SMTP receiver: alert mails (plain text and HTML,
// inline images) sent through any SMTP server with
// github.com/wneessen/go-mail. STARTTLS is required by default (port 587);
// "implicit" TLS (port 465) and "none" (a local mail catcher such as
// Mailpit) can be chosen. The password comes from the environment
// (password: ${SMTP_PASSWORD}); config refuses one over a clear
// connection.
//
// Temporary failures (4xx replies, network errors) are retryable; a
// connection lost after the message was handed over is reported as
// unknown (it may have been delivered); 5xx replies are final. The
// message's Message-ID is derived from the alert's stable id, so a resend
// carries the same one.
package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/earshot/earshot/alerts"
)

// Receiver sends alert mails over SMTP.
type Receiver struct {
	name string
	o    Options
}

// New returns a receiver; it does no I/O.
func New(name string, o Options) *Receiver {
	return &Receiver{name: name, o: o}
}

// Name implements alerts.Receiver.
func (r *Receiver) Name() string { return r.name }

// Message builds the mail for an alert message.
func (r *Receiver) Message(m alerts.Message) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.FromFormat("Earshot", r.o.From); err != nil {
		return nil, fmt.Errorf("smtp %s: from: %w", r.name, err)
	}
	if err := msg.To(r.o.To...); err != nil {
		return nil, fmt.Errorf("smtp %s: to: %w", r.name, err)
	}
	msg.Subject(alerts.Subject(m)) // one line: no header injection
	msg.SetDate()
	if m.ID != "" {
		msg.SetMessageIDWithValue(m.ID + "@" + domain(r.o.From))
	}
	ids := make([]string, len(m.Cases))
	for i, c := range m.Cases {
		ids[i] = c.ID
	}
	if len(ids) > 0 {
		msg.SetGenHeader("X-Earshot-Cases", strings.Join(ids, ", "))
	}
	html, err := alerts.HTML(m)
	if err != nil {
		return nil, err
	}
	msg.SetBodyString(mail.TypeTextPlain, alerts.Text(m))
	msg.AddAlternativeString(mail.TypeTextHTML, html)
	for _, a := range m.Attachments {
		opts := []mail.FileOption{mail.WithFileContentType(mail.ContentType(a.ContentType))}
		if a.ContentID != "" {
			opts = append(opts, mail.WithFileContentID(a.ContentID))
			err = msg.EmbedReader(a.Filename, bytes.NewReader(a.Data), opts...)
		} else {
			err = msg.AttachReader(a.Filename, bytes.NewReader(a.Data), opts...)
		}
		if err != nil {
			return nil, fmt.Errorf("smtp %s: attach %s: %w", r.name, a.Filename, err)
		}
	}
	return msg, nil
}

// client opens no connection: DialAndSendWithContext does, per attempt.
func (r *Receiver) client() (*mail.Client, error) {
	timeout := r.o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithTimeout(timeout)}
	tc := &tls.Config{ServerName: r.o.Host, MinVersion: tls.VersionTLS12}
	if r.o.CAFile != "" {
		pem, err := os.ReadFile(r.o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("smtp %s: ca_file: %w", r.name, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("smtp %s: ca_file %s: no PEM certificate in it", r.name, r.o.CAFile)
		}
		tc.RootCAs = pool
	}
	port := r.o.Port
	switch r.o.TLS {
	case "implicit":
		opts = append(opts, mail.WithSSL(), mail.WithTLSConfig(tc))
		if port == 0 {
			port = 465
		}
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
		if port == 0 {
			port = 25
		}
	default: // starttls: required, never a silent downgrade
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory), mail.WithTLSConfig(tc))
		if port == 0 {
			port = 587
		}
	}
	opts = append(opts, mail.WithPort(port))
	if r.o.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(r.o.Username),
			mail.WithPassword(r.o.Password.Reveal()))
	}
	c, err := mail.NewClient(r.o.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp %s: %w", r.name, err)
	}
	return c, nil
}

// Send implements alerts.Receiver: one connection, one message.
func (r *Receiver) Send(ctx context.Context, m alerts.Message) (alerts.Delivery, error) {
	msg, err := r.Message(m)
	if err != nil {
		return alerts.Delivery{}, err
	}
	c, err := r.client()
	if err != nil {
		return alerts.Delivery{}, err
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return classify(err), fmt.Errorf("smtp %s: %w", r.name, err)
	}
	return alerts.Delivery{}, nil
}

// classify tells the notifier whether a failure is worth another attempt
// and whether the message may have arrived anyway.
func classify(err error) alerts.Delivery {
	var se *mail.SendError
	if errors.As(err, &se) {
		switch {
		case se.Reason == mail.ErrSMTPDataClose && se.ErrorCode() == 0:
			// The message was written; the server's verdict never came.
			return alerts.Delivery{Retry: true, Unknown: true}
		case se.IsTemp():
			return alerts.Delivery{Retry: true}
		case se.ErrorCode() >= 500:
			return alerts.Delivery{}
		case se.ErrorCode() == 0:
			var ne net.Error
			return alerts.Delivery{Retry: errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)}
		}
		return alerts.Delivery{}
	}
	// Connecting, TLS and authentication: a network failure may pass; a
	// refused certificate or password will not.
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return alerts.Delivery{Retry: true}
	}
	return alerts.Delivery{}
}

func domain(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i+1 < len(addr) {
		return strings.Trim(addr[i+1:], "<> ")
	}
	return "earshot.invalid"
}
