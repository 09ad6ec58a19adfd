package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/internal/textsafe"
	"github.com/earshot/earshot/storage"
)

// trendRow is one line of the report.
type trendRow struct {
	Brand     string  `json:"brand"`
	Location  string  `json:"location"`
	Mentions  uint64  `json:"mentions"`
	Negatives uint64  `json:"negatives"`
	Severe    uint64  `json:"severe"`
	NegShare  float64 `json:"negative_share"`
}

type aspectRow struct {
	Aspect    string `json:"aspect"`
	Negatives uint64 `json:"negatives"`
}

type report struct {
	Since     time.Time   `json:"since"`
	Locations []trendRow  `json:"locations"`
	Languages []langRow   `json:"languages"`
	Aspects   []aspectRow `json:"aspects"`
}

type langRow struct {
	Lang      string `json:"lang"`
	Mentions  uint64 `json:"mentions"`
	Negatives uint64 `json:"negatives"`
}

func (a *app) reportCmd() *cobra.Command {
	var since, format string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Trend summary from the daily trend tables: mentions, negative share, top aspects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a.deferSecrets = true // a report sends nothing
			d, err := config.ParseDuration(since)
			if err != nil {
				return usagef("--since: %v", err)
			}
			if format != "text" && format != "json" {
				return usagef("--format %q: want text or json", format)
			}
			st, done, err := a.readyStore(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			r, err := buildReport(cmd.Context(), st, time.Now().Add(-d))
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
	return cmd
}

func buildReport(ctx context.Context, st *storage.Store, since time.Time) (*report, error) {
	r := &report{Since: since.UTC().Truncate(24 * time.Hour)}
	day := r.Since
	conn := st.Conn()
	rows, err := conn.Query(ctx, `SELECT brand, location, toUInt64(uniqExactMerge(mentions)) AS n,
		toUInt64(uniqExactIfMerge(negatives)) AS neg, toUInt64(uniqExactIfMerge(severe)) AS sev
		FROM trend_daily WHERE day >= toDate(?) GROUP BY brand, location ORDER BY neg DESC, n DESC, brand, location`, day)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	for rows.Next() {
		var t trendRow
		if err := rows.Scan(&t.Brand, &t.Location, &t.Mentions, &t.Negatives, &t.Severe); err != nil {
			rows.Close()
			return nil, fmt.Errorf("report: %w", err)
		}
		if t.Mentions > 0 {
			t.NegShare = float64(t.Negatives) / float64(t.Mentions)
		}
		r.Locations = append(r.Locations, t)
	}
	rows.Close()
	rows, err = conn.Query(ctx, `SELECT lang, toUInt64(uniqExactMerge(mentions)) AS n, toUInt64(uniqExactIfMerge(negatives)) AS neg
		FROM trend_daily WHERE day >= toDate(?) GROUP BY lang ORDER BY n DESC, lang`, day)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	for rows.Next() {
		var l langRow
		if err := rows.Scan(&l.Lang, &l.Mentions, &l.Negatives); err != nil {
			rows.Close()
			return nil, fmt.Errorf("report: %w", err)
		}
		r.Languages = append(r.Languages, l)
	}
	rows.Close()
	rows, err = conn.Query(ctx, `SELECT aspect, toUInt64(uniqExactMerge(negatives)) AS neg
		FROM trend_daily_aspect WHERE day >= toDate(?) GROUP BY aspect ORDER BY neg DESC, aspect LIMIT 10`, day)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var x aspectRow
		if err := rows.Scan(&x.Aspect, &x.Negatives); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		r.Aspects = append(r.Aspects, x)
	}
	return r, rows.Err()
}

func printReport(w io.Writer, r *report) {
	fmt.Fprintf(w, "Trends since %s\n\n", r.Since.Format("2006-01-02"))
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
