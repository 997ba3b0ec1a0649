package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/statusd/statusd/data"
)

// headless is a Chromium for the embed tests, with what it reported:
// script errors, console errors and warnings, security messages (a refused
// frame, a CSP violation) and the requests it sent.
type headless struct {
	ctx context.Context

	mu       sync.Mutex
	messages []a11yMessage
	requests []string
}

// newBrowser starts Chromium (found as a11yTools finds it) with the flags
// axeCheck uses, and the CSP recorder in every document.
func newBrowser(t *testing.T) *headless {
	t.Helper()
	chromium, _ := a11yTools(t)
	profile, err := os.MkdirTemp("", "statusd-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) }) // Chromium may still write while it exits
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromiumFlags(chromium, profile,
		// A hidden headless tab would pause the widget.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true))...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser and opens a tab
		t.Fatalf("start chromium: %v", err)
	}
	b := &headless{ctx: ctx}
	if err := chromedp.Listen(ctx, func(ev any) {
		var msg a11yMessage
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg.text = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg.text += " " + ev.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				msg.text = fmt.Sprintf("console.%s:", ev.Type)
				for _, a := range ev.Args {
					msg.text += fmt.Sprintf(" %s", a.Value)
				}
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Source == log.EntrySourceSecurity {
				msg = a11yMessage{source: string(ev.Entry.Source), url: ev.Entry.URL,
					text: fmt.Sprintf("log %s/%s: %s (%s)", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)}
			}
		case *network.EventRequestWillBeSent:
			b.mu.Lock()
			b.requests = append(b.requests, ev.Request.URL)
			b.mu.Unlock()
		}
		if msg.text != "" {
			b.mu.Lock()
			b.messages = append(b.messages, msg)
			b.mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("listen to chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder}); err != nil {
		t.Fatalf("inject the CSP recorder: %v", err)
	}
	return b
}

// count is how many requests so far went to a URL containing s.
func (b *headless) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, u := range b.requests {
		if strings.Contains(u, s) {
			n++
		}
	}
	return n
}

// takeMessages returns and forgets what the browser reported.
func (b *headless) takeMessages() []a11yMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.messages
	b.messages = nil
	return m
}

// eval runs js in the page and decodes its result into T.
func eval[T any](t *testing.T, b *headless, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %.60q: %v", js, err)
	}
	return v
}

// waitFor polls js in the page until it returns true; the timeout only
// guards against a hang.
func waitFor(t *testing.T, b *headless, what, js string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !eval[bool](t, b, js) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hostServer serves one HTML page and a stylesheet on ln, as another site
// would, with the given Content-Security-Policy.
func hostServer(t *testing.T, ln net.Listener, csp, html string) string {
	t.Helper()
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		switch r.URL.Path {
		case "/":
			h.Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(html)) // a failed write is the client's problem
		case "/host.css":
			// A host page's styles must not reach into the widget.
			h.Set("Content-Type", "text/css; charset=utf-8")
			_, _ = w.Write([]byte(`* { font-family: serif !important; color: #f0f !important; }
div, ul, li, a, span { display: none !important; border: 0 !important; }
statusd-widget { display: block !important; }
.w { background: #ff0 !important; }`))
		case "/favicon.ico":
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	})}
	go func() { _ = srv.Serve(ln) }() // ends with Close
	t.Cleanup(func() { _ = srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return "http://localhost:" + port
}

// checkQuiet fails the test for any script error, console error or warning,
// security message or CSP violation the browser reported.
func checkQuiet(t *testing.T, b *headless, what string) {
	t.Helper()
	for _, m := range b.takeMessages() {
		t.Errorf("%s: %s", what, m.text)
	}
	for _, v := range eval[[]string](t, b, `window.__cspViolations || []`) {
		t.Errorf("%s: CSP violation: %s", what, v)
	}
}

// shadowText is a widget's rendered text, by element id; the first widget
// for "".
func shadowText(id string) string {
	return `(function(){var w=` + jsString(id) + ` ? document.getElementById(` + jsString(id) + `) : document.querySelector("statusd-widget");return w&&w.shadowRoot?w.shadowRoot.querySelector(".w").textContent:""})()`
}

func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// TestEmbedWidgetBrowser serves a help-centre page from another origin with
// a strict Content-Security-Policy (scripts and connections only from the
// status server, no inline anything, Trusted Types required), embeds the
// widget three ways, and checks what it shows; then changes a component's
// status in the store and checks that the widgets show and announce it
// after at most one more request, without any error or CSP violation.
func TestEmbedWidgetBrowser(t *testing.T) {
	srv, st, base := embedServer(t, nil)
	srv.Start(context.Background())
	b := newBrowser(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	csp := "default-src 'none'; script-src " + base + "; connect-src " + base + "; style-src 'self'; img-src 'self'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'"
	host := hostServer(t, ln, csp, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Help centre</title>
<link rel="stylesheet" href="/host.css">
<script async src="`+base+`/embed.js"></script>
</head><body><main><h1>Help centre</h1>
<statusd-widget id="pill" refresh="1"></statusd-widget>
<statusd-widget id="panel" layout="panel" components="payments" refresh="1" target="_blank" theme="light"></statusd-widget>
<statusd-widget id="hostile" layout="panel" journeys="hostile" theme="dark" href="javascript:alert(1)"></statusd-widget>
<statusd-widget id="unknown" components="no-such-thing"></statusd-widget>
<p id="lookalike" class="w pill dark">The host's own element with the widget's class names.</p>
</main></body></html>`)

	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(host+"/")); err != nil {
		t.Fatalf("load the host page: %v", err)
	}
	waitFor(t, b, "the widgets to load", `document.getElementById("panel").shadowRoot.textContent.indexOf("Payments") >= 0`)

	var doc struct{ Status widgetStatus }
	_, body := get(t, "GET", base+"/embed/status.json", nil)
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string][]string{
		"pill":    {doc.Status.Description, "Fernhill status:", "Incident: " + hostileIncident},
		"panel":   {"Payments: Operational", "Fernhill status page", "(opens in a new tab)"},
		"hostile": {hostileImg, hostileSVG, hostileRTL, "Incident: " + hostileIncident, "Investigating"},
		"unknown": {"Unknown component"},
	} {
		got := eval[string](t, b, shadowText(id))
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("widget %s shows %q; want it to contain %q", id, got, w)
			}
		}
	}

	// Hostile names are text: no element but the widget's own.
	if n := eval[int](t, b, `(function(){var n=0;document.querySelectorAll("statusd-widget").forEach(function(w){
		w.shadowRoot.querySelectorAll("*").forEach(function(e){
			if (!/^(div|span|a|ul|li|p|bdi|svg|path)$/.test(e.localName) || (e.localName=="svg" && e.getAttribute("class")!="i")) n++;
		});});return n})()`); n != 0 {
		t.Errorf("%d unexpected elements inside the widgets", n)
	}
	if got := eval[string](t, b, `document.getElementById("hostile").shadowRoot.querySelector(".h a").href`); !strings.HasPrefix(got, base+"/") {
		t.Errorf("a javascript: href became %q; want the status page", got)
	}
	if got := eval[string](t, b, `document.getElementById("panel").shadowRoot.querySelector(".h a").target`); got != "_blank" {
		t.Errorf("target = %q; want _blank", got)
	}
	// Style isolation, both ways.
	if got := eval[string](t, b, `getComputedStyle(document.getElementById("panel").shadowRoot.querySelector(".w")).fontFamily`); !strings.Contains(got, "system-ui") {
		t.Errorf("the host's font reached the widget: %q", got)
	}
	if got := eval[string](t, b, `getComputedStyle(document.getElementById("panel").shadowRoot.querySelector(".w")).backgroundColor`); got != "rgb(255, 255, 255)" {
		t.Errorf("the light panel's background is %q; want white", got)
	}
	if got := eval[string](t, b, `getComputedStyle(document.getElementById("hostile").shadowRoot.querySelector(".w")).backgroundColor`); got != "rgb(13, 17, 23)" {
		t.Errorf("the dark panel's background is %q; want #0d1117", got)
	}
	if got := eval[string](t, b, `getComputedStyle(document.getElementById("lookalike")).borderTopWidth`); got != "0px" {
		t.Errorf("the widget's styles reached the host page: border %q", got)
	}
	if got := eval[string](t, b, `document.cookie + JSON.stringify(Object.keys(localStorage)) + JSON.stringify(Object.keys(sessionStorage))`); got != "[][]" {
		t.Errorf("the widget stored something: %q", got)
	}
	shot(t, b, "widget-host-before.png")
	checkQuiet(t, b, "host page")

	// Change a component in the store; once the snapshot has it, the widget
	// must show it after at most one more request.
	if _, err := st.SetComponentStatus(context.Background(), data.SetStatus{ComponentID: "payments", Status: data.MajorOutage,
		Actor: "test", Reason: "card payments failing"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := get(t, "GET", base+"/embed/status.json", nil)
		if strings.Contains(string(body), `"id":"payments","name":"Payments","status":"major_outage"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change never reached /embed/status.json")
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := b.count("/embed/status.json")
	waitFor(t, b, "the panel to show the change", `document.getElementById("panel").shadowRoot.textContent.indexOf("Payments: Major outage") >= 0`)
	if n := b.count("/embed/status.json") - before; n > 1 {
		t.Errorf("the widget needed %d requests after the change; want at most one refresh", n)
	}
	if got := eval[string](t, b, `document.getElementById("panel").shadowRoot.querySelector("[role=status]").textContent`); !strings.Contains(got, "Payments\u2069: Major outage") {
		t.Errorf("the panel announced %q; want the change to Major outage", got)
	}
	waitFor(t, b, "the pill to announce the change", `document.getElementById("pill").shadowRoot.querySelector("[role=status]").textContent.indexOf("Fernhill status: ") == 0`)
	if got := eval[string](t, b, `document.getElementById("unknown").shadowRoot.querySelector("[role=status]").textContent`); got != "" {
		t.Errorf("a widget whose status did not change announced %q", got)
	}
	if n := b.count(base + "/embed.js"); n != 1 {
		t.Errorf("embed.js was requested %d times; want once", n)
	}
	shot(t, b, "widget-host-after.png")
	checkQuiet(t, b, "after the change")
}

// shot saves a screenshot of the page, as axeCheck does.
func shot(t *testing.T, b *headless, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	saveShot(t, t.TempDir(), name, png)
}

// frameTarget waits for an iframe of another origin (a target of its own)
// whose URL is url to load, and returns a chromedp context on it; its
// cancel detaches without closing the frame.
func frameTarget(t *testing.T, b *headless, url string) (context.Context, context.CancelFunc) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		targets, err := chromedp.Targets(ctx)
		cancel()
		if err != nil {
			t.Fatalf("list targets: %v", err)
		}
		for _, ti := range targets {
			if ti.Type != "iframe" || ti.URL != url {
				continue
			}
			fctx, fcancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(ti.TargetID), chromedp.WithDetachOnCancel())
			// The first Run attaches for as long as its context lives, so it
			// has no timeout of its own (the test's bounds a hang).
			ready, err := chromedp.Run(fctx, chromedp.Evaluate[bool](`document.readyState == "complete"`))
			if err == nil && ready {
				return fctx, fcancel
			}
			fcancel()
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for the frame %s", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// frameDocument returns the location of the loaded iframe whose URL is url
// and the text of its h1 (or of its body).
func frameDocument(t *testing.T, b *headless, url string) (location, text string) {
	t.Helper()
	fctx, cancel := frameTarget(t, b, url)
	defer cancel()
	ctx, tcancel := context.WithTimeout(fctx, 30*time.Second)
	defer tcancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[location.href, (document.querySelector("h1") || document.body).textContent.trim()]`))
	if err != nil || len(v) != 2 {
		t.Fatalf("read the frame %s: %v", url, err)
	}
	return v[0], v[1]
}

// TestEmbedFrameAncestorsBrowser frames /embed/frame from an origin in
// Options.FrameAncestors, where it renders, and from another origin, where
// Chromium blocks it; the status page itself stays unframeable everywhere.
func TestEmbedFrameAncestorsBrowser(t *testing.T) {
	lnAllowed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lnOther, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(lnAllowed.Addr().String())
	_, _, base := embedServer(t, func(o *Options) {
		o.FrameAncestors = []string{"https://help.example.com", "http://localhost:" + port}
	})
	b := newBrowser(t)
	frame := base + "/embed/frame?journey=shop&theme=light"
	html := `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Help centre</title></head><body><main><h1>Help centre</h1>
<iframe src="` + frame + `" title="Shop status" width="400" height="60"></iframe>
<iframe src="` + base + `/" title="The status page" width="400" height="60"></iframe>
</main></body></html>`
	csp := "default-src 'none'; frame-src " + base
	allowed := hostServer(t, lnAllowed, csp, html)
	other := hostServer(t, lnOther, csp, html)

	refused := func(msgs []a11yMessage, what string) bool {
		for _, m := range msgs {
			if strings.Contains(m.text, "Framing '"+base+"/'") && strings.Contains(m.text, what) {
				return true
			}
		}
		return false
	}
	for _, tt := range []struct {
		host       string
		frameShown bool
	}{{allowed, true}, {other, false}} {
		ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
		err := chromedp.Do(ctx, chromedp.Navigate(tt.host+"/"))
		cancel()
		if err != nil {
			t.Fatalf("load %s: %v", tt.host, err)
		}
		loc, text := frameDocument(t, b, frame)
		if tt.frameShown {
			if loc != frame || text != "Fernhill status: Shop: Operational (opens in a new tab)" {
				t.Errorf("framed by %s (allowed): %s shows %q; want the Shop status", tt.host, loc, text)
			}
		} else if loc == frame || strings.Contains(text, "Operational") {
			t.Errorf("framed by %s (not allowed): %s shows %q; want it blocked", tt.host, loc, text)
		}
		if loc, _ := frameDocument(t, b, base+"/"); loc == base+"/" {
			t.Errorf("framed by %s: the status page rendered; want frame-ancestors 'none'", tt.host)
		}
		msgs := b.takeMessages()
		if got := refused(msgs, "frame-ancestors 'self' https://help.example.com http://localhost:"+port); got == tt.frameShown {
			t.Errorf("framed by %s: refused the frame = %v; want %v", tt.host, got, !tt.frameShown)
		}
		if !refused(msgs, "frame-ancestors 'none'") {
			t.Errorf("framed by %s: no refusal for the status page", tt.host)
		}
		for _, m := range msgs {
			if !strings.Contains(m.text, "violates the following Content Security Policy directive: \"frame-ancestors") {
				t.Errorf("framed by %s: %s", tt.host, m.text)
			}
		}
	}
}

// TestA11yEmbed runs axe-core on /embed and the frames, in light and dark.
func TestA11yEmbed(t *testing.T) {
	_, _, base := embedServer(t, nil)
	axeCheck(t, base, []string{"/embed", "/embed/frame", "/embed/frame?journey=hostile", "/embed/frame?component=delivery&theme=light",
		"/embed/frame?component=evil-img&theme=dark", "/embed/frame?component=nope", "/embed/frame?theme=wide"})
}

// axeScan runs axe-core on the document of target (a chromedp context on
// the page or on a frame), as it is now, with the colour scheme emulated on
// the page b shows, and reports every violation as a test error.
func axeScan(t *testing.T, b *headless, target context.Context, axeJS, name, scheme string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}, {Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatalf("emulate %s: %v", scheme, err)
	}
	tctx, tcancel := context.WithTimeout(target, 60*time.Second)
	defer tcancel()
	run := func(js string, await bool) axeResult {
		t.Helper()
		opts := []chromedp.EvaluateOption{}
		if await {
			opts = append(opts, chromedp.EvalAwaitPromise)
		}
		v, err := chromedp.Run(tctx, chromedp.Evaluate[axeResult](js, opts...))
		if err != nil {
			t.Fatalf("%s %s: %v", name, scheme, err)
		}
		return v
	}
	if got, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`matchMedia("(prefers-color-scheme: `+scheme+`)").matches`)); err != nil || !got {
		t.Fatalf("%s: the %s scheme did not reach the document (%v)", name, scheme, err)
	}
	// The document's CSP does not apply to what DevTools evaluates.
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[*runtime.RemoteObject](`typeof axe == "object" || (function () {`+axeJS+`})()`)); err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	tags := `["` + strings.Join(axeTags, `","`) + `"]`
	res := run(`axe.run(document, {runOnly: {type: "tag", values: `+tags+`}, resultTypes: ["violations"]}).then(function (r) {
		return {passes: r.passes.length, violations: r.violations.map(function (v) {
			return {id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl, nodes: v.nodes.slice(0, 4).map(function (n) {
				return {target: JSON.stringify(n.target), html: n.html.slice(0, 300), summary: n.failureSummary || ""};
			})};
		})};
	})`, true)
	if res.Passes == 0 {
		t.Fatalf("%s %s: axe-core passed no rule; did it run?", name, scheme)
	}
	for _, v := range res.Violations {
		var s strings.Builder
		fmt.Fprintf(&s, "%s %s: axe %s (%s): %s <%s>", name, scheme, v.ID, v.Impact, v.Help, v.URL)
		for _, n := range v.Nodes {
			fmt.Fprintf(&s, "\n\t%s\n\t\t%s\n\t\t%s", n.Target, n.HTML, n.Summary)
		}
		t.Error(s.String())
	}
	if len(res.Violations) == 0 {
		t.Logf("%s %s: no axe violations, %d rules passed", name, scheme, res.Passes)
	}
}

// TestA11yWidgetAndBadges loads a page of another origin with the widget in
// every layout and theme, every kind of badge and frames one line and a
// panel high, waits until they show data, and runs axe-core on the page and
// in each frame, in light and dark (axe-core reaches into the widgets'
// Shadow DOM). Every badge must render as an image, error badges included,
// and a badge opened on its own must be an SVG document.
func TestA11yWidgetAndBadges(t *testing.T) {
	_, axeJS := a11yTools(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	_, _, base := embedServer(t, func(o *Options) { o.FrameAncestors = []string{"http://localhost:" + port} })
	b := newBrowser(t)
	frames := []struct {
		path   string
		height int
		pill   bool // a frame this high shows one line
	}{
		{"/embed/frame?journey=hostile", 56, true},
		{"/embed/frame?journey=hostile&theme=dark", 260, false},
	}
	badges := []string{"/badge.svg", "/badge.svg?theme=dark", "/badge/payments.svg", "/badge/evil-img.svg", "/badge/evil-rtl.svg?theme=dark",
		"/badge/hostile.svg", "/badge/tracking/uptime.svg?days=30", "/badge/shop/uptime.svg?days=90&theme=dark", "/badge/nope.svg",
		"/badge/payments/uptime.svg?days=1e9"}
	var imgs strings.Builder
	for _, p := range badges {
		fmt.Fprintf(&imgs, `<li><img src="%s%s" alt="Badge %s"></li>`, base, p, p)
	}
	for _, f := range frames {
		fmt.Fprintf(&imgs, `</ul><iframe src="%s%s" title="Status frame" width="420" height="%d"></iframe><ul>`, base, f.path, f.height)
	}
	host := hostServer(t, ln, "default-src 'none'; script-src "+base+"; connect-src "+base+"; img-src "+base+"; frame-src "+base+"; style-src 'self'",
		`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Support</title>
<script async src="`+base+`/embed.js"></script></head><body><main><h1>Support</h1>
<statusd-widget></statusd-widget>
<statusd-widget theme="light" components="evil-img payments"></statusd-widget>
<statusd-widget theme="dark" journeys="hostile"></statusd-widget>
<statusd-widget layout="panel"></statusd-widget>
<statusd-widget layout="panel" theme="light" journeys="shop hostile" target="_blank"></statusd-widget>
<statusd-widget layout="panel" theme="dark" components="delivery"></statusd-widget>
<ul>`+imgs.String()+`</ul></main></body></html>`)
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(host+"/")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "the widgets to show data", `Array.prototype.every.call(document.querySelectorAll("statusd-widget"),
		function (w) { return w.shadowRoot.querySelector(".h") })`)
	waitFor(t, b, "the badges to load", `Array.prototype.every.call(document.images, function (i) { return i.complete })`)
	for i, p := range badges {
		if w := eval[int](t, b, fmt.Sprintf(`document.images[%d].naturalWidth`, i)); w <= 0 {
			t.Errorf("badge %s did not render", p)
		}
	}
	for _, scheme := range []string{"light", "dark"} {
		axeScan(t, b, b.ctx, axeJS, "widgets and badges", scheme)
		for _, f := range frames {
			fctx, cancel := frameTarget(t, b, base+f.path)
			axeScan(t, b, fctx, axeJS, fmt.Sprintf("frame %s, %d px high", f.path, f.height), scheme)
			// A pill hides the list, the second incident and the link at the end.
			pill, err := chromedp.Run(fctx, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector(".items")).display == "none" &&
				getComputedStyle(document.querySelector(".more")).display == "none"`))
			cancel()
			if err != nil || pill != f.pill {
				t.Errorf("frame %s, %d px high: pill %v (%v); want %v", f.path, f.height, pill, err, f.pill)
			}
		}
		shot(t, b, "widgets-badges-"+scheme+".png")
	}
	// The unknown and the malformed badge are answered with 404 and 400.
	msgs := b.takeMessages()
	for _, m := range msgs {
		if !strings.Contains(m.url, "/badge/nope.svg") && !strings.Contains(m.url, "days=1e9") {
			t.Errorf("host page: %s", m.text)
		}
	}
	checkQuiet(t, b, "host page")

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/badge/evil-img.svg?theme=dark")); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](t, b, `document.documentElement.localName + " " + document.title`); got != "svg \u2068"+hostileImg+"\u2069: Partial outage" {
		t.Errorf("badge opened on its own: %q", got)
	}
	checkQuiet(t, b, "badge document")
}

// TestEmbedPageBrowser checks /embed in Chromium: its previews load (the
// widgets show data, the frames render, the badges are images) and a Copy
// button copies its snippet, or selects it where the clipboard is refused.
func TestEmbedPageBrowser(t *testing.T) {
	_, _, base := embedServer(t, nil)
	b := newBrowser(t)
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/embed")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "the previews", `Array.prototype.every.call(document.querySelectorAll("statusd-widget"), function (w) {
		return w.shadowRoot && w.shadowRoot.querySelector(".h") }) && Array.prototype.every.call(document.images, function (i) {
		return i.complete && i.naturalWidth > 0 })`)
	// The previews are of the same origin, so their documents are readable.
	waitFor(t, b, "the frame previews", `Array.prototype.every.call(document.querySelectorAll("iframe"), function (f) {
		return f.contentDocument && f.contentDocument.readyState == "complete" && f.contentDocument.querySelector("h1") })`)
	if text := eval[string](t, b, `document.querySelector("iframe").contentDocument.querySelector("h1").textContent`); text != "Fernhill status: Shop: Operational (opens in a new tab)" {
		t.Errorf("frame preview shows %q", text)
	}
	if got := eval[bool](t, b, `getComputedStyle(document.querySelector("button.copy")).display != "none"`); !got {
		t.Fatal("the Copy buttons are hidden although the script ran")
	}
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: perm}, Setting: cdpbrowser.PermissionSettingGranted, Origin: base,
		}); err != nil {
			t.Fatalf("grant %s: %v", perm, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-copy="snip-pill"]`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "the Copy button to answer", `document.querySelector('button[data-copy="snip-pill"]').parentNode.querySelector("[role=status]").textContent != ""`)
	said := eval[string](t, b, `document.querySelector('button[data-copy="snip-pill"]').parentNode.querySelector("[role=status]").textContent`)
	want := `<script async src="https://status.fernhill.example/embed.js"></script>` + "\n<statusd-widget></statusd-widget>"
	t.Logf("Copy said %q", said)
	switch said {
	case "Copied.":
		if got := eval[string](t, b, `navigator.clipboard.readText()`); got != want {
			t.Errorf("clipboard holds %q; want %q", got, want)
		}
	default:
		if got := eval[string](t, b, `getSelection().toString()`); got != want {
			t.Errorf("Copy said %q and selected %q; want %q", said, got, want)
		}
	}
	checkQuiet(t, b, "/embed")
}

// TestEmbedWidgetBackoffBrowser drives the widget's clock with Chromium's
// virtual time, so that ten minutes pass in a moment and nothing depends on
// the machine's speed: while /embed/status.json fails the widget backs off
// (5 to 7 requests in ten minutes, not 60), it recovers to its refresh
// interval when the document is back, and it asks nothing while the page is
// hidden, then once as soon as it is visible again.
func TestEmbedWidgetBackoffBrowser(t *testing.T) {
	_, _, base := embedServer(t, nil)
	_, script := embedGet(t, base, "/embed.js", nil)
	_, good := embedGet(t, base, "/embed/status.json", nil)
	var (
		mu       sync.Mutex
		requests int
		failing  = true
	)
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Help</title>
<link rel="icon" href="data:,"><script async src="/embed.js"></script></head>
<body><main><h1>Help</h1><statusd-widget refresh="10"></statusd-widget></main></body></html>`)) // a failed write is the client's problem
		case "/embed.js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write(script) // a failed write is the client's problem
		case "/embed/status.json":
			mu.Lock()
			requests++
			fail := failing
			mu.Unlock()
			if fail {
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(good) // a failed write is the client's problem
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(stub.Close)
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return requests
	}

	b := newBrowser(t)
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	// A page the test can hide: document.hidden answers what it is told.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.__hidden = false;
		Object.defineProperty(Document.prototype, "hidden", {configurable: true, get: function () { return window.__hidden; }});
		Object.defineProperty(Document.prototype, "visibilityState", {configurable: true,
			get: function () { return window.__hidden ? "hidden" : "visible"; }});`}); err != nil {
		t.Fatal(err)
	}
	expired := make(chan struct{}, 1)
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if _, ok := ev.(*emulation.EventVirtualTimeBudgetExpired); ok {
			select {
			case expired <- struct{}{}:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	// advance lets d of virtual time pass, waiting for requests in flight.
	advance := func(d time.Duration) {
		t.Helper()
		ms := float64(d.Milliseconds())
		if _, err := chromedp.Call(ctx, emulation.SetVirtualTimePolicy, emulation.SetVirtualTimePolicyParams{
			Policy: emulation.VirtualTimePolicyPauseIfNetworkFetchesPending, Budget: &ms}); err != nil {
			t.Fatalf("advance virtual time: %v", err)
		}
		select {
		case <-expired:
		case <-ctx.Done():
			t.Fatalf("virtual time did not advance by %v", d)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(stub.URL+"/")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "the first failed request", `(function(){var w=document.querySelector("statusd-widget");
		return !!w.shadowRoot && w.shadowRoot.textContent.indexOf("Status unavailable") >= 0})()`)

	start := count()
	advance(10 * time.Minute)
	if n := count() - start; n < 5 || n > 7 {
		t.Errorf("%d requests in ten minutes of errors; want 5 to 7 (backing off from 20 s to 160 s)", n)
	}

	mu.Lock()
	failing = false
	mu.Unlock()
	advance(4 * time.Minute)
	if got := eval[string](t, b, shadowText("")); !strings.Contains(got, "Minor Service Outage") {
		t.Errorf("after recovery the widget shows %q", got)
	}
	start = count()
	advance(100 * time.Second)
	if n := count() - start; n < 9 || n > 11 {
		t.Errorf("%d requests in 100 s after recovery; want about 10 (every 10 s)", n)
	}

	_ = eval[bool](t, b, `window.__hidden = true; document.dispatchEvent(new Event("visibilitychange")); true`)
	start = count()
	advance(10 * time.Minute)
	if n := count() - start; n > 1 {
		t.Errorf("%d requests in ten hidden minutes; want none (one may have been due)", n)
	}
	start = count()
	_ = eval[bool](t, b, `window.__hidden = false; document.dispatchEvent(new Event("visibilitychange")); true`)
	advance(time.Second)
	if n := count() - start; n != 1 {
		t.Errorf("%d requests on becoming visible; want one at once", n)
	}
	for _, m := range b.takeMessages() {
		if !strings.Contains(m.text, "status of 503") {
			t.Errorf("host page: %s", m.text)
		}
	}
}
