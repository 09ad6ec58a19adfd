package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/scoring"
)

// scorer builds the text scorer from the config's scoring section (all
// languages and defaults without a config).
func (a *app) scorer(cfg *config.Config, hist scoring.History) (*scoring.Scorer, error) {
	opts := scoring.Options{Entities: true, History: hist}
	if cfg != nil {
		opts.Languages = cfg.Scoring.Languages
		opts.MinConfidence = cfg.Scoring.MinConfidence
		opts.Rules = cfg.Scoring.Rules
	}
	return scoring.New(opts)
}

// configScorer is the scorer of the config, when there is one (its
// languages and brand rules), else the default scorer.
func (a *app) configScorer() (*scoring.Scorer, error) {
	cfg, err := a.optionalConfig()
	if err != nil {
		return nil, err
	}
	return a.scorer(cfg, nil)
}

func (a *app) scoreCmd() *cobra.Command {
	var lang, brand string
	cmd := &cobra.Command{
		Use:   "score [TEXT...]",
		Short: "Score texts, or JSONL mentions on stdin: one JSON line out per input",
		Long: `Scores each TEXT argument, or with none each JSONL mention on stdin (at least
id and text; lang, rating, rating_max, brand optional), and writes one JSON line
per input: the mention fields it got plus sentiment, negative, severity, aspects,
signals, reasons and scorer_version. A bad input line is reported on stderr
with its line number and skipped; the exit code is then 1.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.configScorer()
			if err != nil {
				return err
			}
			out := bufio.NewWriter(a.stdout)
			defer out.Flush()
			enc := json.NewEncoder(out)
			enc.SetEscapeHTML(false)
			emit := func(m *mention.Mention) error {
				if m.Lang == "" && lang != "" {
					m.Lang = lang
				}
				if m.Brand == "" {
					m.Brand = brand
				}
				s.ScoreMention(m)
				return enc.Encode(m)
			}
			if len(args) > 0 {
				for i, t := range args {
					m := mention.Mention{ID: fmt.Sprintf("arg:%d", i+1), Text: strings.ToValidUTF8(t, "\uFFFD")}
					if err := emit(&m); err != nil {
						return err
					}
				}
				return nil
			}
			sc := bufio.NewScanner(cmd.InOrStdin())
			sc.Buffer(make([]byte, 64<<10), 16<<20)
			line, bad := 0, 0
			for sc.Scan() {
				line++
				if strings.TrimSpace(sc.Text()) == "" {
					continue
				}
				var m mention.Mention
				err := json.Unmarshal(sc.Bytes(), &m)
				if err == nil {
					valid := m // validate a copy: the output keeps the fields as given
					err = valid.Normalize(time.Now())
				}
				if err != nil {
					bad++
					fmt.Fprintf(a.stderr, "stdin:%d: skipped: %v\n", line, err)
					continue
				}
				if err := emit(&m); err != nil {
					return err
				}
			}
			if err := sc.Err(); err != nil {
				return fmt.Errorf("score: stdin line %d: %w", line+1, err)
			}
			if bad > 0 {
				return fmt.Errorf("score: %d of %d lines skipped", bad, line)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&lang, "lang", "", "language of inputs that carry none (default: detect)")
	cmd.Flags().StringVar(&brand, "brand", "", "brand of inputs that carry none (selects its scoring rules)")
	return cmd
}

func (a *app) evalCmd() *cobra.Command {
	var sources bool
	cmd := &cobra.Command{
		Use:   "eval PATH...",
		Short: "Score labelled JSONL sets (id, text, label) and print precision, recall and F1 of the negative class per language",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.configScorer()
			if err != nil {
				return err
			}
			var items []scoring.Labelled
			for _, p := range args {
				it, err := scoring.ReadLabelled(p)
				if err != nil {
					if os.IsNotExist(err) {
						return usagef("eval: %v", err)
					}
					return err
				}
				items = append(items, it...)
			}
			rs, err := scoring.Evaluate(cmd.Context(), s, items)
			if err != nil {
				return err
			}
			scoring.WriteReport(a.stdout, rs, sources)
			return nil
		},
	}
	cmd.Flags().BoolVar(&sources, "sources", false, "also break each language down by source (the id prefix)")
	return cmd
}
