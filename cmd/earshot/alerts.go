package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/storage"
)

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
			rs, err := receivers(a.receiverKinds(), cfg, cmd.OutOrStdout())
			if err != nil {
				return err
			}
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
	cmd.AddCommand(a.stormsCmd(), a.digestCmd())
	return cmd
}

// stormsCmd shows the storm detector's view: per brand and location, and per
// brand and aspect, the current window against its baseline.
func (a *app) stormsCmd() *cobra.Command {
	var send, all bool
	cmd := &cobra.Command{
		Use:   "storms",
		Short: "Show negative volume against its baseline per location and aspect; --send alerts the storms found",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if len(cfg.Storms) == 0 {
				return usagef("%s has no storms: section", cfg.File())
			}
			out := cmd.OutOrStdout()
			if send {
				n, _, done, err := a.notifier(cmd.Context())
				if err != nil {
					return err
				}
				defer done()
				storms, err := n.CheckStorms(cmd.Context())
				for _, st := range storms {
					fmt.Fprintf(out, "storm %s: %d negative mentions (mean %.1f, stddev %.1f), %d cases, sent to %s\n",
						st.Key, st.Count, st.Mean, st.Stddev, len(st.CaseIDs), st.Receiver)
				}
				if len(storms) == 0 && err == nil {
					fmt.Fprintln(out, "no new storm")
				}
				return err
			}
			st, done, err := a.readyStore(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			end := time.Now().Truncate(time.Minute).Add(time.Minute)
			for i, o := range cfg.Storms {
				buckets, err := st.NegativeBuckets(cmd.Context(), end, o.Window, o.Baselines)
				if err != nil {
					return err
				}
				keys := make([]storage.StormKey, 0, len(buckets))
				for k := range buckets {
					keys = append(keys, k)
				}
				slices.SortFunc(keys, func(x, y storage.StormKey) int { return cmp.Compare(x.String(), y.String()) })
				if i > 0 {
					fmt.Fprintln(out)
				}
				fmt.Fprintf(out, "window %s, baseline %d windows before, storm when count >= %d, > mean + %g*stddev and >= %g*mean\n\n",
					o.Window, o.Baselines, o.MinCount, o.K, o.Ratio)
				fmt.Fprintf(out, "%-40s %6s %7s %7s %s\n", "KEY", "COUNT", "MEAN", "STDDEV", "STORM")
				for _, k := range keys {
					s, storm := alerts.Detect(buckets[k], o)
					if s.Count == 0 && !all {
						continue
					}
					flag := ""
					if storm {
						flag = "yes"
					}
					fmt.Fprintf(out, "%-40s %6d %7.1f %7.1f %s\n", k, s.Count, s.Mean, s.Stddev, flag)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&send, "send", false, "run the check now: alert new storms (cooldown applies) to the storms receiver")
	cmd.Flags().BoolVar(&all, "all", false, "also list keys with nothing in the current window")
	return cmd
}

// notifier builds the pipeline and returns its notifier and store, for
// the alerts commands that act like `earshot run` would.
func (a *app) notifier(ctx context.Context) (*alerts.Notifier, *stack, func(), error) {
	s, err := a.pipeline(ctx, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	return s.n, s, s.close, nil
}

// digestCmd previews or sends a receiver's digest now.
func (a *app) digestCmd() *cobra.Command {
	var period, brand, format, countBy string
	var send bool
	cmd := &cobra.Command{
		Use:   "digest RECEIVER",
		Short: "Show a receiver's digest for the period ending now (--send: send it; --format html or png to look at it)",
		Long: "Show a receiver's digest for the period ending now, with the configured digest's settings unless\n" +
			"flags override them. --count-by published (the default) counts mentions in the period the site\n" +
			"dates them; --count-by collected counts what earshot found in it, however old (imports, the demo).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := storage.ParseCountBy(countBy); err != nil {
				return usagef("--count-by %v", err) // before ClickHouse: a usage error is one line, exit 2
			}
			n, stk, done, err := a.notifier(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			p, ds := stk.p, stk.st
			if _, ok := n.Receivers[args[0]]; !ok {
				return usagef("no receiver %q in %s", args[0], p.Config.File())
			}
			d := config.Digest{Receiver: args[0], Period: period, Brand: brand}
			for _, c := range p.Config.Digests { // the configured digest's settings, unless overridden
				if c.Receiver == d.Receiver && !cmd.Flags().Changed("period") && !cmd.Flags().Changed("brand") {
					d = c
					break
				}
			}
			if cmd.Flags().Changed("count-by") {
				d.CountBy = countBy
			}
			if d.Period != "daily" && d.Period != "weekly" {
				return usagef("--period: want daily or weekly, got %q", d.Period)
			}
			end := a.clock().Truncate(time.Minute)
			if send {
				sent, err := n.SendDigest(cmd.Context(), ds, d, end)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "digest for %s: sent %v\n", d.Receiver, sent)
				return nil
			}
			msg, err := n.BuildDigest(cmd.Context(), ds, d, end)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch format {
			case "text":
				fmt.Fprintf(out, "Subject: %s\n\n%s", alerts.Subject(msg), alerts.Text(msg))
			case "html":
				h, err := alerts.HTML(msg)
				if err != nil {
					return err
				}
				fmt.Fprint(out, h)
			case "png":
				_, err := out.Write(msg.Attachments[0].Data)
				return err
			default:
				return usagef("--format: want text, html or png, got %q", format)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&period, "period", "daily", "daily or weekly")
	cmd.Flags().StringVar(&brand, "brand", "", "one brand (default: all)")
	cmd.Flags().StringVar(&format, "format", "text", "text, html or png (the trend chart)")
	cmd.Flags().StringVar(&countBy, "count-by", "published", "which time puts a mention in the period: published or collected")
	cmd.Flags().BoolVar(&send, "send", false, "send it to the receiver (once per period and minute)")
	return cmd
}

// The store is the case book `run` serves links from; keep it so.
var (
	_ alerts.CaseBook        = (*storage.Store)(nil)
	_ alerts.EscalationStore = (*storage.Store)(nil)
	_ alerts.StormStore      = (*storage.Store)(nil)
	_ alerts.DigestStore     = (*storage.Store)(nil)
)
