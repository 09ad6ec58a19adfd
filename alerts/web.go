package alerts

import (
	"errors"
	"html/template"
	"net/http"
	"time"
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
	return mux
}
