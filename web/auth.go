package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/storage"
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

// SessionStore keeps sessions where every earshot process finds them
// (ClickHouse's sessions table): a restart signs nobody out, and a
// session started on one process works on the others.
type SessionStore interface {
	SaveSession(ctx context.Context, s storage.Session) error
	LookupSession(ctx context.Context, tokenHash string) (storage.Session, bool, error)
}

// sessions are the browser sessions: a cache in memory in front of the
// store (nil: memory only). A cached session is checked against the store
// again after recheck, so that a sign-out on another process ends it here
// within that time; a session the store cannot be asked about meanwhile
// stays valid until its expiry.
type sessions struct {
	mu      sync.Mutex
	m       map[string]session
	ttl     time.Duration
	recheck time.Duration
	store   SessionStore
	log     *slog.Logger
}

type session struct {
	user    string
	expires time.Time
	checked time.Time
}

// tokenHash is what the store keeps of a token.
func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics if it cannot read)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) create(ctx context.Context, user string, now time.Time) string {
	t := newToken()
	ss := session{user: user, expires: now.Add(s.ttl), checked: now}
	if s.store != nil {
		// Without the store the session still works on this process.
		if err := s.store.SaveSession(ctx, storage.Session{TokenHash: tokenHash(t), User: user, Created: now, Expires: ss.expires,
			Version: uint64(now.UnixNano())}); err != nil {
			s.log.Warn("session kept in this process only", "user", user, "err", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m { // drop expired sessions as new ones come
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	s.m[t] = ss
	return t
}

func (s *sessions) get(ctx context.Context, token string, now time.Time) (string, bool) {
	s.mu.Lock()
	v, ok := s.m[token]
	s.mu.Unlock()
	if ok && now.After(v.expires) {
		s.drop(token)
		return "", false
	}
	if ok && (s.store == nil || now.Sub(v.checked) < s.recheck) {
		return v.user, true
	}
	if s.store == nil {
		return "", false
	}
	st, found, err := s.store.LookupSession(ctx, tokenHash(token))
	switch {
	case err != nil && ok:
		s.log.Warn("session not checked: kept until it is", "user", v.user, "err", err)
		return v.user, true
	case err != nil:
		s.log.Warn("session not checked", "err", err)
		return "", false
	case !found || st.Ended || now.After(st.Expires):
		s.drop(token)
		return "", false
	}
	s.mu.Lock()
	s.m[token] = session{user: st.User, expires: st.Expires, checked: now}
	s.mu.Unlock()
	return st.User, true
}

func (s *sessions) drop(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, token)
}

// end signs a session out: here at once, on other processes at their next
// check.
func (s *sessions) end(ctx context.Context, token string, now time.Time) {
	s.mu.Lock()
	v, ok := s.m[token]
	delete(s.m, token)
	s.mu.Unlock()
	if s.store == nil {
		return
	}
	user := v.user
	if !ok {
		st, found, err := s.store.LookupSession(ctx, tokenHash(token))
		if err != nil || !found {
			return
		}
		user, v.expires = st.User, st.Expires
	}
	if err := s.store.SaveSession(ctx, storage.Session{TokenHash: tokenHash(token), User: user, Created: now, Expires: v.expires,
		Ended: true, Version: uint64(now.UnixNano())}); err != nil {
		s.log.Warn("sign-out recorded in this process only", "user", user, "err", err)
	}
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
	name, ok := s.sessions.get(r.Context(), c.Value, s.now())
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
