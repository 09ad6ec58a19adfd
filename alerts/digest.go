package alerts

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// DigestStore is what digests read; *storage.Store is one. Volumes and
// series count mentions by publication or collection time (CountBy).
type DigestStore interface {
	SeriesBy(ctx context.Context, by mention.CountBy, brand string, from, to time.Time, weekly bool) ([]caselog.Bucket, error)
	PeriodVolumeBy(ctx context.Context, by mention.CountBy, brand string, from, to time.Time) (caselog.Volume, error)
	CasesFor(ctx context.Context, receiver, brand string, limit int) ([]caselog.State, error)
	CaseEvents(ctx context.Context, caseIDs []string) (map[string][]caselog.Event, error)
	Delivered(ctx context.Context, receiver, groupKey string) (bool, error)
	Mention(ctx context.Context, id string) (mention.Mention, bool, error)
}

// Digester is the digest stage: a periodic summary per receiver, counts
// against the period before, a trend chart, and the receiver's unresolved
// cases with their SLA clocks, including the ones its throttle deferred.
// It reads through a DigestStore and sends through the retry stage.
type Digester struct {
	Tree      *Route
	Clocks    map[string]Clock // per receiver: SLA clock; default wall clock
	Receivers map[string]Receiver
	Sender    Sender
	Compose   Composer
}

// Digest limits: cases read, and cases listed in full in the message.
const (
	maxDigestCases  = 2000
	maxDigestListed = 50
)

// digestKey names one period's digest: the group key its delivery row
// carries, so it is sent once per period.
func digestKey(d config.Digest, end time.Time) string {
	return fmt.Sprintf("digest:%s:%s:%s:%s", d.Receiver, d.Period, cmp.Or(d.Brand, "all"), end.UTC().Format("20060102T1504"))
}

// Build prepares the digest for the period ending at end: counts against
// the period before, negatives per location, top aspects, a trend chart
// (14 days, or 12 weeks for a weekly digest), and the receiver's
// unresolved cases with where each stands on its SLA clocks, overdue ones
// first, plus the cases its throttle deferred. Mentions count by d.CountBy
// (publication time by default), and the summary says which.
func (dg Digester) Build(ctx context.Context, ds DigestStore, d config.Digest, end time.Time) (Message, error) {
	by, err := mention.ParseCountBy(d.CountBy)
	if err != nil {
		return Message{}, fmt.Errorf("digest count_by %w", err)
	}
	weekly := d.Period == "weekly"
	period, label, bars := 24*time.Hour, "24 hours", 14
	if weekly {
		period, label, bars = 7*24*time.Hour, "7 days", 12
	}
	from := end.Add(-period)
	cur, err := ds.PeriodVolumeBy(ctx, by, d.Brand, from, end)
	if err != nil {
		return Message{}, err
	}
	prev, err := ds.PeriodVolumeBy(ctx, by, d.Brand, from.Add(-period), from)
	if err != nil {
		return Message{}, err
	}
	series, err := ds.SeriesBy(ctx, by, d.Brand, end.Add(-time.Duration(bars)*period), end, weekly)
	if err != nil {
		return Message{}, err
	}
	open, err := ds.CasesFor(ctx, d.Receiver, d.Brand, maxDigestCases)
	if err != nil {
		return Message{}, err
	}
	ids := make([]string, len(open))
	for i, c := range open {
		ids[i] = c.CaseID
	}
	events, err := ds.CaseEvents(ctx, ids)
	if err != nil {
		return Message{}, err
	}

	scope := cmp.Or(d.Brand, "all brands")
	title := fmt.Sprintf("%s digest for %s: %d negative of %d mentions in the last %s", strings.ToUpper(d.Period[:1])+d.Period[1:],
		scope, cur.Negative, cur.Mentions, label)
	summary := []string{fmt.Sprintf("Last %s to %s UTC: %d mentions, %d negative (%s), %d high or critical. The %s before: %d mentions, %d negative (%s).",
		label, end.UTC().Format("2006-01-02 15:04"), cur.Mentions, cur.Negative, share(cur.Negative, cur.Mentions), cur.Severe,
		label, prev.Mentions, prev.Negative, share(prev.Negative, prev.Mentions)) + " Mentions counted " + by.Phrase() + "."}
	if len(cur.NegativeByLocation) > 0 {
		summary = append(summary, "Negative by location: "+top(cur.NegativeByLocation, 8, "no location", "%s %d")+".")
	}
	if len(cur.Aspects) > 0 {
		summary = append(summary, "Top aspects: "+top(cur.Aspects, 5, "", "%s %d")+".")
	}

	// Each case with its status; overdue first, then by severity and age.
	type row struct {
		c       Case
		overdue bool
		rank    int
		opened  time.Time
	}
	var rows []row
	counts := map[string]int{}
	overdue, deferred := 0, 0
	for _, cs := range open {
		m, found, err := ds.Mention(ctx, cs.MentionID)
		if err != nil {
			return Message{}, err
		}
		if !found {
			m = mention.Mention{ID: cs.MentionID, Brand: cs.Brand, Location: cs.Location, Score: mention.Score{Severity: cs.Severity}}
		}
		c := dg.Compose.Case(m)
		c.ID = cs.CaseID
		evs := events[cs.CaseID]
		var ackWithin, resolveWithin time.Duration
		for _, r := range dg.Tree.Match(LabelsOf(m)) {
			if r.Receiver == d.Receiver {
				ackWithin, resolveWithin = r.AckWithin, r.ResolveWithin
				break
			}
		}
		sla := Measure(evs, clockOf(dg.Clocks, d.Receiver), end)
		late := sla.Overdue(ackWithin, resolveWithin)
		heldBack := hasEvent(evs, "deferred", d.Receiver) && !hasEvent(evs, "notified", d.Receiver)
		c.Status = caseStatus(cs, evs, sla, d.Receiver, heldBack)
		if late != "" {
			c.Status += "; OVERDUE: " + late
			overdue++
		}
		if heldBack {
			deferred++
		}
		counts[cs.State]++
		rows = append(rows, row{c: c, overdue: late != "", rank: mention.SeverityRank(m.Severity), opened: cs.OpenedAt})
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		if a.overdue != b.overdue {
			if a.overdue {
				return -1
			}
			return 1
		}
		return cmp.Or(b.rank-a.rank, a.opened.Compare(b.opened))
	})
	line := fmt.Sprintf("Unresolved cases for %s: %d open, %d acknowledged, %d on hold; %d overdue.", d.Receiver, counts["open"],
		counts["acknowledged"], counts["on_hold"], overdue)
	if deferred > 0 {
		line += fmt.Sprintf(" %d were held back by the hourly limit and are sent only here.", deferred)
	}
	summary = append(summary, line)
	if len(rows) > maxDigestListed {
		summary = append(summary, fmt.Sprintf("The %d most urgent are listed; `earshot cases list` has them all.", maxDigestListed))
	}
	msg := Message{Receiver: d.Receiver, GroupKey: digestKey(d, end), Title: title, Summary: summary, Compact: true}
	for _, r := range rows[:min(len(rows), maxDigestListed)] {
		msg.Cases = append(msg.Cases, r.c)
	}
	what := "day"
	if weekly {
		what = "week"
	}
	png, err := TrendChart(fmt.Sprintf("Negative mentions per %s, %s", what, asciiOr(scope, "selected brand")), series, weekly)
	if err != nil {
		return Message{}, err
	}
	msg.Attachments = []Attachment{{Filename: "trend.png", ContentType: "image/png", ContentID: "trend.png", Data: png}}
	return msg, nil
}

// Send builds and sends the digest of the period ending at end, once: a
// digest already delivered for that period is not sent again.
func (dg Digester) Send(ctx context.Context, ds DigestStore, d config.Digest, end time.Time) (bool, error) {
	rcv, ok := dg.Receivers[d.Receiver]
	if !ok {
		return false, fmt.Errorf("digest: no receiver %q", d.Receiver)
	}
	done, err := ds.Delivered(ctx, d.Receiver, digestKey(d, end))
	if err != nil || done {
		return false, err
	}
	msg, err := dg.Build(ctx, ds, d, end)
	if err != nil {
		return false, fmt.Errorf("digest for %s: %w", d.Receiver, err)
	}
	msg.ID = "digest-" + digestKey(d, end)
	if _, err := dg.Sender.Deliver(ctx, rcv, msg, false); err != nil {
		return false, err
	}
	return true, nil
}

// caseStatus says where a case stands for the receiver's staff.
// heldBack: the receiver's hourly limit deferred it to the digest.
func caseStatus(cs caselog.State, evs []caselog.Event, sla SLA, receiver string, heldBack bool) string {
	var s string
	switch cs.State {
	case "open":
		s = "open for " + age(sla.ToAck)
	case "acknowledged":
		s = fmt.Sprintf("acknowledged by %s; %s toward resolution", orNone(cs.Actor), age(sla.ToResolve))
	case "on_hold":
		s = fmt.Sprintf("on hold (by %s) since %s; clock paused at %s", orNone(cs.Actor), cs.UpdatedAt.UTC().Format("Jan 2 15:04"), age(sla.ToResolve))
	default:
		s = cs.State
	}
	if heldBack {
		s += "; not alerted (hourly limit)"
	}
	if hasEvent(evs, "inhibited", receiver) {
		s += "; listed in a storm alert"
	}
	for _, e := range evs {
		if e.Event == "escalated" {
			s += fmt.Sprintf("; escalated to %s", e.Receiver)
		}
	}
	return s
}

func hasEvent(evs []caselog.Event, event, receiver string) bool {
	return slices.ContainsFunc(evs, func(e caselog.Event) bool { return e.Event == event && e.Receiver == receiver })
}

// age writes a duration for people: 45m, 5h 20m, 3d 4h.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "<1m" // not "0m": a case due this minute is still due
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

func share(part, whole int) string {
	if whole == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(part)/float64(whole))
}

// top lists the n largest counts, each written with format (name, count),
// largest first; empty names the "" key.
func top(counts map[string]int, n int, empty, format string) string {
	names := make([]string, 0, len(counts))
	for k := range counts {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(counts[b]-counts[a], strings.Compare(a, b)) })
	var parts []string
	for _, k := range names[:min(n, len(names))] {
		parts = append(parts, fmt.Sprintf(format, cmp.Or(k, empty), counts[k]))
	}
	if len(names) > n {
		parts = append(parts, fmt.Sprintf("%d more", len(names)-n))
	}
	return strings.Join(parts, ", ")
}

// asciiOr is s when the chart font can draw it, else fallback.
func asciiOr(s, fallback string) string {
	for _, r := range s {
		if r > 0x24F { // Latin Extended-B and below
			return fallback
		}
	}
	return s
}
