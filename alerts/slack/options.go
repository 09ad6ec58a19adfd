package slack

import (
	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
)

// Options are a slack receiver's keys.
type Options struct {
	WebhookURL config.Secret `yaml:"webhook_url"`
	Channel    string        `yaml:"channel"`
}

// Validate implements config's options check.
func (o *Options) Validate() []config.FieldError {
	if o.WebhookURL == "" {
		return []config.FieldError{{Field: "webhook_url", Msg: "required: ${SLACK_WEBHOOK_URL}"}}
	}
	return nil
}

// Kind registers the slack receiver kind.
func Kind() alerts.ReceiverKind {
	return alerts.ReceiverKindOf("slack", func(env alerts.ReceiverEnv, o *Options) (alerts.Receiver, error) {
		return New(env.Name, *o), nil
	})
}
