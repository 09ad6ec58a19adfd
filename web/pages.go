package web

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
)

var pageNames = []string{"login", "error", "cases", "case", "trends", "sources"}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"caseURL": func(id string) string { return "/cases/" + url.PathEscape(id) },
		"time":    timeTag,
		"ago":     func(t time.Time) string { return ago(t, time.Now()) },
		"lang":    LangName,
		"join":    strings.Join,
		"list":    func(s ...string) []string { return s },
		"outcome": func(o string) string { return orText(OutcomeWords[o], o) },
		"rating": func(r, m float64) string {
			if m <= 0 || r <= 0 {
				return ""
			}
			return fmt.Sprintf("%g/%g", r, m)
		},
		"overdue": func(s string) bool { return strings.HasPrefix(s, "OVERDUE") },
		"when": func(s string) template.HTML {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return template.HTML(template.HTMLEscapeString(s))
			}
			return timeTag(t)
		},
	}
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		t, err := template.New(n).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("inbox template %s: %w", n, err)
		}
		out[n] = t
	}
	return out, nil
}

// timeTag renders an instant as <time> with its UTC ISO form, which the
// page's script shows in the viewer's time zone; UTC text without script.
func timeTag(t time.Time) template.HTML {
	if t.IsZero() || t.Unix() <= 0 {
		return "—"
	}
	u := t.UTC()
	return template.HTML(`<time datetime="` + u.Format(time.RFC3339) + `">` + u.Format("2006-01-02 15:04") + ` UTC</time>`)
}

// ago says how long ago t was, shortly: 5m, 3h, 2d.
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return ""
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// parseFilter reads the inbox filter from query parameters (pages and API).
func parseFilter(q url.Values) (Filter, error) {
	f := Filter{State: q.Get("state"), Severity: q.Get("severity"), Brand: q.Get("brand"), Location: q.Get("location"),
		Source: q.Get("source"), Lang: q.Get("lang"), Aspect: q.Get("aspect"), Signal: q.Get("signal"), Search: q.Get("q"),
		Sort: q.Get("sort")}
	var err error
	if f.Overdue, err = flag(q, "overdue"); err != nil {
		return f, err
	}
	if f.Mine, err = flag(q, "mine"); err != nil {
		return f, err
	}
	for _, k := range []string{"page", "per_page"} {
		if v := q.Get(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return f, badf("%s %q: want a positive number", k, v)
			}
			if k == "page" {
				f.Page = n
			} else {
				f.PerPage = n
			}
		}
	}
	if len(f.Search) > 200 {
		return f, badf("q: at most 200 bytes")
	}
	return f, nil
}

func flag(q url.Values, k string) (bool, error) {
	switch q.Get(k) {
	case "", "0", "false", "off":
		return false, nil
	case "1", "true", "on", "yes":
		return true, nil
	}
	return false, badf("%s %q: want true or false", k, q.Get(k))
}

type option struct{ Value, Label string }

// choices lists the filter options a user may pick from (their scope's).
func (s *Server) choices(u User) map[string][]option {
	var brands, locs, sources []option
	for _, b := range s.cfg.Brands {
		if !u.Scope.Allows(b.Name, "") && len(u.Scope.Brands) > 0 {
			continue
		}
		brands = append(brands, option{b.Name, b.Name})
		for _, l := range b.Locations {
			if len(u.Scope.Locations) == 0 || slices.Contains(u.Scope.Locations, l.Name) {
				locs = append(locs, option{l.Name, l.Name})
			}
		}
	}
	for _, src := range s.cfg.Sources {
		if s.sourceVisible(u, &src) {
			sources = append(sources, option{src.Name, src.Name})
		}
	}
	var langs []option
	for _, l := range mention.Languages() {
		langs = append(langs, option{l, LangName(l)})
	}
	var signals []option
	for _, k := range []string{"legal", "health", "safety", "churn", "abuse", "viral", "repeat_customer"} {
		signals = append(signals, option{k, k})
	}
	var aspects []option
	for _, a := range []string{"staff", "wait", "billing", "quality", "cleanliness", "safety", "delivery", "booking", "communication", "noise", "food", "room"} {
		aspects = append(aspects, option{a, a})
	}
	return map[string][]option{
		"state":    {{"active", "Not resolved"}, {"open", "Open"}, {"acknowledged", "Acknowledged"}, {"on_hold", "On hold"}, {"resolved", "Resolved"}, {"all", "All"}},
		"severity": {{"critical", "Critical"}, {"high", "High"}, {"medium", "Medium"}, {"low", "Low"}},
		"brand":    brands, "location": locs, "source": sources, "lang": langs, "signal": signals, "aspect": aspects,
		"sort": {{"severity", "Severity, then SLA"}, {"newest", "Newest"}},
	}
}

func (s *Server) sourceVisible(u User, src *config.Source) bool {
	if len(u.Scope.Brands) > 0 && !slices.Contains(u.Scope.Brands, src.Brand) {
		return false
	}
	if len(u.Scope.Locations) > 0 && !slices.Contains(u.Scope.Locations, src.Location) {
		return false
	}
	return true
}

func (s *Server) inboxPage(w http.ResponseWriter, r *http.Request, u User) {
	q := r.URL.Query()
	if !q.Has("state") {
		q.Set("state", "active")
	}
	f, err := parseFilter(q)
	if err != nil {
		s.fail(w, r, u, err)
		return
	}
	if f.State == "all" {
		f.State = ""
	}
	list, err := s.svc.List(r.Context(), u, f)
	if err != nil {
		s.fail(w, r, u, err)
		return
	}
	pages := int(math.Ceil(float64(list.Total) / float64(list.PerPage)))
	// The bulk action's result is shown once, not carried to other pages.
	done := bulkDone(q)
	for _, k := range []string{"done", "n", "unchanged", "failed", "stopped"} {
		q.Del(k)
	}
	link := func(page int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(page))
		return "/cases?" + v.Encode()
	}
	var outcomes []option
	for _, o := range alerts.Outcomes {
		outcomes = append(outcomes, option{Value: "resolve:" + o, Label: "Resolve: " + strings.ReplaceAll(o, "_", " ")})
	}
	data := map[string]any{"List": list, "Q": q, "Choices": s.choices(u), "Pages": max(pages, 1), "Now": s.now(),
		"CanAct": u.CanAct(), "Bulk": u.CanAct() && len(list.Cases) <= MaxBulk, "MaxBulk": MaxBulk, "Done": done,
		"Back": q.Encode(), "Outcomes": outcomes}
	if list.Page > 1 {
		data["Prev"] = link(list.Page - 1)
	}
	if list.Page < pages {
		data["Next"] = link(list.Page + 1)
	}
	s.render(w, r, http.StatusOK, "cases", u, data)
}

func (s *Server) casePage(w http.ResponseWriter, r *http.Request, u User) {
	d, err := s.svc.Get(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, u, err)
		return
	}
	var users []string
	for _, cu := range s.cfg.Users {
		if cu.Role != "viewer" && scopeOf(&cu).Allows(d.Brand, d.Location) {
			users = append(users, cu.Name)
		}
	}
	var outcomes []option
	for _, o := range alerts.Outcomes {
		outcomes = append(outcomes, option{o, OutcomeWords[o]})
	}
	s.render(w, r, http.StatusOK, "case", u, map[string]any{"Case": d, "Users": users, "Outcomes": outcomes,
		"Done": r.URL.Query().Get("done"), "CanAct": u.CanAct()})
}

// caseAction runs a case page's form (action in the "action" field) and
// goes back to the case page (POST-redirect-GET).
func (s *Server) caseAction(w http.ResponseWriter, r *http.Request, u User) {
	action := r.FormValue("action")
	in := ActInput{Outcome: r.FormValue("outcome"), Note: r.FormValue("note"), Assignee: r.FormValue("assignee"), Label: r.FormValue("label")}
	if a := r.FormValue("aspects"); a != "" {
		in.Aspects = strings.Split(a, ",")
	}
	c, err := s.svc.Act(r.Context(), u, r.PathValue("id"), action, in)
	if err != nil {
		s.fail(w, r, u, err)
		return
	}
	s.log.Info("case action", "case", c.ID, "action", action, "user", u.Name)
	http.Redirect(w, r, "/cases/"+url.PathEscape(c.ID)+"?done="+url.QueryEscape(action), http.StatusSeeOther)
}

// bulkAction is the inbox's "apply to selected" form: the checked cases
// (id), what to do (do: ack, hold, resume, assign (to me) or
// resolve:OUTCOME), an optional note; then back to the same list (its
// first page: the action may have moved cases out of it) with what was
// done.
func (s *Server) bulkAction(w http.ResponseWriter, r *http.Request, u User) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, u, badf("form: %v", err))
		return
	}
	action, arg, _ := strings.Cut(r.PostForm.Get("do"), ":")
	in := ActInput{Note: r.PostForm.Get("note")}
	switch action {
	case "resolve":
		in.Outcome = arg
	case "label":
		in.Label = arg
	}
	res, err := s.svc.ActMany(r.Context(), u, r.PostForm["id"], action, in)
	if err != nil && len(res.Cases) == 0 {
		s.fail(w, r, u, err)
		return
	}
	if err != nil {
		s.log.Error("bulk action stopped", "action", action, "user", u.Name, "done", res.Done, "err", err)
	}
	s.log.Info("bulk case action", "action", action, "user", u.Name, "done", res.Done, "unchanged", res.Unchanged, "failed", res.Failed)
	back, _ := url.ParseQuery(r.PostForm.Get("back"))
	q := url.Values{}
	for _, k := range []string{"q", "state", "severity", "brand", "location", "source", "lang", "aspect", "signal", "sort", "overdue", "mine", "per_page"} {
		if v := back.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	q.Set("done", action)
	q.Set("n", strconv.Itoa(res.Done))
	if res.Unchanged > 0 {
		q.Set("unchanged", strconv.Itoa(res.Unchanged))
	}
	if res.Failed > 0 {
		q.Set("failed", strconv.Itoa(res.Failed))
	}
	if err != nil {
		q.Set("stopped", "1")
	}
	http.Redirect(w, r, "/cases?"+q.Encode(), http.StatusSeeOther)
}

// bulkDone is the line the inbox shows after a bulk action.
func bulkDone(q url.Values) string {
	action := q.Get("done")
	if action == "" {
		return ""
	}
	verb := map[string]string{"ack": "Acknowledged", "hold": "Put on hold", "resume": "Resumed", "assign": "Assigned",
		"resolve": "Resolved"}[action]
	if verb == "" {
		return ""
	}
	num := func(k string) int { n, _ := strconv.Atoi(q.Get(k)); return max(n, 0) }
	msg := fmt.Sprintf("%s %d case%s.", verb, num("n"), plural(num("n")))
	if n := num("unchanged"); n > 0 {
		msg += fmt.Sprintf(" %d unchanged (already so, or not possible from their state).", n)
	}
	if n := num("failed"); n > 0 {
		msg += fmt.Sprintf(" %d could not be (gone, or not yours to see).", n)
	}
	if q.Get("stopped") != "" {
		msg += " Stopped by an error before the rest (the server log has it); applying it again is safe."
	}
	return msg
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// parseRange reads from/to (YYYY-MM-DD, to inclusive) or days (default 28).
func parseRange(q url.Values, now time.Time) (storage.TrendRange, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	r := storage.TrendRange{From: today.AddDate(0, 0, -27), To: today.AddDate(0, 0, 1)}
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3660 {
			return r, badf("days %q: want 1 to 3660", v)
		}
		r.From = today.AddDate(0, 0, 1-n)
	}
	for k, dst := range map[string]*time.Time{"from": &r.From, "to": &r.To} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return r, badf("%s %q: want YYYY-MM-DD", k, v)
		}
		if k == "to" {
			t = t.AddDate(0, 0, 1)
		}
		*dst = t
	}
	if !r.To.After(r.From) {
		return r, badf("the range ends before it starts")
	}
	if r.To.Sub(r.From) > 3660*24*time.Hour {
		return r, badf("the range is longer than ten years")
	}
	return r, nil
}

type chartView struct {
	storage.Trend
	SVG template.HTML
}

func (s *Server) trendsPage(w http.ResponseWriter, r *http.Request, u User) {
	rg, err := parseRange(r.URL.Query(), s.now())
	if err != nil {
		s.fail(w, r, u, err)
		return
	}
	var charts []chartView
	for _, name := range storage.TrendNames {
		t, err := s.store.TrendData(r.Context(), name, rg, u.Scope)
		if err != nil {
			s.fail(w, r, u, err)
			return
		}
		charts = append(charts, chartView{Trend: t, SVG: chartSVG(t)})
	}
	s.render(w, r, http.StatusOK, "trends", u, map[string]any{"Charts": charts, "From": rg.From.Format("2006-01-02"),
		"To": rg.To.AddDate(0, 0, -1).Format("2006-01-02")})
}

// SourceStatus is a configured source with its last pass.
type SourceStatus struct {
	Name     string            `json:"name"`
	Kind     string            `json:"kind"`
	Brand    string            `json:"brand"`
	Location string            `json:"location"`
	Schedule string            `json:"schedule"`
	Disabled bool              `json:"disabled"`
	Last     storage.SourceRun `json:"last_run"`
	Ran      bool              `json:"ran"`
	NextRun  string            `json:"next_run"`
}

// Sources lists the configured sources in u's scope with their last pass.
func (s *Server) Sources(r *http.Request, u User) ([]SourceStatus, error) {
	runs, err := s.store.SourceRuns(r.Context())
	if err != nil {
		return nil, err
	}
	var out []SourceStatus
	for i := range s.cfg.Sources {
		src := &s.cfg.Sources[i]
		if !s.sourceVisible(u, src) {
			continue
		}
		st := SourceStatus{Name: src.Name, Kind: src.Kind, Brand: src.Brand, Location: src.Location, Schedule: src.Schedule, Disabled: src.Disabled}
		if st.Schedule == "" {
			st.Schedule = s.cfg.Collect.DefaultSchedule
		}
		st.Last, st.Ran = runs[src.Name]
		switch {
		case src.Disabled:
			st.NextRun = "disabled"
		case strings.HasSuffix(src.Kind, "-stream"):
			st.NextRun = "continuous"
			st.Schedule = "push"
		default:
			if sch, err := config.ParseSchedule(st.Schedule); err == nil {
				from := s.now()
				if st.Ran && st.Last.LastRun.After(from.Add(-24*time.Hour)) {
					from = st.Last.LastRun
				}
				st.NextRun = sch.Next(from).UTC().Format(time.RFC3339)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func (s *Server) spoolDepth() int {
	if s.spool == nil {
		return -1
	}
	return s.spool()
}

func (s *Server) sourcesPage(w http.ResponseWriter, r *http.Request, u User) {
	srcs, err := s.Sources(r, u)
	if err != nil {
		s.fail(w, r, u, err)
		return
	}
	s.render(w, r, http.StatusOK, "sources", u, map[string]any{"Sources": srcs, "Spool": s.spoolDepth(), "SQL": storage.SourceRunsSQL})
}
