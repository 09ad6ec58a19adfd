package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/alerts/outbox"
	"github.com/earshot/earshot/alerts/sendgrid"
	"github.com/earshot/earshot/alerts/slack"
	"github.com/earshot/earshot/alerts/stdout"
	"github.com/earshot/earshot/alerts/webhook"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/storage"
)

// receivers builds the configured receivers; with none, an outbox.
func receivers(cfg *config.Config, out io.Writer) map[string]alerts.Receiver {
	rs := map[string]alerts.Receiver{}
	for _, r := range cfg.Receivers {
		switch o := r.Options.(type) {
		case *config.SendGridOptions:
			rs[r.Name] = sendgrid.New(r.Name, *o)
		case *config.SlackOptions:
			rs[r.Name] = slack.New(r.Name, *o)
		case *config.WebhookOptions:
			rs[r.Name] = webhook.New(r.Name, *o)
		case *config.OutboxOptions:
			rs[r.Name] = outbox.New(r.Name, o.Dir)
		case *config.StdoutOptions:
			rs[r.Name] = stdout.New(r.Name, o.Format, out)
		}
	}
	if len(rs) == 0 {
		rs[alerts.DefaultReceiver] = outbox.New(alerts.DefaultReceiver, "var/outbox")
	}
	return rs
}

// signer makes the one-click links, when server.link_key is set.
func signer(cfg *config.Config) *alerts.Signer {
	if cfg.Server.LinkKey == "" {
		return nil
	}
	return &alerts.Signer{Key: []byte(cfg.Server.LinkKey.Reveal()), BaseURL: cfg.Server.BaseURL, TTL: cfg.Server.LinkTTL}
}

func (a *app) alertsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "alerts", Short: "Alert receivers"}
	cmd.AddCommand(&cobra.Command{
		Use:   "test RECEIVER",
		Short: "Send a sample alert, marked as a test, through one receiver",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			rs := receivers(cfg, cmd.OutOrStdout())
			r, ok := rs[args[0]]
			if !ok {
				names := make([]string, 0, len(rs))
				for n := range rs {
					names = append(names, n)
				}
				return usagef("no receiver %q in %s (have: %v)", args[0], cfg.File(), names)
			}
			msg := alerts.Sample(time.Now())
			msg.Receiver = r.Name()
			d, err := r.Send(cmd.Context(), msg)
			if err != nil {
				return fmt.Errorf("alerts test %s: %w (retryable: %v)", r.Name(), err, d.Retry)
			}
			status := "sent"
			if d.HTTPStatus != 0 {
				status = fmt.Sprintf("sent (HTTP %d)", d.HTTPStatus)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "alerts test %s: %s\n", r.Name(), status)
			return nil
		},
	})
	return cmd
}

// The store is the case book `run` serves links from; keep it so.
var (
	_ alerts.CaseBook        = (*storage.Store)(nil)
	_ alerts.EscalationStore = (*storage.Store)(nil)
)
