package web

import (
	"context"
	"crypto/hmac"
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
// store (nil: memory only). A session this process has seen is trusted
// for recheck before the store is asked again, so a sign-out on another
// process ends it here within that time. While the store cannot be asked,
// sessions this process has seen stay valid until their expiry, sessions
// it started are written when it can, and others are refused.
type sessions struct {
	mu      sync.Mutex
	m       map[string]session
	ended   map[string]time.Time // signed out here: refused until expiry whatever the store says
	misses  map[string]time.Time // unknown tokens, not asked about again until then
	ttl     time.Duration
	recheck time.Duration
	store   SessionStore
	key     []byte // keys the token's hash (server.link_key), else plain SHA-256
	log     *slog.Logger
}

type session struct {
	user       string
	credential string
	expires    time.Time
	checked    time.Time
	unsaved    bool // started while the store could not be written
}

// maxMisses bounds the unknown tokens remembered (a flood of made-up
// cookies must not grow memory).
const maxMisses = 10000

// tokenLen is newToken's length: other cookie values are refused unread.
const tokenLen = 43

// hash is what the store keeps of a token.
func (s *sessions) hash(token string) string { return keyedHash(s.key, token) }

// keyedHash is what a table keeps instead of a secret or personal value:
// its HMAC-SHA-256 keyed with server.link_key when that is set (rows
// written into the table by hand then match nothing), else its SHA-256.
func keyedHash(key []byte, v string) string {
	if len(key) > 0 {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(v))
		return hex.EncodeToString(m.Sum(nil))
	}
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// credentialOf digests a user's password hash: a session records the
// credential it was started with, and a changed password ends it.
func credentialOf(u *config.User) string {
	if u == nil {
		return ""
	}
	h := sha256.Sum256([]byte("earshot-session:" + u.PasswordHash))
	return hex.EncodeToString(h[:8])
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics if it cannot read)
	return base64.RawURLEncoding.EncodeToString(b)
}

func wellFormed(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (s *sessions) create(ctx context.Context, user, credential string, now time.Time) string {
	t := newToken()
	ss := session{user: user, credential: credential, expires: now.Add(s.ttl), checked: now}
	if s.store != nil {
		ss.unsaved = !s.save(ctx, t, ss, now)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m { // drop expired sessions as new ones come
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	for k, v := range s.ended {
		if now.After(v) {
			delete(s.ended, k)
		}
	}
	s.m[t] = ss
	return t
}

// save writes a session's start; false when the store could not be
// written (the session then works on this process only, until it can).
func (s *sessions) save(ctx context.Context, token string, ss session, now time.Time) bool {
	err := s.store.SaveSession(ctx, storage.Session{TokenHash: s.hash(token), User: ss.user, Credential: ss.credential,
		Created: now, Expires: ss.expires, Version: uint64(now.UnixNano())})
	if err != nil {
		s.log.Warn("session not stored yet: valid on this process only", "user", ss.user, "err", err)
		return false
	}
	return true
}

// get returns the user and credential of a valid session.
func (s *sessions) get(ctx context.Context, token string, now time.Time) (user, credential string, ok bool) {
	if !wellFormed(token) {
		return "", "", false
	}
	s.mu.Lock()
	v, cached := s.m[token]
	_, ended := s.ended[token]
	missUntil, missed := s.misses[token]
	s.mu.Unlock()
	switch {
	case ended:
		return "", "", false
	case cached && now.After(v.expires):
		s.drop(token)
		return "", "", false
	case cached && v.unsaved && s.store != nil:
		// Started while the store was away: write it now, trust it meanwhile.
		if s.save(ctx, token, v, now) {
			s.update(token, func(x *session) { x.unsaved, x.checked = false, now })
		}
		return v.user, v.credential, true
	case cached && (s.store == nil || now.Sub(v.checked) < s.recheck):
		return v.user, v.credential, true
	case !cached && (s.store == nil || missed && now.Before(missUntil)):
		return "", "", false
	}
	st, found, err := s.store.LookupSession(ctx, s.hash(token))
	switch {
	case err != nil && cached:
		s.log.Warn("session not checked: trusted until it can be", "user", v.user, "err", err)
		s.update(token, func(x *session) { x.checked = now }) // ask again after recheck, not on every request
		return v.user, v.credential, true
	case err != nil:
		s.log.Warn("session not checked", "err", err)
		s.miss(token, now.Add(s.recheck))
		return "", "", false
	case !found || st.Ended || now.After(st.Expires):
		s.drop(token)
		s.miss(token, now.Add(s.recheck))
		return "", "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ended := s.ended[token]; ended { // signed out while it was looked up
		return "", "", false
	}
	s.m[token] = session{user: st.User, credential: st.Credential, expires: st.Expires, checked: now}
	return st.User, st.Credential, true
}

func (s *sessions) update(token string, f func(*session)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[token]; ok {
		f(&v)
		s.m[token] = v
	}
}

func (s *sessions) miss(token string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.misses == nil || len(s.misses) >= maxMisses {
		s.misses = map[string]time.Time{}
	}
	s.misses[token] = until
}

func (s *sessions) drop(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, token)
}

// end signs a session out: on this process at once and for good (until
// it would have expired), on others at their next check. It reports
// whether the end reached the store (false: other processes accept the
// session until it expires).
func (s *sessions) end(ctx context.Context, token string, now time.Time) bool {
	if !wellFormed(token) {
		return true
	}
	s.mu.Lock()
	v, ok := s.m[token]
	delete(s.m, token)
	if s.ended == nil {
		s.ended = map[string]time.Time{}
	}
	exp := v.expires
	if !ok {
		exp = now.Add(s.ttl)
	}
	s.ended[token] = exp
	s.mu.Unlock()
	if s.store == nil {
		return true
	}
	// The end row outranks the start whatever the clocks (its version is
	// the largest), and needs no lookup.
	if err := s.store.SaveSession(ctx, storage.Session{TokenHash: s.hash(token), User: v.user, Created: now, Expires: exp,
		Ended: true, Version: storage.SessionEndVersion}); err != nil {
		s.log.Error("sign-out not recorded: other earshot processes accept this session until it expires", "user", v.user,
			"expires", exp, "err", err)
		return false
	}
	return true
}

// FailureStore keeps failed logins where every earshot process finds
// them (ClickHouse's login_failures table), so that the limit holds for
// all processes behind one address together.
type FailureStore interface {
	RecordLogins(ctx context.Context, keyHashes []string, at time.Time, cleared bool) error
	LoginFailures(ctx context.Context, keyHashes []string, since time.Time) (map[string][]time.Time, error)
}

// storeWait bounds each call to the failure store: a login does not wait
// long for a slow ClickHouse (the process's own count still applies).
const storeWait = 3 * time.Second

// limiter counts failed logins per key ("user:NAME", "addr:IP"): in
// memory, and in the store when there is one, whose count (every
// process's failures) decides when it answers. While the store cannot be
// asked, this process's own count decides.
type limiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time
	store    FailureStore
	key      []byte // keys the hashes (server.link_key), else plain SHA-256
	log      *slog.Logger
}

func newLimiter(store FailureStore, key []byte, log *slog.Logger) *limiter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &limiter{failures: map[string][]time.Time{}, store: store, key: key, log: log}
}

// hashes are what the store keeps of keys.
func (l *limiter) hashes(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = keyedHash(l.key, "login:"+k)
	}
	return out
}

// blocked says how long the keys are blocked for, and how many recent
// failures each has.
func (l *limiter) blocked(ctx context.Context, now time.Time, keys ...string) (wait time.Duration, n []int) {
	var shared map[string][]time.Time
	hs := l.hashes(keys)
	if l.store != nil {
		sctx, cancel := context.WithTimeout(ctx, storeWait)
		var err error
		shared, err = l.store.LoginFailures(sctx, hs, now.Add(-FailureWindow))
		cancel()
		if err != nil {
			l.log.Warn("failed logins of other earshot processes not read: this process's count decides", "err", err)
			shared = nil
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n = make([]int, len(keys))
	for i, k := range keys {
		fs := l.recent(k, now)
		if sh := shared[hs[i]]; len(sh) > len(fs) {
			fs = sh // every process's, this one's included
		}
		n[i] = len(fs)
		if len(fs) >= MaxFailures {
			// Free when the MaxFailures-th newest leaves the window.
			wait = max(wait, fs[len(fs)-MaxFailures].Add(FailureWindow).Sub(now))
		}
	}
	return wait, n
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

func (l *limiter) fail(ctx context.Context, now time.Time, keys ...string) {
	l.mu.Lock()
	for _, k := range keys {
		l.failures[k] = append(l.recent(k, now), now)
	}
	l.mu.Unlock()
	l.record(ctx, now, false, keys...)
}

// clear forgets key's failures (a successful login for the user name);
// the store is told only when there were some (Basic auth logs in on
// every API call).
func (l *limiter) clear(ctx context.Context, now time.Time, key string, had int) {
	l.mu.Lock()
	delete(l.failures, key)
	l.mu.Unlock()
	if had > 0 {
		l.record(ctx, now, true, key)
	}
}

func (l *limiter) record(ctx context.Context, now time.Time, cleared bool, keys ...string) {
	if l.store == nil {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeWait)
	defer cancel()
	if err := l.store.RecordLogins(sctx, l.hashes(keys), now, cleared); err != nil {
		l.log.Warn("login not recorded for the other earshot processes: they count their own failures only", "cleared", cleared, "err", err)
	}
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
	wait, recent := s.limit.blocked(r.Context(), now, keys...)
	if wait > 0 {
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
		s.limit.fail(r.Context(), now, keys...)
		s.log.Warn("failed login", "user", name, "addr", clientAddr(r))
		return User{}, authError{http.StatusUnauthorized, "wrong user name or password"}
	}
	s.limit.clear(r.Context(), now, keys[0], recent[0])
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
	name, cred, ok := s.sessions.get(r.Context(), c.Value, s.now())
	if !ok {
		return User{}, false
	}
	u := s.cfg.UserByName(name)
	if u == nil || cred != credentialOf(u) { // removed, or a new password since
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
