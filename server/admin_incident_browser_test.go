package server

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestIncidentBrowser runs the comms lead's whole flow in headless
// Chromium: sign in with the keyboard, create an incident from a template,
// preview, publish, see it on the public page and in summary.json, post
// updates through to resolved, write the postmortem, sign out. axe-core
// checks every new page, light and dark, including a form with an error.
func TestIncidentBrowser(t *testing.T) {
	chromium, axeJS := a11yTools(t)
	h := newAdminHarness(t)
	base := listen(t, h.srv)
	ctx := startChromium(t, chromium)
	tab := adminTab{t: t, ctx: ctx, base: base}
	run, location, textOf := tab.run, tab.location, tab.textOf
	axe := func(name string) {
		t.Helper()
		for _, scheme := range []string{"light", "dark"} {
			run("emulate "+scheme, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
					Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
				return err
			}))
			res, err := axeHere(ctx, axeJS, adminAxeTags)
			if err != nil {
				t.Errorf("%s %s: %v", name, scheme, err)
				continue
			}
			reportAxe(t, name+" "+scheme, res)
		}
	}
	publicText := func(path string) string {
		t.Helper()
		if err := h.srv.Rebuild(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, body := get(t, "GET", base+path, nil)
		return string(body)
	}

	tab.signIn("cara@example.com")
	axe("dashboard with incidents")
	run("open incidents", chromedp.Navigate(base+"/admin/incidents"), chromedp.WaitVisible(chromedp.CSS("h1")))
	axe("incidents")
	run("open templates", chromedp.Navigate(base+"/admin/templates"), chromedp.WaitVisible(chromedp.CSS("h1")))
	axe("templates")

	// A template that needs the next update time, without it: the form
	// comes back with the error and what was typed.
	run("start from a template", chromedp.Navigate(base+"/admin/incidents/new?template=full-outage"), chromedp.WaitVisible(chromedp.ID("#body")),
		chromedp.SetValue(chromedp.ID("#c-payments"), "major_outage"), chromedp.SendKeys(chromedp.ID("#var-workaround"), "Pay by invoice."))
	axe("new incident form")
	run("preview without a next update", chromedp.Submit(chromedp.ID("#body")), chromedp.WaitVisible(chromedp.CSS(".problems")))
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("#var-workaround"))); err != nil || v != "Pay by invoice." {
		t.Errorf("the form lost what was typed: %q %v", v, err)
	}
	axe("new incident form with an error")
	run("choose the next update and preview", chromedp.SetValue(chromedp.ID("#next-update"), "30"), chromedp.Submit(chromedp.ID("#body")),
		chromedp.WaitVisible(chromedp.ID("#publish")))
	if !strings.HasPrefix(location(), "/admin/drafts/") {
		t.Fatalf("preview at %s", location())
	}
	if txt := textOf("main"); !strings.Contains(txt, "Outage: Checkout") || !strings.Contains(txt, "Pay by invoice.") || !strings.Contains(txt, "incident_updates") {
		t.Errorf("the preview does not show the page, email and webhook:\n%s", txt)
	}
	axe("preview")
	if strings.Contains(publicText("/api/v2/summary.json"), "Outage: Checkout") {
		t.Error("a draft reached summary.json")
	}
	run("publish", chromedp.Click(chromedp.ID("#publish")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	incPath := location()
	incPath = incPath[:strings.IndexByte(incPath, '?')]
	id := strings.TrimPrefix(incPath, "/admin/incidents/")
	axe("incident")
	if !strings.Contains(publicText("/"), "Outage: Checkout") {
		t.Error("the public page does not show the incident")
	}
	if s := publicText("/api/v2/summary.json"); !strings.Contains(s, `"id":"`+id+`"`) || !strings.Contains(s, "major_outage") {
		t.Errorf("summary.json does not carry the incident:\n%s", s)
	}

	for _, tmpl := range []string{"identified", "monitoring", "resolved"} {
		run("update: "+tmpl, chromedp.Navigate(base+incPath+"/update?template="+tmpl), chromedp.WaitVisible(chromedp.ID("#body")),
			chromedp.Submit(chromedp.ID("#body")), chromedp.WaitVisible(chromedp.ID("#publish")),
			chromedp.Click(chromedp.ID("#publish")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	}
	if s := publicText("/api/v2/summary.json"); strings.Contains(s, `"id":"`+id+`"`) {
		t.Error("a resolved incident is still in summary.json's open incidents")
	}
	if s := publicText("/incidents/" + id); !strings.Contains(s, "This incident is resolved.") {
		t.Error("the incident's page does not show the resolution")
	}
	run("write the postmortem", chromedp.Navigate(base+incPath+"/update?status=postmortem"), chromedp.WaitVisible(chromedp.ID("#body")),
		chromedp.SendKeys(chromedp.ID("#body"), "## What happened\nA bad deploy. We now canary every release."),
		chromedp.Submit(chromedp.ID("#body")), chromedp.WaitVisible(chromedp.ID("#publish")),
		chromedp.Click(chromedp.ID("#publish")), chromedp.WaitVisible(chromedp.ID("h-pm")))
	if txt := textOf("main"); !strings.Contains(txt, "We now canary every release.") {
		t.Errorf("the postmortem is not shown:\n%s", txt)
	}
	axe("incident with postmortem")

	run("sign out", chromedp.Click(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.ID("#email")))
	if txt := textOf(".notice"); !strings.Contains(txt, "signed out") {
		t.Errorf("after signing out: %q", txt)
	}
}
