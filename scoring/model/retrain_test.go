package model

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type fakeLabels struct {
	labels []Label
	err    error
}

func (f *fakeLabels) Labelled(context.Context, string) ([]Label, error) { return f.labels, f.err }
func (f *fakeLabels) CountSince(_ context.Context, _ string, since time.Time) (int, error) {
	n := 0
	for _, l := range f.labels {
		if l.At.After(since) {
			n++
		}
	}
	return n, f.err
}

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// labelsLike makes n labels "the shower was <word> i" with label, given
// after t0.
func labelsLike(n int, prefix, text, label string) []Label {
	var out []Label
	for i := range n {
		out = append(out, Label{Item: Item{ID: fmt.Sprintf("%s:%d", prefix, i), Text: fmt.Sprintf(text, i), Label: label, Lang: "en"},
			At: t0.Add(time.Duration(i) * time.Minute)})
	}
	return out
}

// mouldy is the retraining tests' start: shipped-like data, the model
// trained on it, and 80 staff labels teaching a complaint that data lacks
// ("mouldy"; 40 negative, then 40 positive).
func mouldy(t *testing.T) ([]Item, *Model, []Label) {
	t.Helper()
	base := synth(150, 4)
	start, err := Train(context.Background(), base, testConfig(), lexStub)
	if err != nil {
		t.Fatal(err)
	}
	good := append(labelsLike(40, "m", "the shower %d was mouldy", "negative"), labelsLike(40, "p", "the shower %d was superb", "positive")...)
	return base, start, good
}

func TestRetrainerPromotesRefusesAndRollsBack(t *testing.T) {
	ctx := context.Background()
	// Staff teach a complaint the shipped data lacks ("mouldy").
	base, start, good := mouldy(t)
	src := &fakeLabels{labels: good[:10]}
	var inUse []string
	dir := t.TempDir()
	r, err := NewRetrainer(RetrainerOptions{Base: base, Labels: src, Evidence: lexStub, MinNew: 20, Dir: dir, Start: start,
		Config: testConfig(), OnPromote: func(m *Model) { inUse = append(inUse, m.ID()) }})
	if err != nil {
		t.Fatal(err)
	}

	// Too few new labels: nothing happens.
	if changed, err := r.Check(ctx); changed || err != nil || r.Status().Trainings != 0 {
		t.Fatalf("10 labels: changed %v err %v status %+v", changed, err, r.Status())
	}

	// Enough: trained, better on the held-back labels, promoted and kept.
	src.labels = good
	changed, err := r.Check(ctx)
	st := r.Status()
	if err != nil || !changed || st.Promotions != 1 || st.Last == nil || !st.Last.Promoted || st.Last.AfterF1 < st.Last.BeforeF1 {
		t.Fatalf("promotion: changed %v err %v status %+v last %+v", changed, err, st, st.Last)
	}
	if st.Previous != start.ID() || st.Current == start.ID() || len(inUse) != 1 || inUse[0] != st.Current {
		t.Errorf("after promotion: %+v, in use %v", st, inUse)
	}
	for _, f := range []string{currentFile, previousFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not kept: %v", f, err)
		}
	}
	if d := r.Current().Decide("the lift 7 was mouldy", lexStub(Item{Text: "the lift 7 was mouldy"})); d.PNegative < 0.5 {
		t.Errorf("promoted model did not learn the staff's word: P %.2f", d.PNegative)
	}

	// The same labels again: not "new", no training.
	if changed, _ := r.Check(ctx); changed || r.Status().Trainings != 1 {
		t.Errorf("retrained on old labels: %+v", r.Status())
	}

	// A restart picks the kept models and the label clock up again.
	r2, err := NewRetrainer(RetrainerOptions{Base: base, Labels: src, Evidence: lexStub, MinNew: 20, Dir: dir, Start: start, Config: testConfig()})
	if err != nil || r2.Current().ID() != st.Current || r2.Status().Previous != start.ID() {
		t.Fatalf("restart: %v %+v", err, r2.Status())
	}
	if changed, _ := r2.Check(ctx); changed {
		t.Error("restart retrained on labels already used")
	}

	// Roll back: the previous model is in use again, and the promoted one
	// is kept as the previous.
	promoted := st.Current
	if err := r.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if st := r.Status(); st.Current != start.ID() || st.Previous != promoted || inUse[len(inUse)-1] != start.ID() {
		t.Errorf("after rollback: %+v, in use %v", st, inUse)
	}
}

func TestFeedbackRefusesWorseModel(t *testing.T) {
	ctx := context.Background()
	base := synth(150, 5)
	prev, err := Train(ctx, base, testConfig(), lexStub)
	if err != nil {
		t.Fatal(err)
	}
	// Mislabelled training part: "awful" complaints marked positive; the
	// held-back part has them right.
	items := make([]Item, 80)
	for i := range items {
		items[i] = Item{ID: fmt.Sprintf("x:%d", i), Text: fmt.Sprintf("the lift %d was awful", i), Lang: "en"}
	}
	_, held := Split(items, HeldBackShare)
	isHeld := map[string]bool{}
	for _, it := range held {
		isHeld[it.ID] = true
	}
	var labels []Label
	for _, it := range items {
		it.Label = "positive"
		if isHeld[it.ID] {
			it.Label = "negative"
		}
		labels = append(labels, Label{Item: it, At: t0})
	}
	_, ff, err := TrainFeedback(ctx, base, labels, prev, testConfig(), func(it Item) Evidence {
		ev := lexStub(it)
		ev.LexNegative = false // the lexicon alone would not save the candidate
		return ev
	})
	if err != nil {
		t.Fatal(err)
	}
	if ff.Promoted || ff.AfterF1 >= ff.BeforeF1 || ff.HeldBack != len(held) {
		t.Errorf("a model worse on the held-back labels was promoted or judged wrong: %+v", ff)
	}

	// Too few labels to hold any back: never promoted.
	_, ff, err = TrainFeedback(ctx, base, labels[:3], prev, testConfig(), lexStub)
	if err != nil || ff.Promoted {
		t.Errorf("3 labels: promoted %v err %v (%s)", ff.Promoted, err, ff.Why)
	}
}

// TestRetrainerFollowsAnother: a second process on the same directory puts
// into use what the first promoted or rolled back, once per change.
func TestRetrainerFollowsAnother(t *testing.T) {
	ctx := context.Background()
	base, start, good := mouldy(t)
	dir := t.TempDir()
	leader, err := NewRetrainer(RetrainerOptions{Base: base, Labels: &fakeLabels{labels: good}, Evidence: lexStub, MinNew: 20, Dir: dir,
		Start: start, Config: testConfig()})
	if err != nil {
		t.Fatal(err)
	}
	var inUse []string
	follower, err := NewRetrainer(RetrainerOptions{Labels: &fakeLabels{}, Evidence: lexStub, Dir: dir, Start: start,
		OnPromote: func(m *Model) { inUse = append(inUse, m.ID()) }})
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := follower.Reload(ctx); changed || err != nil {
		t.Fatalf("nothing promoted yet: changed %v err %v", changed, err)
	}
	if changed, err := leader.Check(ctx); !changed || err != nil {
		t.Fatalf("leader did not promote: %v %+v", err, leader.Status())
	}
	promoted := leader.Current().ID()
	for i, want := range []bool{true, false} {
		changed, err := follower.Reload(ctx)
		if changed != want || err != nil || follower.Current().ID() != promoted {
			t.Errorf("reload %d: changed %v (want %v) err %v, current %s want %s", i, changed, want, err, follower.Current().ID(), promoted)
		}
	}
	if err := leader.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if changed, err := follower.Reload(ctx); !changed || err != nil || follower.Current().ID() != start.ID() {
		t.Errorf("after the leader's rollback: changed %v err %v current %s", changed, err, follower.Current().ID())
	}
	if len(inUse) != 2 || inUse[0] != promoted || inUse[1] != start.ID() {
		t.Errorf("models put into use: %v", inUse)
	}
}

// TestFeedbackRefusesLostLanguage: a candidate trained without the
// shipped data stops covering the languages only that data had, and is
// refused however it does on the labels; with the data it is judged.
func TestFeedbackRefusesLostLanguage(t *testing.T) {
	ctx := context.Background()
	evid := func(it Item) Evidence {
		ev := lexStub(it)
		if it.Lang != "" {
			ev.Lang = it.Lang
		}
		return ev
	}
	base := synth(150, 6)
	for _, it := range synth(150, 7) {
		it.ID, it.Lang = "de-"+it.ID, "de"
		base = append(base, it)
	}
	prev, err := Train(ctx, base, testConfig(), evid)
	if err != nil || !prev.Covers("de") || !prev.Covers("en") {
		t.Fatalf("prev: %v covers %v", err, prev.Meta.Covered)
	}
	labels := append(labelsLike(40, "m", "the shower %d was mouldy", "negative"), labelsLike(40, "p", "the shower %d was superb", "positive")...)
	for _, tc := range []struct {
		name string
		base []Item
		lost bool
	}{
		{"labels alone", nil, true},
		{"with the shipped data", base, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ff, err := TrainFeedback(ctx, tc.base, labels, prev, testConfig(), evid)
			if err != nil {
				t.Fatal(err)
			}
			lost := strings.Contains(ff.Why, "stop deciding in de")
			if lost != tc.lost || tc.lost && ff.Promoted || !tc.lost && !ff.Promoted {
				t.Errorf("promoted %v: %s", ff.Promoted, ff.Why)
			}
		})
	}
}

// fakeShared is the models table in memory.
type fakeShared struct {
	recs  map[string][]Published
	err   error
	reads int // reads with the model bytes
}

func (f *fakeShared) PublishModels(_ context.Context, key string, p Published) error {
	if f.err != nil {
		return f.err
	}
	if f.recs == nil {
		f.recs = map[string][]Published{}
	}
	f.recs[key] = append(f.recs[key], p)
	return nil
}

func (f *fakeShared) LatestModels(_ context.Context, key string, withModels bool) (Published, bool, error) {
	if f.err != nil {
		return Published{}, false, f.err
	}
	var best Published
	for _, p := range f.recs[key] {
		if p.Seq > best.Seq {
			best = p
		}
	}
	if withModels {
		f.reads++
	} else {
		best.Current, best.Previous = nil, nil
	}
	return best, best.Seq > 0, nil
}

// TestRetrainerSharedAcrossMachines: two processes with directories of
// their own follow each other through Shared: a promotion, a rollback made
// on the other machine, and, while Shared cannot be reached, each keeps
// what it has; a promotion that cannot be published is not made.
func TestRetrainerSharedAcrossMachines(t *testing.T) {
	ctx := context.Background()
	base, start, good := mouldy(t)
	shared := &fakeShared{}
	now := t0
	clock := func() time.Time { now = now.Add(time.Second); return now }
	leader, err := NewRetrainer(RetrainerOptions{Base: base, Labels: &fakeLabels{labels: good}, Evidence: lexStub, MinNew: 20, Dir: t.TempDir(),
		Start: start, Config: testConfig(), Shared: shared, SharedKey: "default/x", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	var inUse []string
	otherDir := t.TempDir()
	other, err := NewRetrainer(RetrainerOptions{Labels: &fakeLabels{}, Evidence: lexStub, Dir: otherDir, Start: start,
		Shared: shared, SharedKey: "default/x", Now: clock, OnPromote: func(m *Model) { inUse = append(inUse, m.ID()) }})
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := other.Reload(ctx); changed || err != nil {
		t.Fatalf("nothing published yet: changed %v err %v", changed, err)
	}

	// Shared down: the leader trains but promotes nothing, and tries again.
	shared.err = errors.New("clickhouse: connection refused")
	if changed, err := leader.Check(ctx); changed || err == nil || leader.Current().ID() != start.ID() {
		t.Fatalf("promoted without publishing: changed %v err %v", changed, err)
	}
	if changed, err := other.Reload(ctx); changed || err != nil {
		t.Errorf("Shared down: the follower keeps its model: changed %v err %v", changed, err)
	}
	shared.err = nil
	if changed, err := leader.Check(ctx); !changed || err != nil {
		t.Fatalf("leader did not promote once Shared was back: %v %+v", err, leader.Status())
	}
	promoted := leader.Current().ID()

	// The other machine follows, reading the bytes once.
	for i, want := range []bool{true, false} {
		changed, err := other.Reload(ctx)
		if changed != want || err != nil || other.Current().ID() != promoted {
			t.Errorf("reload %d: changed %v (want %v) err %v, current %s want %s", i, changed, want, err, other.Current().ID(), promoted)
		}
	}
	if shared.reads != 1 {
		t.Errorf("model bytes read %d times, want once", shared.reads)
	}
	if m, err := Load(filepath.Join(otherDir, "current.model")); err != nil || m.ID() != promoted {
		t.Errorf("the follower's own copy: %v", err)
	}

	// Rolled back on the other machine: the leader follows.
	if err := other.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if changed, err := leader.Reload(ctx); !changed || err != nil || leader.Current().ID() != start.ID() || leader.Status().Previous != promoted {
		t.Errorf("leader after the other's rollback: changed %v err %v current %s", changed, err, leader.Current().ID())
	}
	if len(inUse) != 2 || inUse[0] != promoted || inUse[1] != start.ID() {
		t.Errorf("models put into use on the other machine: %v", inUse)
	}
	if n := len(shared.recs["default/x"]); n != 2 {
		t.Errorf("%d publications, want 2 (promotion, rollback)", n)
	}
}

// TestRetrainerSeedsShared: a model promoted in a directory before Shared
// was set up is published by the leader's next round, so the others follow.
func TestRetrainerSeedsShared(t *testing.T) {
	ctx := context.Background()
	base, start, good := mouldy(t)
	dir := t.TempDir()
	old, err := NewRetrainer(RetrainerOptions{Base: base, Labels: &fakeLabels{labels: good}, Evidence: lexStub, MinNew: 20, Dir: dir,
		Start: start, Config: testConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := old.Check(ctx); !changed || err != nil {
		t.Fatal(err)
	}
	shared := &fakeShared{}
	leader, err := NewRetrainer(RetrainerOptions{Base: base, Labels: &fakeLabels{labels: good}, Evidence: lexStub, MinNew: 20, Dir: dir,
		Start: start, Config: testConfig(), Shared: shared, SharedKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leader.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if p, found, _ := shared.LatestModels(ctx, "k", false); !found || p.CurrentID != old.Current().ID() || p.PreviousID != start.ID() {
		t.Errorf("directory's model not published: %+v found %v", p, found)
	}
}

// TestRetrainerSharedRaces: a record older than one already followed (a
// replica that is behind) is not gone back to; a rollback published while
// the leader trained stands, and the leader drops its candidate and
// follows it; while Shared cannot be reached a process follows its
// directory, and Shared again once it is back.
func TestRetrainerSharedRaces(t *testing.T) {
	ctx := context.Background()
	base, start, good := mouldy(t)
	shared := &fakeShared{}
	labels := &fakeLabels{labels: good[:40]}
	leader, err := NewRetrainer(RetrainerOptions{Base: base, Labels: labels, Evidence: lexStub, MinNew: 20, Dir: t.TempDir(),
		Start: start, Config: testConfig(), Shared: shared, SharedKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := leader.Check(ctx); !changed || err != nil {
		t.Fatalf("first promotion: %v %v", changed, err)
	}
	first := leader.Current().ID()
	otherDir := t.TempDir()
	other, err := NewRetrainer(RetrainerOptions{Labels: &fakeLabels{}, Evidence: lexStub, Dir: otherDir, Start: start, Shared: shared, SharedKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := other.Reload(ctx); !changed || err != nil || other.Current().ID() != first {
		t.Fatalf("other did not follow: %v %v", changed, err)
	}

	// A replica behind serves an older record: not followed.
	latest := shared.recs["k"][len(shared.recs["k"])-1]
	shared.recs["k"] = []Published{{Seq: latest.Seq - 1, CurrentID: start.ID(), Current: latest.Previous}}
	if changed, err := other.Reload(ctx); changed || err != nil || other.Current().ID() != first {
		t.Errorf("went back to an older record: changed %v err %v current %s", changed, err, other.Current().ID())
	}
	shared.recs["k"] = []Published{latest}

	// The other machine rolls back while the leader trains on new labels:
	// the rollback stands, the candidate is dropped, the leader follows.
	for _, l := range labelsLike(40, "q", "the sink %d was mouldy", "negative") {
		l.At = l.At.Add(2 * time.Hour)
		labels.labels = append(labels.labels, l)
	}
	if err := other.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	leader.mu.Lock() // the leader has not looked at Shared since its promotion
	stalePub := leader.pubSeq
	leader.mu.Unlock()
	if stalePub == shared.recs["k"][len(shared.recs["k"])-1].Seq {
		t.Fatal("test set-up: the leader already saw the rollback")
	}
	changed, err := leader.Check(ctx)
	if err != nil || leader.Current().ID() != start.ID() || !changed {
		t.Errorf("leader after training across a rollback: changed %v err %v, in use %s (want the rollback's %s)", changed, err, leader.Current().ID(), start.ID())
	}
	if p, _, _ := shared.LatestModels(ctx, "k", false); p.CurrentID != start.ID() {
		t.Errorf("the rollback was overwritten by %s", p.CurrentID)
	}
	if s := leader.Status(); s.Promotions != 1 {
		t.Errorf("dropped candidate counted as a promotion: %+v", s)
	}

	// Shared away: the other machine follows its directory (a rollback
	// made there by hand), then Shared again once it is back.
	shared.err = errors.New("clickhouse: connection refused")
	byHand, err := NewRetrainer(RetrainerOptions{Labels: &fakeLabels{}, Evidence: lexStub, Dir: otherDir, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	if err := byHand.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if changed, err := other.Reload(ctx); !changed || err != nil || other.Current().ID() != first {
		t.Errorf("Shared away: directory not followed: changed %v err %v current %s", changed, err, other.Current().ID())
	}
	shared.err = nil
	if changed, err := other.Reload(ctx); !changed || err != nil || other.Current().ID() != start.ID() {
		t.Errorf("Shared back: not followed again: changed %v err %v current %s", changed, err, other.Current().ID())
	}
}
