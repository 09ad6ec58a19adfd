package model

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// FeedbackFigures are the figures of a training run with staff labels:
// F1 of the negative class and accuracy (negative or not) on the
// held-back labels, for the model in use (Before) and the candidate
// (After), and whether the candidate was promoted.
type FeedbackFigures struct {
	Labels    int     `json:"labels"`
	HeldBack  int     `json:"held_back"`
	Previous  string  `json:"previous"`
	BeforeF1  float64 `json:"before_f1"`
	AfterF1   float64 `json:"after_f1"`
	BeforeAcc float64 `json:"before_accuracy"`
	AfterAcc  float64 `json:"after_accuracy"`
	Promoted  bool    `json:"promoted"`
	Why       string  `json:"why"`
	// LabelsUntil is the time of the newest label used: the Retrainer
	// counts new labels from it.
	LabelsUntil time.Time `json:"labels_until"`
}

// Feedback settings.
const (
	// HeldBackShare of the labels is kept out of training to judge.
	HeldBackShare = 0.25
	// MinHeldBack: with fewer held-back labels nothing can be judged, and
	// no model is promoted.
	MinHeldBack = 5
	// LabelWeight: a staff label counts as this many shipped items (it is
	// the business's own domain and wording).
	LabelWeight = 3
)

// Label is a staff label as a training item, with when it was given.
type Label struct {
	Item
	At time.Time
}

// Negative is the model's verdict on a text given the lexicon's evidence:
// P(negative) >= minP (0: the model's operating point) where the model
// covers the language, else the lexicon's.
func (m *Model) Negative(text string, ev Evidence, minP float64) bool {
	if !m.Covers(ev.Lang) {
		return ev.LexNegative
	}
	if minP == 0 {
		minP = m.OperatingPoint(ev.Lang)
	}
	return m.Decide(text, ev).PNegative >= minP
}

// judge returns F1 of the negative class and accuracy of m on items.
func judge(m *Model, items []Item, evs []Evidence) (f1, acc float64) {
	var c counts
	right := 0
	for i, it := range items {
		pred, gold := m.Negative(it.Text, evs[i], 0), it.Label == "negative"
		c.add(pred, gold)
		if pred == gold {
			right++
		}
	}
	if len(items) > 0 {
		acc = float64(right) / float64(len(items))
	}
	return round3(c.f1()), round3(acc)
}

// TrainFeedback trains a candidate on base plus all but a held-back share
// of labels, and judges it against prev (the model in use) on the
// held-back labels: the candidate is promoted (Figures.Promoted) only
// when it is not worse there (F1 of the negative class, then accuracy),
// and when enough labels were held back to tell.
func TrainFeedback(ctx context.Context, base []Item, labels []Label, prev *Model, cfg Config, evid EvidenceFunc) (*Model, FeedbackFigures, error) {
	ff := FeedbackFigures{Labels: len(labels)}
	if prev != nil {
		ff.Previous = prev.ID()
	}
	items := make([]Item, len(labels))
	for i, l := range labels {
		items[i] = l.Item
		if l.At.After(ff.LabelsUntil) {
			ff.LabelsUntil = l.At
		}
	}
	train, held := Split(items, HeldBackShare)
	ff.HeldBack = len(held)
	all := append([]Item(nil), base...)
	for _, it := range train {
		it.Weight = LabelWeight
		all = append(all, it)
	}
	md, err := Train(ctx, all, cfg, evid)
	if err != nil {
		return nil, ff, fmt.Errorf("feedback: %w", err)
	}
	md.Meta.Training.Labels = len(train)
	evs := make([]Evidence, len(held))
	for i, it := range held {
		evs[i] = evid(it)
	}
	ff.AfterF1, ff.AfterAcc = judge(md, held, evs)
	if prev != nil {
		ff.BeforeF1, ff.BeforeAcc = judge(prev, held, evs)
	}
	// A candidate that stops deciding in a language the model in use
	// decides in would be judged only on the labels' languages: trained
	// without the shipped data, it would quietly lose the others.
	var lost []string
	if prev != nil {
		for _, l := range prev.Meta.Covered {
			if !md.Covers(l) {
				lost = append(lost, l)
			}
		}
	}
	switch {
	case len(held) < MinHeldBack:
		ff.Why = fmt.Sprintf("only %d labels held back (need %d): cannot tell whether it is better", len(held), MinHeldBack)
	case len(lost) > 0:
		ff.Why = fmt.Sprintf("it would stop deciding in %s, which the model in use covers: train with the shipped data (FILE... or EARSHOT_TRAIN_DATA)",
			strings.Join(lost, ", "))
	case prev != nil && (ff.AfterF1 < ff.BeforeF1 || ff.AfterF1 == ff.BeforeF1 && ff.AfterAcc < ff.BeforeAcc):
		ff.Why = fmt.Sprintf("worse on the held-back labels: F1 %.3f -> %.3f, accuracy %.3f -> %.3f", ff.BeforeF1, ff.AfterF1, ff.BeforeAcc, ff.AfterAcc)
	default:
		ff.Promoted = true
		ff.Why = fmt.Sprintf("not worse on the held-back labels: F1 %.3f -> %.3f, accuracy %.3f -> %.3f", ff.BeforeF1, ff.AfterF1, ff.BeforeAcc, ff.AfterAcc)
	}
	md.Meta.Feedback = &ff
	return md, ff, nil
}
