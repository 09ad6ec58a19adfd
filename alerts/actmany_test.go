package alerts

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/earshot/earshot/caselog"
)

// manyBook records ActMany's writes.
type manyBook struct {
	appends  [][]caselog.Event
	labelled [][]caselog.State
	order    []string
	err      error
	labelErr error
}

func (b *manyBook) Case(context.Context, string) (caselog.State, bool, error) {
	return caselog.State{}, false, nil
}
func (b *manyBook) AppendCaseEvents(_ context.Context, evs []caselog.Event) error {
	if b.err != nil {
		return b.err
	}
	b.appends = append(b.appends, evs)
	b.order = append(b.order, "events")
	return nil
}
func (b *manyBook) LabelCaseMentions(_ context.Context, cs []caselog.State, label, _, _ string, _ time.Time) error {
	if b.labelErr != nil {
		return b.labelErr
	}
	if label != NotAComplaintLabel {
		return errors.New("label " + label)
	}
	b.labelled = append(b.labelled, cs)
	b.order = append(b.order, "labels")
	return nil
}

// TestActMany: each case moved as Act would (the same refusals), the
// not-a-complaint labels in one write before the events in one write;
// after a failed write none is moved.
func TestActMany(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	cases := []caselog.State{
		{CaseID: "case:a", MentionID: "a", State: caselog.Open},
		{CaseID: "case:b", MentionID: "b", State: caselog.Resolved},
		{CaseID: "case:c", MentionID: "c", State: caselog.Acknowledged},
	}
	b := &manyBook{}
	moved, err := ActMany(ctx, b, cases, "resolve", "ana", caselog.NotAComplaint, "spam", now)
	if err != nil {
		t.Fatal(err)
	}
	if moved[0].Err != nil || moved[0].Event.State != caselog.Resolved || !errors.Is(moved[1].Err, ErrAlready) || moved[2].Err != nil {
		t.Fatalf("moved: %+v", moved)
	}
	if len(b.appends) != 1 || len(b.appends[0]) != 2 || len(b.labelled) != 1 || len(b.labelled[0]) != 2 || b.labelled[0][1].CaseID != "case:c" {
		t.Errorf("writes: %d appends %v, labels %v", len(b.appends), b.appends, b.labelled)
	}
	if fmt.Sprint(b.order) != "[labels events]" {
		t.Errorf("writes in the order %v, want the labels first", b.order)
	}
	// A failed label write records no event.
	b = &manyBook{labelErr: errors.New("clickhouse away")}
	if _, err := ActMany(ctx, b, cases, "resolve", "ana", caselog.NotAComplaint, "", now); err == nil || len(b.appends) != 0 {
		t.Errorf("label write failed: err %v, %d event writes", err, len(b.appends))
	}
	// ack: a resolved case cannot be acknowledged; no labels.
	b = &manyBook{}
	moved, err = ActMany(ctx, b, cases, "ack", "ana", "", "", now)
	if err != nil || moved[0].Err != nil || moved[1].Err == nil || moved[2].Err == nil || len(b.labelled) != 0 || len(b.appends[0]) != 1 {
		t.Errorf("ack: %+v %v, labels %v", moved, err, b.labelled)
	}
	if _, err := ActMany(ctx, &manyBook{}, cases, "resolve", "ana", "refund", "", now); err == nil {
		t.Error("an unknown outcome accepted")
	}
	if _, err := ActMany(ctx, &manyBook{err: errors.New("clickhouse away")}, cases, "hold", "ana", "", "", now); err == nil {
		t.Error("a failed write not reported")
	}
}
