package webhook

import (
	"strings"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
)

// Options are a webhook receiver's keys.
type Options struct {
	URL    string        `yaml:"url"`
	Secret config.Secret `yaml:"secret"`
	// Headers that carry a credential must be ${VAR}: config checks the
	// text as written (config.Headers).
	Headers config.Headers `yaml:"headers"`
	// Timeout bounds one attempt (default 15s); an attempt that runs out
	// after the request went out is recorded as "unknown".
	Timeout time.Duration `yaml:"timeout"`
}

// Validate implements config's options check.
func (o *Options) Validate() []config.FieldError {
	if !strings.HasPrefix(o.URL, "http://") && !strings.HasPrefix(o.URL, "https://") {
		return []config.FieldError{{Field: "url", Msg: "required: an http(s) URL"}}
	}
	return nil
}

// Kind registers the webhook receiver kind.
func Kind() alerts.ReceiverKind {
	return alerts.ReceiverKindOf("webhook", func(env alerts.ReceiverEnv, o *Options) (alerts.Receiver, error) {
		return New(env.Name, *o), nil
	})
}
