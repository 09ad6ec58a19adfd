package sendgrid

import (
	"fmt"
	"strings"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
)

// Options are a sendgrid receiver's keys.
type Options struct {
	APIKey     config.Secret `yaml:"api_key"`
	From       string        `yaml:"from"`
	To         []string      `yaml:"to"`
	BaseURL    string        `yaml:"base_url"`
	TemplateID string        `yaml:"template_id"`
}

// Validate implements config's options check.
func (o *Options) Validate() []config.FieldError {
	var errs []config.FieldError
	if o.APIKey == "" {
		errs = append(errs, config.FieldError{Field: "api_key", Msg: "required: ${SENDGRID_API_KEY}"})
	}
	if !strings.Contains(o.From, "@") {
		errs = append(errs, config.FieldError{Field: "from", Msg: "required: a sender address"})
	}
	if len(o.To) == 0 {
		errs = append(errs, config.FieldError{Field: "to", Msg: "required: at least one address"})
	}
	for j, a := range o.To {
		if !strings.Contains(a, "@") || strings.ContainsAny(a, "\r\n") {
			errs = append(errs, config.FieldError{Field: fmt.Sprintf("to[%d]", j), Msg: fmt.Sprintf("%q is not an email address", a)})
		}
	}
	return errs
}

// Kind registers the sendgrid receiver kind.
func Kind() alerts.ReceiverKind {
	return alerts.ReceiverKindOf("sendgrid", func(env alerts.ReceiverEnv, o *Options) (alerts.Receiver, error) {
		return New(env.Name, *o), nil
	})
}
