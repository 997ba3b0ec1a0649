package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The pv… fixture below is a set of page views built by hand, not from the
// store, so that the page templates are tested on every status, every kind of
// incident and hostile or unusual text, whatever the rest of the server does
// with its data. TestA11yFixture serves the same pages.

const (
	pvHostile    = `<script>alert(1)</script>`
	pvHostileImg = `"><img src=x onerror=alert(1)>`
)

var (
	pvNow  = time.Date(2026, 11, 22, 16, 4, 5, 0, time.UTC)
	pvZone = time.FixedZone("CET", 3600)
	pvSite = siteView{
		Name:       "Acme Cloud",
		URL:        "https://status.acme.example",
		SupportURL: "https://acme.example/support",
		Links: []Link{
			{Name: "Acme website", URL: "https://acme.example/"},
			{Name: "Developer docs " + pvHostile, URL: "https://docs.acme.example/?q=a&b=c"},
		},
		TimeZone: "Europe/Berlin",
	}
	// pvURLs are the only absolute URLs a rendered page may contain.
	pvURLs     = []string{"https://status.acme.example", "https://acme.example/", "https://docs.acme.example/"}
	pvLongName = strings.Repeat("Very long component name ", 8) // 200 characters
)

func pvTime(t time.Time) timeView {
	lt := t.In(pvZone)
	return timeView{
		ISO:  t.UTC().Format(time.RFC3339),
		Text: lt.Format("2 Jan 2006, 15:04 MST"),
		Date: lt.Format("2 Jan 2006"),
	}
}

var pvStatus = map[string]componentStatusView{
	"ok":       {Value: "operational", Label: "Operational", Class: "ok", Icon: "ok"},
	"degraded": {Value: "degraded_performance", Label: "Degraded performance", Class: "degraded", Icon: "degraded"},
	"partial":  {Value: "partial_outage", Label: "Partial outage", Class: "partial", Icon: "partial"},
	"major":    {Value: "major_outage", Label: "Major outage", Class: "major", Icon: "major"},
	"maint":    {Value: "under_maintenance", Label: "Under maintenance", Class: "maint", Icon: "maint"},
	"none":     {Value: "unknown", Label: "Unknown", Class: "none", Icon: "none"},
}

var pvPageStatus = []statusView{
	{Indicator: "none", Description: "All Systems Operational", Class: "ok", Icon: "ok"},
	{Indicator: "minor", Description: "Minor Service Outage", Class: "minor", Icon: "minor"},
	{Indicator: "major", Description: "Partial System Outage", Class: "major", Icon: "major"},
	{Indicator: "critical", Description: "Major System Outage", Class: "critical", Icon: "critical"},
	{Indicator: "maintenance", Description: "Service Under Maintenance", Class: "maint", Icon: "maint"},
}

// pvUptime is n days ending today. seed varies the pattern; day 10 has
// no data at all.
func pvUptime(n, seed int) *uptimeView {
	u := &uptimeView{Percent: "99.87%"}
	today := pvNow.In(pvZone)
	for i := n - 1; i >= 0; i-- {
		date := today.AddDate(0, 0, -i).Format("2 Jan 2006")
		d := dayUptimeView{Class: "ok", Date: date, Text: "100% uptime"}
		switch k := (i*7 + seed*13) % 41; {
		case i == n-10:
			d = dayUptimeView{Class: "none", Date: date, Text: "no data"}
		case k == 3:
			d = dayUptimeView{Class: "degraded", Date: date, Text: "100% uptime; degraded performance 42 min"}
		case k == 11:
			d = dayUptimeView{Class: "partial", Date: date, Text: "99.21% uptime; partial outage 1 h 20 min"}
		case k == 19:
			d = dayUptimeView{Class: "major", Date: date, Text: "98.12% uptime; major outage 27 min, degraded performance 2 h"}
		case k == 29:
			d = dayUptimeView{Class: "maint", Date: date, Text: "100% uptime; maintenance 1 h"}
		}
		if i == n-1 {
			u.From = date
		}
		if i == 0 {
			u.To = date
		}
		u.Days = append(u.Days, d)
	}
	return u
}

func pvLabel(value, text string) labelView { return labelView{Value: value, Label: text, Class: value} }

var pvImpacts = map[string]labelView{
	"none":     {Value: "none", Label: "None", Class: "none"},
	"minor":    {Value: "minor", Label: "Minor", Class: "minor"},
	"major":    {Value: "major", Label: "Major", Class: "major"},
	"critical": {Value: "critical", Label: "Critical", Class: "critical"},
	"maint":    {Value: "maintenance", Label: "Maintenance", Class: "maint"},
}

// pvIncident is an incident whose updates go from newest to oldest.
func pvIncident(id, name, status, impact string, created time.Time, updates ...updateView) incidentView {
	in := incidentView{
		ID: id, URL: "/incidents/" + id, Kind: "incident", Name: name,
		Status: pvLabel(status, strings.ToUpper(status[:1])+strings.ReplaceAll(status[1:], "_", " ")),
		Impact: pvImpacts[impact], Open: status != "resolved", Created: pvTime(created),
		Components: []string{"Payments API", "Card processing " + pvHostile},
		Updates:    updates,
	}
	if !in.Open {
		in.Resolved = pvTime(created.Add(95 * time.Minute))
	}
	return in
}

func pvMaintenance(id, name, status string, from time.Time) incidentView {
	m := pvIncident(id, name, status, "maint", from.Add(-72*time.Hour), pvUpdate(status, from,
		"We will upgrade the primary database cluster.\nExpect a few seconds of read-only mode."))
	m.Kind = "maintenance"
	m.Open = status != "completed"
	m.Resolved = timeView{}
	if !m.Open {
		m.Resolved = pvTime(from.Add(2 * time.Hour))
	}
	m.ScheduledFor, m.ScheduledUntil = pvTime(from), pvTime(from.Add(2*time.Hour))
	return m
}

func pvUpdate(status string, at time.Time, paragraphs ...string) updateView {
	return updateView{
		ID:         fmt.Sprintf("u-%d", at.Unix()),
		Status:     pvLabel(status, strings.ToUpper(status[:1])+strings.ReplaceAll(status[1:], "_", " ")),
		Paragraphs: paragraphs,
		At:         pvTime(at),
	}
}

func pvBase(path, title string) *pageView {
	return &pageView{
		Lang: "en", Title: title, Site: pvSite,
		CSS: "/assets/style.0123456789.css", JS: "/assets/app.0123456789.js",
		Path: path, Generated: pvTime(pvNow), Status: pvPageStatus[2],
	}
}

// pvIncidents covers every incident status; the first is the richest.
func pvIncidents() []incidentView {
	t0 := pvNow.Add(-3 * time.Hour)
	first := pvIncident("inc-1", "Elevated error rates on checkout "+pvHostile, "investigating", "critical", t0,
		pvUpdate("investigating", t0.Add(40*time.Minute),
			"We are still investigating. "+pvHostileImg,
			"Line one of a paragraph\nline two of the same paragraph\n\u202eRTL override"),
		pvUpdate("investigating", t0, "We are investigating reports of failed payments."),
	)
	first.Updates[0].Affected = []affectedView{
		{Name: "Payments API", Old: pvStatus["ok"], New: pvStatus["partial"]},
		{Name: "Card processing " + pvHostile, Old: pvStatus["degraded"], New: pvStatus["major"]},
	}
	return []incidentView{
		first,
		pvIncident("inc-2", "تأخير في معالجة الطلبات", "identified", "major", t0.Add(-time.Hour),
			pvUpdate("identified", t0, "تم تحديد السبب ونعمل على إصلاحه.\nשלום, אנחנו עובדים על זה.")),
		pvIncident("inc-3", "🚀 Deploys delayed 🐢", "monitoring", "minor", t0.Add(-26*time.Hour),
			pvUpdate("monitoring", t0.Add(-25*time.Hour), "A fix has been deployed ✅ and we are monitoring.")),
		pvIncident("inc-4", pvLongName, "resolved", "none", t0.Add(-50*time.Hour),
			pvUpdate("resolved", t0.Add(-49*time.Hour), "This incident has been resolved."),
			pvUpdate("postmortem", t0.Add(-48*time.Hour), "Postmortem: a bad config push.")),
		pvIncident("inc-5", "Login failures", "resolved", "major", t0.Add(-75*time.Hour)),
	}
}

func pvMaintenances() []incidentView {
	return []incidentView{
		pvMaintenance("m-1", "Database upgrade "+pvHostile, "in_progress", pvNow.Add(-30*time.Minute)),
		pvMaintenance("m-2", "Network maintenance ⚙️", "scheduled", pvNow.Add(48*time.Hour)),
		pvMaintenance("m-3", "صيانة مجدولة", "verifying", pvNow.Add(-2*time.Hour)),
		pvMaintenance("m-4", "Storage migration", "completed", pvNow.Add(-100*time.Hour)),
	}
}

func pvComponent(id, name, status string, days, seed int) componentView {
	c := componentView{ID: id, Name: name, Status: pvStatus[status]}
	if days > 0 {
		c.Uptime = pvUptime(days, seed)
	}
	return c
}

// pvIndexPage is the rich front page.
func pvIndexPage() *pageView {
	v := pvBase("/", "Acme Cloud status")
	incs, maint := pvIncidents(), pvMaintenances()
	group := componentView{ID: "g-data", Name: "Data stores", Description: "Where your data lives.",
		Status: pvStatus["partial"], IsGroup: true, Children: []componentView{
			pvComponent("db", "Primary database", "partial", 90, 1),
			pvComponent("replica", "Read replicas", "major", 90, 2),
			pvComponent("cache", "Cache", "maint", 0, 0),
			pvComponent("queue", "Queue", "none", 90, 3),
		}}
	hostileComp := pvComponent("evil", pvHostile, "degraded", 90, 4)
	hostileComp.Description = "Description " + pvHostile + pvHostileImg
	noData := pvComponent("new", "Brand new service", "ok", 90, 5)
	for i := range noData.Uptime.Days {
		noData.Uptime.Days[i] = dayUptimeView{Class: "none", Date: noData.Uptime.Days[i].Date, Text: "no data"}
	}
	noData.Uptime.Percent = "No data"
	recent := make([]dayView, 7)
	for i := range recent {
		recent[i].Date = pvTime(time.Date(2026, 11, 22-i, 0, 0, 0, 0, pvZone))
	}
	recent[0].Incidents = incs[:2]
	recent[1].Incidents = incs[2:3]
	recent[3].Incidents = incs[3:]
	v.Index = &indexView{
		Active:   append(append([]incidentView{}, incs[:3]...), maint[0], maint[2]),
		Upcoming: maint[1:2],
		Journeys: []journeyView{
			{ID: "journey-checkout", Name: "Checkout " + pvHostile, Description: "Paying for an order.",
				Status: pvStatus["major"], Components: []componentView{
					{ID: "api", Name: "Payments API", Description: "REST API for payments.", Status: pvStatus["ok"], Uptime: pvUptime(90, 0)},
					pvComponent("cards", "Card processing", "degraded", 90, 6),
					group,
					hostileComp,
				}},
			{ID: "journey-login", Name: "تسجيل الدخول", Description: "כניסה לחשבון — sign in.",
				Status: pvStatus["ok"], Components: []componentView{
					pvComponent("sso", "שירות התחברות", "ok", 90, 7),
					pvComponent("deploys", "🚀 Deploys", "ok", 90, 8),
					pvComponent("long", pvLongName, "ok", 90, 9),
					noData,
				}},
		},
		Recent: recent, RecentDays: 7, UptimeDays: 90,
	}
	return v
}

func pvHistoryPage() *pageView {
	v := pvBase("/history", "Incident history · Acme Cloud status")
	incs := pvIncidents()
	v.History = &historyView{
		Months: []monthView{
			{Name: "November 2026", Incidents: incs},
			{Name: "October 2026"},
			{Name: "September 2026", Incidents: incs[3:4]},
		},
		Maintenances: pvMaintenances(),
	}
	return v
}

func pvIncidentPage(in incidentView) *pageView {
	v := pvBase(in.URL, in.Name+" · Acme Cloud status")
	v.Incident = &in
	return v
}

func pvErrorPage() *pageView {
	v := pvBase("", "Page not found · Acme Cloud status")
	v.Error = &errorView{Code: 404, Title: "Page not found " + pvHostile,
		Message: "There is nothing at this address. The current status is on the front page."}
	return v
}

// pvPages are the pages the tests render, by URL path.
func pvPages() map[string]struct {
	tmpl string
	view *pageView
} {
	pages := map[string]struct {
		tmpl string
		view *pageView
	}{
		"/":        {"index.html", pvIndexPage()},
		"/history": {"history.html", pvHistoryPage()},
		"/404":     {"error.html", pvErrorPage()},
	}
	for _, in := range append(pvIncidents(), pvMaintenances()...) {
		pages[in.URL] = struct {
			tmpl string
			view *pageView
		}{"incident.html", pvIncidentPage(in)}
	}
	return pages
}

var (
	pageTimeRe   = regexp.MustCompile(`<time\b[^>]*>`)
	pageBarRe    = regexp.MustCompile(`<svg class="bar" viewBox="0 0 (\d+) 1"[^>]*>(.*?)</svg>`)
	pageRectRe   = regexp.MustCompile(`<rect class="d-([a-z]+)"(?: x="(\d+)")? width="(\d+)" height="1"><title>([^<]*)</title></rect>`)
	pageStyleRe  = regexp.MustCompile(`(?i)<[^>]*\sstyle\s*=|<style`)
	pageScriptRe = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	pageAbsURLRe = regexp.MustCompile(`(?i)https?://[^\s"'<>]*`)
	pageEventRe  = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	pvHostileRes = []string{"<script>alert", "<img src=x", `"><img`}
)

func mustPageTemplates(t testing.TB) (css, js asset, render func(name string, v *pageView) []byte) {
	t.Helper()
	tmpl, err := parsePageTemplates()
	if err != nil {
		t.Fatalf("parsePageTemplates() error: %v", err)
	}
	css, js, err = loadAssets("")
	if err != nil {
		t.Fatalf("loadAssets() error: %v", err)
	}
	return css, js, func(name string, v *pageView) []byte {
		t.Helper()
		v.CSS, v.JS = css.Path, js.Path
		b, err := renderPage(tmpl, name, v)
		if err != nil {
			t.Fatalf("renderPage(%s) error: %v", name, err)
		}
		return b
	}
}

func TestPageTemplates(t *testing.T) {
	_, _, render := mustPageTemplates(t)
	for path, p := range pvPages() {
		t.Run(path, func(t *testing.T) {
			out := string(render(p.tmpl, p.view))
			if !strings.HasPrefix(out, "<!doctype html>\n<html lang=\"en\" dir=\"ltr\">") {
				t.Errorf("page does not start with the doctype and <html lang>: %.60q", out)
			}
			for _, s := range pvHostileRes {
				if strings.Contains(out, s) {
					t.Errorf("output contains unescaped %q", s)
				}
			}
			for _, tag := range pageTimeRe.FindAllString(out, -1) {
				if !strings.Contains(tag, ` datetime="`) {
					t.Errorf("%s has no datetime", tag)
				}
			}
			checkBars(t, out)
			if m := pageStyleRe.FindString(out); m != "" {
				t.Errorf("output has inline style: %q", m)
			}
			if m := pageEventRe.FindString(out); m != "" {
				t.Errorf("output has an inline event handler: %q", m)
			}
			for _, tag := range pageScriptRe.FindAllString(out, -1) {
				if !strings.Contains(tag, " src=") {
					t.Errorf("inline script %q", tag)
				}
			}
		urls:
			for _, u := range pageAbsURLRe.FindAllString(out, -1) {
				for _, ok := range pvURLs {
					if strings.HasPrefix(u, ok) {
						continue urls
					}
				}
				t.Errorf("output links to %q, which is not from the site config", u)
			}
			if n := strings.Count(out, "<h1"); n != 1 {
				t.Errorf("page has %d h1 elements; want 1", n)
			}
			if n := strings.Count(out, `<main id="main"`); n != 1 {
				t.Errorf("page has %d <main id=main>; want 1", n)
			}
		})
	}
}

func TestPageIndexContent(t *testing.T) {
	_, _, render := mustPageTemplates(t)
	v := pvIndexPage()
	out := string(render("index.html", v))
	for _, want := range []string{
		`<a href="/" aria-current="page">Status</a>`,
		`<a href="#subscribe">Subscribe</a>`,
		`<div class="banner b-major">`,
		`<use href="#i-major"/>`,
		`Partial System Outage`,
		`&lt;script&gt;alert(1)&lt;/script&gt;`,
		`Line one of a paragraph<br>line two of the same paragraph<br>`,
		`<rect class="d-none" x="9" width="1" height="1"><title>3 Sep 2026: no data</title></rect>`,
		`<rect class="d-partial" x="`,
		`Uptime<span class="visually-hidden"> from 25 Aug 2026 to 22 Nov 2026</span>: No data`,
		`<summary>90 days without data<span class="visually-hidden"> for Brand new service</span></summary>`,
		`<li class="d-none">25 Aug 2026 to 22 Nov 2026: no data</li>`,
		`: 99.21% uptime; partial outage 1 h 20 min</li>`,
		`<pattern id="gaps"`,
		`No incidents reported.`,
		`<a href="/incidents/inc-1">`,
		`id="subscribe"`,
		`href="/history.rss"`,
		`href="/history.atom"`,
		`href="/api/v2/summary.json"`,
		`Times shown in <span id="tz">Europe/Berlin</span>`,
		`<time datetime="2026-11-22T16:04:05Z">22 Nov 2026, 17:04 CET</time>`,
		`تسجيل الدخول`,
		`🚀 Deploys`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("index does not contain %q", want)
		}
	}
	if strings.Contains(out, `role="status"`) {
		t.Error("index shows the stale notice while Stale is false")
	}
	for class := range pvStatus {
		if !strings.Contains(out, `class="st s-`+class+`"`) {
			t.Errorf("index shows no component with status class %q", class)
		}
	}

	v.Stale = true
	out = string(render("index.html", v))
	if !strings.Contains(out, `<div class="stale" role="status">`) ||
		!strings.Contains(out, `could not be refreshed`) {
		t.Error("index with Stale set shows no stale notice")
	}

	for _, st := range pvPageStatus {
		v.Status = st
		out = string(render("index.html", v))
		if want := `<div class="banner b-` + st.Class + `"><svg class="i" aria-hidden="true" focusable="false"><use href="#i-` + st.Icon + `"/></svg><p>` + st.Description; !strings.Contains(out, want) {
			t.Errorf("index with status %s lacks %q", st.Indicator, want)
		}
		if !strings.Contains(out, `<symbol id="i-`+st.Icon+`"`) {
			t.Errorf("sprite has no symbol for %s", st.Icon)
		}
	}
	for _, st := range pvStatus {
		if !strings.Contains(out, `<symbol id="i-`+st.Icon+`"`) {
			t.Errorf("sprite has no symbol for %s", st.Icon)
		}
	}
}

func TestPageOtherContent(t *testing.T) {
	_, _, render := mustPageTemplates(t)
	tests := []struct {
		name, tmpl string
		view       *pageView
		want       []string
	}{
		{"history", "history.html", pvHistoryPage(), []string{
			`<a href="/history" aria-current="page">History</a>`,
			`<a href="/#subscribe">Subscribe</a>`,
			`<h2 id="m0">November 2026</h2>`,
			`No incidents in this period.`,
			`<h2 id="h-maint">Maintenance</h2>`,
			`<a href="/incidents/m-2">`,
		}},
		{"empty history", "history.html", func() *pageView {
			v := pvHistoryPage()
			v.History = &historyView{}
			return v
		}(), []string{`No incidents in this period.`, `No maintenance in this period.`}},
		{"incident", "incident.html", pvIncidentPage(pvIncidents()[0]), []string{
			`<h1 id="h-inc">Elevated error rates on checkout &lt;script&gt;`,
			`<p class="kind">Incident</p>`,
			`<dt>Impact</dt><dd>Critical</dd>`,
			`<ol class="timeline">`,
			`We are still investigating. &#34;&gt;&lt;img src=x onerror=alert(1)&gt;`,
			`<span class="st s-ok">`,
			`<span class="st s-major">`,
			`<a href="/history">All incidents</a>`,
		}},
		{"maintenance", "incident.html", pvIncidentPage(pvMaintenances()[1]), []string{
			`<p class="kind">Maintenance</p>`,
			`<dt>Scheduled</dt>`,
			`We will upgrade the primary database cluster.<br>Expect`,
		}},
		{"incident without updates", "incident.html", pvIncidentPage(pvIncidents()[4]), []string{
			`No updates yet.`, `<dt>Resolved</dt>`,
		}},
		{"error", "error.html", pvErrorPage(), []string{
			`<p class="kind">Error 404</p>`,
			`<h1>Page not found &lt;script&gt;`,
			`<a href="/">Go to the status page</a>`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := string(render(tt.tmpl, tt.view))
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("%s does not contain %q", tt.tmpl, want)
				}
			}
		})
	}
}

func TestPageRenderErrors(t *testing.T) {
	tmpl, err := parsePageTemplates()
	if err != nil {
		t.Fatalf("parsePageTemplates() error: %v", err)
	}
	if _, err := renderPage(tmpl, "missing.html", pvErrorPage()); err == nil {
		t.Error("renderPage(missing.html) = nil error; want one")
	}
	if _, err := renderPage(tmpl, "index.html", nil); err == nil {
		t.Error("renderPage(index.html, nil) = nil error; want one")
	}
}

func TestPageAssets(t *testing.T) {
	css, js, err := loadAssets("")
	if err != nil {
		t.Fatalf("loadAssets(\"\") error: %v", err)
	}
	if !regexp.MustCompile(`^/assets/style\.[0-9a-f]{10}\.css$`).MatchString(css.Path) {
		t.Errorf("css.Path = %q; want /assets/style.<10 hex>.css", css.Path)
	}
	if !regexp.MustCompile(`^/assets/app\.[0-9a-f]{10}\.js$`).MatchString(js.Path) {
		t.Errorf("js.Path = %q; want /assets/app.<10 hex>.js", js.Path)
	}
	if !strings.HasPrefix(css.ContentType, "text/css") || !strings.HasPrefix(js.ContentType, "text/javascript") {
		t.Errorf("content types = %q, %q", css.ContentType, js.ContentType)
	}
	for _, bad := range []string{"@import", "http:", "https:", "@font-face"} {
		if bytes.Contains(css.Body, []byte(bad)) {
			t.Errorf("style.css contains %q", bad)
		}
	}
	// url() only for a fragment of the page itself, such as a pattern.
	for i, rest := 0, css.Body; ; {
		if i = bytes.Index(rest, []byte("url(")); i < 0 {
			break
		}
		if rest = rest[i+4:]; len(rest) == 0 || rest[0] != '#' {
			t.Errorf("style.css has url() of something outside the page: %.30q", rest)
		}
	}
	cssGz, jsGz := pageGzipLen(t, css.Body), pageGzipLen(t, js.Body)
	t.Logf("style.css %d bytes, %d gzipped; app.js %d bytes, %d gzipped", len(css.Body), cssGz, len(js.Body), jsGz)
	if cssGz > 6<<10 {
		t.Errorf("style.css is %d bytes gzipped; want at most 6 KiB", cssGz)
	}
	// 2.25 KiB: keeping lists of days open across a refresh took 260 bytes.
	if len(js.Body) > 2304 {
		t.Errorf("app.js is %d bytes; want at most 2.25 KiB", len(js.Body))
	}

	accented, _, err := loadAssets("#0B57d0")
	if err != nil {
		t.Fatalf("loadAssets(#0B57d0) error: %v", err)
	}
	if !bytes.HasSuffix(accented.Body, []byte(":root{--accent:#0b57d0}\n")) {
		t.Errorf("accented CSS ends %q; want the --accent rule", accented.Body[len(accented.Body)-40:])
	}
	if accented.Path == css.Path {
		t.Error("accented CSS has the same path as the plain one")
	}
	for _, bad := range []string{"red", "#12345", "#1234567", "#12345g", "#123456;}", " #123456"} {
		if _, _, err := loadAssets(bad); err == nil {
			t.Errorf("loadAssets(%q) = nil error; want one", bad)
		}
	}
}

// TestPageSize checks the page stays small enough for a slow phone during an
// outage: 20 components with 90-day bars and 5 incidents, HTML plus CSS,
// gzipped as served.
func TestPageSize(t *testing.T) {
	css, _, render := mustPageTemplates(t)
	v := pvBase("/", "Acme Cloud status")
	v.Index = &indexView{Active: pvIncidents()[:3], Upcoming: pvMaintenances()[1:2], RecentDays: 7, UptimeDays: 90}
	for j := range 4 {
		jv := journeyView{ID: fmt.Sprintf("journey-%d", j), Name: fmt.Sprintf("Journey %d", j),
			Description: "What customers do here.", Status: pvStatus["ok"]}
		for c := range 5 {
			cv := pvComponent(fmt.Sprintf("c%d-%d", j, c), fmt.Sprintf("Component %d.%d", j, c), "ok", 90, j*5+c)
			cv.Description = "A short description of the component."
			jv.Components = append(jv.Components, cv)
		}
		v.Index.Journeys = append(v.Index.Journeys, jv)
	}
	incs := pvIncidents()
	for i := range 7 {
		d := dayView{Date: pvTime(pvNow.AddDate(0, 0, -i))}
		if i < 5 {
			d.Incidents = incs[i : i+1]
		}
		v.Index.Recent = append(v.Index.Recent, d)
	}
	html := render("index.html", v)
	if n := strings.Count(string(html), `<svg class="bar" viewBox="0 0 90 1"`); n != 20 {
		t.Fatalf("page has %d uptime bars of 90 days; want 20", n)
	}
	htmlGz, cssGz := pageGzipLen(t, html), pageGzipLen(t, css.Body)
	t.Logf("index with 20 components x 90 days and 5 incidents: HTML %d bytes (%d gzipped) + CSS %d bytes (%d gzipped) = %d bytes gzipped",
		len(html), htmlGz, len(css.Body), cssGz, htmlGz+cssGz)
	if htmlGz+cssGz > 30<<10 {
		t.Errorf("index HTML + CSS is %d bytes gzipped; want at most 30 KiB", htmlGz+cssGz)
	}
}

func pageGzipLen(t testing.TB, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}

func TestPageFuncs(t *testing.T) {
	lines := pageFuncs["lines"].(func(string) []string)
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"one", []string{"one"}},
		{"one\ntwo", []string{"one", "two"}},
		{"one\r\ntwo\n", []string{"one", "two", ""}},
		{"", []string{""}},
	} {
		if got := lines(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("lines(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	dir := pageFuncs["dir"].(func(string) string)
	for in, want := range map[string]string{"en": "ltr", "en-GB": "ltr", "": "ltr", "ar": "rtl", "he-IL": "rtl", "FA": "rtl", "de": "ltr"} {
		if got := dir(in); got != want {
			t.Errorf("dir(%q) = %q; want %q", in, got, want)
		}
	}
}

// checkBars checks every uptime bar of a page: its runs of days cover the
// bar without gap or overlap and each has a text, and every day that was
// not fully operational is listed in text under the bar, for those who
// cannot hover.
func checkBars(t *testing.T, page string) {
	t.Helper()
	for _, bar := range pageBarRe.FindAllStringSubmatchIndex(page, -1) {
		n, _ := strconv.Atoi(page[bar[2]:bar[3]])
		at := 0
		rest := page[bar[1]:]
		end := strings.Index(rest, "</div>")
		below := rest[:end]
		for _, r := range pageRectRe.FindAllStringSubmatch(page[bar[4]:bar[5]], -1) {
			x, _ := strconv.Atoi(r[2])
			w, _ := strconv.Atoi(r[3])
			if x != at || w < 1 {
				t.Errorf("bar run %q starts at %d, width %d; want to start at %d", r[0], x, w, at)
			}
			at = x + w
			if r[4] == "" {
				t.Errorf("bar run %q has no text", r[0])
			}
			if r[1] != "ok" && !strings.Contains(below, `<li class="d-`+r[1]+`">`+r[4]+"</li>") {
				t.Errorf("day %q is not listed under its bar", r[4])
			}
		}
		if at != n {
			t.Errorf("bar runs cover %d of %d days", at, n)
		}
	}
}
