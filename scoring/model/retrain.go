package model

import (
	"bytes"
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

// Shared keeps the models in use where every earshot process reads them
// (ClickHouse's models table, through a small adapter in cmd/earshot), so
// that processes on other machines, each with a directory of its own,
// follow a promotion or a rollback too.
type Shared interface {
	// PublishModels records p as the models in use under key.
	PublishModels(ctx context.Context, key string, p Published) error
	// LatestModels returns the newest record under key (found false when
	// none); without withModels the model bytes are left out.
	LatestModels(ctx context.Context, key string, withModels bool) (p Published, found bool, err error)
}

// Published is one record of the models in use: ids and the bytes Write
// gives (Previous empty when there is none).
type Published struct {
	Seq                   uint64 // the newest wins
	At                    time.Time
	CurrentID, PreviousID string
	Current, Previous     []byte
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
	// Shared, when set, is where promotions and rollbacks are published
	// first and where Reload looks first, under SharedKey; Dir is then
	// this process's copy (used when Shared cannot be reached).
	Shared    Shared
	SharedKey string
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
	// pubSeq is the Shared record this Retrainer's models are.
	pubSeq uint64
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
	if opts.Shared != nil && opts.SharedKey == "" {
		return nil, errors.New("retrainer: Shared needs a SharedKey")
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

// Reload puts the models in use elsewhere into use here: the newest
// record in Shared when set (else, or when it cannot be reached or holds
// none yet, Dir when another process changed its files since this one last
// read or wrote them). So the one process that retrains promotes, the
// others follow, and `earshot train --rollback` reaches running daemons.
// It reports whether the model in use changed.
func (r *Retrainer) Reload(ctx context.Context) (bool, error) {
	r.training.Lock()
	defer r.training.Unlock()
	if r.opts.Shared != nil {
		changed, found, err := r.reloadShared(ctx)
		if err == nil && found {
			return changed, nil
		}
		if err != nil {
			// This process keeps scoring with what it has; its own
			// directory may still tell it of a rollback.
			r.opts.Log.Warn("shared models not followed: following the directory", "brand", r.opts.Brand, "err", err)
		}
	}
	return r.reloadDir()
}

// reloadShared follows the newest Shared record: the ids first, the model
// bytes only when they differ from the models in use.
func (r *Retrainer) reloadShared(ctx context.Context) (changed, found bool, err error) {
	p, found, err := r.opts.Shared.LatestModels(ctx, r.opts.SharedKey, false)
	if err != nil || !found {
		return false, found, err
	}
	r.mu.Lock()
	// Older than what this process already followed (a replica that is
	// behind): never go back to it.
	stale := p.Seq < r.pubSeq
	same := p.Seq == r.pubSeq || p.CurrentID == idOf(r.current) && p.PreviousID == idOf(r.previous)
	if same && !stale {
		r.pubSeq = p.Seq
	}
	r.mu.Unlock()
	if stale || same {
		return false, true, nil
	}
	if p, found, err = r.opts.Shared.LatestModels(ctx, r.opts.SharedKey, true); err != nil || !found {
		return false, found, err
	}
	// Read again: it may come from a replica further behind. Checked
	// before anything is written to the directory.
	r.mu.Lock()
	stale = p.Seq < r.pubSeq
	r.mu.Unlock()
	if stale {
		return false, true, nil
	}
	cur, err := Read(bytes.NewReader(p.Current))
	if err != nil {
		return false, true, r.fail(fmt.Errorf("retrainer: shared model %s: %w", p.CurrentID, err))
	}
	var prev *Model
	if len(p.Previous) > 0 {
		if prev, err = Read(bytes.NewReader(p.Previous)); err != nil {
			return false, true, r.fail(fmt.Errorf("retrainer: shared model %s: %w", p.PreviousID, err))
		}
	}
	if cur.ID() != p.CurrentID || idOf(prev) != p.PreviousID {
		return false, true, r.fail(fmt.Errorf("retrainer: shared models read as %s/%s, recorded as %s/%s", cur.ID(), idOf(prev), p.CurrentID, p.PreviousID))
	}
	// A model of this directory that is neither of the shared ones (a
	// promotion made here before the models were shared) is kept aside,
	// not lost.
	r.mu.Lock()
	local := r.current
	r.mu.Unlock()
	if local != nil && local.ID() != cur.ID() && local.ID() != idOf(prev) && (r.opts.Start == nil || local.ID() != r.opts.Start.ID()) {
		aside := filepath.Join(r.opts.Dir, "replaced-"+local.ID()+".model")
		if err := local.Save(aside); err != nil {
			r.opts.Log.Warn("retrainer: keeping a replaced model aside", "file", aside, "err", err)
		} else {
			r.opts.Log.Warn("this directory's model is not the one in use elsewhere: kept aside", "brand", r.opts.Brand,
				"model", local.ID(), "file", aside, "in_use", cur.ID())
		}
	}
	// This process's copy, for a restart while ClickHouse is away.
	if err := r.saveFiles(cur, prev); err != nil {
		r.opts.Log.Warn("retrainer: keeping a copy of the shared models", "dir", r.opts.Dir, "err", err)
	}
	changed = r.use(cur, prev, p.Seq)
	if changed {
		r.opts.Log.Info("model changed elsewhere: now in use", "brand", r.opts.Brand, "model", cur.ID(), "published", p.At)
		if r.opts.OnPromote != nil {
			r.opts.OnPromote(cur)
		}
	}
	return changed, true, nil
}

// use makes cur and prev the models in use (seq: their Shared record, 0
// for none) and reports whether the current one changed.
func (r *Retrainer) use(cur, prev *Model, seq uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := idOf(cur) != idOf(r.current)
	r.current, r.previous, r.seen = cur, prev, stampOf(filepath.Join(r.opts.Dir, currentFile))
	if seq != 0 {
		r.pubSeq = seq
	}
	if cur != nil && cur.Meta.Feedback != nil && cur.Meta.Feedback.LabelsUntil.After(r.since) {
		r.since = cur.Meta.Feedback.LabelsUntil
	}
	r.status.Current, r.status.Previous = idOf(cur), idOf(prev)
	return changed
}

// saveFiles writes cur (and prev) as Dir's current.model (previous.model).
func (r *Retrainer) saveFiles(cur, prev *Model) error {
	if prev != nil {
		if err := prev.Save(filepath.Join(r.opts.Dir, previousFile)); err != nil {
			return err
		}
	}
	return cur.Save(filepath.Join(r.opts.Dir, currentFile))
}

// reloadDir follows Dir's files when another process changed them.
func (r *Retrainer) reloadDir() (bool, error) {
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
	changed := r.use(cur, prev, 0)
	if changed {
		// No longer what Shared's record holds: compare ids there next.
		r.mu.Lock()
		r.pubSeq = 0
		r.mu.Unlock()
		r.opts.Log.Info("model changed on disk: now in use", "brand", r.opts.Brand, "model", cur.ID(), "dir", r.opts.Dir)
		if r.opts.OnPromote != nil {
			r.opts.OnPromote(cur)
		}
	}
	return changed, nil
}

// errSuperseded: another process published since this one last followed
// Shared (a rollback while this one trained); its record stands.
var errSuperseded = errors.New("another process changed the models meanwhile")

// publish records cur and prev in Shared (when set) as the models in use,
// unless another process published since this one last followed it.
func (r *Retrainer) publish(ctx context.Context, cur, prev *Model) (uint64, error) {
	if r.opts.Shared == nil {
		return 0, nil
	}
	latest, found, err := r.opts.Shared.LatestModels(ctx, r.opts.SharedKey, false)
	if err != nil {
		return 0, fmt.Errorf("retrainer: publish %s: %w", cur.ID(), err)
	}
	r.mu.Lock()
	base := r.pubSeq
	r.mu.Unlock()
	if found && latest.Seq != base {
		return 0, errSuperseded
	}
	var cb, pb bytes.Buffer
	if err := cur.Write(&cb); err != nil {
		return 0, fmt.Errorf("retrainer: publish: %w", err)
	}
	if prev != nil {
		if err := prev.Write(&pb); err != nil {
			return 0, fmt.Errorf("retrainer: publish: %w", err)
		}
	}
	now := r.opts.Now()
	seq := uint64(now.UnixNano())
	seq = max(seq, latest.Seq+1) // a clock behind another machine's still publishes something newer
	p := Published{Seq: seq, At: now, CurrentID: cur.ID(), PreviousID: idOf(prev), Current: cb.Bytes(), Previous: pb.Bytes()}
	if err := r.opts.Shared.PublishModels(ctx, r.opts.SharedKey, p); err != nil {
		return 0, fmt.Errorf("retrainer: publish %s: %w", cur.ID(), err)
	}
	return seq, nil
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
	if err := r.seed(ctx); err != nil {
		return false, r.fail(err)
	}
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
	if err := r.promote(ctx, md, prev); err != nil {
		// Not in use anywhere: the next round trains again (on what is
		// in use by then).
		r.mu.Lock()
		r.since = since
		r.mu.Unlock()
		if errors.Is(err, errSuperseded) {
			r.opts.Log.Info("candidate dropped: another process changed the models while it trained; following it", "brand", r.opts.Brand, "candidate", md.ID())
			changed, _, err := r.reloadShared(ctx)
			return changed, err
		}
		return false, r.fail(err)
	}
	return true, nil
}

// seed publishes a model this process's directory holds (promoted before
// Shared was set up) when Shared holds none yet for its key, so that the
// other processes follow it as well.
func (r *Retrainer) seed(ctx context.Context) error {
	if r.opts.Shared == nil {
		return nil
	}
	r.mu.Lock()
	cur, prev, synced := r.current, r.previous, r.pubSeq != 0
	r.mu.Unlock()
	if synced || cur == nil || r.opts.Start != nil && cur.ID() == r.opts.Start.ID() {
		return nil
	}
	_, found, err := r.opts.Shared.LatestModels(ctx, r.opts.SharedKey, false)
	if err != nil || found {
		return err
	}
	seq, err := r.publish(ctx, cur, prev)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.pubSeq = seq
	r.mu.Unlock()
	r.opts.Log.Info("model from the directory published for the other processes", "brand", r.opts.Brand, "model", cur.ID())
	return nil
}

// promote publishes md as the model in use (prev as the one to roll back
// to), then keeps them in Dir and uses md. Nothing changes when it cannot
// be published: the other processes would not follow.
func (r *Retrainer) promote(ctx context.Context, md, prev *Model) error {
	seq, err := r.publish(ctx, md, prev)
	if err != nil {
		return err
	}
	if err := r.saveFiles(md, prev); err != nil {
		if r.opts.Shared == nil {
			return fmt.Errorf("retrainer: save: %w", err)
		}
		// Published: in use everywhere; only this process's copy is missing.
		r.opts.Log.Warn("retrainer: keeping a copy of the promoted model", "dir", r.opts.Dir, "err", err)
	}
	r.use(md, prev, seq)
	r.mu.Lock()
	r.status.Promotions++
	r.mu.Unlock()
	if r.opts.OnPromote != nil {
		r.opts.OnPromote(md)
	}
	return nil
}

// Rollback puts the previous model back into use (and the current one
// becomes the previous: a second Rollback undoes the first), published
// first like a promotion.
func (r *Retrainer) Rollback(ctx context.Context) error {
	r.training.Lock()
	defer r.training.Unlock()
	if r.opts.Shared != nil {
		// Roll back what is in use everywhere, not this process's copy.
		if _, _, err := r.reloadShared(ctx); err != nil {
			return fmt.Errorf("retrainer: rollback: %w", err)
		}
	}
	r.mu.Lock()
	cur, prev := r.current, r.previous
	r.mu.Unlock()
	if prev == nil {
		return errors.New("retrainer: no previous model to roll back to")
	}
	seq, err := r.publish(ctx, prev, cur)
	if err != nil {
		return fmt.Errorf("retrainer: rollback: %w", err)
	}
	if err := r.saveFiles(prev, cur); err != nil {
		if r.opts.Shared == nil {
			return fmt.Errorf("retrainer: rollback: %w", err)
		}
		r.opts.Log.Warn("retrainer: keeping a copy of the model rolled back to", "dir", r.opts.Dir, "err", err)
	}
	r.use(prev, cur, seq)
	r.mu.Lock()
	r.status.Rollbacks++
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
