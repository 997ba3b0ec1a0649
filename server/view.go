package server

import "html/template"

// The view structs below are what the HTML templates in templates/page
// receive. They hold only strings, booleans and slices already formatted for
// people, so templates stay free of logic and every time is shown the same way.

// pageView is passed to every public HTML page.
type pageView struct {
	Lang      string   // BCP 47 language of the page, for <html lang>
	Title     string   // the <title>, page name included
	Site      siteView // the status page's identity
	CSS       string   // URL of the stylesheet (content-hashed, immutable)
	JS        string   // URL of the optional script (content-hashed, immutable)
	Path      string   // the path of this page, for aria-current in navigation
	Generated timeView // when the shown data was read from the store
	// Stale is set when the store could not be read: the page then shows the
	// last data it had, and says how old it is.
	Stale  bool
	Status statusView // the page-wide rollup

	// Exactly one of these is set.
	Index    *indexView
	History  *historyView
	Incident *incidentView
	Error    *errorView
}

// siteView is the configured identity of the status page.
type siteView struct {
	Name       string
	URL        string // public base URL, no trailing slash
	SupportURL string // may be empty
	Links      []Link
	TimeZone   string // IANA name of the zone times are shown in, e.g. "Europe/Berlin"
}

// statusView is the page-wide status.
type statusView struct {
	Indicator   string // none, minor, major, critical, maintenance
	Description string // e.g. "All Systems Operational"
	Class       string // CSS modifier: ok, minor, major, critical, maint
	Icon        string // id of the icon symbol: ok, minor, major, critical, maint
}

// timeView is one instant, for <time datetime="ISO">Text</time>.
type timeView struct {
	ISO  string // RFC 3339 in UTC, e.g. 2026-11-22T16:04:05Z; "" when unset
	Text string // in the page's zone with the zone named, e.g. "22 Nov 2026, 17:04 CET"
	Date string // the date alone in the page's zone, e.g. "22 Nov 2026"
}

// componentStatusView is a component status with everything needed to show
// it as icon and text.
type componentStatusView struct {
	Value string // the enum, e.g. partial_outage
	Label string // e.g. "Partial outage"
	Class string // CSS modifier: ok, degraded, partial, major, maint
	Icon  string // icon symbol id: ok, degraded, partial, major, maint
}

type indexView struct {
	Active     []incidentView // open incidents, then maintenance in progress
	Upcoming   []incidentView // scheduled maintenance, soonest first
	Journeys   []journeyView
	Recent     []dayView // the last RecentDays days, newest first
	RecentDays int
	UptimeDays int // length of the uptime bars, e.g. 90
}

// journeyView is one customer journey with its components.
type journeyView struct {
	ID          string // also the HTML id of its section
	Name        string
	Description string
	Status      componentStatusView // the worst of its components
	Components  []componentView     // top-level components and groups, in order
	SLOs        []sloView           // its objectives (server/slo.go)
}

type componentView struct {
	ID          string
	Name        string
	Description string
	Status      componentStatusView
	IsGroup     bool
	// Why says what decided a status other than operational ("last changed
	// because…"), with when; empty while operational.
	Why      string
	WhySince timeView
	Children []componentView // a group's components
	Uptime   *uptimeView     // nil when the uptime bar is not shown
	// HTML, when set, is the "component" template's output for this view,
	// kept from an earlier rebuild; the other fields but IsGroup and
	// Children are then left empty.
	HTML template.HTML
}

// uptimeView is a component's uptime bar.
type uptimeView struct {
	Percent string // over the whole window, e.g. "99.98%", or "No data"
	From    string // first day shown, e.g. "24 Aug 2026"
	To      string // last day shown (today)
	Days    []dayUptimeView
}

// dayUptimeView is one day of the uptime chart.
type dayUptimeView struct {
	Class string // ok, degraded, partial, major, maint, none
	Date  string // e.g. "3 Nov 2026"
	Text  string // e.g. "99.21% uptime; partial outage 1 h 20 min", "100% uptime", or "no data"
}

// incidentView is an incident or a maintenance.
type incidentView struct {
	ID             string
	URL            string // path of its page, /incidents/{id}
	Kind           string // incident or maintenance
	Name           string
	Status         labelView // e.g. {identified, Identified}
	Impact         labelView // e.g. {major, Major}; Class for the accent colour
	Open           bool
	Created        timeView
	Resolved       timeView // ISO "" while open
	ScheduledFor   timeView // maintenance only
	ScheduledUntil timeView // maintenance only
	Components     []string // names of the components it touched
	Updates        []updateView
}

type labelView struct {
	Value, Label, Class string
}

type updateView struct {
	ID         string
	Status     labelView
	Paragraphs []string // the body split on blank lines; each is shown as a <p> (newlines inside become <br>)
	// HTML is the body as rendered from Markdown when it was published
	// (server/markdown.go); when set it is shown instead of Paragraphs.
	HTML     template.HTML
	At       timeView
	Affected []affectedView
}

type affectedView struct {
	Name     string
	Old, New componentStatusView
}

// dayView is a day of the recent history with its incidents.
type dayView struct {
	Date      timeView
	Incidents []incidentView
}

type historyView struct {
	Months       []monthView // newest first
	Maintenances []incidentView
}

type monthView struct {
	Name      string // e.g. "November 2026"
	Incidents []incidentView
}

type errorView struct {
	Code    int
	Title   string
	Message string
}
