// Package web is the reputation manager's inbox that `earshot run` serves:
// HTML pages (/cases, /cases/{id}, /trends, /sources, /login) and a JSON
// API (/api/v1), over the same case workflow as the CLI (Service). Every
// read and action is limited to the user's scope on the server.
package web

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

// User is who reads or acts: a configured user, or the CLI's operator.
type User struct {
	Name  string
	Email string
	Role  string // viewer, agent, admin
	Scope storage.Scope
}

// CanAct reports whether the user may change cases.
func (u User) CanAct() bool { return u.Role == "agent" || u.Role == "admin" }

// Errors the service returns; the API maps them to HTTP statuses.
var (
	ErrNotFound  = errors.New("no such case")
	ErrForbidden = errors.New("your role cannot act on cases (viewer)")
	ErrConflict  = errors.New("conflict")
)

// BadRequest is an error in what the caller asked (HTTP 400).
type BadRequest struct{ Msg string }

func (e BadRequest) Error() string { return e.Msg }

func badf(format string, args ...any) error { return BadRequest{fmt.Sprintf(format, args...)} }

// Service is the case workflow shared by the web inbox, the API and the
// `earshot cases` commands.
type Service struct {
	Store  *storage.Store
	Config *config.Config
	Tree   *alerts.Route
	Clocks map[string]alerts.Clock
	Now    func() time.Time

	versionOnce sync.Once
	limitCounts bool // the server counts rows before a LIMIT exactly
}

// NewService builds a Service from a validated config.
func NewService(st *storage.Store, cfg *config.Config) (*Service, error) {
	tree, err := alerts.Tree(cfg)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	clocks, err := alerts.Clocks(cfg)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return &Service{Store: st, Config: cfg, Tree: tree, Clocks: clocks, Now: time.Now}, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Filter is the inbox's filter as the pages, the API and the CLI take it.
type Filter struct {
	State, Severity, Brand, Location, Source, Lang, Aspect, Signal string
	Overdue, Mine                                                  bool
	Search, Sort                                                   string
	Page, PerPage                                                  int
}

// CaseSummary is a case in a list (the API's and `cases list --format
// json`'s keys).
type CaseSummary struct {
	ID          string    `json:"id"`
	MentionID   string    `json:"mention_id"`
	State       string    `json:"state"`
	Severity    string    `json:"severity"`
	Brand       string    `json:"brand"`
	Location    string    `json:"location"`
	Source      string    `json:"source"`
	Kind        string    `json:"kind"`
	Lang        string    `json:"lang"`
	Aspects     []string  `json:"aspects"`
	Signals     []string  `json:"signals"`
	Rating      float64   `json:"rating"`
	RatingMax   float64   `json:"rating_max"`
	Author      string    `json:"author"`
	Excerpt     string    `json:"excerpt"`
	PublishedAt time.Time `json:"published_at"`
	OpenedAt    time.Time `json:"opened_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Actor       string    `json:"actor"`
	Outcome     string    `json:"outcome"`
	Assignee    string    `json:"assignee"`
	SLA         string    `json:"sla"`
	Overdue     bool      `json:"overdue"`
}

// CaseList is a page of cases.
type CaseList struct {
	Total   uint64        `json:"total"`
	Page    int           `json:"page"`
	PerPage int           `json:"per_page"`
	Cases   []CaseSummary `json:"cases"`
}

// List returns a page of the cases in u's scope matching f.
func (s *Service) List(ctx context.Context, u User, f Filter) (CaseList, error) {
	per := f.PerPage
	if per <= 0 || per > 1000 {
		per = 25
	}
	page := max(f.Page, 1)
	sf := storage.InboxFilter{Scope: u.Scope, State: f.State, Severity: f.Severity, Brand: f.Brand, Location: f.Location,
		Source: f.Source, Lang: f.Lang, Aspect: f.Aspect, Signal: f.Signal, Search: f.Search, Sort: f.Sort,
		Limit: per, Offset: (page - 1) * per, Overdue: f.Overdue}
	if f.Sort != "" && f.Sort != "severity" && f.Sort != "newest" {
		return CaseList{}, badf("sort %q: want severity or newest", f.Sort)
	}
	if f.Mine {
		sf.AssignedTo = u.Name
	}
	s.versionOnce.Do(func() {
		if v, err := s.Store.Version(ctx); err == nil {
			s.limitCounts = storage.ExactRowsBeforeLimit(v)
		}
	})
	sf.LimitCounts = s.limitCounts
	out := CaseList{Page: page, PerPage: per, Cases: []CaseSummary{}}
	// One instant for the SQL's deadlines and the rows' SLA texts; the
	// SLA sort and the overdue filter need the deadlines.
	now := s.now()
	if f.Overdue || f.Sort != "newest" {
		plan, err := s.SLAPlan(ctx, now)
		if err != nil {
			return out, err
		}
		sf.SLA = plan
	}
	rows, total, err := s.Store.Inbox(ctx, sf)
	if err != nil {
		return out, s.wrapFilter(err)
	}
	cs, err := s.summariesAt(ctx, rows, now)
	if err != nil {
		return out, err
	}
	out.Total, out.Cases = total, append(out.Cases, cs...)
	return out, nil
}

// wrapFilter turns the store's filter validation errors into 400s.
func (s *Service) wrapFilter(err error) error {
	if msg := err.Error(); strings.HasPrefix(msg, "state ") || strings.HasPrefix(msg, "severity ") {
		return BadRequest{msg}
	}
	return err
}

// labelsOf rebuilds the routing labels of a case's mention from its row.
func labelsOf(r storage.InboxRow) mention.Mention {
	return mention.Mention{ID: r.MentionID, Brand: r.Brand, Location: r.Location, Source: r.Source, Kind: r.Kind, Lang: r.Lang,
		Score: mention.Score{Severity: r.Severity, Aspects: r.Aspects, Signals: r.Signals, Negative: true}}
}

func (s *Service) summaries(ctx context.Context, rows []storage.InboxRow) ([]CaseSummary, error) {
	return s.summariesAt(ctx, rows, s.now())
}

func (s *Service) summariesAt(ctx context.Context, rows []storage.InboxRow, now time.Time) ([]CaseSummary, error) {
	var missing []string // rows the inbox read without their events
	for _, r := range rows {
		if r.Events == nil {
			missing = append(missing, r.CaseID)
		}
	}
	evs := map[string][]storage.CaseEvent{}
	if len(missing) > 0 {
		var err error
		if evs, err = s.Store.CaseEvents(ctx, missing); err != nil {
			return nil, err
		}
	}
	for _, r := range rows {
		if r.Events != nil {
			evs[r.CaseID] = r.Events
		}
	}
	out := make([]CaseSummary, len(rows))
	for i, r := range rows {
		out[i] = summary(r)
		out[i].SLA = alerts.CaseSLA(s.Tree, s.Clocks, labelsOf(r), evs[r.CaseID], now)
		out[i].Overdue = strings.HasPrefix(out[i].SLA, "OVERDUE")
	}
	return out, nil
}

func summary(r storage.InboxRow) CaseSummary {
	return CaseSummary{ID: r.CaseID, MentionID: r.MentionID, State: r.State, Severity: r.Severity, Brand: r.Brand, Location: r.Location,
		Source: r.Source, Kind: r.Kind, Lang: r.Lang, Aspects: nonNil(r.Aspects), Signals: nonNil(r.Signals), Rating: r.Rating,
		RatingMax: r.RatingMax, Author: r.Author, Excerpt: excerpt(r.Excerpt, 160), PublishedAt: r.PublishedAt.UTC(),
		OpenedAt: r.OpenedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Actor: r.Actor, Outcome: r.Outcome, Assignee: r.Assignee}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n])) + "…"
}

// Resolve turns a case id or a unique prefix of one (with or without its
// "case:" or "case:story:", so the hash that `cases list` shows will do)
// into the id of a case in u's scope.
func (s *Service) Resolve(ctx context.Context, u User, ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", badf("which case? give its id or a unique prefix of it")
	}
	// Every case id starts with "case:"; the hash `cases list` shows
	// follows "case:story:". Matches under both count together, so a
	// short ref that fits one case of each is ambiguous, not the first.
	var found []string
	for _, p := range caseRefs(ref) {
		ids, err := s.Store.ResolveCase(ctx, u.Scope, p)
		if err != nil {
			return "", err
		}
		for _, id := range ids {
			if id == p {
				return id, nil // a whole id, even if it begins another
			}
			if !slices.Contains(found, id) {
				found = append(found, id)
			}
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return "", badf("case %q is ambiguous (%s, %s, ...): give more of its id", ref, found[0], found[1])
	}
	return "", fmt.Errorf("case %s: %w", ref, ErrNotFound)
}

// caseRefs are the ids, or id prefixes, that ref may name: itself when it
// starts with "case:", else under "case:" and under "case:story:".
func caseRefs(ref string) []string {
	if strings.HasPrefix(ref, "case:") {
		return []string{ref}
	}
	return []string{"case:" + ref, "case:story:" + ref}
}

// RelatedMention is a mention shown beside a case.
type RelatedMention struct {
	ID          string    `json:"id"`
	Why         string    `json:"why"` // same_story or earlier_complaint
	Source      string    `json:"source"`
	Location    string    `json:"location"`
	URL         string    `json:"url"`
	Author      string    `json:"author"`
	PublishedAt time.Time `json:"published_at"`
	Excerpt     string    `json:"excerpt"`
	CaseID      string    `json:"case_id"`
}

// HistoryEvent is one line of a case's history, in plain words.
type HistoryEvent struct {
	At      time.Time `json:"at"`
	Event   string    `json:"event"`
	Actor   string    `json:"actor"`
	Text    string    `json:"text"`
	Outcome string    `json:"outcome,omitempty"`
	Note    string    `json:"note,omitempty"`
}

// CaseDetail is everything the case page shows.
type CaseDetail struct {
	CaseSummary
	Title          string           `json:"title"`
	Text           string           `json:"text"`
	URL            string           `json:"url"`
	Sentiment      float64          `json:"sentiment"`
	Reasons        []string         `json:"reasons"`
	Why            []string         `json:"why"`
	SuggestedReply string           `json:"suggested_reply"`
	ReplyLang      string           `json:"reply_lang"`
	ReplyAdvice    string           `json:"reply_advice"`
	ScorerVersion  string           `json:"scorer_version"`
	Related        []RelatedMention `json:"related"`
	History        []HistoryEvent   `json:"history"`
	Labels         []storage.Label  `json:"labels"`
}

// Get returns a case in u's scope (ErrNotFound for any other: a case out
// of scope does not exist for the user).
func (s *Service) Get(ctx context.Context, u User, ref string) (CaseDetail, error) {
	id, err := s.Resolve(ctx, u, ref)
	if err != nil {
		return CaseDetail{}, err
	}
	c, found, err := s.Store.Case(ctx, id)
	if err != nil {
		return CaseDetail{}, err
	}
	if !found || !u.Scope.Allows(c.Brand, c.Location) {
		return CaseDetail{}, fmt.Errorf("case %s: %w", ref, ErrNotFound)
	}
	rows, err := s.Store.InboxRows(ctx, []storage.CaseState{c})
	if err != nil {
		return CaseDetail{}, err
	}
	sums, err := s.summaries(ctx, rows)
	if err != nil {
		return CaseDetail{}, err
	}
	d := CaseDetail{CaseSummary: sums[0], Related: []RelatedMention{}, History: []HistoryEvent{}, Reasons: []string{}}
	m, ok, err := s.Store.Mention(ctx, c.MentionID)
	if err != nil {
		return d, err
	}
	if ok {
		d.Title, d.Text, d.URL, d.Sentiment, d.ScorerVersion = m.Title, m.Text, alerts.SafeURL(m.URL), m.Sentiment, m.ScorerVersion
		d.Reasons = nonNil(m.Reasons)
		d.Why = Why(m)
		d.SuggestedReply = alerts.SuggestReplyTo(m, s.contact(m.Brand, m.Location))
		d.ReplyLang = alerts.ReplyLang(m)
		d.ReplyAdvice = alerts.ReplyAdvice(m)
		d.Author, d.Source, d.Lang, d.Kind = m.Author, m.Source, m.Lang, m.Kind
		d.Aspects, d.Signals, d.Rating, d.RatingMax = nonNil(m.Aspects), nonNil(m.Signals), m.Rating, m.RatingMax
		d.PublishedAt = m.PublishedAt.UTC()
		if d.Related, err = s.related(ctx, u, c, m); err != nil {
			return d, err
		}
		if d.Labels, err = s.Store.Labels(ctx, []string{m.ID}); err != nil {
			return d, err
		}
	}
	if d.Labels == nil {
		d.Labels = []storage.Label{}
	}
	evs, err := s.Store.CaseEvents(ctx, []string{id})
	if err != nil {
		return d, err
	}
	for _, e := range evs[id] {
		if h, ok := history(e); ok {
			d.History = append(d.History, h)
		}
	}
	// Events within one second (at is a DateTime) in workflow order.
	slices.SortStableFunc(d.History, func(a, b HistoryEvent) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return slices.Index(eventOrder, a.Event) - slices.Index(eventOrder, b.Event)
	})
	return d, nil
}

func (s *Service) contact(brand, loc string) alerts.ReplyContact {
	if b := s.Config.BrandByName(brand); b != nil {
		for _, l := range b.Locations {
			if l.Name == loc {
				return alerts.ReplyContact{Default: l.Contact, ByLang: l.Contacts}
			}
		}
	}
	return alerts.ReplyContact{}
}

// related finds the same story's other postings and the author's earlier
// complaints about the brand, in u's scope, by key only.
func (s *Service) related(ctx context.Context, u User, c storage.CaseState, m mention.Mention) ([]RelatedMention, error) {
	story, err := s.Store.CaseMentionIDs(ctx, c.CaseID)
	if err != nil {
		return nil, err
	}
	earlier, err := s.Store.AuthorComplaints(ctx, m.Brand, m.Author, m.PublishedAt, 10)
	if err != nil {
		return nil, err
	}
	why := map[string]string{}
	var ids []string
	for _, id := range story {
		if id != m.ID {
			why[id] = "same_story"
			ids = append(ids, id)
		}
	}
	for _, id := range earlier {
		if _, ok := why[id]; !ok && id != m.ID {
			why[id] = "earlier_complaint"
			ids = append(ids, id)
		}
	}
	ms, err := s.Store.Mentions(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := []RelatedMention{}
	for _, id := range ids {
		r, ok := ms[id]
		if !ok || !u.Scope.Allows(r.Brand, r.Location) {
			continue
		}
		cid := "case:" + r.ID
		if r.StoryID != "" {
			cid = "case:" + r.StoryID
		}
		out = append(out, RelatedMention{ID: r.ID, Why: why[id], Source: r.Source, Location: r.Location, URL: alerts.SafeURL(r.URL),
			Author: r.Author, PublishedAt: r.PublishedAt.UTC(), Excerpt: excerpt(r.Text, 200), CaseID: cid})
	}
	return out, nil
}

// OutcomeWords says each resolve outcome in plain words.
var OutcomeWords = map[string]string{
	"replied_publicly":    "Replied publicly",
	"contacted_privately": "Contacted the customer privately",
	"compensated":         "Compensated the customer",
	"no_action":           "No action needed",
	"not_a_complaint":     "Not a complaint",
}

var eventOrder = []string{"opened", "deferred", "inhibited", "notified", "escalated", "assigned", "noted", "acknowledged", "held",
	"resumed", "resolved", "labelled"}

func history(e storage.CaseEvent) (HistoryEvent, bool) {
	h := HistoryEvent{At: e.At.UTC(), Event: e.Event, Actor: e.Actor, Outcome: e.Outcome, Note: e.Note}
	by := ""
	if e.Actor != "" {
		by = " by " + e.Actor
	}
	switch e.Event {
	case "opened":
		h.Text = "Case opened"
	case "notified":
		h.Text = "Alert sent to " + e.Receiver
	case "deferred":
		h.Text = "Alert deferred to the " + e.Receiver + " digest"
	case "inhibited":
		h.Text = "Alert held back: part of a storm"
	case "escalated":
		h.Text = fmt.Sprintf("Escalated (step %d) to %s", e.Step, e.Receiver)
	case "acknowledged":
		h.Text = "Acknowledged" + by
	case "held":
		h.Text = "Put on hold" + by
	case "resumed":
		h.Text = "Resumed" + by
	case "resolved":
		h.Text = "Resolved" + by + ": " + orText(OutcomeWords[e.Outcome], e.Outcome)
	case "noted":
		h.Text = "Note" + by
	case "assigned":
		h.Text, h.Note = "Assigned to "+e.Note+by, ""
	case "labelled":
		h.Text = "Feedback on the scorer" + by
	default:
		return h, false // routing and delivery bookkeeping (routed, queued, sending)
	}
	return h, true
}

func orText(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ActInput is what an action takes besides the case.
type ActInput struct {
	Outcome  string   `json:"outcome"`
	Note     string   `json:"note"`
	Assignee string   `json:"assignee"`
	Label    string   `json:"label"`   // negative, neutral, positive ("not a complaint": neutral or positive)
	Aspects  []string `json:"aspects"` // the right aspects ("wrong aspect")
}

// Actions the service takes.
var Actions = []string{"ack", "assign", "note", "hold", "resume", "resolve", "label"}

// Act applies an action to a case in u's scope, as u. Every action is a
// case event with u's name as its actor.
func (s *Service) Act(ctx context.Context, u User, ref, action string, in ActInput) (CaseSummary, error) {
	if err := s.checkAct(u, action, &in); err != nil {
		return CaseSummary{}, err
	}
	id, _, err := s.act(ctx, u, ref, action, in)
	if err != nil {
		return CaseSummary{}, err
	}
	c, _, err := s.Store.Case(ctx, id)
	if err != nil {
		return CaseSummary{}, err
	}
	rows, err := s.Store.InboxRows(ctx, []storage.CaseState{c})
	if err != nil {
		return CaseSummary{}, err
	}
	sums, err := s.summaries(ctx, rows)
	if err != nil {
		return CaseSummary{}, err
	}
	return sums[0], nil
}

// checkAct refuses, before any case is read, what no case could take: a
// user who may only look, an unknown action, outcome, label or assignee,
// a note too long or missing.
func (s *Service) checkAct(u User, action string, in *ActInput) error {
	if !u.CanAct() {
		return ErrForbidden
	}
	if !slices.Contains(Actions, action) {
		return badf("unknown action %q (want %s)", action, strings.Join(Actions, ", "))
	}
	if action == "resolve" && !slices.Contains(alerts.Outcomes, in.Outcome) {
		return badf("outcome %q: want one of %s", in.Outcome, strings.Join(alerts.Outcomes, ", "))
	}
	in.Note = strings.TrimSpace(in.Note)
	if len(in.Note) > 2000 {
		return badf("note: at most 2000 bytes")
	}
	if action == "note" && in.Note == "" {
		return badf("note: empty")
	}
	switch action {
	case "label":
		in.Label = strings.TrimSpace(in.Label)
		var aspects []string
		for _, a := range in.Aspects {
			if a = strings.ToLower(strings.TrimSpace(a)); a != "" && !slices.Contains(aspects, a) {
				aspects = append(aspects, a)
			}
		}
		in.Aspects = aspects
		if in.Label == "" && len(aspects) > 0 {
			in.Label = "negative"
		}
		if !slices.Contains(storage.LabelValues, in.Label) {
			return badf("label %q: want negative, neutral or positive", in.Label)
		}
		if in.Label == "negative" && len(aspects) == 0 {
			return badf("label negative: give the right aspects (a wrong-aspect correction), or label neutral or positive")
		}
	case "assign":
		in.Assignee = strings.TrimSpace(in.Assignee)
		if in.Assignee == "" {
			in.Assignee = u.Name
		}
		if len(s.Config.Users) > 0 && s.Config.UserByName(in.Assignee) == nil {
			return badf("assignee %q: no such user", in.Assignee)
		}
	}
	return nil
}

// MaxBulk is the most cases one bulk action takes (the inbox offers the
// bulk form on pages of at most this many).
const MaxBulk = 100

// BulkItem is what a bulk action did to one case.
type BulkItem struct {
	Case  string `json:"case"`            // as given
	ID    string `json:"id,omitempty"`    // the case it named
	State string `json:"state,omitempty"` // after the action
	// Result: done; unchanged (already so, not possible from its state,
	// or named twice); or failed (not there, not in scope, refused).
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// BulkResult is a bulk action's outcome, case by case.
type BulkResult struct {
	Action    string     `json:"action"`
	Done      int        `json:"done"`
	Unchanged int        `json:"unchanged"`
	Failed    int        `json:"failed"`
	Cases     []BulkItem `json:"cases"`
}

// ActMany applies one action to up to MaxBulk cases, each as Act would
// (its own event, u's scope checked per case). A case that is not there
// or not in u's scope fails and one already so is unchanged, without
// stopping the others; a store failure stops the batch and is returned,
// the cases it had not written marked failed ("not done"). Running it
// again is safe: what was done comes back unchanged (notes, assignments
// and labels are recorded again, a label replacing the same person's).
func (s *Service) ActMany(ctx context.Context, u User, refs []string, action string, in ActInput) (BulkResult, error) {
	res := BulkResult{Action: action}
	if err := s.checkAct(u, action, &in); err != nil {
		return res, err
	}
	var uniq []string
	seenRef := map[string]bool{}
	for _, r := range refs {
		if r = strings.TrimSpace(r); r != "" && !seenRef[r] {
			if len(uniq) == MaxBulk {
				return res, badf("more than %d cases: at most %d at once", MaxBulk, MaxBulk)
			}
			seenRef[r] = true
			uniq = append(uniq, r)
		}
	}
	if len(uniq) == 0 {
		return res, badf("which cases? select at least one")
	}
	return s.moveMany(ctx, u, uniq, action, in)
}

// moveMany is ActMany: the cases read in one query, then moved (ack,
// hold, resume, resolve) by alerts.ActMany (one insert for the labels, one
// for the events), noted or assigned in one insert, or labelled in two
// (labelMany), so a page of cases costs a few round trips, not a few per
// case. Refs that are not whole ids are resolved one by one, as for one
// case.
func (s *Service) moveMany(ctx context.Context, u User, refs []string, action string, in ActInput) (BulkResult, error) {
	res := BulkResult{Action: action}
	var want []string
	for _, ref := range refs {
		want = append(want, caseRefs(ref)...)
	}
	cases, err := s.Store.CasesByID(ctx, want)
	if err != nil {
		return res, err
	}
	failed := func(it BulkItem, ref string) {
		it.Result, it.Error = "failed", fmt.Sprintf("case %s: %v", ref, ErrNotFound)
		res.Failed++
		res.Cases = append(res.Cases, it)
	}
	var toMove []storage.CaseState
	var at []int // index in res.Cases of each case to move
	done := map[string]string{}
	for _, ref := range refs {
		it := BulkItem{Case: ref}
		var c storage.CaseState
		var n int
		for _, w := range caseRefs(ref) {
			// Only cases the user may see: one out of scope must answer
			// as Resolve does (as if it were not there).
			if cc, ok := cases[w]; ok && cc.CaseID != c.CaseID && u.Scope.Allows(cc.Brand, cc.Location) {
				c, n = cc, n+1
			}
		}
		if n != 1 {
			// A prefix, not there, or whole ids under both prefixes: as
			// for one case.
			id, err := s.Resolve(ctx, u, ref)
			var bad BadRequest
			switch {
			case errors.Is(err, ErrNotFound):
				failed(it, ref)
				continue
			case errors.As(err, &bad):
				it.Result, it.Error = "failed", err.Error()
				res.Failed++
				res.Cases = append(res.Cases, it)
				continue
			case err != nil:
				return notDone(res, at, err), fmt.Errorf("bulk %s: %w", action, err)
			}
			var found bool
			if c, found, err = s.Store.Case(ctx, id); err != nil {
				return notDone(res, at, err), fmt.Errorf("bulk %s: %w", action, err)
			} else if !found {
				failed(it, ref)
				continue
			}
		}
		if !u.Scope.Allows(c.Brand, c.Location) {
			failed(it, ref)
			continue
		}
		it.ID = c.CaseID
		if first := done[c.CaseID]; first != "" {
			it.Result, it.Error = "unchanged", fmt.Sprintf("the same case as %q", first)
			res.Unchanged++
			res.Cases = append(res.Cases, it)
			continue
		}
		done[c.CaseID] = ref
		it.State = c.State
		toMove, at = append(toMove, c), append(at, len(res.Cases))
		res.Cases = append(res.Cases, it)
	}
	switch action {
	case "note", "assign":
		return s.recordMany(ctx, u, res, toMove, at, action, in)
	case "label":
		return s.labelMany(ctx, u, res, toMove, at, in)
	}
	moved, err := alerts.ActMany(ctx, s.Store, toMove, action, u.Name, in.Outcome, in.Note, s.now())
	if err != nil {
		return notDone(res, at, err), fmt.Errorf("bulk %s: %w", action, err)
	}
	for k, i := range at {
		it := &res.Cases[i]
		if err := moved[k].Err; err != nil {
			it.Result, it.Error = "unchanged", err.Error()
			res.Unchanged++
			continue
		}
		it.Result, it.State = "done", moved[k].Event.State
		res.Done++
	}
	return res, nil
}

// recordMany notes or assigns the cases (res.Cases[at[k]] is toAct[k])
// as actOn does each, in one insert.
func (s *Service) recordMany(ctx context.Context, u User, res BulkResult, toAct []storage.CaseState, at []int, action string, in ActInput) (BulkResult, error) {
	now := s.now()
	var evs []storage.CaseEvent
	var written []int
	for k, c := range toAct {
		more, err := s.recordEvents(u, c, action, in, now)
		if err != nil {
			res.failed(at[k], err)
			continue
		}
		evs = append(evs, more...)
		written = append(written, at[k])
	}
	return s.recordDone(ctx, res, written, evs, action)
}

// recordDone writes evs, the events of the cases at written (indexes in
// res.Cases), in one insert and marks those cases done; should the write
// fail, they are not done.
func (s *Service) recordDone(ctx context.Context, res BulkResult, written []int, evs []storage.CaseEvent, action string) (BulkResult, error) {
	if len(evs) > 0 {
		if err := s.Store.AppendCaseEvents(ctx, evs); err != nil {
			return notDone(res, written, err), fmt.Errorf("bulk %s: %w", action, err)
		}
	}
	for _, i := range written {
		res.Cases[i].Result = "done"
		res.Done++
	}
	return res, nil
}

// failed marks res.Cases[i] failed, for err.
func (r *BulkResult) failed(i int, err error) {
	r.Cases[i].Result, r.Cases[i].Error = "failed", err.Error()
	r.Failed++
}

// labelMany labels the cases' mentions (res.Cases[at[k]] is toAct[k]) as
// actOn labels one: the mentions read in one query, the labels written in
// one insert, then their "labelled" events in another (a label recorded
// without its event is written again by a retry, replacing itself).
func (s *Service) labelMany(ctx context.Context, u User, res BulkResult, toAct []storage.CaseState, at []int, in ActInput) (BulkResult, error) {
	now := s.now()
	ids := make([]string, len(toAct))
	for k, c := range toAct {
		ids[k] = c.MentionID
	}
	ms, err := s.Store.Mentions(ctx, ids)
	if err != nil {
		return notDone(res, at, err), fmt.Errorf("bulk label: %w", err)
	}
	var labels []storage.Label
	var evs []storage.CaseEvent
	var written []int
	for k, c := range toAct {
		m, ok := ms[c.MentionID]
		if !ok {
			res.failed(at[k], notStored(c))
			continue
		}
		labels = append(labels, labelFor(u, c, m, in, now))
		evs = append(evs, caseEvent(u, c, "labelled", labelledNote(in), now))
		written = append(written, at[k])
	}
	if err := s.Store.InsertLabels(ctx, labels); err != nil {
		return notDone(res, written, err), fmt.Errorf("bulk label: %w", err)
	}
	return s.recordDone(ctx, res, written, evs, "label")
}

// recordEvents are a note's or an assignment's events on c, as u. The
// assigned event's note names the assignee: a note given with it is an
// event of its own.
func (s *Service) recordEvents(u User, c storage.CaseState, action string, in ActInput, now time.Time) ([]storage.CaseEvent, error) {
	if action == "note" {
		return []storage.CaseEvent{caseEvent(u, c, "noted", in.Note, now)}, nil
	}
	if au := s.Config.UserByName(in.Assignee); len(s.Config.Users) > 0 && au != nil && !(User{Scope: scopeOf(au)}).Scope.Allows(c.Brand, c.Location) {
		return nil, badf("assignee %q cannot see this case", in.Assignee)
	}
	evs := []storage.CaseEvent{caseEvent(u, c, "assigned", in.Assignee, now)}
	if in.Note != "" {
		evs = append(evs, caseEvent(u, c, "noted", in.Note, now))
	}
	return evs, nil
}

// caseEvent is u's event of kind on c that changes no state (a note, an
// assignment, a label); its id holds the time and u, so it may repeat.
func caseEvent(u User, c storage.CaseState, kind, note string, now time.Time) storage.CaseEvent {
	return storage.CaseEvent{EventID: c.CaseID + ":" + kind + ":" + now.UTC().Format(time.RFC3339Nano) + ":" + u.Name, CaseID: c.CaseID,
		MentionID: c.MentionID, At: now, Event: kind, State: c.State, Actor: u.Name, Note: note, Brand: c.Brand, Location: c.Location,
		Severity: c.Severity}
}

// notDone marks the cases at (queued to move) as failed: a write or read
// failed before any was moved.
func notDone(res BulkResult, at []int, err error) BulkResult {
	for _, i := range at {
		res.Cases[i].Result, res.Cases[i].Error = "failed", "not done: "+err.Error()
	}
	res.Failed += len(at)
	return res
}

// act is Act without the summary: the case's id and its state after.
func (s *Service) act(ctx context.Context, u User, ref, action string, in ActInput) (string, string, error) {
	id, err := s.Resolve(ctx, u, ref)
	if err != nil {
		return "", "", err
	}
	return s.actOn(ctx, u, id, ref, action, in)
}

// actOn acts on the case id (named ref by the user).
func (s *Service) actOn(ctx context.Context, u User, id, ref, action string, in ActInput) (string, string, error) {
	c, found, err := s.Store.Case(ctx, id)
	if err != nil {
		return id, "", err
	}
	if !found || !u.Scope.Allows(c.Brand, c.Location) {
		return "", "", fmt.Errorf("case %s: %w", ref, ErrNotFound)
	}
	now := s.now()
	var evs []storage.CaseEvent
	switch action {
	case "ack", "hold", "resume", "resolve":
		// The case just read, moved as a bulk action moves each.
		moved, err := alerts.ActMany(ctx, s.Store, []storage.CaseState{c}, action, u.Name, in.Outcome, in.Note, now)
		if err == nil {
			err = moved[0].Err
		}
		switch {
		case errors.Is(err, alerts.ErrAlready), err != nil && strings.Contains(err.Error(), "cannot "+action):
			return id, c.State, fmt.Errorf("%w: %s", ErrConflict, err.Error())
		case err != nil:
			return id, c.State, err
		}
		return id, moved[0].Event.State, nil
	case "note", "assign":
		if evs, err = s.recordEvents(u, c, action, in, now); err != nil {
			return id, c.State, err
		}
	case "label":
		if err := s.label(ctx, u, c, in, now); err != nil {
			return id, c.State, err
		}
		evs = []storage.CaseEvent{caseEvent(u, c, "labelled", labelledNote(in), now)}
	}
	if err := s.Store.AppendCaseEvents(ctx, evs); err != nil {
		return id, c.State, err
	}
	return id, c.State, nil
}

// label stores the label checkAct checked and normalised.
func (s *Service) label(ctx context.Context, u User, c storage.CaseState, in ActInput, now time.Time) error {
	m, ok, err := s.Store.Mention(ctx, c.MentionID)
	if err != nil {
		return err
	}
	if !ok {
		return notStored(c)
	}
	return s.Store.InsertLabel(ctx, labelFor(u, c, m, in, now))
}

// labelFor is u's label of c's mention m.
func labelFor(u User, c storage.CaseState, m mention.Mention, in ActInput, now time.Time) storage.Label {
	return storage.Label{MentionID: m.ID, Who: u.Name, At: now, Label: in.Label, Corrected: len(in.Aspects) > 0,
		Aspects: in.Aspects, CaseID: c.CaseID, Brand: m.Brand, Location: m.Location, Lang: m.Lang, ScorerVersion: m.ScorerVersion,
		ScoredNegative: m.Negative, ScoredAspects: m.Aspects, Note: in.Note}
}

// labelledNote is what a "labelled" case event says.
func labelledNote(in ActInput) string {
	desc := "not a complaint (" + in.Label + ")"
	if in.Label == "negative" {
		desc = "right aspects: " + strings.Join(in.Aspects, ", ")
	}
	return strings.TrimSpace(desc + " " + in.Note)
}

func notStored(c storage.CaseState) error {
	return fmt.Errorf("case %s: its mention %s is not stored: %w", c.CaseID, c.MentionID, ErrNotFound)
}

func scopeOf(u *config.User) storage.Scope {
	return storage.Scope{Brands: u.Brands, Locations: u.Locations}
}
