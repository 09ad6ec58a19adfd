package main

import (
	"io"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/alerts/outbox"
	"github.com/earshot/earshot/alerts/sendgrid"
	"github.com/earshot/earshot/alerts/slack"
	"github.com/earshot/earshot/alerts/smtp"
	"github.com/earshot/earshot/alerts/stdout"
	"github.com/earshot/earshot/alerts/webhook"
	"github.com/earshot/earshot/config"
)

// receiverRegistry lists the receiver kinds this binary knows, built
// explicitly: adding a kind is its folder under alerts/ and one line here.
func receiverRegistry() alerts.ReceiverRegistry {
	return alerts.ReceiverRegistry{
		"outbox":   outbox.Kind(),
		"sendgrid": sendgrid.Kind(),
		"slack":    slack.Kind(),
		"smtp":     smtp.Kind(),
		"stdout":   stdout.Kind(),
		"webhook":  webhook.Kind(),
	}
}

// receivers builds the configured receivers; with none, an outbox.
func receivers(reg alerts.ReceiverRegistry, cfg *config.Config, out io.Writer) (map[string]alerts.Receiver, error) {
	return reg.Build(cfg, alerts.ReceiverEnv{Stdout: out}, func() alerts.Receiver {
		return outbox.New(alerts.DefaultReceiver, "var/outbox")
	})
}

// receiverKinds is the app's receiver registry: receiverRegistry() unless
// a test added a kind.
func (a *app) receiverKinds() alerts.ReceiverRegistry {
	if a.receivers == nil {
		return receiverRegistry()
	}
	return a.receivers
}
