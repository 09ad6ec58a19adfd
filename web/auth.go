package web

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot/config"
)

// SessionCookie names the browser session's cookie.
const SessionCookie = "earshot_session"

// Login rate limits: after MaxFailures failed logins within FailureWindow
// for one user name or from one address, further attempts for it are
// refused (429) until the window has passed.
const (
	MaxFailures   = 5
	FailureWindow = 15 * time.Minute
)

// dummyHash is compared against when the user is unknown, so a login for
// an unknown name takes as long as one with a wrong password.
const dummyHash = "$2a$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z1oiMQ7ZfO8NsuRvdHQqUQuy"

// sessions is the in-memory session store: a restart signs everyone out.
type sessions struct {
	mu  sync.Mutex
	m   map[string]session
	ttl time.Duration
}

type session struct {
	user    string
	expires time.Time
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics if it cannot read)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) create(user string, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m { // drop expired sessions as new ones come
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	t := newToken()
	s.m[t] = session{user: user, expires: now.Add(s.ttl)}
	return t
}

func (s *sessions) get(token string, now time.Time) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[token]
	if !ok {
		return "", false
	}
	if now.After(v.expires) {
		delete(s.m, token)
		return "", false
	}
	return v.user, true
}

func (s *sessions) end(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, token)
}

// limiter counts failed logins per key ("user:NAME", "addr:IP").
type limiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time
}

func (l *limiter) blocked(now time.Time, keys ...string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		fs := l.recent(k, now)
		if len(fs) >= MaxFailures {
			wait = max(wait, fs[0].Add(FailureWindow).Sub(now))
		}
	}
	return wait, wait > 0
}

// recent prunes and returns key's failures inside the window; l.mu held.
func (l *limiter) recent(k string, now time.Time) []time.Time {
	fs := l.failures[k]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= FailureWindow {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.failures, k)
	} else {
		l.failures[k] = fs
	}
	return fs
}

func (l *limiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.failures[k] = append(l.recent(k, now), now)
	}
}

func (l *limiter) clear(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}

// clientAddr is the request's remote IP (proxies' X-Forwarded-For is not
// trusted: anyone can send it).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authError is a refused login: its status and message.
type authError struct {
	status int
	msg    string
}

func (e authError) Error() string { return e.msg }

// authenticate checks a name and password against the configured users,
// rate-limited per user name and address.
func (s *Server) authenticate(r *http.Request, name, password string) (User, error) {
	now := s.now()
	keys := []string{"user:" + strings.ToLower(name), "addr:" + clientAddr(r)}
	if wait, ok := s.limit.blocked(now, keys...); ok {
		s.log.Warn("login refused: too many failures", "user", name, "addr", clientAddr(r))
		return User{}, authError{http.StatusTooManyRequests, fmt.Sprintf("too many failed logins: try again in %s", wait.Round(time.Minute)+time.Minute)}
	}
	u := s.cfg.UserByName(name)
	hash := dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	if u == nil || err != nil {
		s.limit.fail(now, keys...)
		s.log.Warn("failed login", "user", name, "addr", clientAddr(r))
		return User{}, authError{http.StatusUnauthorized, "wrong user name or password"}
	}
	s.limit.clear(keys[0])
	return userOf(u), nil
}

func userOf(u *config.User) User {
	return User{Name: u.Name, Email: u.Email, Role: u.Role, Scope: scopeOf(u)}
}

// localUser is who uses an inbox bound to loopback with no users
// configured: everything, as "local".
var localUser = User{Name: "local", Role: "admin"}

// open reports whether the inbox runs without logins (no users, loopback).
func (s *Server) open() bool { return len(s.cfg.Users) == 0 }

// sessionUser returns the user of the request's session cookie.
func (s *Server) sessionUser(r *http.Request) (User, bool) {
	if s.open() {
		return localUser, true
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return User{}, false
	}
	name, ok := s.sessions.get(c.Value, s.now())
	if !ok {
		return User{}, false
	}
	u := s.cfg.UserByName(name)
	if u == nil {
		return User{}, false
	}
	return userOf(u), true
}

// apiUser authenticates an API request: HTTP Basic auth, or the browser's
// session.
func (s *Server) apiUser(r *http.Request) (User, error) {
	if s.open() {
		return localUser, nil
	}
	if name, pw, ok := r.BasicAuth(); ok {
		return s.authenticate(r, name, pw)
	}
	if u, ok := s.sessionUser(r); ok {
		return u, nil
	}
	return User{}, authError{http.StatusUnauthorized, "authentication required (HTTP Basic auth with a configured user)"}
}

func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (s *Server) setSession(w http.ResponseWriter, r *http.Request, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: secureRequest(r)})
}

// safeNext is a local path to return to after login ("/cases" otherwise).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/cases"
	}
	return next
}
