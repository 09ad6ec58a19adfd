package alerts

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/earshot/earshot/internal/textsafe"
	"github.com/earshot/earshot/mention"
)

// Case is one flagged mention on its way to the staff who can act on it.
type Case struct {
	ID         string
	Mention    mention.Mention
	AckURL     string // signed one-click links; empty when earshot run serves none
	ResolveURL string
	CaseURL    string // the case's page in the web inbox; empty when none is served
	// NotAComplaintURL resolves the case as not a complaint and labels its
	// mention for the learning scorer (Signer.NotAComplaintLink); empty:
	// the one that goes with ResolveURL, if any (NotAComplaintURL).
	NotAComplaintURL string
	Reply            string // suggested personal reply, in the mention's language
	ReplyNote        string // advice to staff before replying (legal, health, safety: escalate, admit nothing)
	Status           string // digests: where the case stands ("open 2d 3h, overdue")
}

// Message is what a receiver gets at once: one case, or a group of cases
// that share a route's group_by labels.
type Message struct {
	// ID is stable across retries and restarts for the same cases, receiver
	// and step: receivers pass it on (webhook Idempotency-Key, SendGrid
	// custom_args, Slack metadata) so the far side can drop a repeat.
	ID       string
	Receiver string
	GroupKey string
	Step     int // escalation step, 0 for the first notice
	Cases    []Case
	// More are the ids of this message's cases beyond the ones listed in
	// full (a large group lists its worst cases; the rest are named here
	// and are in `earshot cases list` and the digest).
	More []string
	// MoreURL is a signed link to a page listing all of them (empty when
	// earshot run serves no links).
	MoreURL string

	// Storms and digests: a headline (the subject), figures shown before
	// the cases, and the cases as one short entry each instead of in full.
	Title       string
	Summary     []string
	Compact     bool
	Attachments []Attachment // images shown inline (the digest's chart)
	// Test marks a message sent by `earshot alerts test`: its subject and
	// body say so, so nobody acts on it.
	Test bool
}

// Attachment is a file sent with a message; an image with a ContentID is
// shown inline in HTML bodies (<img src="cid:ID">).
type Attachment struct {
	Filename    string
	ContentType string
	ContentID   string
	Data        []byte
}

// compactText is how much of a review a compact entry quotes.
const compactText = 200

// Delivery is a receiver's answer to one send attempt.
type Delivery struct {
	HTTPStatus int           // 0 when no HTTP was involved
	Retry      bool          // the failure is worth another attempt
	RetryAfter time.Duration // what the receiver asked for, if anything
	// Unknown: the request went out but no answer came back (timeout or a
	// connection closed after the request was written). The receiver may
	// have accepted it: a retry may duplicate, and is counted as such.
	Unknown bool
}

// Receiver sends messages somewhere. Send reports whether a failure is
// worth retrying (Alertmanager's Notify); the caller decides how.
type Receiver interface {
	Name() string
	Send(ctx context.Context, m Message) (Delivery, error)
}

// maxText is how much of a review a message quotes; the link has the rest.
const maxText = 1200

// Subject is a one-line summary safe for a mail header: control
// characters (CR and LF above all: header injection) become spaces.
func Subject(m Message) string {
	worst := ""
	for _, c := range m.Cases {
		if mention.SeverityRank(c.Mention.Severity) > mention.SeverityRank(worst) {
			worst = c.Mention.Severity
		}
	}
	var s string
	if m.Title != "" {
		s = "[Earshot] " + m.Title
	} else if len(m.Cases) == 1 {
		c := m.Cases[0].Mention
		s = fmt.Sprintf("[Earshot] %s: %s review of %s%s", strings.ToUpper(orNone(worst)), c.Source, c.Brand, at(c.Location))
	} else if len(m.Cases)+len(m.More) > 1 {
		c := m.Cases[0].Mention
		s = fmt.Sprintf("[Earshot] %d negative mentions of %s%s (worst: %s)", len(m.Cases)+len(m.More), c.Brand, at(c.Location), orNone(worst))
	}
	if m.Step > 0 {
		s = fmt.Sprintf("[Escalation %d] ", m.Step) + s
	}
	if m.Test {
		s = "[TEST] " + s
	}
	return oneLine(s, 200)
}

// Text renders the plain-text body. Review text is quoted ("> " before
// every line) and anything else a stranger wrote is kept to one line after
// a label, so a review cannot plant a line such as "Acknowledge: <url>"
// that reads like one of ours.
func Text(m Message) string {
	var b strings.Builder
	if m.Test {
		b.WriteString("TEST MESSAGE from `earshot alerts test`: no customer wrote this; nothing to do.\n\n")
	}
	if m.Step > 0 {
		fmt.Fprintf(&b, "ESCALATION (step %d): nobody acknowledged in time.\n\n", m.Step)
	}
	if m.Title != "" {
		fmt.Fprintf(&b, "%s\n\n", oneLine(m.Title, 300))
		for _, l := range m.Summary {
			fmt.Fprintf(&b, "%s\n", textsafe.Line(l))
		}
		if m.MoreURL != "" {
			fmt.Fprintf(&b, "All %d cases: %s\n", len(m.Cases)+len(m.More), m.MoreURL)
		}
		if len(m.Cases) > 0 {
			b.WriteString("\n")
		}
	}
	if m.Compact {
		for _, c := range m.Cases {
			v := compactView(c)
			fmt.Fprintf(&b, "* [%s] %s%s - %s, %s%s", strings.ToUpper(v.Severity), v.Brand, at(v.Location), v.Source, v.When, v.Rating)
			if v.Status != "" {
				fmt.Fprintf(&b, " - %s", v.Status)
			}
			fmt.Fprintf(&b, "\n  > %s\n  Original: %s", oneLine(v.Text, compactText+2), orNone(v.URL))
			if v.CaseURL != "" {
				fmt.Fprintf(&b, " | Case page: %s", v.CaseURL)
			}
			if c.AckURL != "" {
				fmt.Fprintf(&b, " | Acknowledge: %s | Resolve: %s", c.AckURL, c.ResolveURL)
			}
			if v.NotComplaintURL != "" {
				fmt.Fprintf(&b, " | Not a complaint: %s", v.NotComplaintURL)
			}
			fmt.Fprintf(&b, "\n  Case %s", v.ID)
			if v.Act != "" {
				fmt.Fprintf(&b, " - %s", v.Act)
			}
			b.WriteString("\n\n")
		}
		return b.String()
	}
	for i, c := range m.Cases {
		if i > 0 {
			b.WriteString("\n----------------------------------------\n\n")
		}
		v := view(c)
		fmt.Fprintf(&b, "%s%s - %s\n", v.Brand, at(v.Location), strings.ToUpper(v.Severity))
		fmt.Fprintf(&b, "%s by %s, %s%s\n", v.Source, orNone(v.Author), v.When, v.Rating)
		// The title and text are the review's: quoted together.
		quoted := v.Text
		if v.Title != "" {
			quoted = v.Title + "\n\n" + v.Text
		}
		fmt.Fprintf(&b, "\n%s\n", textsafe.Quote(quoted, "> "))
		if v.Cut {
			fmt.Fprintf(&b, "[... cut; the whole text is at the link]\n")
		}
		for _, line := range v.Facts {
			fmt.Fprintf(&b, "\n%s", textsafe.Line(line)) // reasons may quote the review's words
		}
		if v.ReplyNote != "" {
			fmt.Fprintf(&b, "\nBEFORE REPLYING: %s\n", v.ReplyNote)
		}
		if v.Reply != "" {
			fmt.Fprintf(&b, "\nSuggested reply (edit before sending):\n%s\n", v.Reply)
		}
		fmt.Fprintf(&b, "\nOriginal: %s\n", v.URL)
		if v.CaseURL != "" {
			fmt.Fprintf(&b, "Case page (reply, note, acknowledge, resolve): %s\n", v.CaseURL)
		}
		if c.AckURL != "" {
			fmt.Fprintf(&b, "Acknowledge: %s\nResolve: %s\n", c.AckURL, c.ResolveURL)
		}
		if v.NotComplaintURL != "" {
			fmt.Fprintf(&b, "Not a complaint (resolves the case and teaches the scorer): %s\n", v.NotComplaintURL)
		}
		fmt.Fprintf(&b, "Case %s\n", v.ID)
		if v.Act != "" {
			fmt.Fprintf(&b, "%s\n", v.Act)
		}
	}
	return b.String()
}

// caseView is a case prepared for display: review text is cut, cleaned of
// control characters (textsafe.Clean) and kept as text; each renderer
// escapes or quotes it for its medium. Short fields are one line each.
type caseView struct {
	ID, Brand, Location, Source, Author, Title, Text, URL, Severity, When, Rating, Lang string
	Cut                                                                                 bool
	Facts                                                                               []string
	AckURL, ResolveURL, Reply, Status                                                   string
	CaseURL, ReplyNote                                                                  string
	NotComplaintURL                                                                     string
	// Act says how to act when the message carries no link to do it with:
	// the CLI commands, for whoever has access to the server.
	Act string
}

// compactView is view with the text cut to a compact entry's length.
func compactView(c Case) caseView {
	v := view(c)
	if utf8.RuneCountInString(v.Text) > compactText {
		v.Text, v.Cut = string([]rune(v.Text)[:compactText])+" …", true
	}
	return v
}

func view(c Case) caseView {
	m := c.Mention
	text := textsafe.Clean(m.Text)
	cut := false
	if utf8.RuneCountInString(text) > maxText {
		text, cut = string([]rune(text)[:maxText])+" …", true
	}
	// Brand, location and source can come from an import file: one line
	// each, like the author, so none can start a line of its own.
	v := caseView{ID: oneLine(c.ID, 300), Brand: oneLine(m.Brand, 200), Location: oneLine(m.Location, 200), Source: oneLine(m.Source, 200),
		Author: oneLine(m.Author, 100), Title: oneLine(m.Title, 300), Text: text, URL: SafeURL(m.URL), Severity: orNone(oneLine(m.Severity, 20)),
		Cut: cut, Lang: oneLine(m.Lang, 20), AckURL: c.AckURL, ResolveURL: c.ResolveURL, Reply: textsafe.Clean(c.Reply), Status: oneLine(c.Status, 200),
		CaseURL: SafeURL(c.CaseURL), ReplyNote: oneLine(c.ReplyNote, 600)}
	if c.NotAComplaintURL != "" {
		v.NotComplaintURL = SafeURL(c.NotAComplaintURL)
	} else if c.ResolveURL != "" {
		v.NotComplaintURL = NotAComplaintURL(c.ResolveURL)
	}
	if v.CaseURL == "" && v.AckURL == "" {
		v.Act = actHint(v.ID)
	}
	if !m.PublishedAt.IsZero() {
		v.When = m.PublishedAt.UTC().Format("2006-01-02 15:04 UTC")
	} else {
		v.When = "date unknown"
	}
	if m.Rating > 0 {
		v.Rating = fmt.Sprintf(", rated %g/%g", m.Rating, m.RatingMax)
	}
	if v.Lang != "" {
		v.Facts = append(v.Facts, "Language: "+v.Lang)
	}
	if len(m.Reasons) > 0 {
		v.Facts = append(v.Facts, "Why: "+strings.Join(m.Reasons, "; "))
	}
	if len(m.Aspects) > 0 {
		v.Facts = append(v.Facts, "Aspects: "+strings.Join(m.Aspects, ", "))
	}
	if len(m.Signals) > 0 {
		v.Facts = append(v.Facts, "Signals: "+strings.Join(m.Signals, ", "))
	}
	if reach := m.Likes + m.Shares + m.Replies; reach > 0 || m.Followers > 0 {
		v.Facts = append(v.Facts, fmt.Sprintf("Reach: %d likes, %d shares, %d replies, %d followers", m.Likes, m.Shares, m.Replies, m.Followers))
	}
	return v
}

var htmlBody = template.Must(template.New("mail").Parse(`<!doctype html>
<html><body style="font-family:sans-serif;max-width:640px">
{{if .Test}}<p style="background:#ffd;padding:6px"><strong>TEST MESSAGE</strong> from <code>earshot alerts test</code>: no customer wrote this; nothing to do.</p>{{end}}
{{if .Step}}<p style="color:#b00"><strong>Escalation (step {{.Step}}):</strong> nobody acknowledged in time.</p>{{end}}
{{if .Title}}<h2 style="font-size:1.2em">{{.Title}}</h2>{{end}}
{{range .Summary}}<p style="margin:4px 0">{{.}}</p>{{end}}
{{if .MoreURL}}<p><a href="{{.MoreURL}}">All {{.All}} cases of this alert</a></p>{{end}}
{{range .Images}}<p><img src="cid:{{.}}" alt="trend chart" style="max-width:100%"></p>{{end}}
{{if .Compact}}<table style="border-collapse:collapse;width:100%">
{{range .Cases}}<tr style="border-top:1px solid #ddd"><td style="padding:6px 4px;vertical-align:top;white-space:nowrap"><strong>{{.Severity}}</strong></td>
<td style="padding:6px 4px">{{.Brand}}{{if .Location}} · {{.Location}}{{end}} — {{.Source}}, {{.When}}{{.Rating}}{{if .Status}} — <em>{{.Status}}</em>{{end}}<br>
<span style="color:#333">{{.Text}}</span><br>
<a href="{{.URL}}">Original</a>{{if .CaseURL}} · <a href="{{.CaseURL}}">Open case</a>{{end}}{{if .AckURL}} · <a href="{{.AckURL}}">Acknowledge</a> · <a href="{{.ResolveURL}}">Resolve</a>{{end}}{{if .NotComplaintURL}} · <a href="{{.NotComplaintURL}}">Not a complaint</a>{{end}} <span style="color:#999;font-size:small">{{.ID}}</span>{{if .Act}}<br><span style="color:#555;font-size:small">{{.Act}}</span>{{end}}</td></tr>
{{end}}</table>{{else}}{{range .Cases}}<div style="border-left:4px solid #c33;padding:4px 12px;margin:12px 0">
<p><strong>{{.Brand}}{{if .Location}} · {{.Location}}{{end}}</strong> — {{.Severity}}</p>
<p>{{.Source}} by {{.Author}}, {{.When}}{{.Rating}}</p>
{{if .Title}}<p><em>{{.Title}}</em></p>{{end}}
<blockquote style="white-space:pre-wrap">{{.Text}}</blockquote>
{{if .Cut}}<p>The text was cut: the whole review is at the link.</p>{{end}}
{{range .Facts}}<p style="margin:2px 0;color:#555">{{.}}</p>{{end}}
{{if .ReplyNote}}<p style="color:#b00"><strong>Before replying:</strong> {{.ReplyNote}}</p>{{end}}
{{if .Reply}}<p><strong>Suggested reply</strong> (edit before sending):</p><blockquote style="white-space:pre-wrap;color:#135">{{.Reply}}</blockquote>{{end}}
<p>{{if .CaseURL}}<a href="{{.CaseURL}}"><strong>Open case</strong></a> · {{end}}<a href="{{.URL}}">Original</a>{{if .AckURL}} · <a href="{{.AckURL}}">Acknowledge</a> · <a href="{{.ResolveURL}}">Resolve</a>{{end}}{{if .NotComplaintURL}} · <a href="{{.NotComplaintURL}}">Not a complaint</a>{{end}}</p>
<p style="color:#999;font-size:small">Case {{.ID}}</p>
{{if .Act}}<p style="color:#555;font-size:small">{{.Act}}</p>{{end}}
</div>{{end}}{{end}}
</body></html>
`))

// HTML renders the HTML body. html/template escapes every value, so review
// text cannot inject markup or script.
func HTML(m Message) (string, error) {
	views := make([]caseView, len(m.Cases))
	for i, c := range m.Cases {
		if m.Compact {
			views[i] = compactView(c)
		} else {
			views[i] = view(c)
		}
	}
	var images []string
	for _, a := range m.Attachments {
		if a.ContentID != "" && strings.HasPrefix(a.ContentType, "image/") {
			images = append(images, a.ContentID)
		}
	}
	var buf bytes.Buffer
	if err := htmlBody.Execute(&buf, struct {
		Test    bool
		Step    int
		Title   string
		Summary []string
		Images  []string
		Compact bool
		Cases   []caseView
		MoreURL string
		All     int
	}{m.Test, m.Step, oneLine(m.Title, 300), m.Summary, images, m.Compact, views, m.MoreURL, len(m.Cases) + len(m.More)}); err != nil {
		return "", fmt.Errorf("render html: %w", err)
	}
	return buf.String(), nil
}

// oneLine removes escape sequences, control and bidi override characters,
// turns line breaks into spaces, collapses space and cuts.
func oneLine(s string, max int) string {
	s = textsafe.Line(s)
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}

// SafeURL keeps http(s) links only: a javascript: URL from a hostile page
// must not become a clickable link. A URL with white space, control or bidi
// characters inside is dropped too: valid URLs have none, and a line break
// would let it plant a line of its own in a text body.
func SafeURL(u string) string {
	u = strings.TrimSpace(u)
	l := strings.ToLower(u)
	if !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
		return ""
	}
	if strings.ContainsFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || textsafe.IsBidiControl(r) }) {
		return ""
	}
	return u
}

// actHint is what a message without links tells staff to run.
func actHint(id string) string {
	if id == "" {
		return ""
	}
	q := shellWord(id)
	return fmt.Sprintf("To act: earshot cases ack %s, then earshot cases resolve %s --outcome %s (see earshot cases --help)",
		q, q, strings.Join(Outcomes, "|"))
}

// shellWord quotes s for a POSIX shell unless it is plainly safe.
func shellWord(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(":._/@+=-", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func at(loc string) string {
	if loc == "" {
		return ""
	}
	return " at " + loc
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Sample is the message `earshot alerts test` sends: a realistic case,
// clearly marked as a test.
func Sample(now time.Time) Message {
	m := mention.Mention{ID: "test:sample", Source: "earshot-test", Kind: mention.KindReview, Brand: "Earshot", Location: "Test",
		Author: "Earshot", Title: "TEST ALERT - please ignore", Lang: "en", Rating: 1, RatingMax: 5, PublishedAt: now,
		URL: "https://github.com/earshot/earshot",
		Text: "This is a test alert sent by `earshot alerts test`. If you can read it, this receiver works. " +
			"A real alert quotes the review here, says why it was flagged and links to the original."}
	m.Severity, m.Negative, m.Reasons = "low", true, []string{"test message"}
	return Message{Receiver: "test", GroupKey: "test", Test: true, Cases: []Case{{ID: "test-" + now.UTC().Format("20060102T150405"), Mention: m}}}
}
