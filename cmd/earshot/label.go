package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/storage"
)

func (a *app) labelCmd() *cobra.Command {
	var by, note string
	var aspects []string
	cmd := &cobra.Command{
		Use:   "label MENTION negative|neutral|positive",
		Short: "Tell Earshot what a mention really is (staff feedback the model learns from: earshot train --feedback)",
		Long: `Records a label for a stored mention in the labels table: the sentiment it
really has and, with --aspect, its right aspects (repeat the flag; --aspect ""
clears them). The scorer's own verdict is kept beside it. A later label by the
same person replaces the earlier one.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, label := strings.TrimSpace(args[0]), strings.TrimSpace(args[1])
			if !slices.Contains(storage.LabelValues, label) {
				return usagef("label %q: want negative, neutral or positive", label)
			}
			if strings.TrimSpace(by) == "" {
				return usagef("who labels? (--by)")
			}
			st, done, err := a.readyStore(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			m, ok, err := st.Mention(cmd.Context(), id)
			if err != nil {
				return err
			}
			if !ok {
				return usagef("no mention %q", id)
			}
			l := storage.Label{MentionID: id, Who: strings.TrimSpace(by), At: time.Now().UTC(), Label: label, Brand: m.Brand,
				Location: m.Location, Lang: m.Lang, ScorerVersion: m.ScorerVersion, ScoredNegative: m.Negative,
				ScoredAspects: m.Aspects, Note: note}
			if cmd.Flags().Changed("aspect") {
				l.Corrected = true
				for _, as := range aspects {
					if as = strings.TrimSpace(as); as != "" && !slices.Contains(l.Aspects, as) {
						l.Aspects = append(l.Aspects, as)
					}
				}
			}
			if err := st.InsertLabel(cmd.Context(), l); err != nil {
				return err
			}
			was := "not negative"
			if m.Negative {
				was = "negative"
			}
			fmt.Fprintf(a.stdout, "%s: labelled %s by %s (scored %s, %s)\n", id, label, l.Who, was, m.ScorerVersion)
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who labels (required)")
	cmd.Flags().StringSliceVar(&aspects, "aspect", nil, "the mention's right aspects (repeat; replaces the scored ones)")
	cmd.Flags().StringVar(&note, "note", "", "a note for the record")
	return cmd
}
