package web

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/storage"
)

//go:embed templates/*.html static/*
var assets embed.FS

// DefaultSessionTTL is how long a login lasts.
const DefaultSessionTTL = 12 * time.Hour

// Options configure the inbox.
type Options struct {
	Store  *storage.Store
	Config *config.Config
	// Listen is the address the daemon serves on (server.listen): with no
	// users configured the inbox runs only on a loopback address.
	Listen     string
	SpoolDepth func() int // batches waiting in the spool (nil: unknown)
	Logger     *slog.Logger
	Now        func() time.Time
	SessionTTL time.Duration
	// SessionRecheck: how long a session this process has seen is trusted
	// before the sessions table is asked again (default 30 s): the most a
	// sign-out on another process takes to reach this one.
	SessionRecheck time.Duration
}

// DefaultSessionRecheck is Options.SessionRecheck's default.
const DefaultSessionRecheck = 30 * time.Second

// Server is the web inbox and its API.
type Server struct {
	svc      *Service
	cfg      *config.Config
	store    *storage.Store
	log      *slog.Logger
	nowFn    func() time.Time
	spool    func() int
	sessions *sessions
	limit    *limiter
	pages    map[string]*template.Template
	handler  http.Handler
}

// ErrNoUsers is why New refuses an inbox on a public address without users.
var ErrNoUsers = errors.New("web inbox not started: server.listen is not a loopback address and no users are configured; " +
	"add users (see `earshot users hash`) or listen on 127.0.0.1")

// Loopback reports whether a listen address is loopback only.
func Loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// New builds the inbox; it refuses (ErrNoUsers) to serve a non-loopback
// address without users.
func New(o Options) (*Server, error) {
	if len(o.Config.Users) == 0 && !Loopback(o.Listen) {
		return nil, ErrNoUsers
	}
	svc, err := NewService(o.Store, o.Config)
	if err != nil {
		return nil, err
	}
	if o.Now != nil {
		svc.Now = o.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ttl := o.SessionTTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	recheck := o.SessionRecheck
	if recheck <= 0 {
		recheck = DefaultSessionRecheck
	}
	ss := &sessions{m: map[string]session{}, ttl: ttl, recheck: recheck, log: o.Logger}
	if o.Store != nil {
		ss.store = o.Store
	}
	if o.Config != nil && o.Config.Server.LinkKey != "" {
		ss.key = []byte(o.Config.Server.LinkKey)
	}
	var fails FailureStore
	if o.Store != nil {
		fails = o.Store
	}
	s := &Server{svc: svc, cfg: o.Config, store: o.Store, log: o.Logger, nowFn: o.Now, spool: o.SpoolDepth,
		sessions: ss, limit: newLimiter(fails, ss.key, o.Logger)}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// Service returns the case workflow the inbox uses.
func (s *Server) Service() *Service { return s.svc }

func (s *Server) now() time.Time {
	if s.nowFn != nil {
		return s.nowFn()
	}
	return time.Now()
}

// Paths are the URL paths the inbox serves, for mounting it on a mux.
var Paths = []string{"/login", "/logout", "/cases", "/cases/", "/trends", "/sources", "/static/", "/api/v1/", "/{$}"}

// Register mounts the inbox on mux.
func (s *Server) Register(mux *http.ServeMux) {
	for _, p := range Paths {
		mux.Handle(p, s.handler)
	}
}

// ServeHTTP serves the inbox.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServer(http.FS(static))))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/cases", http.StatusSeeOther) })
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /cases", s.page(s.inboxPage))
	mux.HandleFunc("POST /cases", s.page(s.bulkAction))
	mux.HandleFunc("GET /cases/{id...}", s.page(s.casePage))
	mux.HandleFunc("POST /cases/{id...}", s.page(s.caseAction))
	mux.HandleFunc("GET /trends", s.page(s.trendsPage))
	mux.HandleFunc("GET /sources", s.page(s.sourcesPage))
	mux.HandleFunc("GET /api/v1/cases", s.api(s.apiCases))
	mux.HandleFunc("POST /api/v1/cases", s.api(s.apiBulk))
	mux.HandleFunc("GET /api/v1/cases/{id...}", s.api(s.apiCase))
	mux.HandleFunc("POST /api/v1/cases/{id...}", s.api(s.apiAct))
	mux.HandleFunc("GET /api/v1/trends", s.api(s.apiTrends))
	mux.HandleFunc("GET /api/v1/trends/{name}", s.api(s.apiTrend))
	mux.HandleFunc("GET /api/v1/sources", s.api(s.apiSources))
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	})
	// Every state-changing request must come from this site: browsers
	// send Sec-Fetch-Site/Origin, and a cross-site POST is refused (403).
	// Scripts (no such headers) authenticate with Basic auth instead.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		if strings.HasPrefix(r.URL.Path, "/api/") {
			writeError(w, http.StatusForbidden, "cross-origin request refused")
			return
		}
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	return headers(cop.Handler(mux))
}

// headers sets the security headers of every response: nothing loads
// from anywhere but this server, nothing frames it, no referrer leaks a
// case URL to the sites reviews link to.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		h.ServeHTTP(w, r)
	})
}

// page wraps an HTML handler: the user must be signed in.
func (s *Server) page(h func(http.ResponseWriter, *http.Request, User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.sessionUser(r)
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		h(w, r, u)
	}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if s.open() {
		http.Redirect(w, r, "/cases", http.StatusSeeOther)
		return
	}
	data := map[string]any{"Next": safeNext(r.URL.Query().Get("next"))}
	if r.URL.Query().Get("signout") == "partial" {
		data["Error"] = "Signed out here, but the sign-out could not be recorded for the other earshot servers: there, this session works until it expires (12 hours from sign-in)."
	}
	s.render(w, r, http.StatusOK, "login", User{}, data)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.open() {
		http.Redirect(w, r, "/cases", http.StatusSeeOther)
		return
	}
	next := safeNext(r.FormValue("next"))
	u, err := s.authenticate(r, strings.TrimSpace(r.FormValue("name")), r.FormValue("password"))
	if err != nil {
		status := http.StatusUnauthorized
		var ae authError
		if errors.As(err, &ae) {
			status = ae.status
		}
		s.render(w, r, status, "login", User{}, map[string]any{"Next": next, "Error": err.Error(), "Name": r.FormValue("name")})
		return
	}
	s.setSession(w, r, s.sessions.create(r.Context(), u.Name, credentialOf(s.cfg.UserByName(u.Name)), s.now()), int(s.sessions.ttl.Seconds()))
	s.log.Info("signed in", "user", u.Name, "addr", clientAddr(r))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	to := "/login"
	if c, err := r.Cookie(SessionCookie); err == nil && !s.sessions.end(r.Context(), c.Value, s.now()) {
		to = "/login?signout=partial"
	}
	s.setSession(w, r, "", -1)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// render executes a page template with the common data.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, u User, data map[string]any) {
	t, ok := s.pages[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	if data == nil {
		data = map[string]any{}
	}
	data["User"] = u
	data["SignedIn"] = u.Name != ""
	data["Open"] = s.open()
	data["Path"] = r.URL.Path
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// fail renders an error page with the status the error calls for.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, u User, err error) {
	status, msg := statusOf(err)
	if status == http.StatusInternalServerError {
		s.log.Error("inbox", "path", r.URL.Path, "err", err)
		msg = "something went wrong; the server log has the details"
	}
	s.render(w, r, status, "error", u, map[string]any{"Status": status, "Message": msg})
}

// statusOf maps a service error to an HTTP status and message.
func statusOf(err error) (int, string) {
	var br BadRequest
	var ae authError
	var nf notFound
	switch {
	case errors.As(err, &nf):
		return http.StatusNotFound, nf.msg
	case errors.As(err, &ae):
		return ae.status, ae.msg
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "no such case"
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, ErrForbidden.Error()
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, strings.TrimPrefix(err.Error(), ErrConflict.Error()+": ")
	case errors.As(err, &br):
		return http.StatusBadRequest, br.Msg
	}
	return http.StatusInternalServerError, fmt.Sprint(err)
}
