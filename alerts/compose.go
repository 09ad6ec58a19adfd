package alerts

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/earshot/earshot/mention"
)

// Composer prepares cases for messages: the links staff act through, the
// suggested reply, and the cap on how many cases a message lists in full.
// Every stage that sends (flush, storms, escalation, digests) composes its
// cases with it, so they read the same. The zero value adds no links.
type Composer struct {
	Links func(caseID string) (ack, resolve string) // optional signed links
	// MoreLink, optional, links a capped message to the page of all its
	// cases (Signer.MoreLink).
	MoreLink func(messageID string) string
	Contact  func(brand, location string) string // who customers can reach, for the suggested reply
	// Contacts, optional, is the same contact written per language
	// ({"ru": "Анна Хорват, администратор"}), used in replies in it.
	Contacts func(brand, location string) map[string]string
	// CaseURL, optional, is the address of a case's page in the web inbox
	// (server.base_url + /cases/{id}); messages link to it.
	CaseURL func(caseID string) string
	// MaxListed is how many cases a message lists in full (default 25): a
	// larger group lists its worst cases and names the rest, so a bulk
	// import does not become a 30 MB mail.
	MaxListed int
}

// Case prepares a mention's case for a message: links and reply.
func (c Composer) Case(m mention.Mention) Case {
	cs := Case{ID: CaseID(m), Mention: m}
	if c.Links != nil {
		cs.AckURL, cs.ResolveURL = c.Links(cs.ID)
	}
	if c.CaseURL != nil {
		cs.CaseURL = c.CaseURL(cs.ID)
	}
	var rc ReplyContact
	if c.Contact != nil {
		rc.Default = c.Contact(m.Brand, m.Location)
	}
	if c.Contacts != nil {
		rc.ByLang = c.Contacts(m.Brand, m.Location)
	}
	cs.Reply, cs.ReplyNote = SuggestReplyTo(m, rc), ReplyAdvice(m)
	return cs
}

func (c Composer) listed() int { return cmp.Or(c.MaxListed, 25) }

// Cap orders a message's cases worst first (severity, then newest: every
// renderer lists them in this order) and keeps a large one readable: the
// worst MaxListed cases in full, the others by id, with a line saying so.
func (c Composer) Cap(msg *Message) {
	limit := c.listed()
	cases := slices.Clone(msg.Cases)
	slices.SortStableFunc(cases, func(a, b Case) int { return worstFirst(a.Mention, b.Mention) })
	if len(cases) <= limit {
		msg.Cases = cases
		return
	}
	listed, rest := cases[:limit], cases[limit:]
	msg.Cases = listed
	for _, r := range rest {
		msg.More = append(msg.More, r.ID)
	}
	if c.MoreLink != nil && msg.ID != "" {
		msg.MoreURL = c.MoreLink(msg.ID)
	}
	m := listed[0].Mention
	msg.Title = fmt.Sprintf("%d negative mentions of %s%s", len(cases), m.Brand, at(m.Location))
	msg.Summary = append(msg.Summary, fmt.Sprintf("The %d most severe are below; %d more are open in this group: `earshot cases list` shows them, and the digest lists them until resolved.",
		limit, len(rest)))
}

// Fill gives each case a message lists its whole mention (from full, the
// prefetched ones, or read now in one query), links and suggested reply.
// The cases came grouped on their labels only; the words are read for the
// few a message lists.
func (c Composer) Fill(ctx context.Context, read MentionReader, msg *Message, full map[string]mention.Mention) error {
	var missing []string
	for _, cs := range msg.Cases {
		if _, ok := full[cs.Mention.ID]; !ok {
			missing = append(missing, cs.Mention.ID)
		}
	}
	got := full
	if len(missing) > 0 {
		ms, err := read.Mentions(ctx, missing)
		if err != nil {
			return fmt.Errorf("read listed mentions: %w", err)
		}
		got = make(map[string]mention.Mention, len(msg.Cases))
		for _, cs := range msg.Cases {
			if m, ok := full[cs.Mention.ID]; ok {
				got[cs.Mention.ID] = m
			} else if m, ok := ms[cs.Mention.ID]; ok {
				got[cs.Mention.ID] = m
			}
		}
	}
	for i, cs := range msg.Cases {
		m, ok := got[cs.Mention.ID]
		if !ok {
			m = cs.Mention // read a moment ago: keep its labels
		}
		whole := c.Case(m)
		whole.ID = cs.ID
		msg.Cases[i] = whole
	}
	return nil
}

// worstFirst orders mentions as a capped message lists them: severity,
// then newest.
func worstFirst(a, b mention.Mention) int {
	if c := cmp.Compare(mention.SeverityRank(b.Severity), mention.SeverityRank(a.Severity)); c != 0 {
		return c
	}
	return b.PublishedAt.Compare(a.PublishedAt)
}
