package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/daemon"
	"github.com/earshot/earshot/internal/metrics"
	"github.com/earshot/earshot/scoring"
	"github.com/earshot/earshot/scoring/model"
	"github.com/earshot/earshot/storage"
)

// Scheduled retraining (earshot run): every retrainEvery the process that
// dispatches (the leader) retrains each model from the staff labels when
// enough new ones arrived and promotes the candidate only when it is not
// worse on held-back labels; every process picks up, every reloadEvery,
// what was promoted or rolled back, from the models table (else from its
// own directory while ClickHouse is away).
const (
	retrainEvery = time.Hour
	reloadEvery  = time.Minute
	// trainDataEnv names the shipped training data (files, directories or
	// globs, separated like PATH) that labels are added to; without it a
	// candidate is trained on the labels alone, and refused wherever it
	// would stop covering a language the model in use covers.
	trainDataEnv = "EARSHOT_TRAIN_DATA"
)

// retrainJob is the scheduled retraining of one model: the default one
// (brand "") or a brand's own.
type retrainJob struct {
	brand  string
	r      *model.Retrainer
	leader func() bool
	log    *slog.Logger
}

// startRetrainer schedules the retraining of the scorer's models in d.
// It never stops earshot run: without a model (scoring.model: none) there
// is nothing to retrain, and a failure to set up is logged.
func (a *app) startRetrainer(d *daemon.Daemon, stk *stack) {
	sc, ok := stk.p.Scorer.(*scoring.Scorer)
	if !ok {
		return
	}
	base, err := trainData(os.Getenv(trainDataEnv))
	if err != nil {
		a.log.Warn("scheduled retraining off", "err", err)
		return
	}
	jobs, err := a.retrainJobs(stk.p.Config, stk.st, sc, base, stk.dispatching.Load, stk.metrics)
	if err != nil {
		a.log.Warn("scheduled retraining off", "err", err)
		return
	}
	for _, j := range jobs {
		name := "retrain " + cmp.Or(j.brand, "default model")
		d.Every(name, retrainEvery, j.round)
		d.Every(name+" (follow)", reloadEvery, func(ctx context.Context) error { _, err := j.r.Reload(ctx); return err })
	}
}

// trainData reads the shipped training data named in spec (EARSHOT_TRAIN_DATA).
func trainData(spec string) ([]model.Item, error) {
	var paths []string
	for _, p := range filepath.SplitList(spec) {
		if p = strings.TrimSpace(p); p != "" {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil, nil
	}
	items, _, err := model.ReadItems(paths...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", trainDataEnv, err)
	}
	return items, nil
}

// retrainJobs makes one job for the default model and one for each brand
// with its own; a model already promoted in its directory by an earlier
// run goes into use at once.
func (a *app) retrainJobs(cfg *config.Config, st *storage.Store, sc *scoring.Scorer, base []model.Item, leader func() bool,
	m *metrics.Metrics) ([]*retrainJob, error) {
	lex, err := scoring.New(scoring.Options{Languages: cfg.Scoring.Languages, MinConfidence: cfg.Scoring.MinConfidence,
		Rules: cfg.Scoring.Rules})
	if err != nil {
		return nil, fmt.Errorf("retraining: %w", err)
	}
	evid := func(it model.Item) model.Evidence { return lex.Evidence(it.Text, "") }
	brands := make([]string, 0, len(cfg.Scoring.Models))
	for b := range cfg.Scoring.Models {
		brands = append(brands, b)
	}
	sort.Strings(brands)
	var jobs []*retrainJob
	for _, brand := range append([]string{""}, brands...) {
		start, use := sc.Model(), sc.SetModel
		if brand != "" {
			start = sc.BrandModel(brand)
			use = func(md *model.Model) { sc.SetBrandModel(brand, md) }
		}
		if start == nil {
			continue // lexicons only: nothing learned to retrain
		}
		log := a.log.With("brand", brand)
		r, err := model.NewRetrainer(model.RetrainerOptions{Base: base, Labels: storeLabels{st}, Evidence: evid, Brand: brand,
			Dir: retrainDir(cfg, brand, start), Shared: storeModels{st}, SharedKey: sharedKey(brand, start), Start: start,
			OnPromote: use, Log: log})
		if err != nil {
			return nil, err
		}
		if cur := r.Current(); cur != nil && cur.ID() != start.ID() {
			use(cur)
			log.Info("retrained model in use", "model", cur.ID(), "trained_from", start.ID(), "dir", r.Dir())
		}
		j := &retrainJob{brand: brand, r: r, leader: leader, log: log}
		m.Retraining(j.figures)
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// round is one scheduled turn: the leader retrains; the others follow.
func (j *retrainJob) round(ctx context.Context) error {
	if _, err := j.r.Reload(ctx); err != nil {
		return err
	}
	if !j.leader() {
		return nil
	}
	// Check logs every training with its figures; a turn with too few
	// new labels is only a debug line.
	changed, err := j.r.Check(ctx)
	if err == nil && !changed {
		st := j.r.Status()
		j.log.Debug("retraining checked", "new_labels", st.NewLabels, "model", st.Current)
	}
	return err
}

// figures are the job's figures for /metrics.
func (j *retrainJob) figures() metrics.ModelFigures {
	st := j.r.Status()
	f := metrics.ModelFigures{Brand: j.brand, Model: st.Current, LastCheck: st.LastCheck, NewLabels: st.NewLabels,
		Trainings: st.Trainings, Promotions: st.Promotions, Refusals: st.Refusals, Rollbacks: st.Rollbacks}
	if st.Last != nil {
		f.Labels, f.BeforeF1, f.AfterF1, f.HasEval = st.Last.Labels, st.Last.BeforeF1, st.Last.AfterF1, true
	}
	return f
}

// retrainDir keeps the models retrained from start, beside the spool
// (var/models by default), per brand and per starting model: a new
// scoring.model or a new built-in model starts afresh instead of being
// overridden by one trained from its predecessor.
func retrainDir(cfg *config.Config, brand string, start *model.Model) string {
	name := "default"
	if brand != "" {
		sum := sha256.Sum256([]byte(brand))
		name = "brand-" + pathSafe(brand) + "-" + hex.EncodeToString(sum[:4])
	}
	return filepath.Join(filepath.Dir(filepath.Clean(cfg.ClickHouse.SpoolDir)), "models", name, pathSafe(start.ID()))
}

// pathSafe keeps letters, digits, '-', '_' and '.' (not leading).
func pathSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0) {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

// sharedKey names a model line in the models table: the brand and the
// model retraining started from, as retrainDir does on disk.
func sharedKey(brand string, start *model.Model) string {
	if brand != "" {
		return "brand:" + brand + "/" + start.ID()
	}
	return "default/" + start.ID()
}

// storeModels is the models table as the Retrainer's Shared.
type storeModels struct{ st *storage.Store }

func (s storeModels) PublishModels(ctx context.Context, key string, p model.Published) error {
	return s.st.PublishModels(ctx, storage.ModelRecord{Key: key, Seq: p.Seq, At: p.At, CurrentID: p.CurrentID,
		PreviousID: p.PreviousID, Current: p.Current, Previous: p.Previous})
}

func (s storeModels) LatestModels(ctx context.Context, key string, withModels bool) (model.Published, bool, error) {
	r, found, err := s.st.LatestModels(ctx, key, withModels)
	return model.Published{Seq: r.Seq, At: r.At, CurrentID: r.CurrentID, PreviousID: r.PreviousID, Current: r.Current,
		Previous: r.Previous}, found, err
}

// noLabels serves a Retrainer that only rolls back.
type noLabels struct{}

func (noLabels) Labelled(context.Context, string) ([]model.Label, error) { return nil, nil }
func (noLabels) CountSince(context.Context, string, time.Time) (int, error) {
	return 0, nil
}

// rollback puts the previous model back into use (earshot train
// --rollback): published in the models table, so that every running
// earshot run picks it up within reloadEvery, and kept in this machine's
// retraining directory.
func (a *app) rollback(ctx context.Context, brand string) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	sc, err := a.scorer(cfg, nil)
	if err != nil {
		return err
	}
	start := sc.Model()
	if brand != "" {
		if start = sc.BrandModel(brand); start == nil {
			return usagef("train --rollback: brand %q has no model of its own (scoring.models)", brand)
		}
	}
	if start == nil {
		return usagef("train --rollback: scoring.model is none: no learned model to roll back")
	}
	st, done, err := a.readyStore(ctx)
	if err != nil {
		return err
	}
	defer done()
	r, err := model.NewRetrainer(model.RetrainerOptions{Labels: noLabels{}, Evidence: func(model.Item) model.Evidence { return model.Evidence{} },
		Brand: brand, Dir: retrainDir(cfg, brand, start), Shared: storeModels{st}, SharedKey: sharedKey(brand, start), Start: start, Log: a.log})
	if err != nil {
		return err
	}
	if err := r.Rollback(ctx); err != nil {
		return fmt.Errorf("train --rollback%s: %w (%s)", forBrand(brand), err, r.Dir())
	}
	status := r.Status()
	fmt.Fprintf(a.stdout, "rolled back%s: %s in use, %s kept as the previous (%s); a running earshot run follows within %s\n",
		forBrand(brand), status.Current, status.Previous, r.Dir(), reloadEvery)
	return nil
}
