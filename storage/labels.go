package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/earshot/earshot/caselog"
)

// Label is staff's feedback on a mention's score (a row of labels): the
// sentiment it really has and, when Corrected, its right aspects. The
// learning scorer (issue 13) reads them with the mention's text by id.
type Label struct {
	MentionID      string    `json:"mention_id"`
	Who            string    `json:"who"`
	At             time.Time `json:"at"`
	Label          string    `json:"label"` // negative, neutral, positive
	Corrected      bool      `json:"aspects_corrected"`
	Aspects        []string  `json:"aspects"`
	CaseID         string    `json:"case_id"`
	Brand          string    `json:"brand"`
	Location       string    `json:"location"`
	Lang           string    `json:"lang"`
	ScorerVersion  string    `json:"scorer_version"`
	ScoredNegative bool      `json:"scored_negative"`
	ScoredAspects  []string  `json:"scored_aspects"`
	Note           string    `json:"note"`
}

// LabelValues are the labels a person may give.
var LabelValues = []string{"negative", "neutral", "positive"}

// InsertLabel records l; a later label by the same person for the same
// mention replaces it (labels is a ReplacingMergeTree(at)).
func (s *Store) InsertLabel(ctx context.Context, l Label) error {
	return s.InsertLabels(ctx, []Label{l})
}

// InsertLabels writes labels in one insert; an invalid one writes none.
func (s *Store) InsertLabels(ctx context.Context, ls []Label) error {
	if len(ls) == 0 {
		return nil
	}
	for _, l := range ls {
		if !allowed(LabelValues, l.Label) || l.Label == "" {
			return fmt.Errorf("label %q: want negative, neutral or positive", l.Label)
		}
	}
	b, err := s.conn.PrepareBatch(ctx, `INSERT INTO labels (mention_id, who, at, label, aspects_corrected, aspects, case_id, brand, location,
		lang, scorer_version, scored_negative, scored_aspects, note)`)
	if err != nil {
		return fmt.Errorf("labels: %w", err)
	}
	for _, l := range ls {
		if err := b.Append(l.MentionID, l.Who, l.At.UTC(), l.Label, boolU8(l.Corrected), nonNil(l.Aspects), l.CaseID, l.Brand,
			l.Location, l.Lang, l.ScorerVersion, boolU8(l.ScoredNegative), nonNil(l.ScoredAspects), l.Note); err != nil {
			_ = b.Abort()
			return fmt.Errorf("label %s: %w", l.MentionID, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("labels: %w", err)
	}
	return nil
}

// LabelCaseMentions is LabelCaseMention for several cases: their mentions
// read in one query, their labels written in one insert.
func (s *Store) LabelCaseMentions(ctx context.Context, cs []caselog.State, label, who, note string, at time.Time) error {
	if len(cs) == 0 {
		return nil
	}
	if !allowed(LabelValues, label) || label == "" {
		return fmt.Errorf("label %q: want negative, neutral or positive", label)
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.MentionID
	}
	ms, err := s.Mentions(ctx, ids)
	if err != nil {
		return err
	}
	ls := make([]Label, len(cs))
	for i, c := range cs {
		m := ms[c.MentionID]
		ls[i] = Label{MentionID: c.MentionID, Who: who, At: at, Label: label, CaseID: c.CaseID, Brand: c.Brand, Location: c.Location,
			Lang: m.Lang, ScorerVersion: m.ScorerVersion, ScoredNegative: m.Negative, ScoredAspects: m.Aspects, Note: note}
	}
	return s.InsertLabels(ctx, ls)
}

// Labels returns the labels given for mentions (each person's latest), by key.
func (s *Store) Labels(ctx context.Context, mentionIDs []string) ([]Label, error) {
	if len(mentionIDs) == 0 {
		return nil, nil
	}
	in, args := inList(mentionIDs)
	rows, err := s.conn.Query(ctx, `SELECT mention_id, who, at, toString(label), aspects_corrected, aspects, case_id, brand, location, lang,
		scorer_version, scored_negative, scored_aspects, note FROM labels FINAL WHERE mention_id IN `+in+` ORDER BY mention_id, at`, args...)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	defer rows.Close()
	var out []Label
	for rows.Next() {
		var l Label
		var corrected, neg uint8
		if err := rows.Scan(&l.MentionID, &l.Who, &l.At, &l.Label, &corrected, &l.Aspects, &l.CaseID, &l.Brand, &l.Location, &l.Lang,
			&l.ScorerVersion, &neg, &l.ScoredAspects, &l.Note); err != nil {
			return nil, fmt.Errorf("labels: %w", err)
		}
		l.Corrected, l.ScoredNegative = corrected == 1, neg == 1
		out = append(out, l)
	}
	return out, rows.Err()
}

// LabelCaseMention labels the mention of case c by who (alerts.Act: a case
// resolved as not a complaint), with what the scorer said about it when
// the mention is stored; a label for a mention not stored (yet) is kept
// too and left out of training until it is.
func (s *Store) LabelCaseMention(ctx context.Context, c caselog.State, label, who, note string, at time.Time) error {
	return s.LabelCaseMentions(ctx, []caselog.State{c}, label, who, note, at)
}
