package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chtest"
)

func TestMain(m *testing.M) { os.Exit(chtest.Main(m)) }

// hostile is review text that must show as text, never run.
const hostile = `<script>alert(1)</script><img src=x onerror="alert(2)"> <a href="javascript:alert(3)">click</a> {{.User}} {{template "x"}} Sobe su bile prljave`

const password = "correct horse battery"

// fixture is a store with cases in Zagreb (one with hostile text) and
// Manila, and a config with an admin, a Zagreb agent and a viewer.
type fixture struct {
	db     *chtest.DB
	st     *storage.Store
	cfg    *config.Config
	srv    *Server
	ts     *httptest.Server
	zagreb string // case ids
	manila string
	evil   string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db := chtest.New(t)
	ctx := context.Background()
	st, err := storage.Open(ctx, db.DSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`clickhouse: {dsn: %q}
brands:
  - name: Sunrise
    keywords: [sunrise]
    locations: [{name: Zagreb, contact: "Ana Horvat, front office manager"}, {name: Manila}]
sources:
  - {name: demo-zagreb, kind: demo, brand: Sunrise, location: Zagreb}
  - {name: demo-manila, kind: demo, brand: Sunrise, location: Manila}
route: {receiver: outbox, ack_within: 1h}
receivers: [{name: outbox, kind: outbox, dir: %q}]
users:
  - {name: admin, role: admin, password_hash: %q}
  - {name: zoran, role: agent, password_hash: %q, locations: [Zagreb]}
  - {name: vera, role: viewer, password_hash: %q}
`, db.DSN, t.TempDir(), h, h, h)
	cfg, err := config.Parse("test.yaml", []byte(yaml), config.Schema{SourceKinds: map[string]func() any{"demo": nil}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	mk := func(id, loc, lang, sev, text, author string, aspects, signals []string, ago time.Duration) mention.Mention {
		m := mention.Mention{ID: id, Source: "demo-" + strings.ToLower(loc), Kind: "review", Brand: "Sunrise", Location: loc, Author: author,
			Text: text, Lang: lang, Rating: 1, RatingMax: 5, PublishedAt: now.Add(-ago), URL: "https://reviews.example/" + id}
		m.Negative, m.Severity, m.Aspects, m.Signals, m.Sentiment = true, sev, aspects, signals, -0.8
		m.Reasons = []string{"lang " + lang + " (given)", "negative: dirty, rude"}
		m.ScorerVersion = "test/1"
		if err := m.Normalize(now); err != nil {
			t.Fatal(err)
		}
		m.StoryID = ""
		return m
	}
	ms := []mention.Mention{
		mk("demo:zg1", "Zagreb", "hr", "high", "Osoblje je bilo neljubazno, čekali smo sat vremena na sobu.", "Ivana", []string{"staff", "wait"}, nil, 3*time.Hour),
		mk("demo:mn1", "Manila", "tl", "critical", "Food poisoning after the buffet, I am calling a lawyer.", "Jose", []string{"quality"}, []string{"health", "legal"}, 2*time.Hour),
		mk("demo:evil", "Zagreb", "en", "medium", hostile, "<b>Mallory</b>", []string{"cleanliness"}, nil, time.Hour),
		mk("demo:hy1", "Zagreb", "hy", "low", "Սենյակը կեղտոտ էր, անձնակազմը՝ անբարեհամբույր։", "Արամ", []string{"cleanliness"}, nil, 30*time.Minute),
	}
	// Related to zg1 (no cases of their own): the same story on another
	// site (Devanagari), Ivana's earlier complaint in Zagreb (Cyrillic)
	// and one in Manila, which only users who see Manila may see.
	story := mk("demo:zg1b", "Zagreb", "hi", "high", "कमरा गंदा था और कर्मचारी असभ्य थे।", "Ivana", []string{"staff"}, nil, 2*time.Hour)
	story.StoryID = "demo:zg1"
	related := []mention.Mention{story,
		mk("demo:zg0", "Zagreb", "ru", "medium", "Нам нагрубили на ресепшене, ждали час.", "Ivana", []string{"staff"}, nil, 240*time.Hour),
		mk("demo:mn0", "Manila", "en", "medium", "Manila breakfast was cold again.", "Ivana", []string{"quality"}, nil, 200*time.Hour),
	}
	if err := st.InsertMentions(ctx, append(slices.Clone(ms), related...)); err != nil {
		t.Fatal(err)
	}
	var evs []storage.CaseEvent
	for i, m := range ms {
		cid := "case:" + m.ID
		evs = append(evs, storage.CaseEvent{EventID: cid + ":opened", CaseID: cid, MentionID: m.ID, At: now.Add(-time.Duration(4-i) * time.Hour),
			Event: "opened", State: "open", Brand: m.Brand, Location: m.Location, Severity: m.Severity})
	}
	if err := st.AppendCaseEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	srv, ts := serve(t, Options{Store: st, Config: cfg, Listen: "127.0.0.1:0", SpoolDepth: func() int { return 3 }})
	return &fixture{db: db, st: st, cfg: cfg, srv: srv, ts: ts, zagreb: "case:demo:zg1", manila: "case:demo:mn1", evil: "case:demo:evil"}
}

// serve starts a Server with o on a test listener (closed at the end).
func serve(t testing.TB, o Options) (*Server, *httptest.Server) {
	t.Helper()
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return srv, ts
}

// openCases stores n negative Zagreb mentions (ids prefix0 .. prefixN-1)
// and opens a case for each; it returns the case ids.
func (f *fixture) openCases(t testing.TB, prefix string, n int) []string {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	var ms []mention.Mention
	var evs []storage.CaseEvent
	var ids []string
	for i := range n {
		m := mention.Mention{ID: fmt.Sprintf("%s%d", prefix, i), Source: "demo-zagreb", Kind: "review", Brand: "Sunrise", Location: "Zagreb",
			Text: "Hladna soba.", Lang: "hr", PublishedAt: now}
		m.Negative, m.Severity, m.Sentiment, m.ScorerVersion = true, "low", -0.5, "test/1"
		if err := m.Normalize(now); err != nil {
			t.Fatal(err)
		}
		m.StoryID = ""
		ms = append(ms, m)
		evs = append(evs, storage.CaseEvent{EventID: "case:" + m.ID + ":opened", CaseID: "case:" + m.ID, MentionID: m.ID, At: now,
			Event: "opened", State: "open", Brand: "Sunrise", Location: "Zagreb", Severity: "low"})
		ids = append(ids, "case:"+m.ID)
	}
	if err := f.st.InsertMentions(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	if err := f.st.AppendCaseEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	return ids
}

// client is a browser-like client signed in as user ("" not signed in).
func (f *fixture) client(t testing.TB, user string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if user == "" {
		return c
	}
	resp, err := c.PostForm(f.ts.URL+"/login", url.Values{"name": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Inbox") {
		t.Fatalf("login %s: %d\n%s", user, resp.StatusCode, body)
	}
	return c
}

func get(t testing.TB, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func do(t testing.TB, c *http.Client, method, u, user string, body io.Reader, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, body)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestInboxWeb(t *testing.T) {
	f := newFixture(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	t.Run("login required", func(t *testing.T) {
		for _, p := range []string{"/cases", "/cases/" + f.zagreb, "/trends", "/sources"} {
			resp, err := noRedirect.Get(f.ts.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
				t.Errorf("%s: %d %s", p, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		if code, body := do(t, http.DefaultClient, "GET", f.ts.URL+"/api/v1/cases", "", nil, nil); code != 401 || !strings.Contains(body, `"error"`) {
			t.Errorf("api without auth: %d %s", code, body)
		}
	})

	t.Run("session cookie, logout ends it", func(t *testing.T) {
		for _, tt := range []struct {
			proto  string
			secure bool
		}{{"", false}, {"https", true}} {
			req, _ := http.NewRequest("POST", f.ts.URL+"/login", strings.NewReader(url.Values{"name": {"admin"}, "password": {password}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var c *http.Cookie
			for _, k := range resp.Cookies() {
				if k.Name == SessionCookie {
					c = k
				}
			}
			if resp.StatusCode != http.StatusSeeOther || c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tt.secure || c.MaxAge <= 0 {
				t.Fatalf("login (%q): %d cookie %+v", tt.proto, resp.StatusCode, c)
			}
			req, _ = http.NewRequest("GET", f.ts.URL+"/cases", nil)
			req.AddCookie(c)
			if resp, _ := noRedirect.Do(req); resp.StatusCode != 200 {
				t.Errorf("with session: %d", resp.StatusCode)
			}
			req, _ = http.NewRequest("POST", f.ts.URL+"/logout", nil)
			req.AddCookie(c)
			if resp, _ := noRedirect.Do(req); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("logout: %d", resp.StatusCode)
			}
			req, _ = http.NewRequest("GET", f.ts.URL+"/cases", nil)
			req.AddCookie(c) // a stolen copy of the cookie no longer works
			if resp, _ := noRedirect.Do(req); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("after logout: %d, want a redirect to the login", resp.StatusCode)
			}
		}
	})

	t.Run("CSRF: cross-site POSTs refused", func(t *testing.T) {
		c := f.client(t, "admin")
		form := url.Values{"action": {"note"}, "note": {"hello"}}.Encode()
		for _, tt := range []struct {
			name string
			hdr  map[string]string
			want int
		}{
			{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
			{"foreign origin", map[string]string{"Origin": "http://evil.example"}, 403},
			{"same-origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		} {
			tt.hdr["Content-Type"] = "application/x-www-form-urlencoded"
			code, _ := do(t, c, "POST", f.ts.URL+"/cases/"+f.zagreb, "", strings.NewReader(form), tt.hdr)
			if code != tt.want {
				t.Errorf("%s: %d, want %d", tt.name, code, tt.want)
			}
			code, _ = do(t, c, "POST", f.ts.URL+"/logout", "", nil, tt.hdr)
			if tt.want == 403 && code != 403 {
				t.Errorf("%s logout: %d", tt.name, code)
			}
		}
		code, _ := do(t, http.DefaultClient, "POST", f.ts.URL+"/api/v1/cases/"+f.zagreb+"/note", "admin",
			strings.NewReader(`{"note":"x"}`), map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"})
		if code != 403 {
			t.Errorf("cross-site API POST: %d", code)
		}
	})

	t.Run("scope: Zagreb user never sees Manila", func(t *testing.T) {
		c := f.client(t, "zoran")
		checks := []struct {
			path, absent string
			code         int
		}{
			{"/cases/" + f.manila, "poisoning", 404},
			{"/cases/case:demo:mn", "poisoning", 404}, // a prefix neither
			{"/cases?state=all", "Manila", 200},
			{"/cases?q=lawyer", "poisoning", 200},
			{"/cases?location=Manila", "poisoning", 200},
			{"/cases?overdue=1", "poisoning", 200},
			{"/cases?overdue=1&sort=newest&q=buffet", "poisoning", 200},
			{"/trends?days=30", "Manila", 200},
			{"/sources", "demo-manila", 200},
		}
		for _, ch := range checks {
			code, body := get(t, c, f.ts.URL+ch.path)
			if code != ch.code || strings.Contains(body, ch.absent) {
				t.Errorf("%s: %d (want %d), shows %q: %v", ch.path, code, ch.code, ch.absent, strings.Contains(body, ch.absent))
			}
		}
		for _, api := range []struct{ method, path string }{{"GET", "/api/v1/cases/" + f.manila}, {"POST", "/api/v1/cases/" + f.manila + "/ack"}} {
			if code, body := do(t, http.DefaultClient, api.method, f.ts.URL+api.path, "zoran", nil, nil); code != 404 || !strings.Contains(body, `"error"`) {
				t.Errorf("%s %s: %d %s", api.method, api.path, code, body)
			}
		}
		code, body := do(t, http.DefaultClient, "GET", f.ts.URL+"/api/v1/cases?state=all", "zoran", nil, nil)
		var list CaseList
		if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || list.Total != 3 || strings.Contains(body, "Manila") {
			t.Errorf("zoran's list: %d total %d\n%s", code, list.Total, body)
		}
		_, body = do(t, http.DefaultClient, "GET", f.ts.URL+"/api/v1/trends?days=30", "zoran", nil, nil)
		if strings.Contains(body, `"Manila"`) {
			t.Errorf("zoran's trends show Manila")
		}
		_, body = do(t, http.DefaultClient, "GET", f.ts.URL+"/api/v1/cases?state=all", "admin", nil, nil)
		if err := json.Unmarshal([]byte(body), &list); err != nil || list.Total != 4 {
			t.Errorf("admin sees %d cases, want 4", list.Total)
		}
		// Every case is an hour or more past its 1h ack deadline: the
		// overdue view has all of the user's cases and no other.
		for user, want := range map[string]uint64{"zoran": 3, "admin": 4} {
			_, body = do(t, http.DefaultClient, "GET", f.ts.URL+"/api/v1/cases?overdue=true", user, nil, nil)
			if err := json.Unmarshal([]byte(body), &list); err != nil || list.Total != want || user == "zoran" && strings.Contains(body, "Manila") {
				t.Errorf("%s's overdue cases: %d, want %d\n%s", user, list.Total, want, body)
			}
		}
	})

	t.Run("viewer cannot act", func(t *testing.T) {
		c := f.client(t, "vera")
		code, body := get(t, c, f.ts.URL+"/cases/"+f.zagreb)
		if code != 200 || strings.Contains(body, `value="ack"`) {
			t.Errorf("viewer's case page: %d, offers actions: %v", code, strings.Contains(body, `value="ack"`))
		}
		code, _ = do(t, c, "POST", f.ts.URL+"/cases/"+f.zagreb, "", strings.NewReader("action=ack"),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if code != 403 {
			t.Errorf("viewer POST: %d", code)
		}
		if code, _ := do(t, http.DefaultClient, "POST", f.ts.URL+"/api/v1/cases/"+f.zagreb+"/ack", "vera", nil, nil); code != 403 {
			t.Errorf("viewer API ack: %d", code)
		}
	})

	t.Run("hostile review text renders as text", func(t *testing.T) {
		c := f.client(t, "admin")
		for _, p := range []string{"/cases/" + f.evil, "/cases?state=all"} {
			_, body := get(t, c, f.ts.URL+p)
			for _, bad := range []string{"<script>alert", "<img src=x", "onerror=\"alert", `href="javascript:`, "<b>Mallory"} {
				if strings.Contains(body, bad) {
					t.Errorf("%s: raw %q in the page", p, bad)
				}
			}
			for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "{{.User}}"} {
				if !strings.Contains(body, want) {
					t.Errorf("%s: %q not shown as text", p, want)
				}
			}
		}
		_, body := get(t, c, f.ts.URL+"/cases/"+f.zagreb)
		if !strings.Contains(body, `href="https://reviews.example/demo:zg1"`) || !strings.Contains(body, "Ana Horvat") {
			t.Errorf("case page: no link to the original or no suggested reply with the contact")
		}
	})

	t.Run("API workflow", func(t *testing.T) {
		api := func(method, path, body string) (int, string) {
			var r io.Reader
			hdr := map[string]string{}
			if body != "" {
				r, hdr["Content-Type"] = strings.NewReader(body), "application/json"
			}
			return do(t, http.DefaultClient, method, f.ts.URL+"/api/v1"+path, "zoran", r, hdr)
		}
		steps := []struct {
			method, path, body string
			code               int
			want               string
		}{
			{"POST", "/cases/case:demo:hy/assign", `{"assignee": "zoran"}`, 200, `"assignee": "zoran"`},
			{"POST", "/cases/demo:hy1/note", `{"note": "called the guest"}`, 200, `"id": "case:demo:hy1"`},
			{"POST", "/cases/case:demo:hy1/note", `{"note": ""}`, 400, "empty"},
			{"POST", "/cases/case:demo:hy1/ack", ``, 200, `"state": "acknowledged"`},
			{"POST", "/cases/case:demo:hy1/ack", ``, 409, "error"},
			{"POST", "/cases/case:demo:hy1/resolve", `{"outcome": "refund"}`, 400, "outcome"},
			{"POST", "/cases/case:demo:hy1/resolve", `{"outcome": "contacted_privately", "note": "apologised"}`, 200, `"outcome": "contacted_privately"`},
			{"POST", "/cases/case:demo:hy1/label", `{"label": "neutral"}`, 200, `"id"`},
			{"POST", "/cases/case:demo:hy1/label", `{"aspects": ["staff"]}`, 200, `"id"`},
			{"POST", "/cases/case:demo:hy1/fly", ``, 400, "unknown action"},
			{"POST", "/cases/case:demo/ack", ``, 400, "ambiguous"},
			{"GET", "/cases/case:demo:hy1", ``, 200, `"suggested_reply"`},
			{"GET", "/cases?mine=true&state=all", ``, 200, `"total": 1`},
			{"GET", "/cases?state=bogus", ``, 400, "state"},
			{"GET", "/trends/nope", ``, 404, "unknown trend"},
			{"GET", "/trends/outcomes?days=7", ``, 200, `contacted_privately`},
			{"GET", "/sources", ``, 200, `"spool_batches": 3`},
		}
		for _, s := range steps {
			code, body := api(s.method, s.path, s.body)
			if code != s.code || !strings.Contains(body, s.want) {
				t.Errorf("%s %s %s: %d (want %d)\n%s", s.method, s.path, s.body, code, s.code, body)
			}
		}
		_, body := api("GET", "/cases/case:demo:hy1", "")
		var d CaseDetail
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatal(err)
		}
		var events []string
		for _, h := range d.History {
			events = append(events, h.Event+"/"+h.Actor)
		}
		if got := strings.Join(events, " "); got != "opened/ assigned/zoran noted/zoran acknowledged/zoran resolved/zoran labelled/zoran labelled/zoran" {
			t.Errorf("history: %s", got)
		}
		if len(d.Labels) != 1 || d.Labels[0].Label != "negative" || !d.Labels[0].Corrected || d.Labels[0].Who != "zoran" {
			t.Errorf("labels: %+v", d.Labels)
		}
		for _, k := range []string{`"mention_id"`, `"opened_at"`, `"reply_lang"`, `"sla"`} {
			if !strings.Contains(body, k) {
				t.Errorf("API case lacks %s", k)
			}
		}
	})
}

// postLogin posts the sign-in form to ts and returns the final status
// (redirects followed).
func postLogin(t *testing.T, ts *httptest.Server, name, pw string) int {
	t.Helper()
	resp, err := http.PostForm(ts.URL+"/login", url.Values{"name": {name}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestLoginRateLimit(t *testing.T) {
	f := newFixture(t)
	login := func(name, pw string) int { return postLogin(t, f.ts, name, pw) }
	for i := 0; i < MaxFailures; i++ {
		if code := login("admin", "wrong"); code != 401 {
			t.Fatalf("failure %d: %d", i, code)
		}
	}
	if code := login("admin", password); code != 429 {
		t.Errorf("right password after %d failures: %d, want 429", MaxFailures, code)
	}
	// The address is blocked too: another user from it waits as well.
	if code := login("zoran", password); code != 429 {
		t.Errorf("another user from the blocked address: %d, want 429", code)
	}
	if code, _ := do(t, http.DefaultClient, "GET", f.ts.URL+"/api/v1/cases", "zoran", nil, nil); code != 429 {
		t.Errorf("basic auth from the blocked address: %d, want 429", code)
	}
	// Per user: limits are kept per key and expire.
	ctx := context.Background()
	l := newLimiter(nil, nil, nil)
	now := time.Now()
	for i := 0; i < MaxFailures; i++ {
		l.fail(ctx, now.Add(time.Duration(i)*time.Minute), "user:a")
	}
	if wait, _ := l.blocked(ctx, now.Add(5*time.Minute), "user:b"); wait > 0 {
		t.Error("user b blocked by a's failures")
	}
	// Free when the oldest of the last MaxFailures leaves the window.
	if wait, n := l.blocked(ctx, now.Add(5*time.Minute), "user:a"); wait != FailureWindow-5*time.Minute || n[0] != MaxFailures {
		t.Errorf("blocked for %v (%v failures), want %v", wait, n, FailureWindow-5*time.Minute)
	}
	if wait, _ := l.blocked(ctx, now.Add(FailureWindow+time.Second), "user:a"); wait > 0 {
		t.Error("still blocked after the window")
	}
}

// TestLoginRateLimitShared: failed logins count across every earshot
// process on one ClickHouse (login_failures): MaxFailures in all, not per
// process; a success on any clears the user name's count for all; the
// table holds no name or address; with ClickHouse away each process
// still counts its own.
func TestLoginRateLimitShared(t *testing.T) {
	f := newFixture(t)
	_, other := serve(t, Options{Store: f.st, Config: f.cfg, Listen: "127.0.0.1:0"})
	login := func(ts *httptest.Server, name, pw string) int { return postLogin(t, ts, name, pw) }
	// Failures for zoran from both, short of the limit; then a success
	// on one clears the user name on both (the address keeps its count).
	for i := range MaxFailures - 1 {
		if code := login([]*httptest.Server{f.ts, other}[i%2], "zoran", "wrong"); code != 401 {
			t.Fatalf("failure %d: %d", i, code)
		}
	}
	if code := login(other, "zoran", password); code != 303 && code != 200 {
		t.Fatalf("right password before the limit: %d", code)
	}
	if code := login(f.ts, "zoran", "wrong"); code != 401 {
		t.Fatalf("after a success: %d, want 401", code)
	}
	// The address now has MaxFailures from the two processes together:
	// both refuse it, whichever user.
	for _, ts := range []*httptest.Server{f.ts, other} {
		if code := login(ts, "admin", password); code != 429 {
			t.Errorf("address with %d failures over two processes: %d, want 429", MaxFailures, code)
		}
	}
	if n := f.db.Count(t, "SELECT count() FROM login_failures WHERE position(key_hash, 'zoran') > 0 OR position(key_hash, '127.0.0.1') > 0"); n != 0 {
		t.Error("login_failures holds a name or an address")
	}
	if n := f.db.Count(t, "SELECT count() FROM login_failures WHERE cleared = 1"); n != 1 {
		t.Errorf("%d success rows, want 1 (only a success after failures is written)", n)
	}
	// ClickHouse away (the table gone): each process counts its own.
	if err := f.db.Conn.Exec(context.Background(), "RENAME TABLE login_failures TO login_failures_away"); err != nil {
		t.Fatal(err)
	}
	l := newLimiter(f.st, nil, nil)
	ctx, now := context.Background(), time.Now()
	for range MaxFailures {
		l.fail(ctx, now, "user:vera")
	}
	if wait, _ := l.blocked(ctx, now, "user:vera"); wait <= 0 {
		t.Error("store away: this process's own failures did not block")
	}
}

func TestRefusesPublicWithoutUsers(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte("brands: [{name: B, keywords: [b]}]\n"), config.Schema{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		listen string
		want   error
	}{{"0.0.0.0:8377", ErrNoUsers}, {":8377", ErrNoUsers}, {"192.168.1.5:80", ErrNoUsers}, {"127.0.0.1:8377", nil}, {"[::1]:80", nil}, {"localhost:1", nil}} {
		_, err := New(Options{Config: cfg, Listen: tt.listen})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.listen, err, tt.want)
		}
	}
}

func TestParseRangeAndFilter(t *testing.T) {
	now := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		q        string
		from, to string
		err      bool
	}{
		{"", "2026-10-24", "2026-11-21", false},
		{"days=7", "2026-11-14", "2026-11-21", false},
		{"from=2026-01-01&to=2026-01-31", "2026-01-01", "2026-02-01", false},
		{"from=2026-02-01&to=2026-01-01", "", "", true},
		{"from=yesterday", "", "", true},
	} {
		q, _ := url.ParseQuery(tt.q)
		r, err := parseRange(q, now)
		if (err != nil) != tt.err || (!tt.err && (r.From.Format("2006-01-02") != tt.from || r.To.Format("2006-01-02") != tt.to)) {
			t.Errorf("%q: %v %v", tt.q, r, err)
		}
	}
	for _, tt := range []struct {
		q   string
		err bool
	}{{"overdue=1&mine=true&page=2", false}, {"page=0", true}, {"overdue=maybe", true}} {
		q, _ := url.ParseQuery(tt.q)
		if _, err := parseFilter(q); (err != nil) != tt.err {
			t.Errorf("%q: %v", tt.q, err)
		}
	}
}

// TestRelatedMentions: a case shows the same story's other postings and
// the author's earlier complaints, only those in the viewer's scope.
func TestRelatedMentions(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		user string
		want []string // id/why
	}{
		{"zoran", []string{"demo:zg1b/same_story", "demo:zg0/earlier_complaint"}},
		{"admin", []string{"demo:zg1b/same_story", "demo:mn0/earlier_complaint", "demo:zg0/earlier_complaint"}},
	} {
		code, body := do(t, http.DefaultClient, "GET", f.ts.URL+"/api/v1/cases/"+f.zagreb, tt.user, nil, nil)
		var d CaseDetail
		if err := json.Unmarshal([]byte(body), &d); code != 200 || err != nil {
			t.Fatalf("%s: %d %v", tt.user, code, err)
		}
		var got []string
		for _, r := range d.Related {
			got = append(got, r.ID+"/"+r.Why)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s sees related %v, want %v", tt.user, got, tt.want)
		}
	}
	_, page := get(t, f.client(t, "zoran"), f.ts.URL+"/cases/"+f.zagreb)
	for _, want := range []string{"Same story", "कमरा गंदा था", "Earlier complaint by this author", "Нам нагрубили"} {
		if !strings.Contains(page, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	if strings.Contains(page, "Manila breakfast") {
		t.Error("zoran's case page shows a Manila complaint")
	}
}

// TestSourcesPage: each source's last pass (status, new, errors, last
// error), its next run and the spool depth, within the user's scope.
func TestSourcesPage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)
	for _, r := range []storage.Run{
		{ID: "r1", Source: "demo-zagreb", Kind: "demo", StartedAt: start.Add(-time.Hour), FinishedAt: start.Add(-time.Hour), Fetched: 9, New: 4, Status: "ok"},
		{ID: "r2", Source: "demo-zagreb", Kind: "demo", StartedAt: start, FinishedAt: start.Add(time.Second), Fetched: 3, New: 2, Errors: 1,
			Status: "partial", LastError: "page 2: HTTP 503 from reviews.example"},
		{ID: "r3", Source: "demo-manila", Kind: "demo", StartedAt: start, FinishedAt: start, Status: "failed", LastError: "manila is down"},
	} {
		if err := f.st.RecordRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	_, body := get(t, f.client(t, "zoran"), f.ts.URL+"/sources")
	for _, want := range []string{"demo-zagreb", `datetime="` + start.Format(time.RFC3339) + `"`, "partial", `<td class="num">2</td>`,
		`<td class="num">1</td>`, "page 2: HTTP 503 from reviews.example", "3 batches waiting"} {
		if !strings.Contains(body, want) {
			t.Errorf("sources page lacks %q", want)
		}
	}
	if strings.Contains(body, "manila is down") || strings.Contains(body, "demo-manila") {
		t.Error("zoran sees Manila's source")
	}
	_, body = do(t, http.DefaultClient, "GET", f.ts.URL+"/api/v1/sources", "zoran", nil, nil)
	var got struct {
		Sources []SourceStatus `json:"sources"`
		Spool   int            `json:"spool_batches"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Sources) != 1 {
		t.Fatalf("%v %s", err, body)
	}
	s := got.Sources[0]
	if !s.Ran || s.Last.Status != "partial" || s.Last.New != 2 || s.Last.Errors != 1 || s.Last.LastError == "" || s.NextRun == "" || got.Spool != 3 {
		t.Errorf("source status %+v spool %d", s, got.Spool)
	}
	if _, err := time.Parse(time.RFC3339, s.NextRun); err != nil {
		t.Errorf("next run %q: %v", s.NextRun, err)
	}
}

// TestAPIErrors: every error is JSON with a message and its status.
func TestAPIErrors(t *testing.T) {
	f := newFixture(t)
	if code, _ := do(t, http.DefaultClient, "POST", f.ts.URL+"/api/v1/cases/"+f.evil+"/ack", "admin", nil, nil); code != 200 {
		t.Fatalf("first ack: %d", code)
	}
	for _, tt := range []struct {
		name, method, path, user string
		hdr                      map[string]string
		want                     int
	}{
		{"bad filter", "GET", "/api/v1/cases?severity=awful", "admin", nil, 400},
		{"bad page", "GET", "/api/v1/cases?page=0", "admin", nil, 400},
		{"no credentials", "GET", "/api/v1/cases", "", nil, 401},
		{"viewer acts", "POST", "/api/v1/cases/" + f.zagreb + "/ack", "vera", nil, 403},
		{"cross-site", "POST", "/api/v1/cases/" + f.zagreb + "/ack", "admin", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"out of scope", "GET", "/api/v1/cases/" + f.manila, "zoran", nil, 404},
		{"no such case", "GET", "/api/v1/cases/case:nope", "admin", nil, 404},
		{"no such endpoint", "GET", "/api/v1/nope", "admin", nil, 404},
		{"already acknowledged", "POST", "/api/v1/cases/" + f.evil + "/ack", "admin", nil, 409},
	} {
		req, _ := http.NewRequest(tt.method, f.ts.URL+tt.path, nil)
		if tt.user != "" {
			req.SetBasicAuth(tt.user, password)
		}
		for k, v := range tt.hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error string `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tt.want || err != nil || e.Error == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %q (%v, %s), want %d with a JSON message", tt.name, resp.StatusCode, e.Error, err, resp.Header.Get("Content-Type"), tt.want)
		}
	}
}

func TestSessionsExpire(t *testing.T) {
	ctx := context.Background()
	s := &sessions{m: map[string]session{}, ttl: time.Hour}
	t0 := time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)
	tok := s.create(ctx, "ana", "c1", t0)
	for _, tt := range []struct {
		at   time.Duration
		want bool
	}{{0, true}, {59 * time.Minute, true}, {61 * time.Minute, false}, {30 * time.Minute, false}} { // gone once expired
		if _, _, ok := s.get(ctx, tok, t0.Add(tt.at)); ok != tt.want {
			t.Errorf("after %s: signed in %v, want %v", tt.at, ok, tt.want)
		}
	}
	other := s.create(ctx, "bo", "c2", t0)
	s.end(ctx, other, t0)
	if _, _, ok := s.get(ctx, other, t0); ok {
		t.Error("an ended session still works")
	}
}

// TestSessionsShared: sessions live in ClickHouse's sessions table: a
// restarted server (a new Server on the same store) keeps everyone signed
// in, a second process accepts a session another started, a sign-out on
// either ends the session there at once and on the other at its next
// check (also for a server started later), a changed password ends it,
// and the table holds no token.
func TestSessionsShared(t *testing.T) {
	f := newFixture(t)
	second := func(recheck time.Duration) *httptest.Server {
		_, ts := serve(t, Options{Store: f.st, Config: f.cfg, Listen: "127.0.0.1:0", SessionRecheck: recheck})
		return ts
	}
	base, _ := url.Parse(f.ts.URL)
	signIn := func(user string) *http.Cookie {
		c := f.client(t, user).Jar.Cookies(base)
		if len(c) != 1 {
			t.Fatalf("cookies: %v", c)
		}
		return c[0]
	}
	on := func(ts *httptest.Server, c *http.Cookie) int {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/cases", nil)
		req.AddCookie(c)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	signOut := func(ts *httptest.Server, c *http.Cookie) {
		req, _ := http.NewRequest("POST", ts.URL+"/logout", nil)
		req.AddCookie(c)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noRedirect.Do(req)
		if err != nil || resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Fatalf("logout: %v %v", resp, err)
		}
	}
	zoran := signIn("zoran")
	restarted, other := second(time.Hour), second(time.Millisecond)
	if code := on(restarted, zoran); code != 200 {
		t.Fatalf("after a restart: %d, want 200 (still signed in)", code)
	}
	if code := on(other, zoran); code != 200 {
		t.Fatalf("on another process: %d, want 200", code)
	}
	if n := f.db.Count(t, "SELECT count() FROM sessions WHERE token_hash = ? AND user = 'zoran'", f.srv.sessions.hash(zoran.Value)); n != 1 {
		t.Errorf("%d rows for the session's hash, want 1", n)
	}
	if n := f.db.Count(t, "SELECT count() FROM sessions WHERE position(token_hash, ?) > 0 OR position(user, ?) > 0 OR position(credential, ?) > 0",
		zoran.Value, zoran.Value, zoran.Value); n != 0 {
		t.Error("the token itself is stored")
	}
	// Sign out on the first process: there at once, elsewhere at the next check.
	signOut(f.ts, zoran)
	if code := on(f.ts, zoran); code != 401 {
		t.Errorf("after sign-out, the same process: %d, want 401", code)
	}
	time.Sleep(5 * time.Millisecond)
	if code := on(other, zoran); code != 401 {
		t.Errorf("after sign-out, another process past its recheck: %d, want 401", code)
	}
	if code := on(second(time.Hour), zoran); code != 401 {
		t.Errorf("after sign-out, a process started later: %d, want 401", code)
	}
	// Sign out on the other process: the first follows at its next check.
	admin := signIn("admin")
	if code := on(other, admin); code != 200 {
		t.Fatalf("admin on the other process: %d", code)
	}
	signOut(other, admin)
	if code := on(second(time.Millisecond), admin); code != 401 {
		t.Errorf("a sign-out on the other process: %d on a fresh one, want 401", code)
	}
	// A new password ends the sessions started with the old one.
	vera := signIn("vera")
	if code := on(f.ts, vera); code != 200 {
		t.Fatalf("vera: %d", code)
	}
	for i := range f.cfg.Users {
		if f.cfg.Users[i].Name == "vera" {
			f.cfg.Users[i].PasswordHash = strings.Replace(f.cfg.Users[i].PasswordHash, "$2a$04$", "$2a$04$x", 1)
		}
	}
	if code := on(f.ts, vera); code != 401 {
		t.Errorf("after a new password: %d, want 401", code)
	}
}

// fakeSessions is a session store that can fail.
type fakeSessions struct {
	rows []storage.Session
	err  error
}

func (f *fakeSessions) SaveSession(_ context.Context, s storage.Session) error {
	if f.err != nil {
		return f.err
	}
	f.rows = append(f.rows, s)
	return nil
}

func (f *fakeSessions) LookupSession(_ context.Context, h string) (storage.Session, bool, error) {
	if f.err != nil {
		return storage.Session{}, false, f.err
	}
	var out storage.Session
	found := false
	for _, r := range f.rows {
		if r.TokenHash != h {
			continue
		}
		found = true
		if r.Ended {
			out.Ended = true
		} else {
			ended := out.Ended
			out = r
			out.Ended = ended
		}
	}
	return out, found, nil
}

// TestSessionsStoreAway: with the store away, a sign-in works on its
// process and is written once the store is back; a sign-out still ends
// the session on its process for good and says it was not recorded;
// cookies that are not tokens are refused without asking the store; an
// end outranks its start whatever the clocks.
func TestSessionsStoreAway(t *testing.T) {
	ctx := context.Background()
	st := &fakeSessions{err: errors.New("clickhouse away")}
	s := &sessions{m: map[string]session{}, ttl: time.Hour, recheck: time.Minute, store: st, log: slog.New(slog.DiscardHandler)}
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	tok := s.create(ctx, "ana", "c", t0)
	if _, _, ok := s.get(ctx, tok, t0.Add(2*time.Minute)); !ok {
		t.Fatal("a sign-in made while the store is away does not work on its process")
	}
	st.err = nil
	if _, _, ok := s.get(ctx, tok, t0.Add(3*time.Minute)); !ok || len(st.rows) != 1 {
		t.Fatalf("store back: session kept %v, %d rows written (want 1)", ok, len(st.rows))
	}
	st.err = errors.New("clickhouse away")
	if s.end(ctx, tok, t0.Add(4*time.Minute)) {
		t.Error("a sign-out that reached no store reported as recorded")
	}
	st.err = nil
	for _, at := range []time.Duration{5 * time.Minute, 30 * time.Minute} {
		if _, _, ok := s.get(ctx, tok, t0.Add(at)); ok {
			t.Errorf("signed out here, yet valid after %s (the store still says it is open)", at)
		}
	}
	// Not a token: refused, the store not asked.
	st.err = errors.New("must not be asked")
	if _, _, ok := s.get(ctx, "x'; DROP TABLE sessions", t0); ok {
		t.Error("a made-up cookie accepted")
	}
	// Clocks: the start written by a process whose clock is ahead.
	st.err = nil
	tok2 := newToken()
	st.rows = append(st.rows, storage.Session{TokenHash: s.hash(tok2), User: "bo", Expires: t0.Add(time.Hour), Version: uint64(t0.Add(time.Hour).UnixNano())})
	other := &sessions{m: map[string]session{}, ttl: time.Hour, recheck: time.Minute, store: st, log: slog.New(slog.DiscardHandler)}
	if !other.end(ctx, tok2, t0) {
		t.Fatal("end not recorded")
	}
	if r := st.rows[len(st.rows)-1]; r.Version != storage.SessionEndVersion {
		t.Errorf("end row version %d", r.Version)
	}
}

// TestBulkActions: one action for many cases, from the API and from the
// inbox's "apply to selected" form. Each case gets its own event in the
// actor's name; cases out of the user's scope or gone fail without
// stopping the rest; a case already so is unchanged; nothing is done for
// a viewer, an unknown action or outcome, or more than MaxBulk cases.
func TestBulkActions(t *testing.T) {
	f := newFixture(t)
	api := func(user, body string) (int, BulkResult, string) {
		code, out := do(t, http.DefaultClient, "POST", f.ts.URL+"/api/v1/cases", user, strings.NewReader(body),
			map[string]string{"Content-Type": "application/json"})
		var r BulkResult
		json.Unmarshal([]byte(out), &r)
		return code, r, out
	}
	events := func(cases ...string) uint64 {
		return f.db.Count(t, "SELECT count() FROM case_events FINAL WHERE event = 'acknowledged' AND has(?, case_id)", cases)
	}

	// Zoran sees Zagreb only: Manila's case and a case that is not there
	// fail, the two Zagreb cases are acknowledged, the repeat is one.
	code, r, out := api("zoran", `{"cases": ["demo:zg1", "case:demo:mn1", "case:demo:evil", "nope", "demo:zg1"], "action": "ack", "note": "on it"}`)
	if code != 200 || r.Done != 2 || r.Failed != 2 || r.Unchanged != 0 || len(r.Cases) != 4 {
		t.Fatalf("bulk ack: %d\n%s", code, out)
	}
	if r.Cases[0].ID != f.zagreb || r.Cases[0].State != "acknowledged" || r.Cases[1].Result != "failed" || strings.Contains(out, "Food poisoning") {
		t.Errorf("bulk ack results:\n%s", out)
	}
	// Out of scope and not there look the same: no id, no state, one message.
	if mn, nope := r.Cases[1], r.Cases[3]; mn.ID != "" || mn.State != "" || mn.Error != "case case:demo:mn1: no such case" || nope.Error != "case nope: no such case" {
		t.Errorf("out of scope %+v, not there %+v", mn, nope)
	}
	if n := events(f.zagreb, f.evil, f.manila); n != 2 {
		t.Errorf("%d acknowledged events, want 2 (Manila untouched)", n)
	}
	if n := f.db.Count(t, "SELECT count() FROM case_events FINAL WHERE event = 'acknowledged' AND actor = 'zoran' AND note = 'on it'"); n != 2 {
		t.Errorf("%d events in zoran's name with his note, want 2", n)
	}
	// One case named two ways is acted on once.
	if code, r, out := api("admin", `{"cases": ["demo:hy1", "case:demo:hy1"], "action": "note", "note": "once"}`); code != 200 || r.Done != 1 ||
		r.Unchanged != 1 || !strings.Contains(r.Cases[1].Error, "the same case") {
		t.Errorf("a case named twice: %d\n%s", code, out)
	}
	if n := f.db.Count(t, "SELECT count() FROM case_events FINAL WHERE event = 'noted' AND note = 'once'"); n != 1 {
		t.Errorf("%d notes for a case named twice, want 1", n)
	}
	// A note given with an assignment is a note of its own.
	if code, r, out := api("admin", `{"cases": ["demo:hy1"], "action": "assign", "assignee": "zoran", "note": "yours"}`); code != 200 || r.Done != 1 {
		t.Errorf("assign with a note: %d\n%s", code, out)
	}
	if n := f.db.Count(t, "SELECT count() FROM case_events FINAL WHERE case_id = 'case:demo:hy1' AND ((event = 'assigned' AND note = 'zoran') OR (event = 'noted' AND note = 'yours'))"); n != 2 {
		t.Errorf("assign with a note: %d of the 2 events", n)
	}
	// A move names one case twice, by its id and without "case:": moved once.
	if code, r, out := api("admin", `{"cases": ["case:demo:hy1", "demo:hy1"], "action": "ack"}`); code != 200 || r.Done != 1 ||
		r.Unchanged != 1 || r.Cases[1].State != "" || !strings.Contains(r.Cases[1].Error, "the same case") {
		t.Errorf("a move naming one case twice: %d\n%s", code, out)
	}
	// Assigned to someone who cannot see one of them: that one fails.
	if code, r, out := api("admin", `{"cases": ["demo:hy1", "demo:mn1"], "action": "assign", "assignee": "zoran"}`); code != 200 || r.Done != 1 ||
		r.Failed != 1 || !strings.Contains(r.Cases[1].Error, "cannot see") {
		t.Errorf("assign across scopes: %d\n%s", code, out)
	}
	// Again: nothing to do, said so case by case.
	if code, r, out := api("zoran", `{"cases": ["demo:zg1", "demo:evil"], "action": "ack"}`); code != 200 || r.Unchanged != 2 || r.Done != 0 {
		t.Errorf("repeat: %d\n%s", code, out)
	}
	if n := events(f.zagreb, f.evil); n != 2 {
		t.Errorf("repeat wrote events: %d", n)
	}

	for _, tc := range []struct {
		name, user, body string
		code             int
		want             string
	}{
		{"viewer", "vera", `{"cases": ["demo:hy1"], "action": "ack"}`, 403, "viewer"},
		{"unknown action", "admin", `{"cases": ["demo:hy1"], "action": "fly"}`, 400, "unknown action"},
		{"resolve without outcome", "admin", `{"cases": ["demo:hy1"], "action": "resolve"}`, 400, "outcome"},
		{"no cases", "admin", `{"cases": [], "action": "ack"}`, 400, "at least one"},
		{"too many", "admin", `{"cases": ["x"` + manyIDs(MaxBulk) + `], "action": "ack"}`, 400, "at most 100"},
		{"unknown field", "admin", `{"cases": ["demo:hy1"], "action": "ack", "force": true}`, 400, "force"},
		{"unknown label", "admin", `{"cases": ["demo:hy1", "demo:evil"], "action": "label", "label": "meh"}`, 400, "label"},
		{"unknown assignee", "admin", `{"cases": ["demo:hy1", "demo:evil"], "action": "assign", "assignee": "nobody"}`, 400, "no such user"},
		{"not JSON", "admin", `cases=demo:hy1`, 400, "want JSON"},
	} {
		if code, _, out := api(tc.user, tc.body); code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("%s: %d, want %d and %q\n%s", tc.name, code, tc.code, tc.want, out)
		}
	}
	if n := events(f.zagreb, f.manila, f.evil); n != 2 {
		t.Errorf("refused requests acted: %d acknowledged events", n)
	}

	// Resolving as not a complaint labels each mention, as one case does.
	if code, r, out := api("admin", `{"cases": ["demo:zg1", "demo:hy1"], "action": "resolve", "outcome": "not_a_complaint"}`); code != 200 || r.Done != 2 {
		t.Fatalf("bulk resolve: %d\n%s", code, out)
	}
	if n := f.db.Count(t, "SELECT count() FROM labels FINAL WHERE label = 'neutral' AND mention_id IN ('demo:zg1', 'demo:hy1')"); n != 2 {
		t.Errorf("%d labels from the bulk resolve, want 2", n)
	}

	// The inbox: a box per case and the form for agents, none for a viewer.
	admin := f.client(t, "admin")
	_, page := get(t, admin, f.ts.URL+"/cases?state=all")
	for _, want := range []string{`id="bulk"`, `class="pick"`, `value="resolve:not_a_complaint"`, `form="bulk"`} {
		if !strings.Contains(page, want) {
			t.Errorf("inbox lacks %s", want)
		}
	}
	vera := f.client(t, "vera")
	if _, page := get(t, vera, f.ts.URL+"/cases"); strings.Contains(page, `id="bulk"`) || strings.Contains(page, `class="pick"`) {
		t.Error("a viewer is offered the bulk form")
	}
	if code, _ := do(t, vera, "POST", f.ts.URL+"/cases", "", strings.NewReader(url.Values{"id": {f.evil}, "do": {"ack"}}.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); code != 403 {
		t.Errorf("a viewer's bulk form: %d, want 403", code)
	}
	// More cases a page than one action takes: no form, a hint.
	if _, page := get(t, admin, f.ts.URL+"/cases?state=all&per_page=1"); !strings.Contains(page, `id="bulk"`) {
		t.Error("no bulk form on a page of one")
	}
	f.openCases(t, "demo:bulk", MaxBulk)
	if _, page := get(t, admin, f.ts.URL+"/cases?state=all&per_page=200"); strings.Contains(page, `id="bulk"`) || !strings.Contains(page, "at most 100 cases a page") {
		t.Error("a page of more than MaxBulk cases offers the bulk form")
	}
	if _, page := get(t, admin, f.ts.URL+"/cases?state=all&per_page=100"); !strings.Contains(page, `id="bulk"`) {
		t.Error("a page of MaxBulk cases lacks the bulk form")
	}
	form := url.Values{"id": {f.manila, f.evil}, "do": {"hold"}, "note": {"waiting for the guest"}, "back": {"state=active&severity=critical&done=ack&page=3"}}
	code, page = do(t, admin, "POST", f.ts.URL+"/cases", "", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if code != 200 || !strings.Contains(page, "Put on hold 2 cases.") || !strings.Contains(page, `<option value="critical" selected`) {
		t.Errorf("form: %d, want the filtered list with what was done\n%s", code, page)
	}
	if strings.Contains(page, "done=hold") || strings.Contains(page, "page=3") {
		t.Error("the result or the old page number travels on in the page's links and form")
	}
	if n := f.db.Count(t, "SELECT count() FROM case_events FINAL WHERE event = 'held' AND actor = 'admin'"); n != 2 {
		t.Errorf("%d held events, want 2", n)
	}
	// Cross-site: refused before anything is done.
	form.Set("do", "resume")
	if code, _ := do(t, admin, "POST", f.ts.URL+"/cases", "", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"}); code != 403 {
		t.Errorf("cross-site bulk form: %d, want 403", code)
	}
	if n := f.db.Count(t, "SELECT count() FROM case_events FINAL WHERE event = 'resumed'"); n != 0 {
		t.Errorf("cross-site bulk form resumed %d cases", n)
	}
}

func manyIDs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `,"demo:x%d"`, i)
	}
	return b.String()
}

// TestResolveCase: a case is named by its whole id, by a unique prefix,
// with or without "case:" or "case:story:"; a whole id wins over a longer
// one it begins; a short ref matching one case under each prefix is
// ambiguous rather than the first found.
func TestResolveCase(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var evs []storage.CaseEvent
	for _, id := range []string{"case:demo:hy10", "case:story:abc123", "case:abcdef"} {
		evs = append(evs, storage.CaseEvent{EventID: id + ":opened", CaseID: id, MentionID: "demo:hy1", At: time.Now().UTC(),
			Event: "opened", State: "open", Brand: "Sunrise", Location: "Zagreb", Severity: "low"})
	}
	if err := f.st.AppendCaseEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	admin := User{Name: "admin", Role: "admin"}
	for _, tc := range []struct{ ref, want, err string }{
		{"case:demo:hy1", "case:demo:hy1", ""}, // whole, though case:demo:hy10 begins with it
		{"demo:hy1", "case:demo:hy1", ""},
		{"demo:hy10", "case:demo:hy10", ""},
		{"abc1", "case:story:abc123", ""},
		{"story:abc", "case:story:abc123", ""},
		{"abcd", "case:abcdef", ""},
		{"abc", "", "ambiguous"}, // case:abcdef and case:story:abc123
		{"case:demo", "", "ambiguous"},
		{"nope", "", "no such case"},
	} {
		got, err := f.srv.svc.Resolve(ctx, admin, tc.ref)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %q", tc.ref, got, err, tc.want, tc.err)
		}
	}
}

// TestBulkLabel: a bulk label labels each case's mention as one label
// does (each its label and its "labelled" event, in two inserts), and a
// store that refuses the labels leaves every case "not done", with no
// event that says otherwise; applying it again then works. The inbox's
// line says when a bulk action was stopped.
func TestBulkLabel(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := User{Name: "admin", Role: "admin"}
	labelled := func() uint64 {
		return f.db.Count(t, "SELECT count() FROM case_events FINAL WHERE event = 'labelled' AND actor = 'admin'")
	}
	labels := func() uint64 {
		return f.db.Count(t, "SELECT count() FROM labels FINAL WHERE who = 'admin' AND label = 'neutral'")
	}
	// The labels table away: the mentions read, the labels' insert fails.
	if err := f.db.Conn.Exec(ctx, "RENAME TABLE labels TO labels_away"); err != nil {
		t.Fatal(err)
	}
	refs := []string{f.zagreb, f.evil, "demo:hy1", "demo:zg1", "nope"}
	res, err := f.srv.svc.ActMany(ctx, admin, refs, "label", ActInput{Label: "neutral", Note: "a guest's question"})
	if err == nil || res.Done != 0 || len(res.Cases) != len(refs) || res.Cases[3].Result != "unchanged" || res.Cases[4].Result != "failed" {
		t.Errorf("labels refused: %+v, %v", res, err)
	}
	for _, it := range res.Cases[:3] {
		if it.Result != "failed" || !strings.Contains(it.Error, "not done") {
			t.Errorf("labels refused: case %s: %s %q, want failed, not done", it.Case, it.Result, it.Error)
		}
	}
	if err := f.db.Conn.Exec(ctx, "RENAME TABLE labels_away TO labels"); err != nil {
		t.Fatal(err)
	}
	if n := labelled(); n != 0 {
		t.Errorf("%d labelled events recorded for labels never written", n)
	}
	res, err = f.srv.svc.ActMany(ctx, admin, refs, "label", ActInput{Label: "neutral", Note: "a guest's question"})
	if err != nil || res.Done != 3 || res.Unchanged != 1 || res.Failed != 1 {
		t.Fatalf("bulk label: %+v, %v", res, err)
	}
	if n, e := labels(), labelled(); n != 3 || e != 3 {
		t.Errorf("%d labels and %d labelled events, want 3 and 3", n, e)
	}
	var note string
	if err := f.db.Conn.QueryRow(ctx, "SELECT note FROM case_events FINAL WHERE event = 'labelled' AND case_id = ?", f.zagreb).Scan(&note); err != nil ||
		note != "not a complaint (neutral) a guest's question" {
		t.Errorf("labelled event's note %q, %v", note, err)
	}
	// The same row as one case's label writes (Act, the single path).
	if _, err := f.srv.svc.Act(ctx, admin, f.manila, "label", ActInput{Label: "neutral", Note: "a guest's question"}); err != nil {
		t.Fatal(err)
	}
	row := func(c string) string {
		var r string
		if err := f.db.Conn.QueryRow(ctx, `SELECT concat(who, '|', toString(label), '|', toString(aspects_corrected), '|', brand, '|', lang, '|',
			scorer_version, '|', toString(scored_negative), '|', arrayStringConcat(scored_aspects, ','), '|', note)
			FROM labels FINAL WHERE case_id = ?`, c).Scan(&r); err != nil {
			t.Fatalf("label of %s: %v", c, err)
		}
		return r
	}
	// Both as the mention says: its brand, language, scorer and verdict.
	for c, m := range map[string]string{f.manila: "demo:mn1", f.zagreb: "demo:zg1"} {
		var want string
		if err := f.db.Conn.QueryRow(ctx, `SELECT concat('admin|neutral|0|', brand, '|', lang, '|', scorer_version, '|', toString(negative), '|',
			arrayStringConcat(aspects, ','), '|a guest''s question') FROM mentions FINAL WHERE id = ?`, m).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got := row(c); got != want {
			t.Errorf("label of %s:\n got %s\nwant %s", c, got, want)
		}
	}
	// A case whose mention is not stored fails alone.
	ghost := "case:ghost:1"
	if err := f.st.AppendCaseEvents(ctx, []storage.CaseEvent{{EventID: ghost + ":opened", CaseID: ghost, MentionID: "ghost:1", At: time.Now(),
		Event: "opened", State: "open", Brand: "Sunrise", Location: "Zagreb", Severity: "high"}}); err != nil {
		t.Fatal(err)
	}
	res, err = f.srv.svc.ActMany(ctx, admin, []string{ghost, f.zagreb}, "label", ActInput{Label: "positive"})
	if err != nil || res.Done != 1 || res.Failed != 1 || res.Cases[0].Result != "failed" || !strings.Contains(res.Cases[0].Error, "not stored") ||
		res.Cases[1].Result != "done" {
		t.Errorf("a case without its mention: %+v, %v", res, err)
	}
	if got := bulkDone(url.Values{"done": {"ack"}, "n": {"1"}, "unchanged": {"2"}, "stopped": {"1"}}); got !=
		"Acknowledged 1 case. 2 unchanged (already so, or not possible from their state). Stopped by an error before the rest (the server log has it); applying it again is safe." {
		t.Errorf("result line: %q", got)
	}
	if got := bulkDone(url.Values{"done": {"fly"}, "n": {"999"}}); got != "" {
		t.Errorf("an unknown action's result line: %q", got)
	}
}
