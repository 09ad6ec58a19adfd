package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowser drives Debian's chromium through a whole shift: sign in,
// filter, open a case, note, acknowledge, resolve, give feedback, put the
// rest on hold at once, sign out; the hostile review opens no dialog and makes no request to another
// host. Screenshots go to $EARSHOT_ARTIFACTS (else a temp dir, logged).
func TestBrowser(t *testing.T) {
	bin := ""
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not installed (apt-get install chromium)")
		}
		t.Skip("skipping the browser test: chromium not installed (apt-get install chromium)")
	}
	f := newFixture(t)
	base, _ := url.Parse(f.ts.URL)
	// Another origin whose page posts a note to a case as soon as it
	// loads: the inbox must refuse it (CSRF).
	evilSite := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form id=f method=post action="%s/cases/%s"><input name=action value=note><input name=note value="forged by another site"></form>
<script>document.getElementById("f").submit()</script>`, f.ts.URL, f.zagreb)
	}))
	defer evilSite.Close()
	evilURL, _ := url.Parse(evilSite.URL)
	dir := os.Getenv("EARSHOT_ARTIFACTS")
	if dir == "" { // kept after the test, so the screenshots can be looked at
		var err error
		if dir, err = os.MkdirTemp("", "earshot-browser-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Chromium may still write its profile while exiting: a directory of
	// our own, removed at the end, not t.TempDir (whose cleanup fails then).
	profile, err := os.MkdirTemp("", "earshot-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("headless", true), chromedp.WindowSize(1280, 900), chromedp.UserDataDir(profile))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(func(string, ...any) {})) // newer chromium events this cdproto cannot decode
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	var mu sync.Mutex
	var dialogs, foreign, jsErrors []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			dialogs = append(dialogs, e.Message)
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(false)) //nolint:errcheck // best effort: the test fails anyway
		case *network.EventRequestWillBeSent:
			u, err := url.Parse(e.Request.URL)
			if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != base.Host && u.Host != evilURL.Host {
				foreign = append(foreign, e.Request.URL)
			}
		case *runtime.EventExceptionThrown:
			jsErrors = append(jsErrors, e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				jsErrors = append(jsErrors, "console.error")
			}
		}
	})
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var buf []byte
			if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
				return err
			}
			p := filepath.Join(dir, name+".png")
			t.Logf("screenshot %s", p)
			return os.WriteFile(p, buf, 0o644)
		})
	}
	var history, inbox, evil, status, active, manilaPage, forged, tzText, tzUTC string
	var overflow375, overflowCase bool
	var tofu []string
	var reply string
	var manilaCodes []int
	var picked int
	var bulkDone string
	err = chromedp.Run(ctx,
		network.Enable(),
		emulation.SetTimezoneOverride("Asia/Manila"), // the viewer's zone, not the server's (UTC)
		chromedp.Navigate(f.ts.URL+"/cases"),
		chromedp.WaitVisible(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, "zoran"),
		chromedp.SendKeys(`input[name=password]`, password),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitVisible(`ol.cases`),
		// Filter: Zagreb, every state, Armenian.
		chromedp.SetValue(`select[name=state]`, "all"),
		chromedp.SetValue(`select[name=lang]`, "hy"),
		chromedp.Click(`form.filters button[type=submit]`),
		chromedp.WaitReady(`select[name=lang] option[value=hy][selected]`),
		chromedp.Text(`ol.cases`, &inbox),
		chromedp.Navigate(f.ts.URL+"/cases?state=all"),
		chromedp.WaitVisible(`ol.cases`),
		shot("inbox-1280"),
		// By keyboard: the first Tab reaches "Skip to content"; a case row
		// is a link that Enter opens.
		chromedp.KeyEvent(kb.Tab),
		chromedp.Evaluate(`document.activeElement.className + ":" + document.activeElement.textContent`, &active),
		chromedp.Focus(`ol.cases a.row`, chromedp.ByQuery),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(`blockquote.text`),
		chromedp.Navigate(f.ts.URL+"/cases?state=all"),
		chromedp.WaitVisible(`ol.cases`),
		chromedp.EmulateViewport(375, 800),
		chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflow375),
		shot("inbox-375"),
		chromedp.Navigate(f.ts.URL+"/cases/"+f.zagreb),
		chromedp.WaitVisible(`blockquote.text`),
		chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflowCase),
		// Non-Latin text has glyphs: letters exactly as wide as as many
		// "missing glyph" boxes (of an unassigned code point) have no font.
		chromedp.Evaluate(`(() => {
			const c = document.createElement("canvas").getContext("2d");
			c.font = "16px " + getComputedStyle(document.querySelector("blockquote.text")).fontFamily;
			const w = s => c.measureText(s).width;
			return ["Սենյ", "कमरग", "Нагр"].filter(s => Math.abs(w(s) - w("\u0378".repeat([...s].length))) < 0.01);
		})()`, &tofu),
		shot("case-375"),
		chromedp.EmulateViewport(1280, 900),
		// Scope: the Zagreb user gets 404 for the Manila case by URL and API.
		chromedp.Navigate(f.ts.URL+"/cases/"+f.manila),
		chromedp.Text(`main`, &manilaPage),
		chromedp.Evaluate(`Promise.all(["/cases/`+f.manila+`", "/api/v1/cases/`+f.manila+`"].map(u => fetch(u).then(r => r.status)))`, &manilaCodes,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
		// CSRF: another site's form posts a note as the signed-in user.
		chromedp.Navigate(evilSite.URL),
		chromedp.WaitVisible(`body`),
		chromedp.Sleep(500*time.Millisecond),
		chromedp.Text(`body`, &forged),
		// The hostile review: shown as text.
		chromedp.Navigate(f.ts.URL+"/cases/"+f.evil),
		chromedp.WaitVisible(`blockquote.text`),
		chromedp.Text(`blockquote.text`, &evil),
		// Work a case.
		chromedp.Navigate(f.ts.URL+"/cases/"+f.zagreb),
		chromedp.WaitVisible(`#note`),
		// The suggested reply is editable and copies with one button.
		chromedp.SendKeys(`#reply`, " Hvala."),
		chromedp.Click(`button[data-copy=reply]`),
		chromedp.WaitVisible(`span.copied`),
		chromedp.Poll(`document.querySelector("span.copied").textContent === "Copied."`, nil, chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.Value(`#reply`, &reply),
		chromedp.SendKeys(`#note`, "Called Ivana, offered a late checkout"),
		chromedp.Click(`#add-note`),
		chromedp.WaitVisible(`p.done[data-done=note]`),
		chromedp.Click(`#ack`),
		chromedp.WaitVisible(`p.done[data-done=ack]`),
		chromedp.Click(`input[name=outcome][value=contacted_privately]`),
		chromedp.Click(`#resolve`),
		chromedp.WaitVisible(`p.done[data-done=resolve]`),
		chromedp.SendKeys(`#aspects`, "booking"),
		chromedp.Click(`#wrong-aspect`),
		chromedp.WaitVisible(`p.done[data-done=label]`),
		chromedp.Text(`ol.history`, &history),
		chromedp.Text(`p.meta`, &status),
		chromedp.AttributeValue(`ol.history time`, "datetime", &tzUTC, nil),
		chromedp.Text(`ol.history time`, &tzText),
		shot("case"),
		// Many at once: every active case on the page, put on hold.
		chromedp.Navigate(f.ts.URL+"/cases"),
		chromedp.WaitVisible(`#select-all`),
		chromedp.Click(`#select-all`),
		chromedp.Evaluate(`document.querySelectorAll("input.pick:checked").length`, &picked),
		chromedp.SetValue(`form#bulk select[name=do]`, "hold"),
		chromedp.SendKeys(`form#bulk input[name=note]`, "waiting for the guests"),
		chromedp.Click(`form#bulk button[type=submit]`),
		chromedp.WaitVisible(`p.done`),
		chromedp.Text(`p.done`, &bulkDone),
		chromedp.Navigate(f.ts.URL+"/trends?days=30"),
		chromedp.WaitVisible(`svg.chart`),
		shot("trends"),
		chromedp.Navigate(f.ts.URL+"/sources"),
		chromedp.WaitVisible(`table.sources`),
		shot("sources"),
		chromedp.Click(`header form button`),
		chromedp.WaitVisible(`input[name=password]`),
		chromedp.Navigate(f.ts.URL+"/cases"),
		chromedp.WaitVisible(`input[name=password]`), // signed out
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(inbox, "Սենյակը") || strings.Contains(inbox, "Osoblje") {
		t.Errorf("filtered inbox (Armenian only): %q", inbox)
	}
	if !strings.Contains(evil, "<script>alert(1)</script>") || !strings.Contains(evil, "{{.User}}") {
		t.Errorf("hostile review not shown as text: %q", evil)
	}
	for _, want := range []string{"Note by zoran", "Acknowledged by zoran", "Resolved by zoran: Contacted the customer privately", "Feedback on the scorer by zoran"} {
		if !strings.Contains(history, want) {
			t.Errorf("history lacks %q:\n%s", want, history)
		}
	}
	if !strings.HasPrefix(active, "skip:") {
		t.Errorf("the first Tab focuses %q, want the skip link", active)
	}
	if !strings.Contains(reply, "Ana Horvat") || !strings.HasPrefix(reply, " Hvala.") { // typed where the caret was
		t.Errorf("suggested reply (edited): %q", reply)
	}
	if len(tofu) > 0 {
		t.Errorf("no font draws %q: install fonts-noto-core (Debian)", tofu)
	}
	if overflow375 || overflowCase {
		t.Errorf("at 375 px the page scrolls sideways (inbox %v, case %v)", overflow375, overflowCase)
	}
	if !strings.Contains(manilaPage, "404") && !strings.Contains(strings.ToLower(manilaPage), "no such case") || strings.Contains(manilaPage, "poisoning") {
		t.Errorf("Manila case by URL as zoran: %q", manilaPage)
	}
	if fmt.Sprint(manilaCodes) != "[404 404]" {
		t.Errorf("Manila case by URL and API as zoran: %v, want 404 404", manilaCodes)
	}
	if !strings.Contains(forged, "cross-origin request refused") {
		t.Errorf("a cross-site form POST was not refused: %q", forged)
	}
	if utc, err := time.Parse(time.RFC3339, tzUTC); err != nil {
		t.Errorf("history time %q: %v", tzUTC, err)
	} else if local := utc.In(time.FixedZone("PHT", 8*3600)); !strings.Contains(tzText, local.Format("3:04")) {
		t.Errorf("history time %s shown as %q, want the viewer's (Manila) %s", tzUTC, tzText, local.Format("3:04 PM"))
	}
	// zoran's active cases after resolving Ivana's: the two other Zagreb ones.
	if picked != 2 || bulkDone != "Put on hold 2 cases." {
		t.Errorf("bulk hold: %d boxes checked by \"All on this page\", then %q", picked, bulkDone)
	}
	if !strings.Contains(status, "resolved") {
		t.Errorf("status: %q", status)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dialogs) > 0 {
		t.Errorf("dialogs opened: %q", dialogs)
	}
	if len(foreign) > 0 {
		t.Errorf("requests to other hosts: %q", foreign)
	}
	if len(jsErrors) > 0 {
		t.Errorf("script errors: %q", jsErrors)
	}
	evs, err := f.st.CaseEvents(context.Background(), []string{f.zagreb})
	for _, e := range evs[f.zagreb] {
		if strings.Contains(e.Note, "forged") {
			t.Errorf("the forged note was stored: %+v", e)
		}
	}
	labels, err := f.st.Labels(context.Background(), []string{"demo:zg1"})
	if err != nil || len(labels) != 1 || labels[0].Who != "zoran" || labels[0].Aspects[0] != "booking" {
		t.Errorf("label stored: %+v %v", labels, err)
	}
}
