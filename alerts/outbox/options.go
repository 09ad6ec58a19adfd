package outbox

import "github.com/earshot/earshot/alerts"

// Options are an outbox receiver's keys.
type Options struct {
	Dir string `yaml:"dir"` // default var/outbox
}

// Kind registers the outbox receiver kind.
func Kind() alerts.ReceiverKind {
	return alerts.ReceiverKindOf("outbox", func(env alerts.ReceiverEnv, o *Options) (alerts.Receiver, error) {
		return New(env.Name, o.Dir), nil
	})
}
