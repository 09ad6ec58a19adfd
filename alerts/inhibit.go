package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/mention"
)

// Inhibitor is the inhibition stage (Alertmanager's inhibitor): a case an
// active storm covers is not sent on its own, because the storm's message
// lists it. It decides over the active storms it is given and records
// each inhibition ("inhibited" event, a "suppressed" delivery row); the
// case stays open. Critical cases are not given to it.
type Inhibitor struct {
	Storms []caselog.Storm // active: in their detector's cooldown
	Log    CaseWriter
	Now    func() time.Time
	Logger *slog.Logger
}

// Covering returns the active storm that covers m, if any: same brand,
// same location (or one of its aspects), and m's time inside or after the
// storm's window.
func (in Inhibitor) Covering(m mention.Mention) (caselog.Storm, bool) {
	t := m.PublishedAt
	if t.IsZero() {
		t = m.CollectedAt
	}
	for _, st := range in.Storms {
		if st.Key.Brand != m.Brand || t.Before(st.WindowStart) {
			continue
		}
		if st.Key.Aspect == "" && st.Key.Location == m.Location || st.Key.Aspect != "" && slices.Contains(m.Aspects, st.Key.Aspect) {
			return st, true
		}
	}
	return caselog.Storm{}, false
}

// Filter returns the cases no active storm covers and records the others
// as inhibited for recv.
func (in Inhibitor) Filter(ctx context.Context, recv, key string, cases []Case) []Case {
	if len(in.Storms) == 0 {
		return cases
	}
	var out []Case
	for _, c := range cases {
		if st, ok := in.Covering(c.Mention); ok {
			in.inhibit(ctx, recv, key, c, st)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// inhibit records that st's message covers c. A failed record leaves the
// case queued: the next flush decides again.
func (in Inhibitor) inhibit(ctx context.Context, recv, key string, c Case, st caselog.Storm) {
	m := c.Mention
	at := nowOf(in.Now)
	why := fmt.Sprintf("inhibited by %s (%d negative mentions in %s)", st.ID, st.Count, caselog.Short(st.WindowEnd.Sub(st.WindowStart)))
	ev := caselog.Event{EventID: caselog.InhibitedID(c.ID, recv), CaseID: c.ID, MentionID: m.ID, At: at,
		Event: "inhibited", State: "open", Actor: "earshot", Receiver: recv, Brand: m.Brand, Location: m.Location,
		Severity: m.Severity, Note: why}
	if err := in.Log.AppendCaseEvents(ctx, []caselog.Event{ev}); err != nil {
		logger(in.Logger).Error("inhibition not recorded; the case stays queued", "case", c.ID, "err", err)
		return
	}
	if err := in.Log.RecordDelivery(ctx, caselog.Delivery{ID: newID(), CaseIDs: []string{c.ID}, GroupKey: key, Receiver: recv,
		Attempt: 1, At: at, Status: "suppressed", Error: why}); err != nil {
		logger(in.Logger).Error("inhibition delivery row not recorded", "case", c.ID, "err", err)
	}
}
