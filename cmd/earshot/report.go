package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/internal/textsafe"
	"github.com/earshot/earshot/storage"
)

// The report's rows live in storage (storage.Report): cmd has no SQL.
type (
	report    = storage.Report
	trendRow  = storage.LocationRow
	langRow   = storage.LangRow
	aspectRow = storage.AspectRow
)

func (a *app) reportCmd() *cobra.Command {
	var since, format, countBy string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Trend summary from the trend tables: mentions, negative share, top aspects",
		Long: "Counts mentions per brand and location, per language, and the top aspects of negative ones, from\n" +
			"--since ago (from that day's midnight, UTC). --count-by published (the default) puts a mention on\n" +
			"the day the site dates it; --count-by collected on the day earshot stored it: what was discovered\n" +
			"in the period, however old the review (an imported export, a site that shows old reviews).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a.deferSecrets = true // a report sends nothing
			d, err := config.ParseDuration(since)
			if err != nil {
				return usagef("--since: %v", err)
			}
			if format != "text" && format != "json" {
				return usagef("--format %q: want text or json", format)
			}
			by, err := storage.ParseCountBy(countBy)
			if err != nil {
				return usagef("--count-by %v", err)
			}
			st, done, err := a.readyStore(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			r, err := st.Report(cmd.Context(), a.clock().Add(-d), by)
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			printReport(cmd.OutOrStdout(), r)
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "7d", "how far back, e.g. 24h, 7d, 30d")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	cmd.Flags().StringVar(&countBy, "count-by", "published", "which time puts a mention in the period: published or collected")
	return cmd
}

func printReport(w io.Writer, r *report) {
	fmt.Fprintf(w, "Trends since %s, mentions counted %s\n\n", r.Since.Format("2006-01-02"), r.CountBy.Phrase())
	fmt.Fprintf(w, "%-26s %-12s %9s %9s %7s %7s\n", "BRAND", "LOCATION", "MENTIONS", "NEGATIVE", "SHARE", "SEVERE")
	for _, t := range r.Locations {
		fmt.Fprintf(w, "%-26s %-12s %9d %9d %6.0f%% %7d\n", cell(t.Brand), orDash(cell(t.Location)), t.Mentions, t.Negatives, 100*t.NegShare, t.Severe)
	}
	if len(r.Locations) == 0 {
		fmt.Fprintln(w, "(no mentions in this period)")
	}
	fmt.Fprintf(w, "\n%-6s %9s %9s\n", "LANG", "MENTIONS", "NEGATIVE")
	for _, l := range r.Languages {
		fmt.Fprintf(w, "%-6s %9d %9d\n", orDash(cell(l.Lang)), l.Mentions, l.Negatives)
	}
	if len(r.Aspects) > 0 {
		fmt.Fprintf(w, "\nTop aspects of negative mentions\n")
		for _, x := range r.Aspects {
			fmt.Fprintf(w, "  %-16s %d\n", cell(x.Aspect), x.Negatives)
		}
	}
}

// cell makes stored text safe for one cell of a terminal table: brands,
// locations and languages come from collected pages and import files, and
// an escape sequence in one could clear, recolour or retitle the analyst's
// terminal, a line break forge rows, a bidi override reorder a line.
func cell(s string) string { return textsafe.Line(s) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
