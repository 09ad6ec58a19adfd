package mention

import (
	"fmt"
	"time"
)

// CountBy says which of a mention's times puts it in a period: reports,
// trends and digests count by one or the other, and say which.
type CountBy string

const (
	// ByPublished counts a mention when the site says it was written (when
	// it gave no date, when it was collected): the trend tables' day.
	ByPublished CountBy = "published"
	// ByCollected counts a mention when earshot stored it: what was
	// discovered in the period, however old the review (an import of last
	// year's export, a site showing old reviews, the demo).
	ByCollected CountBy = "collected"
)

// ParseCountBy reads "published" or "collected"; "" is published.
func ParseCountBy(s string) (CountBy, error) {
	switch CountBy(s) {
	case "", ByPublished:
		return ByPublished, nil
	case ByCollected:
		return ByCollected, nil
	}
	return "", fmt.Errorf("%q: want published or collected", s)
}

// Phrase says in words what a period counted, for report and digest text.
func (c CountBy) Phrase() string {
	if c == ByCollected {
		return "by the day earshot collected them"
	}
	return "by publication date"
}

// TimeBy is the time of m that c counts it at: the published time (the
// collected one when the site gave none), or the collected time.
func (m Mention) TimeBy(c CountBy) time.Time {
	if c != ByCollected && !m.PublishedAt.IsZero() {
		return m.PublishedAt
	}
	return m.CollectedAt
}
