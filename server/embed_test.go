package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

// Hostile names for the embed tests: markup that would run script if it
// were parsed, and a right-to-left override.
const (
	hostileImg      = `<img src=x onerror=alert(1)>`
	hostileSVG      = `"><svg onload=alert(2)>`
	hostileRTL      = "Admin \u202egnp.exe"
	hostileJourney  = `<img src=x onerror=alert(4)> journey`
	hostileIncident = `"><img src=x onerror=alert(3)> Checkout <b>down</b> ` + "\u202eoops"
)

// embedCatalog is a small page with a journey of hostile names.
func embedCatalog() data.Catalog {
	return data.Catalog{Journeys: []data.CatalogJourney{
		{ID: "shop", Name: "Shop", Components: []data.CatalogComponent{
			{ID: "payments", Name: "Payments", Showcase: true},
			{ID: "search", Name: "Search", Showcase: true},
			{ID: "delivery", Name: "Delivery", Children: []data.CatalogComponent{
				{ID: "tracking", Name: "Tracking", Showcase: true},
				{ID: "labels", Name: "Labels", Showcase: true},
			}},
		}},
		{ID: "hostile", Name: hostileJourney, Components: []data.CatalogComponent{
			{ID: "evil-img", Name: hostileImg, Showcase: true},
			{ID: "evil-svg", Name: hostileSVG, Showcase: true},
			{ID: "evil-rtl", Name: hostileRTL, Showcase: true},
		}},
		// A journey that shares its id with a component.
		{ID: "search", Name: "Finding things", Components: []data.CatalogComponent{
			{ID: "suggest", Name: "Suggestions", Showcase: true},
		}},
	}}
}

// embedStore is embedCatalog with 40 days of history: tracking had a
// three-hour major outage 35 days ago and a one-hour partial outage 5 days
// ago, and an open incident with a hostile name affects evil-img.
func embedStore(t testing.TB) *data.Store {
	t.Helper()
	ctx := context.Background()
	s := datatest.MustOpen(t)
	clock := goldenNow.AddDate(0, 0, -40)
	s.Now = func() time.Time { return clock }
	n := 0
	s.NewID = func() string { n++; return fmt.Sprintf("em%010d", n) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.SyncCatalog(ctx, embedCatalog(), "config")
	must(err)
	set := func(daysAgo, hour int, id string, st data.ComponentStatus) {
		clock = time.Date(goldenNow.Year(), goldenNow.Month(), goldenNow.Day()-daysAgo, hour, 0, 0, 0, time.UTC)
		_, err := s.SetComponentStatus(ctx, data.SetStatus{ComponentID: id, Status: st, Actor: "fixture"})
		must(err)
	}
	set(35, 8, "tracking", data.MajorOutage)
	set(35, 11, "tracking", data.Operational)
	set(5, 8, "tracking", data.PartialOutage)
	set(5, 9, "tracking", data.Operational)
	clock = goldenNow.Add(-time.Hour)
	_, err = s.CreateIncident(ctx, data.NewIncident{Name: hostileIncident, Impact: data.ImpactMinor, Body: "We are looking into it.",
		Components: map[string]data.ComponentStatus{"evil-img": data.PartialOutage}, Actor: "fixture"})
	must(err)
	clock = goldenNow
	return s
}

// embedServer serves embedStore on a loopback listener and returns its base
// URL. The snapshot is rebuilt 10 ms after a change once Start is called.
func embedServer(t *testing.T, opt func(*Options)) (*Server, *data.Store, string) {
	t.Helper()
	st := embedStore(t)
	o := fixtureOptions()
	o.Debounce = 10 * time.Millisecond
	if opt != nil {
		opt(&o)
	}
	srv, err := New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	return srv, st, listen(t, srv)
}

// embedGet fetches base+path with headers and returns the response and body.
func embedGet(t *testing.T, base, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	return get(t, "GET", base+path, hdr)
}

// svgBadge is what a badge says, read back with an XML parser.
type svgBadge struct {
	XMLName   xml.Name `xml:"svg"`
	Role      string   `xml:"role,attr"`
	AriaLabel string   `xml:"aria-label,attr"`
	Width     int      `xml:"width,attr"`
	Title     string   `xml:"title"`
	Texts     []string `xml:"g>text"`
}

// parseBadge parses an SVG badge strictly as XML.
func parseBadge(t *testing.T, body []byte) svgBadge {
	t.Helper()
	var b svgBadge
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	if err := d.Decode(&b); err != nil {
		t.Fatalf("badge is not XML: %v\n%s", err, body)
	}
	if b.Role != "img" || b.Title == "" || b.AriaLabel != b.Title || len(b.Texts) != 2 || b.Width <= 0 {
		t.Errorf("badge: role %q, title %q, aria-label %q, %d texts, width %d; want img, a title also as aria-label, two texts",
			b.Role, b.Title, b.AriaLabel, len(b.Texts), b.Width)
	}
	return b
}

func TestBadges(t *testing.T) {
	_, _, base := embedServer(t, nil)
	pageResp, _ := embedGet(t, base, "/", nil)
	tests := []struct {
		path   string
		status int
		title  string
		texts  [2]string
	}{
		{"/badge.svg", 200, "\u2068Fernhill\u2069 status: Minor Service Outage", [2]string{"Fernhill", "Minor Service Outage"}},
		{"/badge.svg?theme=dark", 200, "\u2068Fernhill\u2069 status: Minor Service Outage", [2]string{"Fernhill", "Minor Service Outage"}},
		{"/badge/payments.svg", 200, "\u2068Payments\u2069: Operational", [2]string{"Payments", "Operational"}},
		{"/badge/payments.svg?theme=light&v=3", 200, "\u2068Payments\u2069: Operational", [2]string{"Payments", "Operational"}},
		{"/badge/delivery.svg", 200, "\u2068Delivery\u2069: Operational", [2]string{"Delivery", "Operational"}},
		{"/badge/shop.svg", 200, "\u2068Shop\u2069: Operational", [2]string{"Shop", "Operational"}},
		{"/badge/hostile.svg?theme=dark", 200, "\u2068" + hostileJourney + "\u2069: Partial outage", [2]string{hostileJourney, "Partial outage"}},
		{"/badge/evil-img.svg", 200, "\u2068" + hostileImg + "\u2069: Partial outage", [2]string{hostileImg, "Partial outage"}},
		{"/badge/evil-svg.svg", 200, "\u2068" + hostileSVG + "\u2069: Operational", [2]string{hostileSVG, "Operational"}},
		{"/badge/evil-rtl.svg", 200, "\u2068" + hostileRTL + "\u2069: Operational", [2]string{hostileRTL, "Operational"}},
		// "search" is a component and a journey: the component wins unless asked.
		{"/badge/search.svg", 200, "\u2068Search\u2069: Operational", [2]string{"Search", "Operational"}},
		{"/badge/search.svg?kind=journey", 200, "\u2068Finding things\u2069: Operational", [2]string{"Finding things", "Operational"}},
		{"/badge/search.svg?kind=component", 200, "\u2068Search\u2069: Operational", [2]string{"Search", "Operational"}},
		{"/badge/shop.svg?kind=component", 404, "Status: unknown", [2]string{"status", "unknown"}},
		{"/badge/tracking/uptime.svg?days=30", 200, "\u2068Tracking\u2069: 99.95% uptime over the last 30 days", [2]string{"Tracking · 30d uptime", "99.95%"}},
		{"/badge/tracking/uptime.svg?days=90", 200, "\u2068Tracking\u2069: 99.65% uptime over the last 90 days", [2]string{"Tracking · 90d uptime", "99.65%"}},
		{"/badge/tracking/uptime.svg", 200, "\u2068Tracking\u2069: 99.65% uptime over the last 90 days", [2]string{"Tracking · 90d uptime", "99.65%"}},
		{"/badge/payments/uptime.svg?days=90", 200, "\u2068Payments\u2069: 100% uptime over the last 90 days", [2]string{"Payments · 90d uptime", "100%"}},
		// A group and a journey count their least available component.
		{"/badge/delivery/uptime.svg?days=30", 200, "\u2068Delivery\u2069: 99.95% uptime over the last 30 days", [2]string{"Delivery · 30d uptime", "99.95%"}},
		{"/badge/shop/uptime.svg?days=90&theme=dark", 200, "\u2068Shop\u2069: 99.65% uptime over the last 90 days", [2]string{"Shop · 90d uptime", "99.65%"}},
		{"/badge/nope.svg", 404, "Status: unknown", [2]string{"status", "unknown"}},
		{"/badge/nope/uptime.svg?days=30", 404, "Status: unknown", [2]string{"status", "unknown"}},
		{"/badge/Payments.svg", 404, "Status: unknown", [2]string{"status", "unknown"}},
		{"/badge/payments", 404, "Status: unknown", [2]string{"status", "unknown"}},
		{"/badge/payments/other.svg", 404, "Status: unknown", [2]string{"status", "unknown"}},
		{"/badge/%3Cimg%3E.svg", 404, "Status: unknown", [2]string{"status", "unknown"}},
		{"/badge/payments/uptime.svg?days=-1", 400, "Badge: invalid request", [2]string{"badge", "invalid"}},
		{"/badge/payments/uptime.svg?days=1e9", 400, "Badge: invalid request", [2]string{"badge", "invalid"}},
		{"/badge/payments/uptime.svg?days=030", 400, "Badge: invalid request", [2]string{"badge", "invalid"}},
		{"/badge/payments/uptime.svg?days=31", 400, "Badge: invalid request", [2]string{"badge", "invalid"}},
		{"/badge/payments/uptime.svg?days=", 400, "Badge: invalid request", [2]string{"badge", "invalid"}},
		{"/badge/payments/uptime.svg?days=30&days=90", 400, "Badge: invalid request", [2]string{"badge", "invalid"}},
		{"/badge/payments/uptime.svg?days=%zz", 400, "Badge: invalid request", [2]string{"badge", "invalid"}},
		{"/badge/payments.svg?theme=blue", 400, "Badge: invalid request", [2]string{"badge", "invalid"}},
		{"/badge/payments.svg?kind=group", 400, "Badge: invalid request", [2]string{"badge", "invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := embedGet(t, base, tt.path, nil)
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "image/svg+xml; charset=utf-8" {
				t.Fatalf("GET %s = %d %s; want %d image/svg+xml", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), tt.status)
			}
			b := parseBadge(t, body)
			if b.Title != tt.title || b.Texts[0] != tt.texts[0] || b.Texts[1] != tt.texts[1] {
				t.Errorf("GET %s: title %q, texts %q; want %q, %q", tt.path, b.Title, b.Texts, tt.title, tt.texts)
			}
			if bytes.Contains(body, []byte("<img")) || bytes.Contains(body, []byte("<svg onload")) || bytes.Contains(body, []byte("<script")) {
				t.Errorf("GET %s: markup from a name reached the SVG", tt.path)
			}
			if tt.status == 200 {
				for _, h := range []string{"Cache-Control", "Cdn-Cache-Control", "Surrogate-Control", "Vary"} {
					if got, want := resp.Header.Get(h), pageResp.Header.Get(h); got != want {
						t.Errorf("GET %s: %s = %q; want the page's %q", tt.path, h, got, want)
					}
				}
			}
			for h, want := range map[string]string{"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin",
				"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("GET %s: %s = %q; want %q", tt.path, h, got, want)
				}
			}
		})
	}

	t.Run("dark differs", func(t *testing.T) {
		_, light := embedGet(t, base, "/badge/payments.svg", nil)
		_, dark := embedGet(t, base, "/badge/payments.svg?theme=dark", nil)
		if bytes.Equal(light, dark) {
			t.Error("the dark badge is the light one")
		}
	})
	t.Run("conditional", func(t *testing.T) {
		for _, p := range []string{"/badge/payments.svg", "/badge/tracking/uptime.svg?days=30"} {
			resp, body := embedGet(t, base, p, map[string]string{"Accept-Encoding": "gzip"})
			etag := resp.Header.Get("ETag")
			if !strings.HasPrefix(etag, `"`) || resp.Header.Get("Last-Modified") == "" {
				t.Fatalf("GET %s: ETag %q, Last-Modified %q", p, etag, resp.Header.Get("Last-Modified"))
			}
			resp, body2 := embedGet(t, base, p, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": etag})
			if resp.StatusCode != 304 || len(body2) != 0 || resp.Header.Get("Cache-Control") == "" {
				t.Errorf("GET %s with its ETag = %d, %d bytes; want 304 with cache headers", p, resp.StatusCode, len(body2))
			}
			resp, _ = embedGet(t, base, p, map[string]string{"If-Modified-Since": resp.Header.Get("Last-Modified")})
			if resp.StatusCode != 304 {
				t.Errorf("GET %s If-Modified-Since = %d; want 304", p, resp.StatusCode)
			}
			resp, head := get(t, "HEAD", base+p, nil)
			if resp.StatusCode != 200 || len(head) != 0 {
				t.Errorf("HEAD %s = %d with %d bytes", p, resp.StatusCode, len(head))
			}
			_ = body
		}
		// An error badge never answers 304: it may be fixed a minute later.
		resp, _ := embedGet(t, base, "/badge/nope.svg", nil)
		resp, _ = embedGet(t, base, "/badge/nope.svg", map[string]string{"If-None-Match": resp.Header.Get("ETag")})
		if resp.StatusCode != 404 || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=10") {
			t.Errorf("unknown badge, conditional = %d %q; want 404, briefly cached", resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	})
}

// TestBadgeRebuild checks render on change: a rebuild without a change keeps
// every badge's bytes and validators; a status change alters only the badges
// it touches.
func TestBadgeRebuild(t *testing.T) {
	srv, st, base := embedServer(t, nil)
	etag := func(p string) string {
		resp, _ := embedGet(t, base, p, nil)
		return resp.Header.Get("ETag")
	}
	paths := []string{"/badge/payments.svg", "/badge/search.svg", "/badge/shop.svg", "/badge/search.svg?kind=journey", "/embed/frame?component=search"}
	before := map[string]string{}
	for _, p := range paths {
		before[p] = etag(p)
	}
	if err := srv.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if got := etag(p); got != before[p] {
			t.Errorf("%s changed without a change: %s → %s", p, before[p], got)
		}
	}
	if _, err := st.SetComponentStatus(context.Background(), data.SetStatus{ComponentID: "payments", Status: data.MajorOutage, Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	for p, changed := range map[string]bool{"/badge/payments.svg": true, "/badge/shop.svg": true, "/badge/search.svg": false,
		"/badge/search.svg?kind=journey": false, "/embed/frame?component=search": false} {
		if got := etag(p) != before[p]; got != changed {
			t.Errorf("after payments changed, %s changed = %v; want %v", p, got, changed)
		}
	}
	_, body := embedGet(t, base, "/badge/payments.svg", nil)
	if b := parseBadge(t, body); b.Texts[1] != "Major outage" {
		t.Errorf("payments badge says %q after the change", b.Texts[1])
	}
}

func TestParseBadgeRequest(t *testing.T) {
	tests := []struct {
		path, query string
		want        badgeRequest
		notFound    bool
		bad         bool
	}{
		{"/badge.svg", "", badgeRequest{}, false, false},
		{"/badge.svg", "theme=dark", badgeRequest{dark: true}, false, false},
		{"/badge/a.svg", "", badgeRequest{id: "a"}, false, false},
		{"/badge/a-b_c9.svg", "kind=journey", badgeRequest{id: "a-b_c9", journey: true, forced: true}, false, false},
		{"/badge/a/uptime.svg", "", badgeRequest{id: "a", uptime: true, days: 90}, false, false},
		{"/badge/a/uptime.svg", "days=30&theme=light&utm=x", badgeRequest{id: "a", uptime: true, days: 30}, false, false},
		{"/badge/a.svg", "days=7", badgeRequest{id: "a"}, false, false}, // days is for uptime badges only
		{"/badge/.svg", "", badgeRequest{}, true, false},
		{"/badge/a/b.svg", "", badgeRequest{}, true, false},
		{"/badge/A.svg", "", badgeRequest{}, true, false},
		{"/badge/" + strings.Repeat("a", 65) + ".svg", "", badgeRequest{}, true, false},
		{"/badge/a/uptime.svg", "days=+30", badgeRequest{}, false, true},
		{"/badge/a/uptime.svg", "days=30.0", badgeRequest{}, false, true},
		{"/badge/a/uptime.svg", "days=0x1e", badgeRequest{}, false, true},
		{"/badge/a/uptime.svg", "days=99999999999999999999", badgeRequest{}, false, true},
		{"/badge/a.svg", "theme=dark&theme=dark", badgeRequest{}, false, true},
		{"/badge/a.svg", "theme=dark;x", badgeRequest{dark: true}, false, true},
	}
	for _, tt := range tests {
		got, nf, err := parseBadgeRequest(tt.path, tt.query, 90)
		if nf != tt.notFound || (err != nil) != tt.bad {
			t.Errorf("parseBadgeRequest(%q, %q) = not found %v, err %v; want %v, bad %v", tt.path, tt.query, nf, err, tt.notFound, tt.bad)
			continue
		}
		if !tt.notFound && !tt.bad && got != tt.want {
			t.Errorf("parseBadgeRequest(%q, %q) = %+v; want %+v", tt.path, tt.query, got, tt.want)
		}
	}
}

// FuzzBadgeRequest sends arbitrary badge paths and queries through the
// handler: always an SVG that parses as XML, with 200, 400 or 404.
func FuzzBadgeRequest(f *testing.F) {
	srv, _ := newFixtureServer(f)
	h := srv.App().Handler()
	for _, s := range [][2]string{
		{"/badge.svg", ""}, {"/badge/payments.svg", "theme=dark"}, {"/badge/payments/uptime.svg", "days=30"},
		{"/badge/rest/uptime.svg", "days=1e9&theme=dark"}, {"/badge/sign-in.svg", "kind=journey"}, {"/badge/x.svg", "%zz"},
		{"/badge/search-index.svg", "days=-1;theme=dark"}, {"/badge/../x.svg", "days=30&days=30"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("GET")
		uri := "/badge" + path
		if query != "" {
			uri += "?" + query
		}
		ctx.Request.SetRequestURI(uri)
		h(&ctx)
		code := ctx.Response.StatusCode()
		if code != 200 && code != 400 && code != 404 {
			// A path fasthttp itself rejects or normalises away from /badge
			// is not a badge request.
			if code >= 500 {
				t.Fatalf("GET %q = %d", uri, code)
			}
			return
		}
		if !bytes.HasPrefix(ctx.Response.Header.ContentType(), []byte("image/svg+xml")) {
			return // normalised to another route, such as /badge.svg's 404 page
		}
		var b svgBadge
		d := xml.NewDecoder(bytes.NewReader(ctx.Response.Body()))
		d.Strict = true
		if err := d.Decode(&b); err != nil || b.Title == "" {
			t.Fatalf("GET %q: not a badge: %v", uri, err)
		}
	})
}

func TestParseFrameRequest(t *testing.T) {
	tests := []struct {
		query string
		want  string // key, or "" for an error
	}{
		{"", "/embed/frame?theme=auto"},
		{"layout=pill", "/embed/frame?theme=auto"}, // the frame's height decides
		{"theme=dark&utm_source=x", "/embed/frame?theme=dark"},
		{"component=payments", "/embed/frame?component=payments&theme=auto"},
		{"journey=shop&theme=light", "/embed/frame?journey=shop&theme=light"},
		{"journey=shop&component=payments", ""},
		{"component=Payments", ""},
		{"component=", ""},
		{"component=a&component=a", ""},
		{"theme=blue", ""},
		{"theme=", ""},
		{"theme=%zz", ""},
		{"component=<img>", ""},
	}
	for _, tt := range tests {
		r, err := parseFrameRequest(tt.query)
		got := ""
		if err == nil {
			got = r.key()
		}
		if got != tt.want {
			t.Errorf("parseFrameRequest(%q) = %q, %v; want %q", tt.query, got, err, tt.want)
		}
	}
}

// FuzzFrameRequest sends arbitrary queries to /embed/frame: always HTML with
// 200, 400 or 404, that never repeats the query.
func FuzzFrameRequest(f *testing.F) {
	srv, _ := newFixtureServer(f)
	h := srv.App().Handler()
	for _, q := range []string{"", "theme=light", "component=payments&theme=dark", "journey=sign-in", "component=<script>",
		"theme=dark&theme=light", "%zz", "journey=a&component=b", "component=rest;theme=dark"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.SetRequestURI("/embed/frame?" + query)
		h(&ctx)
		code := ctx.Response.StatusCode()
		if code != 200 && code != 400 && code != 404 {
			t.Fatalf("GET /embed/frame?%q = %d", query, code)
		}
		body := ctx.Response.Body()
		if !bytes.HasPrefix(body, []byte("<!doctype html>")) {
			t.Fatalf("GET /embed/frame?%q: not the frame page", query)
		}
		if len(query) > 6 && strings.ContainsAny(query, "<\"") && bytes.Contains(body, []byte(query)) {
			t.Fatalf("GET /embed/frame?%q echoed the query", query)
		}
		// The query as the server saw it (a '#' ends it, for one).
		if r, err := parseFrameRequest(string(ctx.Request.URI().QueryString())); (err == nil) != (code != 400) {
			t.Fatalf("GET /embed/frame?%q = %d; parseFrameRequest says %v (key %q)", query, code, err, r.key())
		}
	})
}

// maxWidgetGzip is the budget of /embed.js, gzipped: third parties load it
// on every page of their help centre.
const maxWidgetGzip = 5 * 1024

// TestEmbedScript checks /embed.js: its size, that it is cached briefly with
// revalidation (not immutable), that the versioned copy is immutable and
// matches its integrity value, and that it does nothing a strict host page
// would refuse or a privacy review would flag.
func TestEmbedScript(t *testing.T) {
	srv, _, base := embedServer(t, nil)
	resp, js := embedGet(t, base, "/embed.js", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("GET /embed.js = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level
	_, _ = zw.Write(js)                                      // writes to a bytes.Buffer cannot fail
	_ = zw.Close()
	t.Logf("embed.js: %d bytes, %d gzipped (budget %d)", len(js), buf.Len(), maxWidgetGzip)
	if buf.Len() > maxWidgetGzip {
		t.Errorf("embed.js is %d bytes gzipped; the budget is %d", buf.Len(), maxWidgetGzip)
	}
	if gz, _ := embedGet(t, base, "/embed.js", map[string]string{"Accept-Encoding": "gzip"}); gz.Header.Get("Content-Encoding") != "gzip" {
		t.Error("embed.js is not served gzipped")
	}

	cc := resp.Header.Get("Cache-Control")
	page, _ := embedGet(t, base, "/", nil)
	if cc != page.Header.Get("Cache-Control") || strings.Contains(cc, "immutable") {
		t.Errorf("embed.js Cache-Control = %q; want the page's short lifetime, not immutable", cc)
	}
	for h, want := range map[string]string{"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("embed.js %s = %q; want %q", h, got, want)
		}
	}
	if r, _ := embedGet(t, base, "/embed.js", map[string]string{"If-None-Match": resp.Header.Get("ETag")}); r.StatusCode != 304 {
		t.Errorf("embed.js revalidation = %d; want 304", r.StatusCode)
	}

	pinned, pjs := embedGet(t, base, srv.embed.pinned, nil)
	if pinned.StatusCode != 200 || !bytes.Equal(pjs, js) || !strings.Contains(pinned.Header.Get("Cache-Control"), "immutable") ||
		pinned.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("pinned %s = %d, same bytes %v, %v", srv.embed.pinned, pinned.StatusCode, bytes.Equal(pjs, js), pinned.Header)
	}
	sum := sha512.Sum384(js)
	if want := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); srv.embed.integrity != want {
		t.Errorf("integrity = %q; want %q", srv.embed.integrity, want)
	}
	css, _ := embedGet(t, base, srv.embed.cssPath, nil)
	if css.StatusCode != 200 || css.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("widget stylesheet = %d %v", css.StatusCode, css.Header)
	}

	src := string(js)
	if strings.Contains(src, `"__`) {
		t.Error("embed.js still has a placeholder")
	}
	for _, bad := range []string{"eval(", "Function(", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
		`"style"`, ".style.", "<style", "cookie", "localStorage", "sessionStorage", "indexedDB", "setTimeout(\"", "javascript:"} {
		if strings.Contains(src, bad) {
			t.Errorf("embed.js contains %q", bad)
		}
	}
	for _, want := range []string{"attachShadow", "adoptedStyleSheets", `"role", "status"`, "prefers-reduced-motion", "visibilitychange",
		`credentials: "omit"`} {
		if !strings.Contains(src, want) {
			t.Errorf("embed.js lacks %q", want)
		}
	}
}

// TestEmbedStatusJSON checks the document the widget reads.
func TestEmbedStatusJSON(t *testing.T) {
	_, _, base := embedServer(t, nil)
	resp, body := embedGet(t, base, "/embed/status.json", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("GET /embed/status.json = %d %v", resp.StatusCode, resp.Header)
	}
	var doc struct {
		Name       string
		Status     widgetStatus
		Journeys   []widgetItem
		Components []widgetItem
		Incidents  []widgetIncident
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Name != "Fernhill" || doc.Status != (widgetStatus{"minor", "Minor Service Outage", "minor"}) {
		t.Errorf("page: %q %+v", doc.Name, doc.Status)
	}
	want := []widgetItem{
		{ID: "shop", Name: "Shop", Status: "operational", Label: "Operational", Icon: "ok", Components: []string{"payments", "search", "delivery"}},
		{ID: "hostile", Name: hostileJourney, Status: "partial_outage", Label: "Partial outage", Icon: "partial", Severity: 3,
			Components: []string{"evil-img", "evil-svg", "evil-rtl"}},
		{ID: "search", Name: "Finding things", Status: "operational", Label: "Operational", Icon: "ok", Components: []string{"suggest"}},
	}
	if fmt.Sprint(doc.Journeys) != fmt.Sprint(want) {
		t.Errorf("journeys:\n got %+v\nwant %+v", doc.Journeys, want)
	}
	var delivery, evil widgetItem
	for _, c := range doc.Components {
		switch c.ID {
		case "delivery":
			delivery = c
		case "evil-rtl":
			evil = c
		}
	}
	if fmt.Sprint(delivery.Components) != "[tracking labels]" || evil.Name != hostileRTL {
		t.Errorf("group %+v, hostile %+v", delivery, evil)
	}
	if len(doc.Incidents) != 1 || doc.Incidents[0].Name != hostileIncident || doc.Incidents[0].URL != "/incidents/em0000000001" ||
		doc.Incidents[0].Status != "Investigating" || fmt.Sprint(doc.Incidents[0].Components) != "[evil-img]" {
		t.Errorf("incidents: %+v", doc.Incidents)
	}
}

// TestEmbedFrame checks /embed/frame's documents and headers, and that
// every other page still refuses to be framed.
func TestEmbedFrame(t *testing.T) {
	_, _, base := embedServer(t, func(o *Options) {
		o.FrameAncestors = []string{"https://help.example.com", "https://*.example.org:8443"}
	})
	wantCSP := "frame-ancestors 'self' https://help.example.com https://*.example.org:8443"
	tests := []struct {
		query  string
		status int
		want   []string
	}{
		{"", 200, []string{`<main class="w panel auto">`, "Fernhill status: </span>Minor Service Outage", "<bdi>Shop</bdi>",
			`<bdi>&lt;img src=x onerror=alert(4)&gt; journey</bdi>`, `<bdi>&#34;&gt;&lt;img src=x onerror=alert(3)&gt; Checkout &lt;b&gt;down&lt;/b&gt; ` + "\u202eoops</bdi>",
			`<meta name="color-scheme" content="light dark">`}},
		{"theme=dark", 200, []string{`<main class="w panel dark">`, `<meta name="color-scheme" content="dark">`, "<bdi>Shop</bdi>"}},
		{"journey=shop&theme=light", 200, []string{`<main class="w panel light">`, "<bdi>Shop</bdi>: Operational", "<bdi>Delivery</bdi>", "<title>Shop · Fernhill status</title>"}},
		{"component=delivery", 200, []string{"<bdi>Delivery</bdi>: Operational", "<bdi>Tracking</bdi>", "<bdi>Labels</bdi>"}},
		{"component=evil-img", 200, []string{"<bdi>&lt;img src=x onerror=alert(1)&gt;</bdi>: Partial outage", "/incidents/em0000000001"}},
		{"component=evil-svg", 200, []string{"<bdi>&#34;&gt;&lt;svg onload=alert(2)&gt;</bdi>: Operational"}},
		{"component=evil-rtl", 200, []string{"<bdi>Admin \u202egnp.exe</bdi>: Operational"}},
		{"journey=search", 200, []string{"<bdi>Finding things</bdi>"}},
		{"component=nope", 404, []string{"No such component or journey"}},
		{"journey=payments", 404, []string{"No such component or journey"}},
		{"theme=wide", 400, []string{"not valid"}},
		{"component=payments&journey=shop", 400, []string{"not valid"}},
	}
	for _, tt := range tests {
		resp, body := embedGet(t, base, "/embed/frame?"+tt.query, nil)
		if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("frame?%s = %d %s; want %d", tt.query, resp.StatusCode, resp.Header.Get("Content-Type"), tt.status)
			continue
		}
		for _, w := range tt.want {
			if !bytes.Contains(body, []byte(w)) {
				t.Errorf("frame?%s lacks %q", tt.query, w)
			}
		}
		if bytes.Contains(body, []byte("<script")) || bytes.Contains(body, []byte("<img")) || bytes.Contains(body, []byte(" style=")) {
			t.Errorf("frame?%s has a script, an image or an inline style", tt.query)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.HasSuffix(csp, wantCSP) || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
			t.Errorf("frame?%s CSP = %q; want no script and %q", tt.query, csp, wantCSP)
		}
		if xfo := resp.Header.Get("X-Frame-Options"); xfo != "" {
			t.Errorf("frame?%s X-Frame-Options = %q; it would block the allowed origins", tt.query, xfo)
		}
	}
	for _, p := range []string{"/", "/history", "/embed", "/incidents/em0000000001", "/nope", "/embed/status.json", "/badge/payments.svg",
		"/api/v2/summary.json"} {
		resp, _ := embedGet(t, base, p, nil)
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s CSP = %q; want frame-ancestors 'none'", p, csp)
		}
	}
}

// TestEmbedFrameAncestorsChecked refuses to start with an allowlist entry
// that is not an origin: it goes into a header.
func TestEmbedFrameAncestorsChecked(t *testing.T) {
	for _, bad := range []string{"https://help.example.com/path", "https://a.example; script-src *", "*", "'self'", "help.example.com",
		"https://a.example\r\nSet-Cookie: x=y", "https://"} {
		o := fixtureOptions()
		o.FrameAncestors = []string{bad}
		if _, err := New(embedStore(t), o); err == nil {
			t.Errorf("New with frame ancestor %q succeeded", bad)
		}
	}
}

// TestEmbedPage checks /embed and the footer link to it.
func TestEmbedPage(t *testing.T) {
	srv, _, base := embedServer(t, func(o *Options) { o.FrameAncestors = []string{"https://help.example.com"} })
	resp, body := embedGet(t, base, "/embed", nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-src 'self'") ||
		resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("GET /embed = %d %v", resp.StatusCode, resp.Header)
	}
	text := html.UnescapeString(string(body))
	for _, w := range []string{
		`<script async src="https://status.fernhill.example/embed.js"></script>`,
		`<statusd-widget layout="panel" journeys="shop" components="payments" theme="auto"></statusd-widget>`,
		"https://status.fernhill.example" + srv.embed.pinned, srv.embed.integrity,
		`<statusd-widget layout="panel" journeys="shop"></statusd-widget>`,
		`<iframe src="/embed/frame?journey=shop"`, "<code>https://help.example.com</code>",
		`[![Payments status](https://status.fernhill.example/badge/payments.svg)](https://status.fernhill.example/)`,
		`<img src="/badge/payments/uptime.svg?days=30"`, `<img src="/badge/payments.svg?theme=dark"`,
		`<td><code>evil-img</code></td>`, `<script src="/embed.js" async></script>`,
	} {
		if !strings.Contains(text, w) && !bytes.Contains(body, []byte(w)) {
			t.Errorf("/embed lacks %q", w)
		}
	}
	if !bytes.Contains(body, []byte(`&lt;img src=x onerror=alert(1)&gt;`)) || bytes.Contains(body, []byte("<img src=x")) ||
		bytes.Contains(body, []byte("<svg onload")) {
		t.Error("/embed let a hostile name through")
	}
	for _, p := range []string{"/", "/history", "/nope"} {
		_, page := embedGet(t, base, p, nil)
		if !bytes.Contains(page, []byte(`<a href="/embed">`)) {
			t.Errorf("%s has no footer link to /embed", p)
		}
	}
}

// TestBadgeContrast checks every badge colour pair against WCAG's 4.5:1.
func TestBadgeContrast(t *testing.T) {
	lum := func(hex string) float64 {
		var r, g, b uint8
		if _, err := fmt.Sscanf(hex, "#%02x%02x%02x", &r, &g, &b); err != nil {
			t.Fatalf("colour %q: %v", hex, err)
		}
		lin := func(c uint8) float64 {
			s := float64(c) / 255
			if s <= 0.04045 {
				return s / 12.92
			}
			return math.Pow((s+0.055)/1.055, 2.4)
		}
		return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
	}
	ratio := func(a, b string) float64 {
		la, lb := lum(a), lum(b)
		return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
	}
	for class, themes := range badgePalette {
		for i, c := range themes {
			for _, p := range [][2]string{{c.labelFG, c.labelBG}, {c.valueFG, c.valueBG}} {
				if r := ratio(p[0], p[1]); r < 4.5 {
					t.Errorf("%s (theme %d): %s on %s has contrast %.2f; want 4.5", class, i, p[0], p[1], r)
				}
			}
		}
	}
}

func TestBadgeText(t *testing.T) {
	for in, want := range map[string]string{
		`<a href="x">&'`:     "&lt;a href=&quot;x&quot;&gt;&amp;&apos;",
		"tab\there\nnl":      "tab here nl",
		"nul\x00\x1b\ufffe!": "nul\ufffd\ufffd\ufffd!",
		"bad \xff utf8":      "bad \ufffd utf8",
		"\u202egnp.exe":      "\u202egnp.exe",
	} {
		if got := xmlText(in); got != want {
			t.Errorf("xmlText(%q) = %q; want %q", in, got, want)
		}
	}
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly ten", 11, "exactly ten"},
		{"a longer name than that", 10, "a longer…"},
		{"family 👨\u200d👩\u200d👧 here", 10, "family…"},
		{"thumbs 👍🏽 up", 9, "thumbs…"},
		{"e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301", 6, "e\u0301e\u0301…"},
	} {
		if got := truncateRunes(tt.in, tt.n); got != tt.want {
			t.Errorf("truncateRunes(%q, %d) = %q; want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// FuzzBadgeSVG draws badges with arbitrary texts: always XML, with the title
// carrying the text.
func FuzzBadgeSVG(f *testing.F) {
	for _, s := range []string{"Payments", hostileImg, hostileSVG, hostileRTL, "\x00\ufffe\xff", strings.Repeat("ب", 300), "]]>", "&amp;"} {
		f.Add(s, "Operational", false)
	}
	f.Fuzz(func(t *testing.T, label, value string, dark bool) {
		b := badge{label: label, value: value, title: isolate(label) + ": " + value, class: "ok"}
		out := b.svg(dark)
		var got svgBadge
		d := xml.NewDecoder(bytes.NewReader(out))
		d.Strict = true
		if err := d.Decode(&got); err != nil {
			t.Fatalf("badge(%q, %q) is not XML: %v", label, value, err)
		}
		if got.Role != "img" || len(got.Texts) != 2 || got.Width <= 0 {
			t.Fatalf("badge(%q, %q) = %+v", label, value, got)
		}
		if utf8.ValidString(label) && !strings.ContainsFunc(label, func(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 || r >= 0xfffe }) &&
			got.Title != b.title && !strings.ContainsAny(value, "\t\n\r") && utf8.ValidString(value) &&
			!strings.ContainsFunc(value, func(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 || r >= 0xfffe }) {
			t.Fatalf("badge title %q; want %q", got.Title, b.title)
		}
	})
}

// TestEmbedGolden compares the embed documents of the fixture store (the one
// of TestGolden) with their golden files.
func TestEmbedGolden(t *testing.T) {
	srv, _ := newFixtureServer(t)
	for _, g := range []struct{ path, name string }{
		{"/embed", "embed.html"},
		{"/embed/frame", "embed-frame.html"},
		{"/embed/frame?journey=checkout&theme=dark", "embed-frame-journey-dark.html"},
		{"/embed/frame?component=nope", "embed-frame-404.html"},
		{"/embed/status.json", "embed-status.json"},
		{"/badge.svg", "badge-page.svg"},
		{"/badge/search-index.svg", "badge-component.svg"},
		{"/badge/idp.svg?theme=dark", "badge-group-dark.svg"},
		{"/badge/rest/uptime.svg?days=90", "badge-uptime.svg"},
		{"/badge/checkout/uptime.svg?days=30&theme=dark", "badge-journey-uptime-dark.svg"},
		{"/badge/nope.svg", "badge-404.svg"},
		{"/badge/rest/uptime.svg?days=-1", "badge-400.svg"},
	} {
		t.Run(g.name, func(t *testing.T) {
			resp, err := srv.App().Test(httptest.NewRequest("GET", g.path, nil), -1)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(g.name, ".json") {
				var buf bytes.Buffer
				if err := json.Indent(&buf, body, "", "  "); err != nil {
					t.Fatalf("%s is not JSON: %v", g.path, err)
				}
				buf.WriteByte('\n')
				body = buf.Bytes()
			}
			// Hashed names and the integrity value change with the assets.
			body = embedAssetHash.ReplaceAll(body, []byte("/assets/$1.HASH.$2"))
			body = integrityRe.ReplaceAll(body, []byte("sha384-HASH"))
			golden(t, g.name, body)
		})
	}
}

var (
	embedAssetHash = regexp.MustCompile(`/assets/(style|app|embed|embed-page)\.[0-9a-f]{10}\.(css|js)`)
	integrityRe    = regexp.MustCompile(`sha384-(?:[A-Za-z0-9/=+]|&#43;)+`)
)

// TestEmbedStale closes the store under a running server: the widget's
// JSON and the frames keep their data and say it may be out of date.
func TestEmbedStale(t *testing.T) {
	srv, st, base := embedServer(t, nil)
	_, before := embedGet(t, base, "/badge/payments.svg", nil)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, body := embedGet(t, base, "/embed/status.json", nil)
	if !bytes.Contains(body, []byte(`"stale":true`)) || !bytes.Contains(body, []byte(`"id":"payments"`)) {
		t.Errorf("status.json after store loss: %s", body)
	}
	_, frame := embedGet(t, base, "/embed/frame?component=payments", nil)
	if !bytes.Contains(frame, []byte("may be out of date")) || !bytes.Contains(frame, []byte("<bdi>Payments</bdi>: Operational")) {
		t.Errorf("frame after store loss:\n%s", frame)
	}
	if _, after := embedGet(t, base, "/badge/payments.svg", nil); !bytes.Equal(before, after) {
		t.Error("the badge changed with the store gone")
	}
}
