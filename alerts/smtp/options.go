package smtp

import (
	"fmt"
	"strings"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
)

// Options send mail to an SMTP server (a relay, an ISP's submission port,
// Mailpit). TLS is "starttls" (the default: port 587, the upgrade is
// required), "implicit" (port 465) or "none" (port 25 or a local mail
// catcher; then no username: it would travel in clear).
type Options struct {
	Host     string        `yaml:"host"`
	Port     int           `yaml:"port"`
	TLS      string        `yaml:"tls"`
	CAFile   string        `yaml:"ca_file"` // PEM; trusted besides the system's (a private relay)
	Username string        `yaml:"username"`
	Password config.Secret `yaml:"password"` // ${SMTP_PASSWORD}
	From     string        `yaml:"from"`
	To       []string      `yaml:"to"`
	Timeout  time.Duration `yaml:"timeout"` // one attempt; default 30s
}

// Validate implements config's options check.
func (o *Options) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, config.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if o.Host == "" || strings.ContainsAny(o.Host, " /:\r\n") {
		add("host", "required: the SMTP server's host name (the port goes in port)")
	}
	if o.Port < 0 || o.Port > 65535 {
		add("port", "%d is not a port", o.Port)
	}
	switch o.TLS {
	case "", "starttls", "implicit":
	case "none":
		if o.Username != "" || o.Password != "" {
			add("tls", "none would send the password in clear: use starttls or implicit, or drop username and password")
		}
		if o.CAFile != "" {
			add("ca_file", "set, but tls is none")
		}
	default:
		add("tls", "starttls, implicit or none, got %q", o.TLS)
	}
	if (o.Username == "") != (o.Password == "") {
		add("password", "username and password go together: password: ${SMTP_PASSWORD}")
	}
	if !strings.Contains(o.From, "@") || strings.ContainsAny(o.From, "\r\n") {
		add("from", "required: a sender address")
	}
	if len(o.To) == 0 {
		add("to", "required: at least one address")
	}
	for j, a := range o.To {
		if !strings.Contains(a, "@") || strings.ContainsAny(a, "\r\n") {
			add(fmt.Sprintf("to[%d]", j), "%q is not an email address", a)
		}
	}
	return errs
}

// Kind registers the smtp receiver kind.
func Kind() alerts.ReceiverKind {
	return alerts.ReceiverKindOf("smtp", func(env alerts.ReceiverEnv, o *Options) (alerts.Receiver, error) {
		return New(env.Name, *o), nil
	})
}
