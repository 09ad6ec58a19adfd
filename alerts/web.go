package alerts

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/earshot/earshot/caselog"
)

var page = template.Must(template.New("case").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Earshot case</title></head>
<body style="font-family:sans-serif;max-width:560px;margin:2em auto">
{{if .Error}}<p style="color:#b00">{{.Error}}</p>{{end}}
{{if .Done}}<p><strong>{{.Done}}</strong></p>{{end}}
{{if .Form}}<p>Case {{.CaseID}}{{if .Brand}} · {{.Brand}}{{end}}{{if .Location}} · {{.Location}}{{end}} · {{.State}}</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="t" value="{{.Token}}">
<p><label>Your name <input name="by" required maxlength="100"></label></p>
{{if .Resolve}}<p>Outcome:</p>{{range .Outcomes}}<p><label><input type="radio" name="outcome" value="{{.}}" required> {{.}}</label></p>{{end}}
<p><label>Note <input name="note" maxlength="500"></label></p>{{end}}
<p><button type="submit">{{if .Resolve}}Resolve{{else}}Acknowledge{{end}}</button></p>
</form>{{end}}
</body></html>
`))

// MessageBook finds the cases a message covered; *storage.Store is one.
type MessageBook interface {
	MessageCases(ctx context.Context, messageID string, since time.Time, limit int) ([]caselog.State, error)
}

// moreLimit bounds the page of a message's cases.
const moreLimit = 5000

var morePage = template.Must(template.New("more").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Earshot: cases of an alert</title></head>
<body style="font-family:sans-serif;max-width:760px;margin:2em auto">
<h1 style="font-size:1.2em">{{len .Cases}} cases of this alert</h1>
<table style="border-collapse:collapse;width:100%">
<tr><th align="left">severity</th><th align="left">case</th><th align="left">where</th><th align="left">opened</th><th align="left">state</th><th></th></tr>
{{range .Cases}}<tr style="border-top:1px solid #ddd"><td>{{.Severity}}</td><td>{{.ID}}</td><td>{{.Brand}}{{if .Location}} · {{.Location}}{{end}}</td>
<td>{{.Opened}}</td><td>{{.State}}</td><td>{{if eq .State "open"}}<a href="{{.Ack}}">Acknowledge</a> · {{end}}{{if ne .State "resolved"}}<a href="{{.Resolve}}">Resolve</a>{{end}}</td></tr>
{{end}}</table>
</body></html>
`))

type moreRow struct {
	ID, Severity, Brand, Location, Opened, State, Ack, Resolve string
}

type pageData struct {
	Error, Done, CaseID, Brand, Location, State, Action, Token string
	Form, Resolve                                              bool
	Outcomes                                                   []string
}

// Handler serves the one-click links: GET shows what the link will do (mail
// scanners fetch links, so GET never changes a case); POST does it.
func Handler(book CaseBook, signer *Signer) http.Handler {
	mux := http.NewServeMux()
	for _, action := range []string{"ack", "resolve"} {
		mux.HandleFunc("/case/"+action, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Frame-Options", "DENY")
			w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
			r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
			token := r.FormValue("t")
			caseID, act, err := signer.Verify(token)
			if err == nil && act != action {
				err = ErrBadToken
			}
			if err != nil {
				w.WriteHeader(http.StatusForbidden)
				_ = page.Execute(w, pageData{Error: "This link is " + map[bool]string{true: "expired", false: "not valid"}[errors.Is(err, ErrExpired)] + "."})
				return
			}
			c, found, err := book.Case(r.Context(), caseID)
			if err != nil || !found {
				w.WriteHeader(http.StatusNotFound)
				_ = page.Execute(w, pageData{Error: "No such case."})
				return
			}
			switch r.Method {
			case http.MethodGet:
				_ = page.Execute(w, pageData{Form: true, Resolve: action == "resolve", CaseID: c.CaseID, Brand: c.Brand, Location: c.Location,
					State: c.State, Action: "/case/" + action, Token: token, Outcomes: Outcomes})
			case http.MethodPost:
				c, err := Act(r.Context(), book, caseID, action, r.FormValue("by"), r.FormValue("outcome"), r.FormValue("note"), time.Now())
				switch {
				case errors.Is(err, ErrAlready):
					_ = page.Execute(w, pageData{Done: "Already done: the case is " + c.State + " (by " + c.Actor + ")."})
				case err != nil:
					w.WriteHeader(http.StatusBadRequest)
					_ = page.Execute(w, pageData{Error: err.Error()})
				default:
					_ = page.Execute(w, pageData{Done: "Case " + c.CaseID + " is now " + c.State + ". Thank you."})
				}
			default:
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			}
		})
	}
	mux.HandleFunc("/case/not-a-complaint", func(w http.ResponseWriter, r *http.Request) { serveNotAComplaint(w, r, book, signer) })
	if mb, ok := book.(MessageBook); ok {
		mux.HandleFunc("/case/more", func(w http.ResponseWriter, r *http.Request) { serveMore(w, r, mb, signer) })
	}
	return mux
}

// serveMore lists every case of a message that was too large to list them
// all, worst first, each with its own signed links. GET only: it changes
// nothing.
func serveMore(w http.ResponseWriter, r *http.Request, book MessageBook, signer *Signer) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	msgID, act, err := signer.Verify(r.FormValue("t"))
	if err == nil && act != "more" {
		err = ErrBadToken
	}
	if err != nil {
		w.WriteHeader(http.StatusForbidden)
		_ = page.Execute(w, pageData{Error: "This link is " + map[bool]string{true: "expired", false: "not valid"}[errors.Is(err, ErrExpired)] + "."})
		return
	}
	cs, err := book.MessageCases(r.Context(), msgID, time.Now().Add(-signer.ttl()-ClockSkew), moreLimit)
	if err != nil || len(cs) == 0 {
		w.WriteHeader(http.StatusNotFound)
		_ = page.Execute(w, pageData{Error: "No cases found for this alert."})
		return
	}
	rows := make([]moreRow, len(cs))
	for i, c := range cs {
		ack, resolve := signer.Links(c.CaseID)
		rows[i] = moreRow{ID: c.CaseID, Severity: c.Severity, Brand: c.Brand, Location: c.Location,
			Opened: c.OpenedAt.UTC().Format("2006-01-02 15:04 UTC"), State: c.State, Ack: ack, Resolve: resolve}
	}
	_ = morePage.Execute(w, struct{ Cases []moreRow }{rows})
}

// LinkActor is who acts (and labels) through a "not a complaint" link: the
// link names no person, and the label records where it came from.
const LinkActor = "email link"

var notPage = template.Must(template.New("not").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Earshot: not a complaint</title></head>
<body style="font-family:sans-serif;max-width:560px;margin:2em auto">
{{if .Error}}<p style="color:#b00">{{.Error}}</p>{{end}}
{{if .Done}}<p><strong>{{.Done}}</strong></p>{{end}}
{{if .Form}}<p>Case {{.CaseID}}{{if .Brand}} · {{.Brand}}{{end}}{{if .Location}} · {{.Location}}{{end}} · {{.State}}</p>
<p>Not a complaint? This resolves the case (outcome not_a_complaint) and labels the mention neutral, so that the scorer learns from the mistake.</p>
<form method="post" action="/case/not-a-complaint">
<input type="hidden" name="t" value="{{.Token}}">
<p><button type="submit">Not a complaint</button></p>
</form>{{end}}
</body></html>
`))

// serveNotAComplaint serves the "not a complaint" link: GET shows what it
// will do (mail scanners fetch links), POST resolves the case with outcome
// not_a_complaint, which labels its mention (Act). A second click changes
// nothing and says so.
func serveNotAComplaint(w http.ResponseWriter, r *http.Request, book CaseBook, signer *Signer) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	token := r.FormValue("t")
	caseID, act, err := signer.Verify(token)
	// A resolve link's token allows any outcome, this one included.
	if err == nil && act != ActionNotAComplaint && act != "resolve" {
		err = ErrBadToken
	}
	if err != nil {
		w.WriteHeader(http.StatusForbidden)
		_ = notPage.Execute(w, pageData{Error: "This link is " + map[bool]string{true: "expired", false: "not valid"}[errors.Is(err, ErrExpired)] + "."})
		return
	}
	c, found, err := book.Case(r.Context(), caseID)
	if err != nil || !found {
		w.WriteHeader(http.StatusNotFound)
		_ = notPage.Execute(w, pageData{Error: "No such case."})
		return
	}
	if r.Method == http.MethodGet {
		_ = notPage.Execute(w, pageData{Form: true, CaseID: c.CaseID, Brand: c.Brand, Location: c.Location, State: c.State, Token: token})
		return
	}
	c, err = Act(r.Context(), book, caseID, "resolve", LinkActor, caselog.NotAComplaint, "", time.Now())
	switch {
	case errors.Is(err, ErrAlready) && c.Outcome == caselog.NotAComplaint:
		_ = notPage.Execute(w, pageData{Done: "Already done: case " + c.CaseID + " was marked not a complaint (by " + c.Actor + ")."})
	case errors.Is(err, ErrAlready):
		_ = notPage.Execute(w, pageData{Done: "Already done: case " + c.CaseID + " is " + c.State + " (by " + c.Actor + ")."})
	case err != nil:
		w.WriteHeader(http.StatusBadRequest)
		_ = notPage.Execute(w, pageData{Error: err.Error()})
	default:
		_ = notPage.Execute(w, pageData{Done: "Case " + c.CaseID + " is resolved as not a complaint, and the scorer will learn from it. Thank you."})
	}
}
