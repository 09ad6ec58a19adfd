package web

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestBrowser drives Debian's chromium through a whole shift: sign in,
// filter, open a case, note, acknowledge, resolve, give feedback, sign
// out; the hostile review opens no dialog and makes no request to another
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
			if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != base.Host {
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
	var history, inbox, evil, status string
	err = chromedp.Run(ctx,
		network.Enable(),
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
		chromedp.EmulateViewport(375, 800),
		shot("inbox-375"),
		chromedp.EmulateViewport(1280, 900),
		// The hostile review: shown as text.
		chromedp.Navigate(f.ts.URL+"/cases/"+f.evil),
		chromedp.WaitVisible(`blockquote.text`),
		chromedp.Text(`blockquote.text`, &evil),
		// Work a case.
		chromedp.Navigate(f.ts.URL+"/cases/"+f.zagreb),
		chromedp.WaitVisible(`#note`),
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
		shot("case"),
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
	labels, err := f.st.Labels(context.Background(), []string{"demo:zg1"})
	if err != nil || len(labels) != 1 || labels[0].Who != "zoran" || labels[0].Aspects[0] != "booking" {
		t.Errorf("label stored: %+v %v", labels, err)
	}
}
