package server

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/statusd/statusd/data"
)

// recentDays is how many days of incidents the front page lists.
const recentDays = 7

func (s *Server) timeView(t time.Time) timeView {
	if t.IsZero() {
		return timeView{}
	}
	lt := t.In(s.opts.Page.Location)
	return timeView{
		ISO:  t.UTC().Format(time.RFC3339),
		Text: lt.Format("2 Jan 2006, 15:04 MST"),
		Date: lt.Format("2 Jan 2006"),
	}
}

var componentClass = map[data.ComponentStatus]string{
	data.Operational:         "ok",
	data.DegradedPerformance: "degraded",
	data.PartialOutage:       "partial",
	data.MajorOutage:         "major",
	data.UnderMaintenance:    "maint",
}

func statusOf(c data.ComponentStatus) componentStatusView {
	cl, ok := componentClass[c]
	if !ok {
		cl = "none"
	}
	return componentStatusView{Value: string(c), Label: c.Label(), Class: cl, Icon: cl}
}

func pageStatusView(ps data.PageStatus) statusView {
	cl := map[data.Indicator]string{data.IndicatorNone: "ok", data.IndicatorMinor: "minor", data.IndicatorMajor: "major",
		data.IndicatorCritical: "critical", data.IndicatorMaintenance: "maint"}[ps.Indicator]
	return statusView{Indicator: string(ps.Indicator), Description: ps.Description, Class: cl, Icon: cl}
}

func impactView(i data.Impact) labelView {
	cl := map[data.Impact]string{data.ImpactNone: "none", data.ImpactMinor: "minor", data.ImpactMajor: "major",
		data.ImpactCritical: "critical", data.ImpactMaintenance: "maint"}[i]
	return labelView{Value: string(i), Label: i.Label(), Class: cl}
}

func (s *Server) incidentView(m *model, in data.Incident) incidentView {
	v := incidentView{
		ID: in.ID, URL: "/incidents/" + in.ID, Kind: string(in.Kind), Name: in.Name,
		Status: labelView{Value: string(in.Status), Label: in.Status.Label(), Class: string(in.Status)},
		Impact: impactView(in.Impact), Open: in.Open(),
		Created: s.timeView(in.CreatedAt), Resolved: s.timeView(in.ResolvedAt),
		ScheduledFor: s.timeView(in.ScheduledFor), ScheduledUntil: s.timeView(in.ScheduledUntil),
	}
	for _, id := range in.ComponentIDs {
		if n, ok := m.names[id]; ok {
			v.Components = append(v.Components, n)
		}
	}
	for _, u := range in.Updates {
		uv := updateView{ID: u.ID, Status: labelView{Value: string(u.Status), Label: u.Status.Label(), Class: string(u.Status)},
			Paragraphs: paragraphs(u.Body), HTML: template.HTML(u.BodyHTML), At: s.timeView(u.DisplayAt)} //nolint:gosec // rendered by renderMarkdown, raw HTML refused
		for _, a := range u.Affected {
			uv.Affected = append(uv.Affected, affectedView{Name: a.Name, Old: statusOf(a.OldStatus), New: statusOf(a.NewStatus)})
		}
		v.Updates = append(v.Updates, uv)
	}
	return v
}

// paragraphs splits text on blank lines, trimming each paragraph.
func paragraphs(body string) []string {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	var out []string
	for _, p := range strings.Split(body, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// basePage is the part every page shares. The time the data was read is
// shown only where it matters, so that pages about the past (an incident,
// the history) do not change with every rebuild: on the front page, and on
// every page while the data is stale.
func (s *Server) basePage(m *model, path, title string, generated bool) *pageView {
	p := s.opts.Page
	v := &pageView{
		Lang:  p.Language,
		Title: title,
		Site: siteView{Name: p.Name, URL: p.URL, SupportURL: p.SupportURL, TimeZone: p.TimeZoneName,
			Links: p.Links},
		CSS: s.css.Path, JS: s.js.Path, Path: path,
		Stale:  m.stale,
		Status: pageStatusView(m.status),
	}
	if generated || m.stale {
		v.Generated = s.timeView(m.snap.TakenAt)
	}
	return v
}

func (s *Server) indexPage(m *model) (*pageView, error) {
	v := s.basePage(m, "/", m.page.Name+" status", true)
	iv := &indexView{RecentDays: recentDays, UptimeDays: s.opts.HistoryDays}
	for _, in := range m.openIncidents {
		iv.Active = append(iv.Active, s.incidentView(m, in))
	}
	for _, in := range m.activeMaint {
		iv.Active = append(iv.Active, s.incidentView(m, in))
	}
	for _, in := range m.upcoming {
		iv.Upcoming = append(iv.Upcoming, s.incidentView(m, in))
	}
	byJourney := map[string][]data.Component{}
	for _, c := range m.snap.Components {
		byJourney[c.JourneyID] = append(byJourney[c.JourneyID], c)
	}
	for _, j := range m.snap.Journeys {
		jv := journeyView{ID: "journey-" + j.ID, Name: j.Name, Description: j.Description, Status: statusOf(m.journeyStatus[j.ID])}
		groups := map[string]int{}
		for _, c := range byJourney[j.ID] {
			if c.OnlyShowIfDegraded && c.Status == data.Operational {
				continue
			}
			h, err := s.componentHTML(m, c)
			if err != nil {
				return nil, err
			}
			cv := componentView{HTML: h, IsGroup: c.IsGroup}
			if gi, ok := groups[c.GroupID]; ok && c.GroupID != "" {
				jv.Components[gi].Children = append(jv.Components[gi].Children, cv)
				continue
			}
			if c.IsGroup {
				groups[c.ID] = len(jv.Components)
			}
			jv.Components = append(jv.Components, cv)
		}
		jv.SLOs = s.sloViews(m, j.ID)
		iv.Journeys = append(iv.Journeys, jv)
	}
	// The last recentDays days in the page's zone, newest first.
	loc := s.opts.Page.Location
	y, mo, d := m.snap.TakenAt.In(loc).Date()
	for i := 0; i < recentDays; i++ {
		start := time.Date(y, mo, d-i, 0, 0, 0, 0, loc)
		end := time.Date(y, mo, d-i+1, 0, 0, 0, 0, loc)
		dv := dayView{Date: s.timeView(start)}
		for _, in := range m.incidents {
			if !in.CreatedAt.Before(start) && in.CreatedAt.Before(end) {
				dv.Incidents = append(dv.Incidents, s.incidentView(m, in))
			}
		}
		iv.Recent = append(iv.Recent, dv)
	}
	v.Index = iv
	return v, nil
}

// componentHTML is a component's part of the front page (name, status,
// description, uptime bar), rendered again only when one of them changed:
// on a page of hundreds of components a status change re-renders one.
func (s *Server) componentHTML(m *model, c data.Component) (template.HTML, error) {
	bar := !c.IsGroup && c.Showcase
	k := newKeyHash().u64(m.componentKey[c.ID]).flag(bar)
	var days []data.DayUptime
	if bar {
		days = m.snap.Uptime[c.ID]
		uptimeKey(k, days)
	}
	key := k.sum()
	if h, ok := s.frags.components.get(key); ok {
		return h, nil
	}
	cv := componentView{ID: c.ID, Name: c.Name, Description: c.Description, Status: statusOf(c.Status), IsGroup: c.IsGroup}
	if c.Status != data.Operational {
		cv.Why, cv.WhySince = because(c), s.timeView(c.StatusChangedAt)
	}
	if bar {
		cv.Uptime = s.uptimeView(days)
	}
	var b strings.Builder
	if err := s.tmpl.ExecuteTemplate(&b, "component", cv); err != nil {
		return "", fmt.Errorf("render component %s: %w", c.ID, err)
	}
	h := template.HTML(b.String()) //nolint:gosec // html/template's output
	s.frags.components.put(key, h)
	return h, nil
}

// uptimeKey adds to k what uptimeView shows of days: per day its status,
// its uptime to the hundredth of a percent, and its non-operational time to
// the second; and the window's uptime. The time known, which grows with
// every rebuild, is not shown and so not part of the key.
func uptimeKey(k *keyHash, days []data.DayUptime) {
	k.u64(uint64(len(days)))
	if len(days) > 0 {
		k.time(days[0].Date)
	}
	var known, down float64
	for _, d := range days {
		if !d.HasData {
			k.u64(0)
			continue
		}
		known += float64(d.Known)
		down += float64(d.Major) + data.PartialOutageWeight*float64(d.Partial)
		v := 1 | uint64(d.Worst.Severity()+1)<<1 | uint64(math.Floor(d.Uptime*10000))<<8
		if d.Major|d.Partial|d.Degraded|d.Maintenance == 0 {
			k.u64(v)
			continue
		}
		k.u64(v | 1<<63).i64(int64(d.Major / time.Second)).i64(int64(d.Partial / time.Second)).
			i64(int64(d.Degraded / time.Second)).i64(int64(d.Maintenance / time.Second))
	}
	if known > 0 {
		k.u64(uint64(math.Floor((1 - down/known) * 10000)))
	}
}

func (s *Server) uptimeView(days []data.DayUptime) *uptimeView {
	if len(days) == 0 {
		return nil
	}
	u := &uptimeView{From: days[0].Date.Format("2 Jan 2006"), To: days[len(days)-1].Date.Format("2 Jan 2006")}
	u.Days = make([]dayUptimeView, 0, len(days))
	var known, down float64
	for _, d := range days {
		date := d.Date.Format("2 Jan 2006")
		if !d.HasData {
			u.Days = append(u.Days, dayUptimeView{Class: "none", Date: date, Text: "no data"})
			continue
		}
		// Weighted by the day's recorded time, so that a day measured by
		// probes counts with its measured uptime.
		known += float64(d.Known)
		down += (1 - d.Uptime) * float64(d.Known)
		text := percent(d.Uptime) + " uptime"
		if d.Measured {
			text += " measured by probes"
		}
		var notes []string
		for _, x := range []struct {
			label string
			dur   time.Duration
		}{{"major outage", d.Major}, {"partial outage", d.Partial}, {"degraded performance", d.Degraded}, {"maintenance", d.Maintenance}} {
			if x.dur > 0 {
				notes = append(notes, x.label+" "+duration(x.dur))
			}
		}
		if len(notes) > 0 {
			text += "; " + strings.Join(notes, ", ")
		}
		u.Days = append(u.Days, dayUptimeView{Class: componentClass[d.Worst], Date: date, Text: text})
	}
	if known == 0 {
		u.Percent = "No data"
	} else {
		u.Percent = percent(1 - down/known)
	}
	return u
}

// percent formats an uptime ratio with two decimals, rounding down so that
// a day with any downtime never reads 100%.
func percent(r float64) string {
	if r >= 1 {
		return "100%"
	}
	if r < 0 {
		r = 0
	}
	return fmt.Sprintf("%.2f%%", math.Floor(r*10000)/100)
}

// duration formats a span for people: "45 s", "12 min", "1 h 20 min".
func duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	h := int(d.Hours())
	if mn := int(d.Minutes()) % 60; mn > 0 {
		return fmt.Sprintf("%d h %d min", h, mn)
	}
	return fmt.Sprintf("%d h", h)
}

func (s *Server) historyPage(m *model) *pageView {
	v := s.basePage(m, "/history", "Incident history · "+m.page.Name+" status", false)
	hv := &historyView{}
	loc := s.opts.Page.Location
	for _, in := range m.incidents {
		name := in.CreatedAt.In(loc).Format("January 2006")
		if n := len(hv.Months); n == 0 || hv.Months[n-1].Name != name {
			hv.Months = append(hv.Months, monthView{Name: name})
		}
		mv := &hv.Months[len(hv.Months)-1]
		mv.Incidents = append(mv.Incidents, s.incidentView(m, in))
	}
	for _, in := range m.maintenances {
		hv.Maintenances = append(hv.Maintenances, s.incidentView(m, in))
	}
	v.History = hv
	return v
}

func (s *Server) incidentPage(m *model, in data.Incident) *pageView {
	v := s.basePage(m, "/incidents/"+in.ID, in.Name+" · "+m.page.Name+" status", false)
	iv := s.incidentView(m, in)
	v.Incident = &iv
	return v
}

func (s *Server) errorPage(m *model, code int, title, msg string) *pageView {
	v := s.basePage(m, "", title+" · "+m.page.Name+" status", false)
	v.Error = &errorView{Code: code, Title: title, Message: msg}
	return v
}

const htmlType = "text/html; charset=utf-8"

// incidentDoc renders an incident's page. Its key covers the incident and
// what every page shares; its Last-Modified is the later of the incident's
// last update and the last change of what pages share, so that the page
// has the same validators whether it comes from the snapshot or, once the
// incident is older, from the archive.
func (s *Server) incidentDoc(m *model, in data.Incident, key uint64, pageSince time.Time) (doc, error) {
	path := "/incidents/" + in.ID
	b, err := renderPage(s.tmpl, "incident.html", s.incidentPage(m, in))
	if err != nil {
		return doc{}, fmt.Errorf("render %s: %w", path, err)
	}
	return doc{path: path, kind: kindHTML, contentType: htmlType, body: b, tags: []string{"incident-" + in.ID},
		key: key, modified: later(in.UpdatedAt, pageSince)}, nil
}

// incidentKey is the render key of the page of the incident whose own key
// (every field of it) is ik.
func incidentKey(m *model, ik uint64) uint64 {
	return newKeyHash().str("incident").u64(ik).u64(m.pageKey).sum()
}

// htmlDocs renders every public HTML page whose key differs from the one it
// had in prev; the others are carried over as they were.
func (s *Server) htmlDocs(m *model, prev *snapshot) ([]doc, error) {
	var out []doc
	add := func(path, tmpl string, key uint64, view func() (*pageView, error), status int, tags ...string) error {
		if e := prev.reusable(path, key); e != nil {
			out = append(out, doc{path: path, reuse: e})
			return nil
		}
		v, err := view()
		if err != nil {
			return fmt.Errorf("render %s: %w", path, err)
		}
		b, err := renderPage(s.tmpl, tmpl, v)
		if err != nil {
			return fmt.Errorf("render %s: %w", path, err)
		}
		out = append(out, doc{path: path, kind: kindHTML, status: status, contentType: htmlType, body: b, tags: tags, key: key})
		return nil
	}
	// The front page shows the time of the data, so it changes at every
	// rebuild; its components are kept as fragments instead.
	if err := add("/", "index.html", 0, func() (*pageView, error) { return s.indexPage(m) }, http.StatusOK, "page"); err != nil {
		return nil, err
	}
	hk := newKeyHash().str("history").u64(m.pageKey)
	for _, list := range [][]data.Incident{m.incidents, m.maintenances} {
		hk.u64(uint64(len(list)))
		for _, in := range list {
			hk.u64(m.incidentKeys[in.ID])
		}
	}
	if err := add("/history", "history.html", hk.sum(), func() (*pageView, error) { return s.historyPage(m), nil }, http.StatusOK, "history"); err != nil {
		return nil, err
	}
	for _, list := range [][]data.Incident{m.incidents, m.maintenances} {
		for _, in := range list {
			path := "/incidents/" + in.ID
			key := incidentKey(m, m.incidentKeys[in.ID])
			if e := prev.reusable(path, key); e != nil {
				out = append(out, doc{path: path, reuse: e})
				continue
			}
			d, err := s.incidentDoc(m, in, key, s.frags.pageSince)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
	}
	nk := newKeyHash().str("404").u64(m.pageKey).sum()
	if err := add(notFoundPath, "error.html", nk, func() (*pageView, error) {
		return s.errorPage(m, http.StatusNotFound, "Page not found",
			"There is nothing at this address. The current status is on the front page."), nil
	}, http.StatusNotFound); err != nil {
		return nil, err
	}
	return out, nil
}

// notFoundPath keys the prebuilt 404 page; no request path can reach it
// because request paths start with "/".
const notFoundPath = "404"

// because is the "last changed because…" text of a component's status: the
// deciding input's source and reason.
func because(c data.Component) string {
	switch {
	case c.StatusReason == "":
		return c.StatusSource.Label()
	case c.StatusSource == data.SourceIncident, c.StatusSource == data.SourceMaintenance:
		return c.StatusReason // names the incident or window itself
	}
	return c.StatusSource.Label() + ": " + c.StatusReason
}
