package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/statusd/statusd/data"
)

// TestAdminBrowser signs in and out of the admin UI in headless Chromium
// with the keyboard alone, and runs axe-core on every admin page, in light
// and dark mode, signed in as an admin: zero violations, no CSP violation,
// no console error. Pages with form errors and the page that shows a new
// token are checked too. It uses the tools of a11y_test.go.
func TestAdminBrowser(t *testing.T) {
	chromium, axeJS := a11yTools(t)
	h := newAdminHarness(t)
	// A component with an override, so the component page shows inputs and
	// the clear button; an audit entry with before and after.
	if _, err := h.store.SetInputs(context.Background(), []data.Input{{ComponentID: "payments", Source: data.SourceOverride,
		Status: data.PartialOutage, Reason: "EU cards declined", Actor: "cara@example.com"}}); err != nil {
		t.Fatal(err)
	}
	h.token("ann@example.com", data.ScopeAuditRead)
	// Subscribers of each kind, and an incident whose messages to them were
	// sent, are retrying and failed for good.
	h.mustImport(h.token("ann@example.com", data.ScopeSubscribersWrite),
		"email,components,journeys\nsent@example.com,payments,checkout\nretry@example.com,,\ndead@example.com,,\n")
	if _, err := h.store.AddConfirmedSubscriber(context.Background(), data.NewSubscriber{Channel: data.ChannelWebhook, Email: "ops@example.com",
		URL: "https://hooks.example.com/services/T0/B0/secret", Format: data.FormatSlack}, "test"); err != nil {
		t.Fatal(err)
	}
	subs := h.subscriberIDs()
	incidentID, _ := h.deliverIncident("Checkout slow")
	h.settleDeliveries(map[int64]data.DeliveryResult{
		subs["sent@example.com"]:  {Outcome: data.OutcomeSent},
		subs["retry@example.com"]: {Outcome: data.OutcomeRetry, Next: h.clock().Add(10 * time.Minute), Error: "connect timed out"},
		subs["dead@example.com"]:  {Outcome: data.OutcomeDead, Error: "mailbox unavailable"},
	})
	badCSV := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(badCSV, []byte("email\nfine@example.com\nnot an address\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := listen(t, h.srv)

	ctx := startChromium(t, chromium)
	var (
		mu       sync.Mutex
		messages []string
	)
	if err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				msg = fmt.Sprintf("console.%s", ev.Type)
				for _, a := range ev.Args {
					msg += fmt.Sprintf(" %s", a.Value)
				}
			}
		case *log.EventEntryAdded:
			// A 4xx page on purpose logs a network error; anything else counts.
			if (ev.Entry.Level == log.EntryLevelError && ev.Entry.Source != log.EntrySourceNetwork) || ev.Entry.Source == log.EntrySourceSecurity {
				msg = fmt.Sprintf("log %s/%s: %s (%s)", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
			}
		}
		if msg != "" {
			mu.Lock()
			messages = append(messages, msg)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("listen to chromium: %v", err)
	}
	tab := adminTab{t: t, ctx: ctx, base: base}
	run, location, textOf := tab.run, tab.location, tab.textOf
	shots := t.TempDir()
	check := func(name string, load func()) {
		t.Helper()
		for _, scheme := range []string{"light", "dark"} {
			run("emulate "+scheme, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
					Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}, {Name: "prefers-reduced-motion", Value: "reduce"}}})
				return err
			}))
			mu.Lock()
			messages = messages[:0]
			mu.Unlock()
			load()
			res, err := axeHere(ctx, axeJS, adminAxeTags)
			if err != nil {
				t.Errorf("%s %s: %v", name, scheme, err)
				continue
			}
			saveShot(t, shots, "admin-"+strings.ReplaceAll(name, " ", "-")+"-"+scheme+".png", res.PNG)
			reportAxe(t, name+" "+scheme, res)
			mu.Lock()
			for _, m := range messages {
				t.Errorf("%s %s: %s", name, scheme, m)
			}
			mu.Unlock()
			if len(res.Violations)+len(res.CSP) == 0 {
				t.Logf("%s %s: no axe violations, %d rules passed", name, scheme, res.Passes)
			}
		}
	}
	nav := func(path string) func() {
		return func() { run("load "+path, chromedp.Navigate(base+path)) }
	}

	// Signed out, the dashboard sends you to sign in.
	run("open the dashboard", chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(chromedp.ID("#email")))
	if loc := location(); !strings.HasPrefix(loc, "/admin/login?next=") {
		t.Fatalf("signed out, /admin/ went to %s", loc)
	}
	check("login", nav("/admin/login"))
	check("login error", func() {
		run("sign in wrongly", chromedp.Navigate(base+"/admin/login"), chromedp.SendKeys(chromedp.ID("#email"), "ann@example.com"),
			chromedp.SendKeys(chromedp.ID("#password"), "wrong password!"), chromedp.Submit(chromedp.ID("#password")),
			chromedp.WaitVisible(chromedp.CSS(".problems")))
	})

	tab.signIn("ann@example.com")
	text := textOf("main")
	if !strings.Contains(text, "EU cards declined") || !strings.Contains(text, "Partial outage") {
		t.Errorf("the dashboard does not show payments' status and why:\n%s", text)
	}
	// The first Tab reaches the skip link, and it leads to the content.
	run("tab to the skip link", chromedp.KeyEvent(kb.Tab))
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if focused != "Skip to content" {
		t.Errorf("first Tab focuses %q; want the skip link", focused)
	}

	for _, p := range []struct{ name, path string }{
		{"dashboard", "/admin/"},
		{"component", "/admin/components/payments"},
		{"group", "/admin/components/idp"},
		{"users", "/admin/users"},
		{"tokens", "/admin/tokens"},
		{"audit", "/admin/audit"},
		{"subscribers", "/admin/subscribers"},
		{"subscriber retrying", fmt.Sprintf("/admin/subscribers/%d", subs["retry@example.com"])},
		{"subscriber dead", fmt.Sprintf("/admin/subscribers/%d", subs["dead@example.com"])},
		{"subscriber webhook", fmt.Sprintf("/admin/subscribers/%d", subs["https://hooks.example.com/services/T0/B0/secret"])},
		{"subscribers none match", "/admin/subscribers?q=nobody"},
		{"incident deliveries", "/admin/incidents/" + incidentID},
		{"not found", "/admin/no-such-page"},
	} {
		check(p.name, nav(p.path))
	}
	check("users form error", func() {
		run("add a bad user", chromedp.Navigate(base+"/admin/users"), chromedp.SendKeys(chromedp.ID("#email"), "someone@example.com"),
			chromedp.SendKeys(chromedp.ID("#password"), "short"), chromedp.Submit(chromedp.ID("#password")),
			chromedp.WaitVisible(chromedp.CSS(".problems")))
	})
	check("token created", func() {
		run("create a token", chromedp.Navigate(base+"/admin/tokens"), chromedp.SendKeys(chromedp.ID("#token-name"), "browser test"),
			chromedp.Click(chromedp.CSS(`input[value="audit:read"]`)), chromedp.Submit(chromedp.ID("#token-name")),
			chromedp.WaitVisible(chromedp.ID("#secret")))
	})
	check("override form error", func() {
		run("override without a reason", chromedp.Navigate(base+"/admin/components/search-api"),
			chromedp.Submit(chromedp.ID("#reason")), chromedp.WaitVisible(chromedp.CSS(".problems")))
	})
	check("audit filter error", nav("/admin/audit?from=soon"))
	check("subscribers search error", nav("/admin/subscribers?kind=pigeon"))
	check("subscribers import error", func() {
		run("import a bad file", chromedp.Navigate(base+"/admin/subscribers"), chromedp.SetUploadFiles(chromedp.ID("#file"), []string{badCSV}),
			chromedp.Submit(chromedp.ID("#file")), chromedp.WaitVisible(chromedp.CSS(".problems")))
		if text := textOf(".problems"); !strings.Contains(text, "line 3") {
			t.Errorf("the import error does not name the line: %q", text)
		}
	})

	// Sign out.
	run("sign out", chromedp.Navigate(base+"/admin/"), chromedp.Click(chromedp.CSS(".who button")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if text := textOf(".notice"); !strings.Contains(text, "signed out") {
		t.Errorf("after signing out: %q", text)
	}
	check("signed out", func() {})
	run("open the dashboard again", chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(chromedp.ID("#email")))
	if loc := location(); !strings.HasPrefix(loc, "/admin/login") {
		t.Errorf("after signing out, /admin/ went to %s", loc)
	}
}

// startChromium starts headless Chromium as axeCheck does and returns a
// tab's context, with the CSP recorder injected into every document.
// adminTab drives the Chromium tab of an admin browser test.
type adminTab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// run does actions, failing the test if they fail or take over a minute.
func (b adminTab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// location is the tab's URL without the server's base.
func (b adminTab) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("read location: %v", err)
	}
	return strings.TrimPrefix(loc, b.base)
}

// textOf is the text of the first element matching sel.
func (b adminTab) textOf(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// signIn signs in with the keyboard only (type, Tab, type, Enter) and
// expects the dashboard. It waits for the sign-out form, which only a
// signed-in page has: the sign-in page has an h1 too, so waiting for one
// could read the location before the dashboard had loaded.
func (b adminTab) signIn(email string) {
	b.t.Helper()
	b.run("sign in with the keyboard", chromedp.Navigate(b.base+"/admin/login"), chromedp.WaitVisible(chromedp.ID("#email")),
		chromedp.Focus(chromedp.ID("#email")), chromedp.KeyEvent(email), chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(testPassword), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/admin/logout"]`)), chromedp.WaitVisible(chromedp.CSS("h1")))
	if loc := b.location(); loc != "/admin/" {
		b.t.Fatalf("after signing in: at %s; want /admin/", loc)
	}
}

// reportAxe fails the test for each axe-core violation and CSP violation
// in res, the check named what.
func reportAxe(t *testing.T, what string, res axeResult) {
	t.Helper()
	for _, v := range res.Violations {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: axe %s (%s): %s", what, v.ID, v.Impact, v.Help)
		for _, n := range v.Nodes {
			fmt.Fprintf(&b, "\n\t%s\n\t\t%s\n\t\t%s", n.Target, n.HTML, n.Summary)
		}
		t.Error(b.String())
	}
	for _, c := range res.CSP {
		t.Errorf("%s: CSP violation: %s", what, c)
	}
}

func startChromium(t *testing.T, chromium string) context.Context {
	t.Helper()
	profile, err := os.MkdirTemp("", "statusd-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) }) // Chromium may still be writing as it exits
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromiumFlags(chromium, profile,
		chromedp.Flag("force-color-profile", "srgb"), chromedp.Flag("hide-scrollbars", true))...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser and opens a tab
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder}); err != nil {
		t.Fatalf("inject the CSP recorder: %v", err)
	}
	return ctx
}

// adminAxeTags are the public pages' rules plus WCAG 2.2 AA.
var adminAxeTags = append(append([]string{}, axeTags...), "wcag22aa")
