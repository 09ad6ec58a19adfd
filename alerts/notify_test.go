package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/caselog"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

type memCases struct {
	mu       sync.Mutex
	events   map[string]caselog.Event
	deliv    []caselog.Delivery
	mentions map[string]mention.Mention
}

func newMem(ms ...mention.Mention) *memCases {
	m := &memCases{events: map[string]caselog.Event{}, mentions: map[string]mention.Mention{}}
	m.put(ms...)
	return m
}

// put stores mentions, as the pipeline does before it notifies.
func (m *memCases) put(ms ...mention.Mention) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mentions == nil {
		m.mentions = map[string]mention.Mention{}
	}
	for _, x := range ms {
		m.mentions[x.ID] = x
	}
}

func (m *memCases) Mention(_ context.Context, id string) (mention.Mention, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	x, ok := m.mentions[id]
	return x, ok, nil
}

func (m *memCases) Mentions(_ context.Context, ids []string) (map[string]mention.Mention, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]mention.Mention{}
	for _, id := range ids {
		if x, ok := m.mentions[id]; ok {
			out[id] = x
		}
	}
	return out, nil
}

// PendingNotifications mirrors the storage query.
func (m *memCases) PendingNotifications(context.Context, time.Time) ([]caselog.Pending, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	state := map[string]caselog.Event{}
	for _, e := range m.events {
		if !slices.Contains([]string{"opened", "acknowledged", "held", "resumed", "resolved"}, e.Event) {
			continue
		}
		if cur, ok := state[e.CaseID]; !ok || e.Event != "opened" && (cur.Event == "opened" || !e.At.Before(cur.At)) {
			state[e.CaseID] = e
		}
	}
	var out []caselog.Pending
	for _, e := range m.events {
		if e.Event != "queued" || state[e.CaseID].State != "open" {
			continue
		}
		_, notified := m.events[notifiedID(e.CaseID, e.Receiver, 0)]
		_, deferred := m.events[e.CaseID+":deferred:"+e.Receiver]
		_, inhibited := m.events[e.CaseID+":inhibited:"+e.Receiver]
		if !notified && !deferred && !inhibited {
			sending, attempted := m.events[e.CaseID+":sending:"+e.Receiver+":0"]
			attempted = attempted && sending.Event == "sending" // "unsent" replaced it: refused
			out = append(out, caselog.Pending{CaseID: e.CaseID, MentionID: e.MentionID, Receiver: e.Receiver, GroupKey: e.Note,
				Severity: e.Severity, QueuedAt: e.At, Attempted: attempted, AttemptID: sending.Note})
		}
	}
	slices.SortFunc(out, func(a, b caselog.Pending) int {
		if c := a.QueuedAt.Compare(b.QueuedAt); c != 0 {
			return c
		}
		return strings.Compare(a.CaseID, b.CaseID)
	})
	return out, nil
}

func (m *memCases) SendHistory(_ context.Context, since, countFrom time.Time) (caselog.SendHistory, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := caselog.SendHistory{SentSince: map[string]int{}, LastSent: map[string]time.Time{}}
	for _, d := range m.deliv {
		if d.Status != "sent" || d.At.Before(since) {
			continue
		}
		if !d.At.Before(countFrom) {
			h.SentSince[d.Receiver]++
		}
		k := d.Receiver + "\x00" + d.GroupKey
		if d.At.After(h.LastSent[k]) {
			h.LastSent[k] = d.At
		}
	}
	return h, nil
}

func (m *memCases) AppendCaseEvents(_ context.Context, evs []caselog.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range evs {
		m.events[e.EventID] = e
	}
	return nil
}

func (m *memCases) HasEvents(_ context.Context, ids []string) (map[string]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]bool{}
	for _, id := range ids {
		if _, ok := m.events[id]; ok {
			out[id] = true
		}
	}
	return out, nil
}

func (m *memCases) RecordDelivery(_ context.Context, d caselog.Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deliv = append(m.deliv, d)
	return nil
}

// scripted answers with its script, then succeeds.
type scripted struct {
	name   string
	script []Delivery
	sent   []Message
}

func (s *scripted) Name() string { return s.name }
func (s *scripted) Send(_ context.Context, m Message) (Delivery, error) {
	if len(s.script) > 0 {
		d := s.script[0]
		s.script = s.script[1:]
		return d, errors.New("refused")
	}
	s.sent = append(s.sent, m)
	return Delivery{HTTPStatus: 202}, nil
}

func TestNotifierExactlyOnce(t *testing.T) {
	cfg, err := config.Parse("r.yaml", []byte(`
receivers: [{name: desk, kind: outbox}, {name: legal, kind: outbox}, {name: broken, kind: outbox}]
route:
  receiver: desk
  routes:
    - {receiver: legal, signals: [legal], continue: true}
    - {receiver: broken, match: {location: Split}}
`), config.Schema{})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := Tree(cfg)
	if err != nil {
		t.Fatal(err)
	}
	desk := &scripted{name: "desk", script: []Delivery{{HTTPStatus: 429, Retry: true, RetryAfter: time.Second}}}
	legal := &scripted{name: "legal"}
	broken := &scripted{name: "broken", script: []Delivery{{HTTPStatus: 400}}}
	store := newMem()
	var waits []time.Duration
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	n := &Notifier{Tree: tree, Receivers: map[string]Receiver{"desk": desk, "legal": legal, "broken": broken}, Store: store,
		Now:      func() time.Time { return now },
		Sleep:    func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil },
		Composer: Composer{Links: func(id string) (string, string) { return "https://e.test/ack/" + id, "https://e.test/resolve/" + id }}}
	long := "The night manager shouted at us and refused to refund the broken air conditioning."
	ms := []mention.Mention{
		{ID: "a:1", Text: long, Author: "Ana", Location: "Zagreb", Score: mention.Score{Negative: true, Severity: "high", Signals: []string{"legal"}}},
		{ID: "a:2", Text: "Fine stay", Location: "Zagreb"}, // not negative: no case
		{ID: "a:3", Text: "Noisy room, nobody answered at reception.", Location: "Zagreb", Score: mention.Score{Negative: true, Severity: "medium"}},
		{ID: "b:9", Text: "Room smelled of smoke.", Location: "Split", Score: mention.Score{Negative: true, Severity: "low"}},
	}
	for i := range ms {
		if err := ms[i].Normalize(time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	store.put(ms...)
	if err := n.Notify(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	if len(desk.sent)+len(legal.sent)+len(broken.sent) != 0 {
		t.Fatal("sent before group_wait (30s by default) passed")
	}
	now = now.Add(31 * time.Second)
	err = n.Flush(context.Background(), false)
	if err == nil {
		t.Error("the final 400 from broken was not reported")
	}
	if len(desk.sent) != 1 || len(legal.sent) != 1 || len(broken.sent) != 0 {
		t.Fatalf("sent desk %d legal %d broken %d; want 1 1 0", len(desk.sent), len(legal.sent), len(broken.sent))
	}
	if len(waits) != 1 || waits[0] != time.Second {
		t.Errorf("waits %v, want the 1s Retry-After", waits)
	}
	if c := legal.sent[0].Cases[0]; c.AckURL == "" || c.ID != CaseID(ms[0]) {
		t.Errorf("case %+v", c)
	}
	statuses := map[string]int{}
	for _, d := range store.deliv {
		statuses[d.Receiver+":"+d.Status]++
	}
	if statuses["desk:retry"] != 1 || statuses["desk:sent"] != 1 || statuses["broken:failed"] != 1 || statuses["legal:sent"] != 1 {
		t.Errorf("deliveries %v", statuses)
	}
	// Alertmanager semantics: the legal route continues, but no later sibling
	// matches, so the root (desk) does not get that case.
	// Second pass, a restart, or the same review cross-posted on another
	// site (same story): nothing is sent again except what failed.
	cross := mention.Mention{ID: "other:77", Text: long + "!!", Author: "ana", Location: "Zagreb", Score: mention.Score{Negative: true, Severity: "high", Signals: []string{"legal"}}}
	if err := cross.Normalize(time.Now()); err != nil {
		t.Fatal(err)
	}
	store.put(cross)
	_ = n.Notify(context.Background(), append(ms, cross))
	if len(desk.sent) != 1 || len(legal.sent) != 1 {
		t.Errorf("second pass re-sent: desk %d legal %d", len(desk.sent), len(legal.sent))
	}
	if len(broken.sent) != 1 {
		t.Errorf("the failed notification was not retried on the next pass")
	}
	opened := 0
	for _, e := range store.events {
		if e.Event == "opened" {
			opened++
		}
	}
	if opened != 3 {
		t.Errorf("%d cases opened, want 3 (the cross-post joins the first story)", opened)
	}
}

// TestLargeGroupListsWorstCases: a group of 30 cases is one message that
// lists the 25 worst in full and names the other 5; all 30 are notified.
func TestLargeGroupListsWorstCases(t *testing.T) {
	var ms []mention.Mention
	for i := 0; i < 30; i++ {
		sev := "low"
		if i%10 == 0 {
			sev = "high"
		}
		m := mention.Mention{ID: fmt.Sprintf("m%02d", i), Brand: "Acme", Location: "Zagreb", Text: "rude",
			PublishedAt: time.Date(2026, 11, 1, 0, i, 0, 0, time.UTC)}
		m.Negative, m.Severity = true, sev
		ms = append(ms, m)
	}
	store := newMem(ms...)
	desk := &scripted{name: "desk"}
	signer := &Signer{Key: []byte("k"), BaseURL: "https://e.test"}
	n := &Notifier{Tree: &Route{Receiver: "desk", GroupBy: []string{"location"}}, Receivers: map[string]Receiver{"desk": desk}, Store: store,
		Composer: Composer{MoreLink: signer.MoreLink}}
	if err := n.Notify(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	if len(desk.sent) != 1 {
		t.Fatalf("%d messages, want 1", len(desk.sent))
	}
	msg := desk.sent[0]
	// The link names this message: its page lists all 30 (TestMoreLinkPage).
	if id, act, err := signer.Verify(strings.SplitN(msg.MoreURL, "t=", 2)[len(strings.SplitN(msg.MoreURL, "t=", 2))-1]); err != nil && msg.MoreURL != "" {
		t.Errorf("more link %q: %v", msg.MoreURL, err)
	} else if msg.MoreURL == "" || id != msg.ID || act != "more" {
		t.Errorf("more link %q names %q/%q, want message %q", msg.MoreURL, id, act, msg.ID)
	}
	if txt, _ := HTML(msg); !strings.Contains(txt, "All 30 cases of this alert") {
		t.Errorf("the HTML mail does not link all 30 cases")
	}
	if len(msg.Cases) != 25 || len(msg.More) != 5 {
		t.Fatalf("listed %d, more %d; want 25 and 5", len(msg.Cases), len(msg.More))
	}
	for _, c := range msg.Cases[:3] {
		if c.Mention.Severity != "high" {
			t.Errorf("the worst cases come first: got %s first", c.Mention.Severity)
		}
	}
	if s := Subject(msg); !strings.Contains(s, "30 negative mentions") {
		t.Errorf("subject %q does not count all 30", s)
	}
	if txt := Text(msg); !strings.Contains(txt, "5 more are open") {
		t.Errorf("text does not say how many more:\n%s", txt)
	}
	notified := 0
	for _, e := range store.events {
		if e.Event == "notified" {
			notified++
		}
	}
	if notified != 30 {
		t.Errorf("%d cases notified, want all 30", notified)
	}
}

// headStore is memCases with MentionHeads (labels without words), as
// storage has, counting which mentions were read in full.
type headStore struct {
	*memCases
	full  []string
	heads int
}

func (h *headStore) MentionHeads(ctx context.Context, ids []string) (map[string]mention.Mention, error) {
	out, err := h.memCases.Mentions(ctx, ids)
	for id, m := range out {
		m.Text, m.Author, m.Reasons = "", "", nil
		out[id] = m
	}
	h.heads += len(ids)
	return out, err
}

func (h *headStore) Mentions(ctx context.Context, ids []string) (map[string]mention.Mention, error) {
	h.full = append(h.full, ids...)
	return h.memCases.Mentions(ctx, ids)
}

// TestFlushReadsWordsOfListedCasesOnly: a large group is grouped on its
// cases' labels; only the cases its message lists are read in full, and
// those are shown with their words and replies.
func TestFlushReadsWordsOfListedCasesOnly(t *testing.T) {
	var ms []mention.Mention
	for i := 0; i < 400; i++ {
		m := mention.Mention{ID: fmt.Sprintf("m%03d", i), Brand: "Acme", Location: "Zagreb", Text: fmt.Sprintf("rude staff %d", i),
			Author: "Ana", PublishedAt: time.Date(2026, 11, 1, 0, i, 0, 0, time.UTC)}
		m.Negative, m.Severity = true, "medium"
		ms = append(ms, m)
	}
	store := &headStore{memCases: newMem(ms...)}
	desk := &scripted{name: "desk"}
	n := &Notifier{Tree: &Route{Receiver: "desk"}, Receivers: map[string]Receiver{"desk": desk}, Store: store}
	if err := n.Notify(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	if len(desk.sent) != 1 || len(desk.sent[0].Cases) != 25 || len(desk.sent[0].More) != 375 {
		t.Fatalf("messages %d; want one listing 25 and naming 375", len(desk.sent))
	}
	if store.heads != 400 || len(store.full) != 25 {
		t.Errorf("read %d heads and %d whole mentions; want 400 and the 25 listed", store.heads, len(store.full))
	}
	for _, c := range desk.sent[0].Cases {
		if !strings.Contains(c.Mention.Text, "rude staff") || c.Reply == "" {
			t.Fatalf("listed case %s without its words or reply: %+v", c.ID, c)
		}
	}
	notified := 0
	for _, e := range store.events {
		if e.Event == "notified" {
			notified++
		}
	}
	if notified != 400 {
		t.Errorf("%d cases notified, want 400", notified)
	}
}
