package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/web"
)

func (a *app) casesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cases", Short: "The service-recovery case workflow: list, ack, hold, resume, resolve",
		// Reading and acting on cases sends nothing: the senders' secrets
		// need not be set.
		// (cobra runs only the nearest persistent hook: logging is set up
		// here too.)
		PersistentPreRunE: func(*cobra.Command, []string) error { a.deferSecrets = true; return a.setupLogging() }}
	var state, format string
	var limit int
	list := &cobra.Command{
		Use: "list", Short: "List cases, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usagef("--format %q: want text or json", format)
			}
			if limit < 1 {
				return usagef("--limit %d: want 1 or more", limit)
			}
			switch state {
			case "", "open", "acknowledged", "on_hold", "resolved", "active":
			default:
				return usagef("--state %q: want open, acknowledged, on_hold, resolved or active", state)
			}
			svc, done, err := a.caseService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			list, err := svc.List(cmd.Context(), cliUser(""), web.Filter{State: state, Sort: "newest", PerPage: limit})
			if err != nil {
				return caseError(err)
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out) // one case per line, with the API's keys
				for _, c := range list.Cases {
					if err := enc.Encode(c); err != nil {
						return err
					}
				}
				return nil
			}
			cs := make([]storage.CaseState, len(list.Cases))
			sla := map[string]string{}
			for i, c := range list.Cases {
				cs[i] = storage.CaseState{CaseID: c.ID, State: c.State, Severity: c.Severity, Brand: c.Brand, Location: c.Location, OpenedAt: c.OpenedAt}
				sla[c.ID] = c.SLA
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
			Use:   action + " CASE...",
			Short: strings.ToUpper(action[:1]) + action[1:] + " cases (each named by its id or a unique prefix; at most 100)",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				// Flags first: a usage error needs no store.
				if strings.TrimSpace(by) == "" {
					return usagef("who acts? (--by)")
				}
				if action == "resolve" && !slices.Contains(alerts.Outcomes, outcome) {
					return usagef("--outcome %q: want one of %s", outcome, strings.Join(alerts.Outcomes, ", "))
				}
				svc, done, err := a.caseService(cmd.Context())
				if err != nil {
					return err
				}
				defer done()
				if len(args) > 1 {
					return actMany(cmd, svc, cliUser(by), args, action, web.ActInput{Outcome: outcome, Note: note})
				}
				c, err := svc.Act(cmd.Context(), cliUser(by), args[0], action, web.ActInput{Outcome: outcome, Note: note})
				switch {
				case errors.Is(err, web.ErrConflict):
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: nothing to do\n", cell(err.Error()))
					return nil
				case err != nil:
					return caseError(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s by %s\n", cell(c.ID), cell(c.State), cell(c.Actor))
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
	cmd.AddCommand(a.caseShowCmd())
	return cmd
}

// actMany acts on several cases: a line for each, and exit 1 when any
// could not be acted on (the others are done all the same).
func actMany(cmd *cobra.Command, svc *web.Service, u web.User, refs []string, action string, in web.ActInput) error {
	res, err := svc.ActMany(cmd.Context(), u, refs, action, in)
	for _, it := range res.Cases {
		switch it.Result {
		case "done":
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s by %s\n", cell(it.ID), cell(it.State), cell(u.Name))
		case "unchanged":
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: nothing to do (%s)\n", cell(it.ID), cell(it.Error))
		default:
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", cell(it.Case), cell(it.Error))
		}
	}
	if err != nil {
		return caseError(err)
	}
	if res.Failed > 0 {
		return fmt.Errorf("%s: %d of %d cases could not be acted on", action, res.Failed, len(res.Cases))
	}
	return nil
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
