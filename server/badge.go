package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

// Badges are shields-style SVG images of a status or an uptime figure:
//
//	/badge.svg                           the page's overall status
//	/badge/{id}.svg                      a component's (or group's, or journey's) status
//	/badge/{id}/uptime.svg?days=30|90    uptime over the last 30 or 90 days
//
// with ?theme=dark for the dark style and ?kind=journey|component when a
// journey and a component share an id (the component wins otherwise). Every
// badge of every id in both themes and windows is rendered with the snapshot;
// a request only picks one. An unknown id gets a grey "unknown" badge with
// 404, a malformed query a grey "invalid" badge with 400.
//
// They are written by hand rather than through html/template: a page with
// 2,000 components has 12,000 badges, rebuilt at every change, and each is a
// few fixed elements around two escaped texts.

// uptimeWindows are the days=… values a badge accepts. A window longer than
// the history the server keeps (Options.HistoryDays) is not offered.
var uptimeWindows = []int{30, 90}

// badgeRequest is a parsed badge URL.
type badgeRequest struct {
	id      string // "" for the overall badge
	journey bool   // kind=journey: look the id up among journeys only
	forced  bool   // kind was given
	uptime  bool
	days    int // uptime only
	dark    bool
}

// queryError is a malformed badge or frame query: the client gets the 400
// badge or frame.
type queryError struct{ reason string }

func (e *queryError) Error() string { return "badge query: " + e.reason }

// parseBadgeRequest parses the path and raw query of a badge request.
// notFound reports a path that names no badge (the 404 badge); err a query
// that cannot be honoured (the 400 badge). defaultDays is used when an uptime
// badge has no days parameter.
func parseBadgeRequest(path, rawQuery string, defaultDays int) (r badgeRequest, notFound bool, err error) {
	q, qerr := url.ParseQuery(rawQuery)
	one := func(key string) (string, bool, error) {
		v, ok := q[key]
		switch {
		case !ok:
			return "", false, nil
		case len(v) != 1:
			return "", false, &queryError{key + " is given more than once"}
		}
		return v[0], true, nil
	}
	theme, ok, err := one("theme")
	if err != nil {
		return r, false, err
	}
	switch {
	case !ok || theme == "light":
	case theme == "dark":
		r.dark = true
	default:
		return r, false, &queryError{"theme must be light or dark"}
	}
	if qerr != nil {
		// The theme, when it could be read, still applies to the error badge.
		return r, false, &queryError{"the query is not URL-encoded"}
	}
	if path == "/badge.svg" {
		return r, false, nil
	}
	rest, ok := strings.CutPrefix(path, "/badge/")
	if !ok {
		return r, true, nil
	}
	if id, ok := strings.CutSuffix(rest, "/uptime.svg"); ok {
		r.id, r.uptime = id, true
	} else if id, ok := strings.CutSuffix(rest, ".svg"); ok {
		r.id = id
	} else {
		return r, true, nil
	}
	if data.ValidateID("id", r.id) != nil {
		return r, true, nil
	}
	kind, ok, err := one("kind")
	if err != nil {
		return r, false, err
	}
	if ok {
		switch kind {
		case "journey":
			r.journey, r.forced = true, true
		case "component":
			r.forced = true
		default:
			return r, false, &queryError{"kind must be journey or component"}
		}
	}
	if r.uptime {
		days, ok, err := one("days")
		if err != nil {
			return r, false, err
		}
		r.days = defaultDays
		if ok {
			// Exactly one of the offered windows: no signs, exponents, zeros.
			r.days = 0
			for _, w := range uptimeWindows {
				if days == strconv.Itoa(w) {
					r.days = w
				}
			}
			if r.days == 0 {
				return r, false, &queryError{"days must be 30 or 90"}
			}
		}
	}
	return r, false, nil
}

// badgeKey is the snapshot key of the badge r names, with the journey or
// component namespace made explicit.
func badgeKey(r badgeRequest, journey bool) string {
	var b strings.Builder
	b.WriteString("/badge")
	if r.id != "" {
		b.WriteString("/" + r.id)
		if r.uptime {
			b.WriteString("/uptime")
		}
	}
	b.WriteString(".svg")
	sep := byte('?')
	add := func(kv string) {
		b.WriteByte(sep)
		b.WriteString(kv)
		sep = '&'
	}
	if r.uptime {
		add("days=" + strconv.Itoa(r.days))
	}
	if journey {
		add("kind=journey")
	}
	if r.dark {
		add("theme=dark")
	}
	return b.String()
}

// Keys of the error badges; no request path can name them.
func badgeErrorKey(status int, dark bool) string {
	k := "badge " + strconv.Itoa(status)
	if dark {
		k += " dark"
	}
	return k
}

// serveBadge answers /badge.svg and /badge/… from the snapshot.
func (s *Server) serveBadge(c *fiber.Ctx) error {
	snap := s.snap.Load()
	writeEntry(c, snap.entries[s.badgeLookup(snap, c.Path(), string(c.Request().URI().QueryString()))])
	return nil
}

// badgeLookup is the snapshot key that answers a badge request, one of the
// error badges if need be.
func (s *Server) badgeLookup(snap *snapshot, path, rawQuery string) string {
	r, notFound, err := parseBadgeRequest(path, rawQuery, s.defaultUptimeDays())
	switch {
	case err != nil:
		return badgeErrorKey(http.StatusBadRequest, r.dark)
	case notFound:
		return badgeErrorKey(http.StatusNotFound, r.dark)
	}
	if !r.journey {
		if k := badgeKey(r, false); snap.entries[k] != nil {
			return k
		}
	}
	if r.journey || !r.forced {
		if k := badgeKey(r, true); snap.entries[k] != nil {
			return k
		}
	}
	return badgeErrorKey(http.StatusNotFound, r.dark)
}

// defaultUptimeDays is the window of an uptime badge without days=: the
// longest offered.
func (s *Server) defaultUptimeDays() int {
	d := uptimeWindows[0]
	for _, w := range uptimeWindows {
		if w <= s.opts.HistoryDays {
			d = w
		}
	}
	return d
}

// badgeColors are a badge's fill and text colours. Every text sits on its
// fill with a contrast of at least 4.5:1 (TestBadgeContrast).
type badgeColors struct{ labelBG, labelFG, valueBG, valueFG string }

// badgePalette maps a status class (as in componentClass, plus minor and
// critical for the page indicator) to colours in the light and dark style.
// The light style is white text on strong colours, the dark style coloured
// text on near-black, for pages with a dark background.
var badgePalette = map[string][2]badgeColors{
	"ok":       {{"#555555", "#ffffff", "#1a7f37", "#ffffff"}, {"#30363d", "#f0f6fc", "#0d1117", "#3fb950"}},
	"degraded": {{"#555555", "#ffffff", "#9a6700", "#ffffff"}, {"#30363d", "#f0f6fc", "#0d1117", "#d29922"}},
	"minor":    {{"#555555", "#ffffff", "#9a6700", "#ffffff"}, {"#30363d", "#f0f6fc", "#0d1117", "#d29922"}},
	"partial":  {{"#555555", "#ffffff", "#bc4c00", "#ffffff"}, {"#30363d", "#f0f6fc", "#0d1117", "#f0883e"}},
	"major":    {{"#555555", "#ffffff", "#cf222e", "#ffffff"}, {"#30363d", "#f0f6fc", "#0d1117", "#ff7b72"}},
	"critical": {{"#555555", "#ffffff", "#a40e26", "#ffffff"}, {"#30363d", "#f0f6fc", "#0d1117", "#ff7b72"}},
	"maint":    {{"#555555", "#ffffff", "#0969da", "#ffffff"}, {"#30363d", "#f0f6fc", "#0d1117", "#58a6ff"}},
	"none":     {{"#555555", "#ffffff", "#6e7781", "#ffffff"}, {"#30363d", "#f0f6fc", "#0d1117", "#9198a1"}},
}

// badge is one badge before it is drawn.
type badge struct {
	label, value string // the two texts
	title        string // the accessible name and tooltip
	class        string // key of badgePalette
}

// badgeMemo is what a drawn badge depends on.
type badgeMemo struct {
	badge
	dark bool
}

// maxBadgeLabel bounds the label in runes; the title keeps the whole name.
const maxBadgeLabel = 40

// svg draws b. Texts are escaped for XML and stripped of characters XML
// cannot carry; names are isolated (FSI…PDI) so that a right-to-left
// override in one cannot reorder the text around it.
func (b badge) svg(dark bool) []byte {
	col := badgePalette[b.class]
	c := col[0]
	if dark {
		c = col[1]
	}
	label := truncateRunes(b.label, maxBadgeLabel)
	lw := textWidth(label) + 12
	vw := textWidth(b.value) + 12
	w := lw + vw
	var s strings.Builder
	s.Grow(900 + 2*len(b.title) + len(label) + len(b.value))
	title := xmlText(b.title)
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" viewBox="0 0 %d 20" role="img" aria-label="%s">`, w, w, title)
	fmt.Fprintf(&s, `<title>%s</title>`, title)
	fmt.Fprintf(&s, `<clipPath id="r"><rect width="%d" height="20" rx="3"/></clipPath>`, w)
	fmt.Fprintf(&s, `<g clip-path="url(#r)"><rect width="%d" height="20" fill="%s"/><rect x="%d" width="%d" height="20" fill="%s"/></g>`,
		lw, c.labelBG, lw, vw, c.valueBG)
	if dark {
		// A hairline in the status colour keeps the value apart from a dark page.
		fmt.Fprintf(&s, `<rect x="%d.5" y=".5" width="%d" height="19" rx="2.5" fill="none" stroke="%s" stroke-opacity=".6"/>`, lw, vw-1, c.valueFG)
	}
	s.WriteString(`<g text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">`)
	fmt.Fprintf(&s, `<text x="%d" y="14" fill="%s" textLength="%d" lengthAdjust="spacingAndGlyphs">%s</text>`,
		lw/2, c.labelFG, lw-12, xmlText(label))
	fmt.Fprintf(&s, `<text x="%d" y="14" fill="%s" textLength="%d" lengthAdjust="spacingAndGlyphs">%s</text>`,
		lw+vw/2, c.valueFG, vw-12, xmlText(b.value))
	s.WriteString("</g></svg>\n")
	return []byte(s.String())
}

// isolate wraps a name in FIRST STRONG ISOLATE … POP DIRECTIONAL ISOLATE, so
// that bidirectional controls inside it end with it.
func isolate(s string) string { return "\u2068" + s + "\u2069" }

// xmlText escapes s for XML text and attribute values, replacing what XML
// 1.0 cannot contain (most control characters, U+FFFE, U+FFFF, invalid
// UTF-8) with U+FFFD.
func xmlText(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				b.WriteRune(unicode.ReplacementChar)
				continue
			}
		}
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r < 0x20 || (r >= 0x7f && r < 0xa0) || r == 0xfffe || r == 0xffff || (r >= 0xd800 && r < 0xe000):
			b.WriteRune(unicode.ReplacementChar)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// truncateRunes shortens s to at most n runes, ending with an ellipsis. It
// cuts between characters as people see them: never between a letter and
// its combining marks, nor inside an emoji sequence.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	extends := func(c rune) bool {
		return c == '\u200d' || unicode.In(c, unicode.Mn, unicode.Me, unicode.Variation_Selector) || (c >= 0x1f3fb && c <= 0x1f3ff)
	}
	k := n - 1
	for k > 0 && (extends(r[k]) || r[k-1] == '\u200d') {
		k--
	}
	for k > 0 && (unicode.IsSpace(r[k-1]) || unicode.Is(unicode.Bidi_Control, r[k-1])) {
		k--
	}
	return string(r[:k]) + "…"
}

// textWidth estimates the width in pixels of s in 11 px Verdana, the font
// badges are drawn in. The estimate only sizes the box: textLength makes the
// text fill it whatever font the viewer has.
func textWidth(s string) int {
	w := 0.0
	for _, r := range s {
		switch {
		case strings.ContainsRune("iljI.,:;!|'` ", r):
			w += 3.6
		case strings.ContainsRune("frt()[]{}/\\-\"", r):
			w += 4.8
		case strings.ContainsRune("mwMW@%", r):
			w += 10.4
		case r >= 'A' && r <= 'Z':
			w += 7.6
		case r < 0x80:
			w += 6.9
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u200d' ||
			unicode.Is(unicode.Variation_Selector, r):
		case unicode.In(r, unicode.Han, unicode.Hangul, unicode.Hiragana, unicode.Katakana) || r >= 0x1f000:
			w += 11
		default:
			w += 7.2
		}
	}
	return int(w + 0.999)
}

// badgeDocs renders every badge of m.
//
// Most badges do not change between rebuilds, so their bytes are kept by
// what they show (s.embed.badges, from the previous rebuild) and drawn only
// when that changes: the 12,000 badges of a 2,000-component page cost map
// look-ups, not drawing.
func (s *Server) badgeDocs(m *model) []doc {
	out := make([]doc, 0, 2*(3+3*(len(m.snap.Components)+len(m.snap.Journeys))))
	prev, next := s.embed.badges, make(map[badgeMemo][]byte, len(s.embed.badges))
	defer func() { s.embed.badges = next }()
	add := func(key string, status int, b badge, tags ...string) {
		for _, dark := range []bool{false, true} {
			k := key
			if dark {
				if strings.Contains(k, "?") {
					k += "&theme=dark"
				} else if strings.HasPrefix(k, "/") {
					k += "?theme=dark"
				} else {
					k += " dark"
				}
			}
			mk := badgeMemo{b, dark}
			body, ok := prev[mk]
			if !ok {
				body = b.svg(dark)
			}
			next[mk] = body
			out = append(out, doc{path: k, kind: kindOwn, status: status, contentType: "image/svg+xml; charset=utf-8",
				body: body, tags: append([]string{"badges"}, tags...), headers: badgeHeaders, identityOnly: true})
		}
	}
	add(badgeErrorKey(http.StatusNotFound, false), http.StatusNotFound,
		badge{label: "status", value: "unknown", title: "Status: unknown", class: "none"})
	add(badgeErrorKey(http.StatusBadRequest, false), http.StatusBadRequest,
		badge{label: "badge", value: "invalid", title: "Badge: invalid request", class: "none"})

	ps := pageStatusView(m.status)
	add("/badge.svg", 0, badge{label: m.page.Name, value: ps.Description,
		title: isolate(m.page.Name) + " status: " + ps.Description, class: ps.Class})

	windows := s.uptimeWindowsOffered()
	uptime := func(key badgeRequest, journey bool, name string, members []string, tag string) {
		for _, days := range windows {
			key.uptime, key.days = true, days
			ratio, ok := membersUptime(m, members, days)
			b := badge{label: name + " · " + strconv.Itoa(days) + "d uptime", class: "none", value: "no data",
				title: isolate(name) + ": no uptime data for the last " + strconv.Itoa(days) + " days"}
			if ok {
				b.value = percent(ratio)
				b.class = uptimeClass(ratio)
				b.title = isolate(name) + ": " + b.value + " uptime over the last " + strconv.Itoa(days) + " days"
			}
			add(badgeKey(key, journey), 0, b, tag)
		}
	}
	for _, c := range m.snap.Components {
		st := statusOf(c.Status)
		r := badgeRequest{id: c.ID}
		tag := "badge-" + c.ID
		add(badgeKey(r, false), 0, badge{label: c.Name, value: st.Label, title: isolate(c.Name) + ": " + st.Label, class: st.Class}, tag)
		members := []string{c.ID}
		if c.IsGroup {
			members = m.children[c.ID]
		}
		uptime(r, false, c.Name, members, tag)
	}
	for _, j := range m.snap.Journeys {
		st := statusOf(m.journeyStatus[j.ID])
		r := badgeRequest{id: j.ID}
		tag := "badge-journey-" + j.ID
		add(badgeKey(r, true), 0, badge{label: j.Name, value: st.Label, title: isolate(j.Name) + ": " + st.Label, class: st.Class}, tag)
		var members []string
		for _, c := range m.snap.Components {
			if c.JourneyID == j.ID && !c.IsGroup {
				members = append(members, c.ID)
			}
		}
		uptime(r, true, j.Name, members, tag)
	}
	return out
}

// badgeHeaders go with every badge: images may be shown anywhere (READMEs,
// other sites' pages), and an SVG opened on its own runs nothing.
var badgeHeaders = [][2]string{
	{"Access-Control-Allow-Origin", "*"},
	{"Cross-Origin-Resource-Policy", "cross-origin"},
	{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
	{"X-Frame-Options", "DENY"},
}

// uptimeWindowsOffered are the uptime windows within the kept history.
func (s *Server) uptimeWindowsOffered() []int {
	var out []int
	for _, w := range uptimeWindows {
		if w <= s.opts.HistoryDays {
			out = append(out, w)
		}
	}
	return out
}

// membersUptime is the uptime over the last days days of the least available
// of members (non-group components), computed as the page computes a
// component's: a major outage counts fully as downtime, a partial outage at
// data.PartialOutageWeight, and days without data are left out. ok is false
// when no member has data. A journey or a group is thus as available as its
// weakest component, which is what a customer needing all of them sees at
// best.
func membersUptime(m *model, members []string, days int) (ratio float64, ok bool) {
	ratio = 1
	for _, id := range members {
		d := m.snap.Uptime[id]
		if len(d) > days {
			d = d[len(d)-days:]
		}
		var known, down float64
		for _, day := range d {
			if day.HasData {
				known += float64(day.Known)
				down += float64(day.Major) + data.PartialOutageWeight*float64(day.Partial)
			}
		}
		if known == 0 {
			continue
		}
		ok = true
		ratio = min(ratio, 1-down/known)
	}
	return ratio, ok
}

// uptimeClass colours an uptime figure; the text says the figure.
func uptimeClass(r float64) string {
	switch {
	case r >= 0.999:
		return "ok"
	case r >= 0.99:
		return "degraded"
	case r >= 0.95:
		return "partial"
	}
	return "major"
}
