package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
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
)

// The accessibility check loads pages in headless Chromium, runs axe-core on
// them in light and dark mode, and fails on any WCAG 2.1 A/AA or best-practice
// violation, on any Content-Security-Policy violation and on any script error.
//
// It needs Debian's chromium (or STATUSD_CHROMIUM) and axe-core's axe.min.js
// (STATUSD_AXE_JS, or .ci/node_modules/axe-core/axe.min.js after
// `npm ci --prefix .ci`); without them the test fails (bash .ci/deps installs
// both). Screenshots go to the test's temporary directory and, when
// STATUSD_SHOTS names a directory, there too, for people to look at.

// axeTags are the axe-core rule tags that must pass.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"}

// cspRecorder is injected into every document before its own scripts run. It
// keeps the page's CSP violations, which axeCheck reads after the load.
const cspRecorder = `window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
	window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
		" at " + e.sourceFile + ":" + e.lineNumber);
});`

// a11yMessage is an error the browser reported while loading a page.
type a11yMessage struct{ source, url, text string }

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	URL    string `json:"helpUrl"`
	Nodes  []struct {
		Target  string `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// axeCheck loads each path of baseURL in light and dark mode (and the front
// page also 360 px wide), runs axe-core and reports every violation, CSP
// violation and console error as a test error.
func axeCheck(t *testing.T, baseURL string, paths []string) {
	t.Helper()
	chromium, axeJS := a11yTools(t)

	profile, err := os.MkdirTemp("", "statusd-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Chromium may still write to its profile while it exits; a leftover
		// temporary directory is not worth failing the test.
		_ = os.RemoveAll(profile)
	})
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromiumFlags(chromium, profile,
		chromedp.Flag("force-color-profile", "srgb"), chromedp.Flag("hide-scrollbars", true))...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser and opens a tab
		t.Fatalf("start chromium: %v", err)
	}

	var (
		mu       sync.Mutex
		messages []a11yMessage
	)
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
		}
		if msg.text != "" {
			mu.Lock()
			messages = append(messages, msg)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("listen to chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder}); err != nil {
		t.Fatalf("inject the CSP recorder: %v", err)
	}

	shots := t.TempDir()
	type view struct {
		name          string
		width, height int64
		mobile        bool
	}
	desktop := view{"desktop", 1280, 900, false}
	mobile := view{"mobile", 360, 780, true}
	for _, path := range paths {
		views := []view{desktop}
		if path == "/" {
			views = append(views, mobile)
		}
		for _, v := range views {
			for _, scheme := range []string{"light", "dark"} {
				name := fmt.Sprintf("%s %s %s", path, v.name, scheme)
				mu.Lock()
				messages = messages[:0]
				mu.Unlock()
				res, err := axeRun(ctx, baseURL+path, axeJS, scheme, v.width, v.height, v.mobile)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				file := strings.Trim(strings.NewReplacer("/", "_", " ", "-").Replace(name), "_-") + ".png"
				if strings.HasPrefix(file, "desktop") || strings.HasPrefix(file, "mobile") {
					file = "index-" + file
				}
				saveShot(t, shots, file, res.PNG)
				for _, vi := range res.Violations {
					var b strings.Builder
					fmt.Fprintf(&b, "%s: axe %s (%s): %s <%s>", name, vi.ID, vi.Impact, vi.Help, vi.URL)
					for _, n := range vi.Nodes {
						fmt.Fprintf(&b, "\n\t%s\n\t\t%s", n.Target, n.HTML)
						if n.Summary != "" {
							fmt.Fprintf(&b, "\n\t\t%s", strings.ReplaceAll(n.Summary, "\n", " "))
						}
					}
					t.Error(b.String())
				}
				for _, c := range res.CSP {
					t.Errorf("%s: CSP violation: %s", name, c)
				}
				mu.Lock()
				for _, m := range messages {
					// The page itself may be an error page on purpose.
					if m.url != baseURL+path || m.source != string(log.EntrySourceNetwork) {
						t.Errorf("%s: %s", name, m.text)
					}
				}
				mu.Unlock()
				if len(res.Violations)+len(res.CSP) == 0 {
					t.Logf("%s: no axe violations, %d rules passed", name, res.Passes)
				}
			}
		}
	}
}

// axeResult is what axeRun learns about one page.
type axeResult struct {
	Passes     int            `json:"passes"` // how many rules passed
	Violations []axeViolation `json:"violations"`
	CSP        []string       `json:"-"` // the page's CSP violations
	PNG        []byte         `json:"-"` // a screenshot of the whole page
}

// axeRun loads url with the colour scheme and viewport, runs axe-core on it
// and returns its violations, the page's CSP violations and a screenshot.
func axeRun(parent context.Context, url, axeJS, scheme string, width, height int64, mobile bool) (res axeResult, err error) {
	ctx, cancel := context.WithTimeout(parent, 60*time.Second)
	defer cancel()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))
	}
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(width, height, opts...),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{
					{Name: "prefers-color-scheme", Value: scheme},
					{Name: "prefers-reduced-motion", Value: "reduce"},
				},
			})
			return err
		}),
		chromedp.Navigate(url),
	)
	if err != nil {
		return res, fmt.Errorf("load: %w", err)
	}
	return axeHere(ctx, axeJS, axeTags)
}

func saveShot(t *testing.T, dir, name string, png []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Errorf("save screenshot: %v", err)
	}
	if extra := os.Getenv("STATUSD_SHOTS"); extra != "" {
		if err := os.MkdirAll(extra, 0o755); err != nil {
			t.Errorf("save screenshot: %v", err)
			return
		}
		if err := os.WriteFile(filepath.Join(extra, name), png, 0o644); err != nil {
			t.Errorf("save screenshot: %v", err)
		}
	}
}

// a11yTools finds chromium and axe.min.js. A missing one fails the test:
// the accessibility check is part of the suite, and `bash .ci/deps` (run by
// make test) installs both.
func a11yTools(t *testing.T) (chromium, axeJS string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+" — run bash .ci/deps", args...)
	}
	chromium = os.Getenv("STATUSD_CHROMIUM")
	if chromium == "" {
		for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				chromium = p
				break
			}
		}
	}
	if chromium == "" {
		missing("chromium not found (apt-get install chromium, or set STATUSD_CHROMIUM)")
	}
	path := os.Getenv("STATUSD_AXE_JS")
	if path == "" {
		root, err := a11yRepoRoot()
		if err != nil {
			missing("find the repository root for axe-core: %v", err)
		}
		path = filepath.Join(root, ".ci", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		missing("axe-core not found (npm ci --prefix .ci, or set STATUSD_AXE_JS): %v", err)
	}
	return chromium, string(b)
}

// a11yRepoRoot is the nearest directory above the working directory with a go.mod.
func a11yRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// TestA11yFixture runs axeCheck on the hand-built fixture pages, served with
// the assets and the CSP of the real server.
func TestA11yFixture(t *testing.T) {
	a11yTools(t) // skip early, before rendering
	css, js, render := mustPageTemplates(t)
	pages := map[string][]byte{}
	for path, p := range pvPages() {
		pages[path] = render(p.tmpl, p.view)
	}
	stale := pvIndexPage()
	stale.Stale = true
	pages["/stale"] = render("index.html", stale)

	mux := http.NewServeMux()
	for _, a := range []asset{css, js} {
		mux.HandleFunc("GET "+a.Path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", a.ContentType)
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			_, _ = w.Write(a.Body) // a failed write is the client's problem
		})
	}
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok || r.URL.Path == "/404" {
			body = pages["/404"]
			w.WriteHeader(http.StatusNotFound)
		}
		_, _ = w.Write(body) // a failed write is the client's problem
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The policy of the real server, so that an inline style or script fails.
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Type", "text/html; charset=utf-8")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	axeCheck(t, srv.URL, []string{"/", "/stale", "/history", "/incidents/inc-1", "/incidents/m-2", "/no-such-page"})
}

// axeHere runs axe-core with the given rule tags on the page the tab shows
// now, and returns its violations, the page's CSP violations and a
// screenshot.
func axeHere(parent context.Context, axeJS string, tags []string) (res axeResult, err error) {
	ctx, cancel := context.WithTimeout(parent, 60*time.Second)
	defer cancel()
	if _, err = chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](axeJS)); err != nil {
		return res, fmt.Errorf("inject axe-core: %w", err)
	}
	tagList := `["` + strings.Join(tags, `","`) + `"]`
	res, err = chromedp.Run(ctx, chromedp.Evaluate[axeResult](`axe.run(document, {
		runOnly: {type: "tag", values: `+tagList+`},
		resultTypes: ["violations"]
	}).then(function (r) {
		return {passes: r.passes.length, violations: r.violations.map(function (v) {
			return {id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
				nodes: v.nodes.slice(0, 4).map(function (n) {
					return {target: JSON.stringify(n.target), html: n.html.slice(0, 300), summary: n.failureSummary || ""};
				})};
		})};
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		return res, fmt.Errorf("run axe-core: %w", err)
	}
	if res.Passes == 0 {
		return res, fmt.Errorf("axe-core passed no rule at all; did it run?")
	}
	if res.CSP, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__cspViolations || []`)); err != nil {
		return res, fmt.Errorf("read CSP violations: %w", err)
	}
	if res.PNG, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		return res, fmt.Errorf("screenshot: %w", err)
	}
	return res, nil
}

// chromiumFlags start Debian's Chromium headless for tests on a machine
// with no network: without the background-networking flags its connections
// are refused many at a time.
func chromiumFlags(chromium, profile string, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	return append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}, extra...)
}
