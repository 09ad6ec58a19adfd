package model

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Labels is where staff labels come from (*storage.Store through a small
// adapter in cmd/earshot).
type Labels interface {
	// Labelled returns every labelled mention of brand (all brands when
	// empty) as a training item with its latest label.
	Labelled(ctx context.Context, brand string) ([]Label, error)
	// CountSince counts the mentions of brand labelled after since.
	CountSince(ctx context.Context, brand string, since time.Time) (int, error)
}

// RetrainerOptions configure a Retrainer.
type RetrainerOptions struct {
	// Base is the shipped training data the labels are added to.
	Base     []Item
	Labels   Labels
	Evidence EvidenceFunc
	// Brand: train on this brand's labels only (a per-brand model).
	Brand string
	// MinNew labels since the last training before retraining (default 50).
	MinNew int
	// Dir keeps current.model and previous.model (the one to roll back to).
	Dir string
	// Start is the model in use when Dir has none yet (the built-in one).
	Start  *Model
	Config Config
	// OnPromote is called with each model that goes into use (promoted or
	// rolled back to), e.g. Scorer.SetModel.
	OnPromote func(*Model)
	Log       *slog.Logger
	Now       func() time.Time
}

// RetrainStatus is what a Retrainer exposes (logs, /metrics, the CLI).
type RetrainStatus struct {
	Current    string           `json:"current"`
	Previous   string           `json:"previous"`
	LastCheck  time.Time        `json:"last_check"`
	LastTrain  time.Time        `json:"last_train"`
	NewLabels  int              `json:"new_labels"`
	Trainings  int              `json:"trainings"`
	Promotions int              `json:"promotions"`
	Refusals   int              `json:"refusals"`
	Rollbacks  int              `json:"rollbacks"`
	Last       *FeedbackFigures `json:"last,omitempty"`
	LastError  string           `json:"last_error,omitempty"`
}

// Retrainer retrains the model from staff labels when enough new ones
// arrived, promotes the result only when it is not worse on held-back
// labels, and keeps the previous model to roll back to. Check does one
// round; Run does rounds on a ticker. Safe for concurrent use.
type Retrainer struct {
	opts RetrainerOptions

	mu       sync.Mutex
	current  *Model
	previous *Model
	since    time.Time // newest label the current model was judged with
	status   RetrainStatus
	training sync.Mutex // one training at a time
	// seen is current.model's modification time and size when this
	// Retrainer last read or wrote it: Reload reads it again only when
	// another process (or earshot train --rollback) changed it.
	seen fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) fileStamp {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{st.ModTime(), st.Size()}
}

const (
	currentFile  = "current.model"
	previousFile = "previous.model"
)

// NewRetrainer loads the models kept in opts.Dir (else starts from
// opts.Start).
func NewRetrainer(opts RetrainerOptions) (*Retrainer, error) {
	if opts.Labels == nil || opts.Evidence == nil || opts.Dir == "" {
		return nil, errors.New("retrainer: Labels, Evidence and Dir are required")
	}
	if opts.MinNew <= 0 {
		opts.MinNew = 50
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("retrainer: %w", err)
	}
	r := &Retrainer{opts: opts, current: opts.Start}
	for _, f := range []struct {
		name string
		dst  **Model
	}{{currentFile, &r.current}, {previousFile, &r.previous}} {
		m, err := Load(filepath.Join(opts.Dir, f.name))
		switch {
		case err == nil:
			*f.dst = m
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("retrainer: %w", err)
		}
	}
	if r.current != nil && r.current.Meta.Feedback != nil {
		r.since = r.current.Meta.Feedback.LabelsUntil
	}
	r.status.Current, r.status.Previous = idOf(r.current), idOf(r.previous)
	r.seen = stampOf(filepath.Join(opts.Dir, currentFile))
	return r, nil
}

// Dir is where the models are kept.
func (r *Retrainer) Dir() string { return r.opts.Dir }

// Reload puts the models kept in Dir into use when another process
// changed them since this one last read or wrote them: the one process
// that retrains promotes, the others on the same Dir follow, and
// `earshot train --rollback` reaches a running daemon. It reports whether
// the model in use changed.
func (r *Retrainer) Reload() (bool, error) {
	r.training.Lock()
	defer r.training.Unlock()
	path := filepath.Join(r.opts.Dir, currentFile)
	st := stampOf(path)
	r.mu.Lock()
	same := st == r.seen
	r.mu.Unlock()
	if same || st == (fileStamp{}) {
		return false, nil
	}
	cur, err := Load(path)
	if err != nil {
		return false, r.fail(fmt.Errorf("retrainer: reload: %w", err))
	}
	prev, err := Load(filepath.Join(r.opts.Dir, previousFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, r.fail(fmt.Errorf("retrainer: reload: %w", err))
	}
	r.mu.Lock()
	changed := idOf(cur) != idOf(r.current)
	r.current, r.previous, r.seen = cur, prev, st
	if cur.Meta.Feedback != nil && cur.Meta.Feedback.LabelsUntil.After(r.since) {
		r.since = cur.Meta.Feedback.LabelsUntil
	}
	r.status.Current, r.status.Previous = idOf(cur), idOf(prev)
	r.mu.Unlock()
	if changed {
		r.opts.Log.Info("model changed on disk: now in use", "brand", r.opts.Brand, "model", cur.ID(), "dir", r.opts.Dir)
		if r.opts.OnPromote != nil {
			r.opts.OnPromote(cur)
		}
	}
	return changed, nil
}

func idOf(m *Model) string {
	if m == nil {
		return ""
	}
	return m.ID()
}

// Current is the model in use (nil: lexicons only).
func (r *Retrainer) Current() *Model {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

// Status is a snapshot of the figures.
func (r *Retrainer) Status() RetrainStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Check retrains when at least MinNew labels arrived since the current
// model was trained, and promotes the candidate when it is not worse. It
// reports whether a new model went into use.
func (r *Retrainer) Check(ctx context.Context) (bool, error) {
	r.training.Lock()
	defer r.training.Unlock()
	r.mu.Lock()
	since, prev := r.since, r.current
	r.status.LastCheck = r.opts.Now()
	r.mu.Unlock()
	n, err := r.opts.Labels.CountSince(ctx, r.opts.Brand, since)
	if err != nil {
		return false, r.fail(fmt.Errorf("retrainer: count labels: %w", err))
	}
	r.mu.Lock()
	r.status.NewLabels = n
	r.mu.Unlock()
	if n < r.opts.MinNew {
		return false, nil
	}
	labels, err := r.opts.Labels.Labelled(ctx, r.opts.Brand)
	if err != nil {
		return false, r.fail(fmt.Errorf("retrainer: read labels: %w", err))
	}
	cfg := r.opts.Config
	if cfg.Name == "" {
		cfg.Name = "feedback"
		if r.opts.Brand != "" {
			cfg.Name = "feedback-" + r.opts.Brand
		}
	}
	md, ff, err := TrainFeedback(ctx, r.opts.Base, labels, prev, cfg, r.opts.Evidence)
	if err != nil {
		return false, r.fail(err)
	}
	r.opts.Log.Info("model retrained from staff labels", "brand", r.opts.Brand, "labels", ff.Labels, "held_back", ff.HeldBack,
		"before_f1", ff.BeforeF1, "after_f1", ff.AfterF1, "before_accuracy", ff.BeforeAcc, "after_accuracy", ff.AfterAcc,
		"promoted", ff.Promoted, "why", ff.Why, "model", md.ID())
	r.mu.Lock()
	r.status.Trainings++
	r.status.LastTrain = r.opts.Now()
	r.status.Last = &ff
	r.status.LastError = ""
	// The labels were looked at either way: wait for MinNew more.
	r.since = ff.LabelsUntil
	r.mu.Unlock()
	if !ff.Promoted {
		r.mu.Lock()
		r.status.Refusals++
		r.mu.Unlock()
		return false, nil
	}
	if err := r.promote(md, prev); err != nil {
		return false, r.fail(err)
	}
	return true, nil
}

// promote keeps the model in use as previous.model and md as current.model.
func (r *Retrainer) promote(md, prev *Model) error {
	if prev != nil {
		if err := prev.Save(filepath.Join(r.opts.Dir, previousFile)); err != nil {
			return fmt.Errorf("retrainer: keep previous: %w", err)
		}
	}
	if err := md.Save(filepath.Join(r.opts.Dir, currentFile)); err != nil {
		return fmt.Errorf("retrainer: save: %w", err)
	}
	r.mu.Lock()
	r.current, r.previous = md, prev
	r.seen = stampOf(filepath.Join(r.opts.Dir, currentFile))
	r.status.Promotions++
	r.status.Current, r.status.Previous = idOf(md), idOf(prev)
	r.mu.Unlock()
	if r.opts.OnPromote != nil {
		r.opts.OnPromote(md)
	}
	return nil
}

// Rollback puts the previous model back into use (and the current one
// becomes the previous: a second Rollback undoes the first).
func (r *Retrainer) Rollback() error {
	r.training.Lock()
	defer r.training.Unlock()
	r.mu.Lock()
	cur, prev := r.current, r.previous
	r.mu.Unlock()
	if prev == nil {
		return errors.New("retrainer: no previous model to roll back to")
	}
	if cur != nil {
		if err := cur.Save(filepath.Join(r.opts.Dir, previousFile)); err != nil {
			return fmt.Errorf("retrainer: rollback: %w", err)
		}
	}
	if err := prev.Save(filepath.Join(r.opts.Dir, currentFile)); err != nil {
		return fmt.Errorf("retrainer: rollback: %w", err)
	}
	r.mu.Lock()
	r.current, r.previous = prev, cur
	r.seen = stampOf(filepath.Join(r.opts.Dir, currentFile))
	r.status.Rollbacks++
	r.status.Current, r.status.Previous = idOf(prev), idOf(cur)
	r.mu.Unlock()
	r.opts.Log.Info("model rolled back", "brand", r.opts.Brand, "model", prev.ID(), "replaced", idOf(cur))
	if r.opts.OnPromote != nil {
		r.opts.OnPromote(prev)
	}
	return nil
}

func (r *Retrainer) fail(err error) error {
	r.mu.Lock()
	r.status.LastError = err.Error()
	r.mu.Unlock()
	r.opts.Log.Warn("model retraining failed", "brand", r.opts.Brand, "err", err)
	return err
}

// Run checks every interval until ctx ends; failures are logged and
// counted in Status, never fatal.
func (r *Retrainer) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = r.Check(ctx)
		}
	}
}
