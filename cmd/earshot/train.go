package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/scoring"
	"github.com/earshot/earshot/scoring/model"
	"github.com/earshot/earshot/storage"
)

// trainFlags are earshot train's settings.
type trainFlags struct {
	out      string
	name     string
	compare  float64
	cross    int
	sources  bool
	feedback bool
	brand    string
	prev     string
	only     []string
	rollback bool
	bits     int
	cfg      model.Config
}

func (a *app) trainCmd() *cobra.Command {
	var f trainFlags
	cmd := &cobra.Command{
		Use:   "train [FILE...] --out MODEL",
		Short: "Train the learned scorer from labelled JSONL ({text, label[, lang, rating]}) and, with --feedback, staff labels",
		Long: `Trains the model that scoring combines with the lexicons: a logistic regression
over hashed word 1-2-grams and character 2-5-grams, and a calibrated combiner
that weighs it against the lexicon's evidence per language. FILE is JSONL with
one {text, label[, id, lang, rating, rating_max]} per line (label negative,
neutral or positive), a directory of *.jsonl, or a glob.

--compare SHARE trains on all but a deterministic SHARE of the items and prints
F1 of the negative class on the rest, per language (and --sources: per id
prefix), for the lexicons alone, the model alone and both combined.
--cross K does the same with every item held out once: K models, each trained
on all but one of K folds, the counts pooled (about half the noise of a 30%
split; the K trainings run side by side).

--feedback adds the staff labels stored in ClickHouse (earshot label, the
inbox, "not a complaint" links) to FILE... (default: the shipped training data
is not on disk, so name it), holds a part of the labels back, prints F1 on
them before (the model in use) and after, and writes --out only when the new
model is not worse there.

earshot run retrains on its own: every hour the dispatching process trains
on the labels when at least 50 new ones arrived (plus the shipped data that
EARSHOT_TRAIN_DATA names) and promotes the candidate only when it is not
worse on held-back labels, keeping the model it replaced beside it. Both are
published in ClickHouse (table models) and every earshot run follows within a
minute, on any machine (each keeps a copy under var/models, beside
clickhouse.spool_dir). --rollback [--brand B] puts that previous model back,
everywhere (it needs ClickHouse: a rollback only one machine saw would be
undone by the others).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.bits != 0 {
				// Only the hash size: the other settings stay the defaults
				// (a zero Features would mean no n-grams at all).
				f.cfg.Features = model.DefaultFeatures
				f.cfg.Features.Bits = f.bits
			}
			if f.rollback {
				if len(args) > 0 || f.feedback || f.out != "" {
					return usagef("train --rollback takes no FILE, --feedback or --out")
				}
				return a.rollback(cmd.Context(), f.brand)
			}
			if f.feedback {
				return a.trainFeedback(cmd, args, f)
			}
			if len(args) == 0 {
				return usagef("train: name at least one labelled JSONL file")
			}
			if f.out == "" && f.compare == 0 && f.cross == 0 {
				return usagef("train: --out MODEL is required (or --compare SHARE, --cross K)")
			}
			if f.compare > 0 && f.cross != 0 {
				return usagef("train: --compare and --cross: choose one")
			}
			if f.cross == 1 || f.cross < 0 || f.cross > 20 {
				return usagef("train: --cross %d: want 2 to 20 folds", f.cross)
			}
			items, files, err := model.ReadItems(args...)
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return usagef("train: %v", err)
				}
				return err
			}
			if items = onlySources(items, f.only); len(items) == 0 {
				return usagef("train: no items from sources %v", f.only)
			}
			lex, err := a.lexiconScorer()
			if err != nil {
				return err
			}
			cfg := f.cfg
			cfg.Name, cfg.Files, cfg.Log = f.name, baseNames(files), a.log
			if f.compare > 0 {
				if f.compare >= 1 {
					return usagef("train: --compare %g: want a share between 0 and 1", f.compare)
				}
				c, err := scoring.CompareModel(cmd.Context(), lex, items, f.compare, cfg)
				if err != nil {
					return err
				}
				scoring.WriteComparison(a.stdout, c, f.sources)
				return nil
			}
			if f.cross > 0 {
				c, err := scoring.CrossCompare(cmd.Context(), lex, items, f.cross, cfg)
				if err != nil {
					return err
				}
				scoring.WriteComparison(a.stdout, c, f.sources)
				return nil
			}
			md, err := model.Train(cmd.Context(), items, cfg, func(it model.Item) model.Evidence { return lex.Evidence(it.Text, "") })
			if err != nil {
				return err
			}
			if err := md.Save(f.out); err != nil {
				return err
			}
			return writeModelSummary(a, md, f.out)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "where to write the model file")
	fl.StringVar(&f.name, "name", "custom", "the model's name (scorer_version shows it with a digest)")
	fl.Float64Var(&f.compare, "compare", 0, "train on all but this share of the items and print lexicon/model/combined F1 on the rest")
	fl.IntVar(&f.cross, "cross", 0, "train K models, each on all but one of K folds, and print lexicon/model/combined F1 with every item held out once")
	fl.BoolVar(&f.sources, "sources", false, "with --compare or --cross: also per source (the id prefix)")
	fl.BoolVar(&f.feedback, "feedback", false, "add the staff labels from ClickHouse; promote only a model not worse on held-back labels")
	fl.StringVar(&f.brand, "brand", "", "with --feedback: this brand's labels only (a per-brand model, config scoring.models); with --rollback: that brand's model")
	fl.BoolVar(&f.rollback, "rollback", false, "put the model that earshot run's retraining replaced back into use")
	fl.StringVar(&f.prev, "model", "", `with --feedback: the model in use to beat (default: scoring.models[--brand], scoring.model, else built in; "none": lexicons)`)
	fl.StringSliceVar(&f.only, "only", nil, "train only on items whose id prefix (before ':') is one of these")
	fl.Uint64Var(&f.cfg.Seed, "seed", 13, "random seed (the same data and seed give the same model)")
	fl.IntVar(&f.cfg.Epochs, "epochs", 0, "passes over the data (default 8)")
	fl.IntVar(&f.bits, "bits", 0, "feature hash size as a power of two (default 19)")
	fl.Float64Var(&f.cfg.L2, "l2", 0, "L2 regularisation (default 3e-4)")
	fl.Float64Var(&f.cfg.LR, "lr", 0, "AdaGrad learning rate (default 0.05)")
	return cmd
}

// lexiconScorer is the config's scorer without a model: the evidence a
// model is trained on.
func (a *app) lexiconScorer() (*scoring.Scorer, error) {
	cfg, err := a.optionalConfig()
	if err != nil {
		return nil, err
	}
	opts := scoring.Options{}
	if cfg != nil {
		opts.Languages = cfg.Scoring.Languages
		opts.MinConfidence = cfg.Scoring.MinConfidence
		opts.Rules = cfg.Scoring.Rules
	}
	return scoring.New(opts)
}

func baseNames(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f
		for j := len(f) - 1; j >= 0; j-- {
			if f[j] == '/' {
				out[i] = f[j+1:]
				break
			}
		}
	}
	return out
}

// writeModelSummary prints what was trained and its cross-fitted figures.
func writeModelSummary(a *app, md *model.Model, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	fmt.Fprintf(a.stdout, "wrote %s: %s, %d items, %d bytes\n", path, md.ID(), md.Meta.Training.Items, st.Size())
	fmt.Fprintf(a.stdout, "%-6s %6s %8s %8s %9s %6s   (cross-fitted on the training data)\n", "lang", "n", "lexicon", "model", "combined", "brier")
	for _, l := range sortedLangs(md.Meta.Eval) {
		e := md.Meta.Eval[l]
		fmt.Fprintf(a.stdout, "%-6s %6d %8.3f %8.3f %9.3f %6.3f\n", l, e.N, e.Lexicon, e.Model, e.Combined, e.Brier)
	}
	return nil
}

func sortedLangs(m map[string]model.Figures) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

// onlySources keeps the items of the named id prefixes (all when none).
func onlySources(items []model.Item, only []string) []model.Item {
	if len(only) == 0 {
		return items
	}
	var out []model.Item
	for _, it := range items {
		for _, o := range only {
			if it.Source() == o {
				out = append(out, it)
				break
			}
		}
	}
	return out
}

// trainFeedback trains on FILE... plus the stored staff labels and writes
// --out only when the candidate is not worse than the model in use on the
// held-back labels.
func (a *app) trainFeedback(cmd *cobra.Command, args []string, f trainFlags) error {
	if f.out == "" {
		return usagef("train --feedback: --out MODEL is required")
	}
	var base []model.Item
	var files []string
	if len(args) > 0 {
		var err error
		if base, files, err = model.ReadItems(args...); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return usagef("train: %v", err)
			}
			return err
		}
		if base = onlySources(base, f.only); len(base) == 0 {
			return usagef("train: no items from sources %v", f.only)
		}
	}
	cfg, err := a.optionalConfig()
	if err != nil {
		return err
	}
	prevPath := f.prev
	if prevPath == "" && cfg != nil {
		prevPath = cfg.Scoring.Model
		if p := cfg.Scoring.Models[f.brand]; f.brand != "" && p != "" {
			prevPath = p
		}
	}
	var prev *model.Model
	switch prevPath {
	case "none":
	case "":
		prev, err = model.Default()
	default:
		prev, err = model.Load(prevPath)
	}
	if err != nil {
		return err
	}
	lex, err := a.lexiconScorer()
	if err != nil {
		return err
	}
	st, done, err := a.readyStore(cmd.Context())
	if err != nil {
		return err
	}
	defer done()
	labels, err := storeLabels{st}.Labelled(cmd.Context(), f.brand)
	if err != nil {
		return err
	}
	if len(labels) == 0 {
		return fmt.Errorf("train --feedback: no labelled mentions%s (earshot label, the inbox)", forBrand(f.brand))
	}
	tc := f.cfg
	tc.Name, tc.Files, tc.Log = f.name, baseNames(files), a.log
	if tc.Name == "custom" {
		tc.Name = "feedback"
	}
	if len(base) == 0 {
		// The built-in model's data is not in the binary: staff labels
		// alone teach a language only from MinLangItems of them on.
		a.log.Warn("train --feedback: training on the staff labels alone; name labelled JSONL (the shipped sets) as FILE to keep what the model knows", "labels", len(labels))
	}
	md, ff, err := model.TrainFeedback(cmd.Context(), base, labels, prev, tc, func(it model.Item) model.Evidence { return lex.Evidence(it.Text, "") })
	if errors.Is(err, model.ErrTooFew) && len(base) == 0 {
		// A quarter of the labels are held back to judge the model, and a
		// language needs model.MinLangItems texts before the model speaks.
		return usagef("train --feedback: %d staff labels%s and no FILE: name labelled JSONL to train on beside them "+
			"(the sets `make model` trains the built-in model on, or your own; mind their licences), or collect more labels "+
			"(a quarter are held back to judge the model; a language needs %d texts)", len(labels), forBrand(f.brand), model.MinLangItemsDefault)
	}
	if err != nil {
		return err
	}
	prevID := "lexicons only"
	if prev != nil {
		prevID = prev.ID()
	}
	fmt.Fprintf(a.stdout, "%d labels%s, %d held back; %d shipped items\n", ff.Labels, forBrand(f.brand), ff.HeldBack, len(base))
	if ff.HeldBack > 0 {
		fmt.Fprintf(a.stdout, "%-8s %-28s %8s %9s\n", "", "model", "F1(neg)", "accuracy")
		fmt.Fprintf(a.stdout, "%-8s %-28s %8.3f %9.3f\n", "before", prevID, ff.BeforeF1, ff.BeforeAcc)
		fmt.Fprintf(a.stdout, "%-8s %-28s %8.3f %9.3f\n", "after", md.ID(), ff.AfterF1, ff.AfterAcc)
	}
	if !ff.Promoted {
		return fmt.Errorf("train --feedback: not promoted, %s; %s left as it was", ff.Why, f.out)
	}
	if err := md.Save(f.out); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "promoted: %s; wrote %s\n", ff.Why, f.out)
	return nil
}

func forBrand(b string) string {
	if b == "" {
		return ""
	}
	return " for " + b
}

// storeLabels reads staff labels for training (model.Labels: train
// --feedback and the Retrainer).
type storeLabels struct{ st *storage.Store }

func (s storeLabels) Labelled(ctx context.Context, brand string) ([]model.Label, error) {
	ls, err := s.st.TrainingLabels(ctx, brand)
	if err != nil {
		return nil, err
	}
	out := make([]model.Label, 0, len(ls))
	for _, l := range ls {
		text := l.Text
		if t := strings.TrimSpace(l.Title); t != "" && !strings.HasPrefix(text, t) {
			text = t + ".\n" + text
		}
		out = append(out, model.Label{At: l.At, Item: model.Item{ID: "label:" + l.MentionID, Text: text, Label: l.Label,
			Lang: l.Lang, Rating: l.Rating, RatingMax: l.RatingMax}})
	}
	return out, nil
}

func (s storeLabels) CountSince(ctx context.Context, brand string, since time.Time) (int, error) {
	return s.st.CountLabelsSince(ctx, brand, since)
}
