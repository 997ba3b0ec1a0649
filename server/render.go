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

func (s *Server) basePage(m *model, path, title string) *pageView {
	p := s.opts.Page
	v := &pageView{
		Lang:  p.Language,
		Title: title,
		Site: siteView{Name: p.Name, URL: p.URL, SupportURL: p.SupportURL, TimeZone: p.TimeZoneName,
			Links: p.Links},
		CSS: s.css.Path, JS: s.js.Path, Path: path,
		Generated: s.timeView(m.snap.TakenAt), Stale: m.stale,
		Status: pageStatusView(m.status),
	}
	return v
}

func (s *Server) indexPage(m *model) *pageView {
	v := s.basePage(m, "/", m.page.Name+" status")
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
	for _, j := range m.snap.Journeys {
		jv := journeyView{ID: "journey-" + j.ID, Name: j.Name, Description: j.Description, Status: statusOf(m.journeyStatus[j.ID])}
		groups := map[string]int{}
		for _, c := range m.snap.Components {
			if c.JourneyID != j.ID {
				continue
			}
			if c.OnlyShowIfDegraded && c.Status == data.Operational {
				continue
			}
			cv := componentView{ID: c.ID, Name: c.Name, Description: c.Description, Status: statusOf(c.Status), IsGroup: c.IsGroup}
			if c.Status != data.Operational {
				cv.Why, cv.WhySince = because(c), s.timeView(c.StatusChangedAt)
			}
			if !c.IsGroup && c.Showcase {
				cv.Uptime = s.uptimeView(m.snap.Uptime[c.ID])
			}
			if gi, ok := groups[c.GroupID]; ok && c.GroupID != "" {
				jv.Components[gi].Children = append(jv.Components[gi].Children, cv)
				continue
			}
			if c.IsGroup {
				groups[c.ID] = len(jv.Components)
			}
			jv.Components = append(jv.Components, cv)
		}
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
	return v
}

func (s *Server) uptimeView(days []data.DayUptime) *uptimeView {
	if len(days) == 0 {
		return nil
	}
	u := &uptimeView{From: days[0].Date.Format("2 Jan 2006"), To: days[len(days)-1].Date.Format("2 Jan 2006")}
	var known, down float64
	for _, d := range days {
		date := d.Date.Format("2 Jan 2006")
		if !d.HasData {
			u.Days = append(u.Days, dayUptimeView{Class: "none", Text: date + ": no data"})
			continue
		}
		known += float64(d.Known)
		down += d.Downtime()
		text := date + ": " + percent(d.Uptime) + " uptime"
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
		u.Days = append(u.Days, dayUptimeView{Class: componentClass[d.Worst], Text: text})
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
	v := s.basePage(m, "/history", "Incident history · "+m.page.Name+" status")
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
	v := s.basePage(m, "/incidents/"+in.ID, in.Name+" · "+m.page.Name+" status")
	iv := s.incidentView(m, in)
	v.Incident = &iv
	return v
}

func (s *Server) errorPage(m *model, code int, title, msg string) *pageView {
	v := s.basePage(m, "", title+" · "+m.page.Name+" status")
	v.Error = &errorView{Code: code, Title: title, Message: msg}
	return v
}

// htmlDocs renders every public HTML page.
func (s *Server) htmlDocs(m *model) ([]doc, error) {
	const ct = "text/html; charset=utf-8"
	var out []doc
	add := func(path, tmpl string, v *pageView, status int, tags ...string) error {
		b, err := renderPage(s.tmpl, tmpl, v)
		if err != nil {
			return fmt.Errorf("render %s: %w", path, err)
		}
		out = append(out, doc{path: path, kind: kindHTML, status: status, contentType: ct, body: b, tags: tags})
		return nil
	}
	if err := add("/", "index.html", s.indexPage(m), http.StatusOK, "page"); err != nil {
		return nil, err
	}
	if err := add("/history", "history.html", s.historyPage(m), http.StatusOK, "history"); err != nil {
		return nil, err
	}
	for _, list := range [][]data.Incident{m.incidents, m.maintenances} {
		for _, in := range list {
			if err := add("/incidents/"+in.ID, "incident.html", s.incidentPage(m, in), http.StatusOK, "incident-"+in.ID); err != nil {
				return nil, err
			}
		}
	}
	if err := add(notFoundPath, "error.html", s.errorPage(m, http.StatusNotFound, "Page not found",
		"There is nothing at this address. The current status is on the front page."), http.StatusNotFound); err != nil {
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
