package server

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/assets"
	"github.com/statusd/statusd/data"
)

// Embeds put the status where customers already are (a help centre, a
// product's own pages, a README):
//
//	/embed.js             the widget script: <statusd-widget> elements, Shadow DOM,
//	                      polls /embed/status.json; stable URL, cached briefly
//	/assets/embed.H.js    the same script at a content-hashed, immutable URL for pinning
//	/assets/embed.H.css   the widget's and frames' stylesheet
//	/embed/status.json    what the widget reads (CORS)
//	/embed/frame          a no-JavaScript page made to be framed, only by the
//	                      origins in Options.FrameAncestors (and the page itself);
//	                      a pill when the frame is at most 100 px high, else a panel
//	/embed                how to embed, with live previews and snippets
//
// and the badges of badge.go. Like every public document they are rendered
// with the snapshot; a request only picks bytes.

// embedState is what embedDocs keeps between rebuilds: what changes only
// with the binary and the options, loaded at the first rebuild, and the
// badges and frames last drawn. Guarded by Server.buildMu.
type embedState struct {
	ready     bool
	static    []doc
	cssPath   string // the widget's and frames' stylesheet
	pinned    string // the versioned script
	integrity string // its Subresource Integrity value
	frameCSS  string // the frames' own stylesheet, after cssPath
	pageCSS   string // the /embed page's stylesheet and script
	pageJS    string
	frameCSP  string
	pageCSP   string

	// Rendered badges and frames of the last rebuild, by what they show
	// (badge.go, frameDocs): a rebuild draws only what changed.
	badges map[badgeMemo][]byte
	frames map[string][3][]byte // auto, light, dark
}

// The widget's refresh interval: the default, and the floor a refresh
// attribute cannot go below (it exists for tests and impatient hosts; 10 s
// still bounds the load a busy help centre puts on the page).
const (
	widgetRefreshSeconds    = 60
	widgetMinRefreshSeconds = 10
)

// embedIcons are the status icons as SVG path data, in a 16×16 box except
// maint (24×24); they are the shapes of the page's sprite.
var embedIcons = map[string]string{
	"ok":       "M8 0a8 8 0 1 0 0 16A8 8 0 0 0 8 0zM3.5 8.2l1.4-1.4 1.9 1.9 4.3-4.3 1.4 1.4-5.7 5.7z",
	"degraded": "M8 0a8 8 0 1 0 0 16A8 8 0 0 0 8 0zM3.5 7h9v2h-9z",
	"minor":    "M8 0a8 8 0 1 0 0 16A8 8 0 0 0 8 0zM7 3.5h2v5.5H7zm0 7h2v2H7z",
	"partial":  "M8 .5l8 15H0zM7 5.5h2v5H7zm0 6.2h2v2H7z",
	"major":    "M4.7 0h6.6L16 4.7v6.6L11.3 16H4.7L0 11.3V4.7zm-.1 6l1.4-1.4 2 2 2-2 1.4 1.4-2 2 2 2-1.4 1.4-2-2-2 2-1.4-1.4 2-2z",
	"none":     "M8 0a8 8 0 1 0 0 16A8 8 0 0 0 8 0zm0 2.5a5.5 5.5 0 1 1 0 11 5.5 5.5 0 0 1 0-11z",
	"maint":    "M14.7 6.3a1 1 0 0 0 0 1.4l1.6 1.6a1 1 0 0 0 1.4 0l3.8-3.8a6 6 0 0 1-7.9 7.9l-6.9 6.9a2.1 2.1 0 0 1-3-3l6.9-6.9a6 6 0 0 1 7.9-7.9z",
}

// iconClass maps a status class to its icon: critical shares major's.
func iconClass(class string) string {
	if class == "critical" {
		return "major"
	}
	if _, ok := embedIcons[class]; ok {
		return class
	}
	return "none"
}

// embedIcon is an icon as inline SVG, hidden from assistive technology: the
// text next to it says the same.
func embedIcon(class string) template.HTML {
	k := iconClass(class)
	box := "16"
	if k == "maint" {
		box = "24"
	}
	return template.HTML(`<svg class="i" viewBox="0 0 ` + box + ` ` + box + `" aria-hidden="true" focusable="false"><path fill-rule="evenodd" d="` +
		embedIcons[k] + `"/></svg>`) //nolint:gosec // constant markup
}

// originPattern is what the server accepts in Options.FrameAncestors: a
// scheme, a host (optionally *. for any subdomain) and a port. The
// configuration checks more; this keeps anything else out of the header.
var originPattern = regexp.MustCompile(`^https?://(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?$`)

// initEmbed loads what the embeds need from the binary and the options.
func (s *Server) initEmbed() error {
	e := &s.embed
	ancestors := []string{"'self'"}
	for _, o := range s.opts.FrameAncestors {
		if !originPattern.MatchString(o) {
			return fmt.Errorf("frame ancestor %q is not an origin such as https://help.example.com", o)
		}
		ancestors = append(ancestors, o)
	}
	e.frameCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors " +
		strings.Join(ancestors, " ")
	// The /embed page shows the widget and a frame of the page itself.
	e.pageCSP = contentSecurityPolicy + "; frame-src 'self'"

	css, err := readAsset("css/embed.css", "/assets/embed.", ".css", "text/css; charset=utf-8")
	if err != nil {
		return err
	}
	e.cssPath = css.Path
	src, err := fs.ReadFile(assets.FS, "js/embed.js")
	if err != nil {
		return fmt.Errorf("load asset js/embed.js: %w", err)
	}
	cssJSON, _ := json.Marshal(compactCSS(css.Body)) // a string always marshals
	iconsJSON, _ := json.Marshal(embedIcons)
	js := compactJS(src)
	for _, r := range [][2]string{
		{`"__CSS__"`, string(cssJSON)},
		{`"__CSS_URL__"`, `"` + css.Path + `"`},
		{`"__ICONS__"`, string(iconsJSON)},
		{`"__REFRESH__"`, fmt.Sprint(widgetRefreshSeconds)},
		{`"__MIN_REFRESH__"`, fmt.Sprint(widgetMinRefreshSeconds)},
	} {
		if !bytes.Contains(js, []byte(r[0])) {
			return fmt.Errorf("load asset js/embed.js: placeholder %s is missing", r[0])
		}
		js = bytes.ReplaceAll(js, []byte(r[0]), []byte(r[1]))
	}
	e.pinned = hashedPath("/assets/embed.", ".js", js)
	sum := sha512.Sum384(js)
	e.integrity = "sha384-" + base64.StdEncoding.EncodeToString(sum[:])

	frameCSS, err := readAsset("css/embed-frame.css", "/assets/embed-frame.", ".css", "text/css; charset=utf-8")
	if err != nil {
		return err
	}
	e.frameCSS = frameCSS.Path
	pageCSS, err := readAsset("css/embed-page.css", "/assets/embed-page.", ".css", "text/css; charset=utf-8")
	if err != nil {
		return err
	}
	pageJS, err := readAsset("js/embed-page.js", "/assets/embed-page.", ".js", "text/javascript; charset=utf-8")
	if err != nil {
		return err
	}
	e.pageCSS, e.pageJS = pageCSS.Path, pageJS.Path

	// Other sites load the script, the stylesheet and (with SRI, which needs
	// CORS) the pinned script; pages isolated with COEP need CORP to.
	shared := [][2]string{{"Access-Control-Allow-Origin", "*"}, {"Cross-Origin-Resource-Policy", "cross-origin"}}
	const jsType = "text/javascript; charset=utf-8"
	e.static = []doc{
		// The stable URL takes the page's short lifetime and revalidates.
		{path: "/embed.js", kind: kindOwn, contentType: jsType, body: js, tags: []string{"embed"}, headers: shared},
		{path: e.pinned, kind: kindAsset, contentType: jsType, body: js, headers: shared},
		{path: css.Path, kind: kindAsset, contentType: css.ContentType, body: css.Body, headers: shared},
		{path: frameCSS.Path, kind: kindAsset, contentType: frameCSS.ContentType, body: frameCSS.Body},
		{path: pageCSS.Path, kind: kindAsset, contentType: pageCSS.ContentType, body: pageCSS.Body},
		{path: pageJS.Path, kind: kindAsset, contentType: pageJS.ContentType, body: pageJS.Body},
	}
	e.ready = true
	return nil
}

// compactJS drops whole-line comments (// … and /* … */ blocks that start
// a line) and indentation from the widget script, which keeps its readable
// source within its size budget. Code is untouched: a line that starts with
// code keeps everything after it, strings included.
func compactJS(src []byte) []byte {
	var out bytes.Buffer
	block := false
	for _, line := range strings.Split(string(src), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case block:
			block = !strings.HasSuffix(t, "*/")
			continue
		case strings.HasPrefix(t, "/*"):
			block = !strings.HasSuffix(t, "*/")
			continue
		case strings.HasPrefix(t, "//"), t == "":
			continue
		}
		out.WriteString(t)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

var cssComment = regexp.MustCompile(`(?s)/\*.*?\*/`)

// compactCSS drops the comments and line breaks of the widget stylesheet for
// its copy inside the script.
func compactCSS(b []byte) string {
	return strings.ReplaceAll(strings.TrimSpace(cssComment.ReplaceAllString(string(b), "")), "\n", "")
}

// embedRoutes adds the routes of the embeds and badges.
func (s *Server) embedRoutes(app *fiber.App) {
	app.Get("/badge.svg", s.serveBadge)
	app.Get("/badge/*", s.serveBadge)
	app.Get("/embed/frame", s.serveFrame)
	for _, p := range []string{"/embed.js", "/embed", "/embed/*"} {
		app.Get(p, s.servePublic)
	}
}

// embedDocs renders the widget's JSON, every frame, every badge and the
// /embed page from m.
func (s *Server) embedDocs(m *model) ([]doc, error) {
	if !s.embed.ready {
		if err := s.initEmbed(); err != nil {
			return nil, fmt.Errorf("embeds: %w", err)
		}
	}
	out := append([]doc{}, s.embed.static...)
	w, err := json.Marshal(widgetData(m))
	if err != nil {
		return nil, fmt.Errorf("render /embed/status.json: %w", err)
	}
	out = append(out, doc{path: "/embed/status.json", kind: kindJSON, contentType: "application/json; charset=utf-8", body: w,
		tags: []string{"embed"}, headers: [][2]string{{"Cross-Origin-Resource-Policy", "cross-origin"}}})
	frames, err := s.frameDocs(m)
	if err != nil {
		return nil, err
	}
	out = append(out, frames...)
	out = append(out, s.badgeDocs(m)...)
	page, err := s.embedPage(m)
	if err != nil {
		return nil, err
	}
	return append(out, page), nil
}

// widgetDoc is /embed/status.json: just what the widget shows, with the
// labels and icons already chosen so the script stays small.
type widgetDoc struct {
	Name       string           `json:"name"`
	Status     widgetStatus     `json:"status"`
	Journeys   []widgetItem     `json:"journeys"`
	Components []widgetItem     `json:"components"`
	Incidents  []widgetIncident `json:"incidents"`
	UpdatedAt  spTime           `json:"updated_at"`
	// Stale is set when the store could not be read: the widget then says
	// that what it shows may be out of date, as the page does.
	Stale bool `json:"stale,omitempty"`
}

type widgetStatus struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
	Icon        string `json:"icon"`
}

// widgetItem is a journey or a component. Components lists a journey's
// top-level components (groups and ungrouped ones) or a group's children.
type widgetItem struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Status     string   `json:"status"`
	Label      string   `json:"label"`
	Icon       string   `json:"icon"`
	Severity   int      `json:"sev"`
	Components []string `json:"components,omitempty"`
}

// widgetIncident is an open incident or a maintenance in progress.
type widgetIncident struct {
	Name       string   `json:"name"`
	URL        string   `json:"url"` // path on the status page
	Kind       string   `json:"kind"`
	Status     string   `json:"status"` // its label, e.g. "Investigating"
	Components []string `json:"components"`
}

func widgetData(m *model) widgetDoc {
	ps := pageStatusView(m.status)
	w := widgetDoc{Name: m.page.Name, Status: widgetStatus{Indicator: ps.Indicator, Description: ps.Description, Icon: iconClass(ps.Class)},
		Journeys: []widgetItem{}, Components: []widgetItem{}, Incidents: []widgetIncident{}, UpdatedAt: spTime(m.updatedAt), Stale: m.stale}
	item := func(id, name string, st data.ComponentStatus) widgetItem {
		v := statusOf(st)
		return widgetItem{ID: id, Name: name, Status: v.Value, Label: v.Label, Icon: iconClass(v.Class), Severity: st.Severity()}
	}
	for _, j := range m.snap.Journeys {
		it := item(j.ID, j.Name, m.journeyStatus[j.ID])
		it.Components = []string{}
		for _, c := range m.snap.Components {
			if c.JourneyID == j.ID && c.GroupID == "" {
				it.Components = append(it.Components, c.ID)
			}
		}
		w.Journeys = append(w.Journeys, it)
	}
	for _, c := range m.snap.Components {
		it := item(c.ID, c.Name, c.Status)
		if c.IsGroup {
			it.Components = append([]string{}, m.children[c.ID]...)
		}
		w.Components = append(w.Components, it)
	}
	for _, in := range activeIncidents(m) {
		w.Incidents = append(w.Incidents, widgetIncident{Name: in.Name, URL: "/incidents/" + in.ID, Kind: string(in.Kind),
			Status: in.Status.Label(), Components: append([]string{}, in.ComponentIDs...)})
	}
	return w
}

// activeIncidents are the open incidents, then the maintenance in progress,
// as on the front page.
func activeIncidents(m *model) []data.Incident {
	return append(append([]data.Incident{}, m.openIncidents...), m.activeMaint...)
}

// frameRequest is a parsed /embed/frame query. There is no layout: the
// frame is a one-line pill when it is at most 100 px high, else a panel
// (embed-frame.css), so the host chooses with the frame's height.
type frameRequest struct {
	component, journey string // at most one is set; neither is the whole page
	theme              string // light, dark or auto
}

// parseFrameRequest parses the query of /embed/frame. Parameters it does not
// know are ignored (hosts add cache busters); known ones must appear once,
// with a valid value.
func parseFrameRequest(rawQuery string) (r frameRequest, err error) {
	r.theme = "auto"
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return r, &queryError{"the query is not URL-encoded"}
	}
	for key, vals := range q {
		switch key {
		case "component", "journey", "theme":
		default:
			continue
		}
		if len(vals) != 1 {
			return r, &queryError{key + " is given more than once"}
		}
		v := vals[0]
		switch key {
		case "component", "journey":
			if data.ValidateID(key, v) != nil {
				return r, &queryError{key + " is not an id"}
			}
			if key == "component" {
				r.component = v
			} else {
				r.journey = v
			}
		case "theme":
			if v != "light" && v != "dark" && v != "auto" {
				return r, &queryError{"theme must be light, dark or auto"}
			}
			r.theme = v
		}
	}
	if r.component != "" && r.journey != "" {
		return r, &queryError{"give a component or a journey, not both"}
	}
	return r, nil
}

// key is the snapshot key of the frame r names.
func (r frameRequest) key() string {
	q := "/embed/frame?"
	if r.component != "" {
		q += "component=" + r.component + "&"
	}
	if r.journey != "" {
		q += "journey=" + r.journey + "&"
	}
	return q + "theme=" + r.theme
}

// Keys of the frame error pages; no request path can name them.
const (
	frameNotFoundKey   = "frame 404"
	frameBadRequestKey = "frame 400"
)

// serveFrame answers /embed/frame from the snapshot.
func (s *Server) serveFrame(c *fiber.Ctx) error {
	snap := s.snap.Load()
	key := frameBadRequestKey
	if r, err := parseFrameRequest(string(c.Request().URI().QueryString())); err == nil {
		key = r.key()
		if snap.entries[key] == nil {
			key = frameNotFoundKey
		}
	}
	writeEntry(c, snap.entries[key])
	return nil
}

// frameView is what templates/page/embed_frame.html receives.
type frameView struct {
	Lang      string
	Title     string
	CSS       []string // stylesheets: the widget's and the frame's
	Site      string   // the page's name
	Head      frameItem
	Items     []frameItem
	Incidents []frameIncident
	Error     string // set on the error frames
	Stale     bool   // the store could not be read: the data may be old
}

// memoKey is everything the rendered frame depends on, for frameDocs to
// reuse the bytes of the previous rebuild.
func (v *frameView) memoKey() string {
	var b strings.Builder
	add := func(ss ...string) {
		for _, s := range ss {
			b.WriteString(s)
			b.WriteByte(0)
		}
	}
	add(v.Lang, v.Title, v.Site, v.Error, v.Head.Name, v.Head.Label, v.Head.Class, fmt.Sprint(v.Stale))
	add(v.CSS...)
	for _, it := range v.Items {
		add(it.Name, it.Label, it.Class)
	}
	b.WriteByte(1)
	for _, in := range v.Incidents {
		add(in.Name, in.URL, in.Status, fmt.Sprint(in.Maintenance))
	}
	return b.String()
}

type frameItem struct {
	Name  string // "" for the page-wide status
	Label string
	Class string // status class: ok, degraded, partial, major, maint, minor, critical, none
	Icon  template.HTML
}

type frameIncident struct {
	Name, URL, Status string
	Maintenance       bool
}

// smallFrame is the size under which a frame is served without
// precompression.
const smallFrame = 2048

// frameDocs renders /embed/frame for the whole page, each journey and each
// component, in three themes.
func (s *Server) frameDocs(m *model) ([]doc, error) {
	var out []doc
	headers := [][2]string{{"Content-Security-Policy", s.embed.frameCSP}}
	base := frameView{Lang: m.page.Language, CSS: []string{s.embed.cssPath, s.embed.frameCSS}, Site: m.page.Name, Stale: m.stale}
	render := func(key string, status int, v frameView, tags ...string) error {
		var buf bytes.Buffer
		if err := s.tmpl.ExecuteTemplate(&buf, "embed_frame.html", &v); err != nil {
			return fmt.Errorf("render %s: %w", key, err)
		}
		out = append(out, doc{path: key, kind: kindOwn, status: status, contentType: "text/html; charset=utf-8", body: buf.Bytes(),
			tags: append([]string{"html", "embed"}, tags...), headers: headers})
		return nil
	}
	// The three themes differ only in the color-scheme meta element and the
	// class of <main>, both before any text from the data: render once and
	// replace them.
	autoMarks := [][]byte{[]byte(`<meta name="color-scheme" content="light dark">`), []byte(`<main class="w panel auto">`)}
	themes := []string{"auto", "light", "dark"}
	prev, next := s.embed.frames, make(map[string][3][]byte, len(s.embed.frames))
	defer func() { s.embed.frames = next }()
	variants := func(r frameRequest, v frameView, tags ...string) error {
		key := v.memoKey()
		bodies, ok := prev[key]
		if !ok {
			var buf bytes.Buffer
			if err := s.tmpl.ExecuteTemplate(&buf, "embed_frame.html", &v); err != nil {
				return fmt.Errorf("render %s: %w", r.key(), err)
			}
			auto := buf.Bytes()
			for _, m := range autoMarks {
				if bytes.Count(auto, m) != 1 {
					return fmt.Errorf("render %s: the frame template must have %s exactly once", r.key(), m)
				}
			}
			for i, theme := range themes {
				bodies[i] = auto
				if theme != "auto" {
					bodies[i] = bytes.Replace(auto, autoMarks[0], []byte(`<meta name="color-scheme" content="`+theme+`">`), 1)
					bodies[i] = bytes.Replace(bodies[i], autoMarks[1], []byte(`<main class="w panel `+theme+`">`), 1)
				}
			}
		}
		next[key] = bodies
		for i, theme := range themes {
			r.theme = theme
			// A frame of one component is about a kilobyte: compressing
			// thousands of them at every start would cost more than the few
			// hundred bytes it saves each reader.
			out = append(out, doc{path: r.key(), kind: kindOwn, contentType: "text/html; charset=utf-8", body: bodies[i],
				tags: append([]string{"html", "embed"}, tags...), headers: headers, identityOnly: len(bodies[i]) < smallFrame})
		}
		return nil
	}
	errFrame := func(key string, status int, msg string) error {
		v := base
		v.Title, v.Error = msg+" · "+m.page.Name+" status", msg
		v.Head = frameItem{Label: msg, Class: "none", Icon: embedIcon("none")}
		return render(key, status, v)
	}
	if err := errFrame(frameNotFoundKey, http.StatusNotFound, "No such component or journey"); err != nil {
		return nil, err
	}
	if err := errFrame(frameBadRequestKey, http.StatusBadRequest, "This frame's address is not valid"); err != nil {
		return nil, err
	}

	active := activeIncidents(m)
	incidents := func(ids map[string]bool) []frameIncident {
		var l []frameIncident
		for _, in := range active {
			touches := ids == nil
			for _, id := range in.ComponentIDs {
				touches = touches || ids[id]
			}
			if touches {
				l = append(l, frameIncident{Name: in.Name, URL: "/incidents/" + in.ID, Status: in.Status.Label(),
					Maintenance: in.Kind == data.KindMaintenance})
			}
		}
		return l
	}
	item := func(name string, st data.ComponentStatus) frameItem {
		v := statusOf(st)
		return frameItem{Name: name, Label: v.Label, Class: v.Class, Icon: embedIcon(v.Class)}
	}

	// The whole page: its status, the journeys, every active incident.
	ps := pageStatusView(m.status)
	v := base
	v.Title = m.page.Name + " status"
	v.Head = frameItem{Label: ps.Description, Class: ps.Class, Icon: embedIcon(ps.Class)}
	for _, j := range m.snap.Journeys {
		v.Items = append(v.Items, item(j.Name, m.journeyStatus[j.ID]))
	}
	v.Incidents = incidents(nil)
	if err := variants(frameRequest{}, v, "page"); err != nil {
		return nil, err
	}
	for _, j := range m.snap.Journeys {
		v := base
		v.Title = j.Name + " · " + m.page.Name + " status"
		v.Head = item(j.Name, m.journeyStatus[j.ID])
		ids := map[string]bool{}
		for _, c := range m.snap.Components {
			if c.JourneyID != j.ID {
				continue
			}
			ids[c.ID] = true
			if c.GroupID == "" && !(c.OnlyShowIfDegraded && c.Status == data.Operational) {
				v.Items = append(v.Items, item(c.Name, c.Status))
			}
		}
		v.Incidents = incidents(ids)
		if err := variants(frameRequest{journey: j.ID}, v, "journey-"+j.ID); err != nil {
			return nil, err
		}
	}
	byID := map[string]data.Component{}
	for _, c := range m.snap.Components {
		byID[c.ID] = c
	}
	for _, c := range m.snap.Components {
		v := base
		v.Title = c.Name + " · " + m.page.Name + " status"
		v.Head = item(c.Name, c.Status)
		ids := map[string]bool{c.ID: true}
		for _, ch := range m.children[c.ID] {
			ids[ch] = true
			v.Items = append(v.Items, item(byID[ch].Name, byID[ch].Status))
		}
		v.Incidents = incidents(ids)
		if err := variants(frameRequest{component: c.ID}, v, "component-"+c.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// embedPageView is what templates/page/embed.html receives: the shared page
// view (for the layout) and the page's own.
type embedPageView struct {
	*pageView
	Embed *embedView
}

type embedView struct {
	PageCSS, PageJS   string
	ScriptURL, Pinned string // absolute URLs of the stable and the versioned script
	Integrity         string
	Base              string // absolute URL of the page, for snippets
	RefreshSeconds    int
	MinRefresh        int
	FrameAncestors    []string
	UptimeWindows     []int
	Journeys          []embedJourney
	Example           embedExample
	Snippets          embedSnippets
}

type embedJourney struct {
	ID, Name   string
	Components []embedComponent
}

type embedComponent struct {
	ID, Name string
	Group    bool
	Child    bool
}

// embedExample is what the previews and snippets show: a journey and a
// component of this page.
type embedExample struct {
	JourneyID, JourneyName     string
	ComponentID, ComponentName string
	ComponentStatus            string // its label, for the preview's alt text
	JourneyStatus              string
	PageStatus                 string
}

type embedSnippets struct {
	Pill, Panel, Pinned        embedSnip
	Frame, FramePill           embedSnip
	BadgeHTML, BadgeMarkdown   embedSnip
	UptimeHTML, UptimeMarkdown embedSnip
	PageBadgeHTML              embedSnip
}

// embedSnip is one snippet: the id of its element, for the Copy button, and
// the code as text.
type embedSnip struct{ ID, Code string }

// embedPage renders /embed.
func (s *Server) embedPage(m *model) (doc, error) {
	base := m.page.URL
	if base == "" {
		base = "https://status.example.com"
	}
	e := &embedView{PageCSS: s.embed.pageCSS, PageJS: s.embed.pageJS, ScriptURL: base + "/embed.js", Pinned: base + s.embed.pinned,
		Integrity: s.embed.integrity, Base: base, RefreshSeconds: widgetRefreshSeconds, MinRefresh: widgetMinRefreshSeconds,
		FrameAncestors: s.opts.FrameAncestors, UptimeWindows: s.uptimeWindowsOffered()}
	for _, j := range m.snap.Journeys {
		ej := embedJourney{ID: j.ID, Name: j.Name}
		for _, c := range m.snap.Components {
			if c.JourneyID == j.ID {
				ej.Components = append(ej.Components, embedComponent{ID: c.ID, Name: c.Name, Group: c.IsGroup, Child: c.GroupID != ""})
			}
		}
		e.Journeys = append(e.Journeys, ej)
	}
	ex := &e.Example
	ex.PageStatus = pageStatusView(m.status).Description
	if len(m.snap.Journeys) > 0 {
		j := m.snap.Journeys[0]
		ex.JourneyID, ex.JourneyName, ex.JourneyStatus = j.ID, j.Name, statusOf(m.journeyStatus[j.ID]).Label
	}
	for _, c := range m.snap.Components {
		if !c.IsGroup {
			ex.ComponentID, ex.ComponentName, ex.ComponentStatus = c.ID, c.Name, statusOf(c.Status).Label
			break
		}
	}
	attr := template.HTMLEscapeString
	sn := &e.Snippets
	script := `<script async src="` + attr(e.ScriptURL) + `"></script>` + "\n"
	sn.Pill = embedSnip{"snip-pill", script + `<statusd-widget></statusd-widget>`}
	sn.Panel = embedSnip{"snip-panel", script + `<statusd-widget layout="panel" journeys="` + attr(ex.JourneyID) +
		`" components="` + attr(ex.ComponentID) + `" theme="auto"></statusd-widget>`}
	sn.Pinned = embedSnip{"snip-pinned", `<script async src="` + attr(e.Pinned) + `"` + "\n  " + `integrity="` + e.Integrity +
		`" crossorigin="anonymous"></script>`}
	sn.Frame = embedSnip{"snip-frame", `<iframe src="` + attr(base) + `/embed/frame?journey=` + attr(ex.JourneyID) + `" title="` +
		attr(ex.JourneyName) + ` status" width="400" height="240"></iframe>`}
	sn.FramePill = embedSnip{"snip-frame-pill", `<iframe src="` + attr(base) + `/embed/frame" title="` + attr(m.page.Name) +
		` status" width="360" height="56"></iframe>`}
	badgeURL := base + "/badge/" + ex.ComponentID + ".svg"
	sn.BadgeHTML = embedSnip{"snip-badge-html", `<a href="` + attr(base) + `/"><img src="` + attr(badgeURL) + `" alt="` +
		attr(ex.ComponentName) + ` status"></a>`}
	sn.BadgeMarkdown = embedSnip{"snip-badge-md", `[![` + markdownText(ex.ComponentName) + ` status](` + badgeURL + `)](` + base + `/)`}
	uptimeURL := base + "/badge/" + ex.ComponentID + "/uptime.svg?days=" + fmt.Sprint(s.defaultUptimeDays())
	sn.UptimeHTML = embedSnip{"snip-uptime-html", `<img src="` + attr(uptimeURL) + `" alt="` + attr(ex.ComponentName) + ` uptime">`}
	sn.UptimeMarkdown = embedSnip{"snip-uptime-md", `![` + markdownText(ex.ComponentName) + ` uptime](` + uptimeURL + `)`}
	sn.PageBadgeHTML = embedSnip{"snip-page-badge", `<a href="` + attr(base) + `/"><img src="` + attr(base) + `/badge.svg" alt="` +
		attr(m.page.Name) + ` status"></a>`}

	v := &embedPageView{pageView: s.basePage(m, "/embed", "Embed the status · "+m.page.Name+" status", false), Embed: e}
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, "embed.html", v); err != nil {
		return doc{}, fmt.Errorf("render /embed: %w", err)
	}
	return doc{path: "/embed", kind: kindOwn, contentType: "text/html; charset=utf-8", body: buf.Bytes(), tags: []string{"html", "embed"},
		headers: [][2]string{{"Content-Security-Policy", s.embed.pageCSP}, {"X-Frame-Options", "DENY"}}}, nil
}

// markdownText escapes the characters that end or format a Markdown link text.
func markdownText(s string) string {
	return strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, `*`, `\*`, `_`, `\_`, "`", "\\`", `<`, `\<`).Replace(s)
}
