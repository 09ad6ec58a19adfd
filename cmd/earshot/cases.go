package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
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
			sla, err := a.slaOf(cmd.Context(), st, cs)
			if err != nil {
				return err
			}
			printCases(out, cs, sla)
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
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: nothing to do\n", cell(err.Error()))
					return nil
				case errors.Is(err, alerts.ErrNoCase):
					return usageError{err}
				case err != nil:
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s by %s\n", cell(c.CaseID), cell(c.State), cell(c.Actor))
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

// printCases writes the case table. Every cell goes through cell: brands,
// locations and ids come from collected pages and import files.
func printCases(w io.Writer, cs []storage.CaseState, sla map[string]string) {
	fmt.Fprintf(w, "%-52s %-13s %-9s %-18s %-12s %-16s %s\n", "CASE", "STATE", "SEVERITY", "BRAND", "LOCATION", "OPENED", "SLA")
	for _, c := range cs {
		fmt.Fprintf(w, "%-52s %-13s %-9s %-18s %-12s %-16s %s\n", cell(c.CaseID), cell(c.State), cell(c.Severity), cell(c.Brand),
			orDash(cell(c.Location)), c.OpenedAt.UTC().Format("2006-01-02 15:04"), orDash(cell(sla[c.CaseID])))
	}
}

// slaOf says where each case stands on its route's SLA clock (see
// alerts.CaseSLA), with the config's routes and business hours.
func (a *app) slaOf(ctx context.Context, st *storage.Store, cs []storage.CaseState) (map[string]string, error) {
	out := map[string]string{}
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	tree, err := alerts.Tree(cfg)
	if err != nil {
		return nil, err
	}
	clocks, err := alerts.Clocks(cfg)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.CaseID
	}
	evs, err := st.CaseEvents(ctx, ids)
	if err != nil {
		return nil, err
	}
	// One read for the page's mentions (their labels pick the route).
	mids := make([]string, len(cs))
	for i, c := range cs {
		mids[i] = c.MentionID
	}
	ms, err := st.MentionHeads(ctx, mids)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	for _, c := range cs {
		m, found := ms[c.MentionID]
		if !found {
			m = mention.Mention{Brand: c.Brand, Location: c.Location, Score: mention.Score{Severity: c.Severity}}
		}
		out[c.CaseID] = alerts.CaseSLA(tree, clocks, m, evs[c.CaseID], now)
	}
	return out, nil
}
