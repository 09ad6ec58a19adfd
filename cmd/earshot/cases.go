package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/alerts"
)

func (a *app) casesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cases", Short: "The service-recovery case workflow: list, ack, hold, resume, resolve"}
	var state, format string
	var limit int
	list := &cobra.Command{
		Use: "list", Short: "List cases, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, done, err := a.readyStore(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			cs, err := st.Cases(cmd.Context(), state, limit)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				for _, c := range cs {
					if err := enc.Encode(c); err != nil {
						return err
					}
				}
				return nil
			}
			fmt.Fprintf(out, "%-52s %-13s %-9s %-18s %-12s %s\n", "CASE", "STATE", "SEVERITY", "BRAND", "LOCATION", "OPENED")
			for _, c := range cs {
				fmt.Fprintf(out, "%-52s %-13s %-9s %-18s %-12s %s\n", c.CaseID, c.State, c.Severity, c.Brand, orDash(c.Location), c.OpenedAt.UTC().Format("2006-01-02 15:04"))
			}
			return nil
		},
	}
	list.Flags().StringVar(&state, "state", "", "open, acknowledged, on_hold or resolved (default: all)")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many")
	list.Flags().StringVar(&format, "format", "text", "text or json")
	cmd.AddCommand(list)
	for _, action := range []string{"ack", "hold", "resume", "resolve"} {
		var by, outcome, note string
		c := &cobra.Command{
			Use:   action + " CASE",
			Short: strings.ToUpper(action[:1]) + action[1:] + " a case",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				st, done, err := a.readyStore(cmd.Context())
				if err != nil {
					return err
				}
				defer done()
				c, err := alerts.Act(cmd.Context(), st, args[0], action, by, outcome, note, time.Now())
				switch {
				case errors.Is(err, alerts.ErrAlready):
					fmt.Fprintf(cmd.ErrOrStderr(), "%v: nothing to do\n", err)
					return nil
				case errors.Is(err, alerts.ErrNoCase):
					return usageError{err}
				case err != nil:
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s by %s\n", c.CaseID, c.State, c.Actor)
				return nil
			},
		}
		c.Flags().StringVar(&by, "by", os.Getenv("USER"), "who acts")
		c.Flags().StringVar(&note, "note", "", "a note for the record")
		if action == "resolve" {
			c.Flags().StringVar(&outcome, "outcome", "", strings.Join(alerts.Outcomes, ", "))
		}
		cmd.AddCommand(c)
	}
	return cmd
}
