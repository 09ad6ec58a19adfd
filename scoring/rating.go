// Package scoring decides which mentions are negative experiences, how
// severe and why, in many languages (scorer.go, analyze.go, the lexicons),
// with English entities from prose's model (entities.go). This file holds
// the rating rule: when a rating exists it dominates (1-2 of 5 is
// negative).
package scoring

import (
	"cmp"
	"context"
	"fmt"

	"github.com/earshot/earshot/mention"
)

// RatingVersion names the rating-only rules in scorer_version.
const RatingVersion = "rating-0.1"

// Rating scores mentions that carry a star rating and leaves the others
// unscored (scorer_version empty), so a later text scorer can tell them apart.
type Rating struct{}

// Score implements pipeline.Scorer.
func (Rating) Score(_ context.Context, ms []mention.Mention) error {
	for i := range ms {
		m := &ms[i]
		scale, note := mention.RatingScale(m.Rating, m.RatingMax)
		if scale <= 0 {
			if note != "" {
				m.Reasons = append(m.Reasons, note)
			}
			continue
		}
		if m.RatingMax == 0 {
			m.RatingMax = scale
		}
		frac := m.Rating / scale // 0.2 = 1 of 5
		m.ScorerVersion = RatingVersion
		m.Sentiment = 2*(frac-0.2)/0.8 - 1 // 1/5 -> -1, 5/5 -> 1
		m.Reasons = append(m.Reasons, cmp.Or(note, fmt.Sprintf("rating %g/%g", m.Rating, scale)))
		switch {
		case frac <= 0.2:
			m.Negative, m.Severity = true, "medium"
		case frac <= 0.4:
			m.Negative, m.Severity = true, "low"
		default:
			m.Severity = "none"
		}
	}
	return nil
}
