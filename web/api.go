package web

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/earshot/earshot/storage"
)

// api wraps a JSON handler: the user authenticates with HTTP Basic auth
// (or the browser's session).
func (s *Server) api(h func(http.ResponseWriter, *http.Request, User) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := s.apiUser(r)
		if err != nil {
			status, msg := statusOf(err)
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="earshot", charset="UTF-8"`)
			}
			writeError(w, status, msg)
			return
		}
		v, err := h(w, r, u)
		if err != nil {
			status, msg := statusOf(err)
			if status == http.StatusInternalServerError {
				s.log.Error("api", "path", r.URL.Path, "err", err)
				msg = "internal error; the server log has the details"
			}
			writeError(w, status, msg)
			return
		}
		if _, ok := v.(written); ok {
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// written: the handler wrote the response itself.
type written struct{}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) apiCases(_ http.ResponseWriter, r *http.Request, u User) (any, error) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		return nil, err
	}
	if f.State == "all" {
		f.State = ""
	}
	return s.svc.List(r.Context(), u, f)
}

func (s *Server) apiCase(_ http.ResponseWriter, r *http.Request, u User) (any, error) {
	return s.svc.Get(r.Context(), u, r.PathValue("id"))
}

// decodeBody reads a JSON body into v, refusing unknown fields; what
// says what was wanted in the error.
func decodeBody(r *http.Request, v any, what string) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return badf("body too large")
		}
		return badf("body: %s%v", what, err)
	}
	return nil
}

// bulkInput is POST /api/v1/cases: one action for many cases.
type bulkInput struct {
	Cases  []string `json:"cases"`
	Action string   `json:"action"`
	ActInput
}

// apiBulk is POST /api/v1/cases: {"cases": [...], "action": "ack", ...}
// applies the action to each case (at most MaxBulk) and says, case by
// case, what it did.
func (s *Server) apiBulk(w http.ResponseWriter, r *http.Request, u User) (any, error) {
	var in bulkInput
	if err := decodeBody(r, &in, `want JSON {"cases": [...], "action": ...}: `); err != nil {
		return nil, err
	}
	res, err := s.svc.ActMany(r.Context(), u, in.Cases, in.Action, in.ActInput)
	if err != nil && len(res.Cases) > 0 {
		// Stopped (ClickHouse away): say what was done and what was not.
		status, msg := statusOf(err)
		s.log.Error("bulk action stopped", "action", in.Action, "user", u.Name, "done", res.Done, "err", err)
		if status == http.StatusInternalServerError {
			msg = "stopped: " + strconv.Itoa(res.Done) + " of " + strconv.Itoa(len(res.Cases)) + " cases done, the others not done (the server log has the details); running it again is safe"
		}
		writeJSON(w, status, struct {
			Error string `json:"error"`
			BulkResult
		}{msg, res})
		return written{}, nil
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("bulk case action", "action", in.Action, "user", u.Name, "done", res.Done, "unchanged", res.Unchanged, "failed", res.Failed, "via", "api")
	return res, nil
}

// apiAct is POST /api/v1/cases/{id}/{action}: the body is JSON (ActInput)
// or a form.
func (s *Server) apiAct(_ http.ResponseWriter, r *http.Request, u User) (any, error) {
	rest := r.PathValue("id")
	i := strings.LastIndex(rest, "/")
	if i <= 0 {
		return nil, badf("POST /api/v1/cases/{id}/{action}: the action is missing (one of %s)", strings.Join(Actions, ", "))
	}
	id, action := rest[:i], rest[i+1:]
	var in ActInput
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		if err := decodeBody(r, &in, ""); err != nil {
			return nil, err
		}
	default:
		in = ActInput{Outcome: r.FormValue("outcome"), Note: r.FormValue("note"), Assignee: r.FormValue("assignee"), Label: r.FormValue("label")}
		if a := r.FormValue("aspects"); a != "" {
			in.Aspects = strings.Split(a, ",")
		}
	}
	c, err := s.svc.Act(r.Context(), u, id, action, in)
	if err != nil {
		return nil, err
	}
	s.log.Info("case action", "case", c.ID, "action", action, "user", u.Name, "via", "api")
	return c, nil
}

func (s *Server) apiTrends(_ http.ResponseWriter, r *http.Request, u User) (any, error) {
	rg, err := parseRange(r.URL.Query(), s.now())
	if err != nil {
		return nil, err
	}
	out := map[string]any{"from": rg.From.Format("2006-01-02"), "to": rg.To.AddDate(0, 0, -1).Format("2006-01-02")}
	var ts []storage.Trend
	for _, n := range storage.TrendNames {
		t, err := s.store.TrendData(r.Context(), n, rg, u.Scope)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	out["trends"] = ts
	return out, nil
}

func (s *Server) apiTrend(_ http.ResponseWriter, r *http.Request, u User) (any, error) {
	rg, err := parseRange(r.URL.Query(), s.now())
	if err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	if _, _, _, _, err := storage.TrendSQL(name, rg, u.Scope); err != nil {
		return nil, notFound{err.Error()}
	}
	return s.store.TrendData(r.Context(), name, rg, u.Scope)
}

func (s *Server) apiSources(_ http.ResponseWriter, r *http.Request, u User) (any, error) {
	srcs, err := s.Sources(r, u)
	if err != nil {
		return nil, err
	}
	if srcs == nil {
		srcs = []SourceStatus{}
	}
	return map[string]any{"sources": srcs, "spool_batches": s.spoolDepth()}, nil
}

// notFound is a 404 for something other than a case.
type notFound struct{ msg string }

func (e notFound) Error() string { return e.msg }
