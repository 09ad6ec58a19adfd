package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/internal/textsafe"
	"github.com/earshot/earshot/web"
)

// caseService opens the store and the case workflow the web inbox uses,
// so the CLI and the API share one code path.
func (a *app) caseService(ctx context.Context) (*web.Service, func(), error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	st, done, err := a.readyStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	svc, err := web.NewService(st, cfg)
	if err != nil {
		done()
		return nil, nil, err
	}
	return svc, done, nil
}

// cliUser is the shell's operator: whoever can run earshot with the
// config reads the database directly, so the scope is everything.
func cliUser(name string) web.User { return web.User{Name: strings.TrimSpace(name), Role: "admin"} }

// caseError makes "no such case" and bad input usage errors (exit 2).
func caseError(err error) error {
	var br web.BadRequest
	if errors.Is(err, web.ErrNotFound) || errors.As(err, &br) {
		return usageError{err}
	}
	return err
}

func (a *app) caseShowCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show CASE",
		Short: "Show a case as its inbox page does: the review, why it was flagged, the suggested reply, history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usagef("--format %q: want text or json", format)
			}
			svc, done, err := a.caseService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			d, err := svc.Get(cmd.Context(), cliUser(""), args[0])
			if err != nil {
				return caseError(err)
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(d)
			}
			printCase(cmd.OutOrStdout(), d)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}

// printCase writes a case as text; stored text goes through textsafe so
// that no escape sequence reaches the terminal.
func printCase(w io.Writer, d web.CaseDetail) {
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-10s %s\n", k+":", cell(v))
		}
	}
	line("Case", d.ID)
	line("State", d.State+map[bool]string{true: " (" + d.Actor + ")", false: ""}[d.Actor != ""])
	line("Severity", d.Severity)
	line("Where", strings.Trim(d.Brand+" · "+d.Location, " ·"))
	line("Assigned", d.Assignee)
	line("SLA", d.SLA)
	line("Opened", d.OpenedAt.Format("2006-01-02 15:04 UTC"))
	line("Source", d.Source+" ("+web.LangName(d.Lang)+")")
	line("Author", d.Author)
	if d.RatingMax > 0 && d.Rating > 0 {
		line("Rating", fmt.Sprintf("%g/%g", d.Rating, d.RatingMax))
	}
	line("Original", d.URL)
	fmt.Fprintln(w)
	if d.Title != "" {
		fmt.Fprintln(w, textsafe.Line(d.Title))
	}
	for _, l := range strings.Split(d.Text, "\n") {
		fmt.Fprintln(w, "  "+textsafe.Line(l))
	}
	fmt.Fprintln(w, "\nWhy it was flagged:")
	for _, s := range d.Why {
		fmt.Fprintln(w, "  - "+textsafe.Line(s))
	}
	if d.ReplyAdvice != "" {
		fmt.Fprintln(w, "\nAdvice: "+textsafe.Line(d.ReplyAdvice))
	}
	fmt.Fprintf(w, "\nSuggested reply (%s):\n", web.LangName(d.ReplyLang))
	for _, l := range strings.Split(d.SuggestedReply, "\n") {
		fmt.Fprintln(w, "  "+textsafe.Line(l))
	}
	if len(d.Related) > 0 {
		fmt.Fprintln(w, "\nRelated:")
		for _, r := range d.Related {
			fmt.Fprintf(w, "  %s %s %s: %s\n", r.PublishedAt.Format("2006-01-02"), cell(r.Why), cell(r.Source), cell(r.Excerpt))
		}
	}
	fmt.Fprintln(w, "\nHistory:")
	for _, h := range d.History {
		s := h.Text
		if h.Note != "" {
			s += ": " + h.Note
		}
		fmt.Fprintf(w, "  %s  %s\n", h.At.Format("2006-01-02 15:04"), cell(s))
	}
}
