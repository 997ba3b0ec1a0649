package server

import (
	"html/template"
	"strconv"

	"github.com/statusd/statusd/data"
)

// workView is the part of an admin page about incidents, maintenance,
// drafts and templates. Which fields are set depends on the page.
type workView struct {
	CanEdit bool // the user may draft and publish

	// Lists (incidents page, dashboard).
	Drafts   []draftRow
	Open     []incidentRow
	Overdue  []incidentRow
	Upcoming []incidentRow
	Recent   []incidentRow

	Incident  *adminIncidentView // one incident's page
	Form      *messageFormView   // the message form
	Draft     *draftView         // a draft's preview
	Templates *templatesView     // the templates page
}

type option struct {
	Value, Label string
	Selected     bool
}

type draftRow struct {
	ID, Title, What string
	Status          string
	ProposedBy      string // "statusd" when detection proposed it
	By              string
	Created         timeView
}

type incidentRow struct {
	ID, Name, Kind string
	Status         labelView
	Impact         labelView
	Severity       string
	Started        timeView
	Window         string // maintenance: from – to
	NextUpdate     timeView
	Overdue        bool
	// Late is set for maintenance that starts and ends by hand and is past
	// its scheduled start ("not started") or end ("overrunning").
	Late       string
	Components string
}

type adminIncidentView struct {
	incidentRow
	Open       bool
	PublicURL  string
	Updates    []adminUpdateView
	Notes      []noteView
	Postmortem template.HTML
	Drafts     []draftRow
	// Next actions offered, as links to the message form.
	Actions []option
	// ShowDeliveries is set for those who may see subscribers: the
	// incident's events with their deliveries counted by state.
	ShowDeliveries bool
	Deliveries     []eventDeliveriesView
}

type adminUpdateView struct {
	Status labelView
	At     timeView
	HTML   template.HTML
	Paras  []string
	Comps  []affectedView
}

type noteView struct {
	Actor string
	At    timeView
	Paras []string
}

type messageFormView struct {
	Action       string // where the form posts
	Heading      string
	Kind         string
	IncidentID   string
	IncidentName string
	New          bool
	Templates    []option
	Statuses     []option
	Severities   []option
	Impacts      []option
	Journeys     []formJourney
	Vars         []formVar
	NextUpdates  []option
	Title, Body  string
	Note         string
	Notify       bool
	Start, End   string
	Auto         bool
}

type formJourney struct {
	Name       string
	Components []formComponent
}

type formComponent struct {
	ID, Name string
	FieldID  string
	Options  []option // incidents: a status each
	Checked  bool     // maintenance: affected or not
}

type formVar struct {
	Name, FieldID, Label, Help, Value string
}

type draftView struct {
	ID           string
	Title        string
	Kind         string
	IncidentID   string
	Status       string
	Severity     string
	Impact       string
	Components   []affectedView
	NextUpdate   timeView
	Notify       bool
	Note         []string
	Window       string
	Auto         bool
	ProposedBy   string
	Template     string
	Pending      bool
	PublishedURL string
	Preview      *previewView
}

type templatesView struct {
	List      []templateRow
	Form      templateForm
	Kinds     []option
	Statuses  []option
	CompStats []option
	Variables []data.TemplateVariable
}

type templateRow struct {
	ID, Name, Kind, Status, Origin string
	Title, Body                    string
	Deletable                      bool
}

type templateForm struct {
	ID, Name, Kind, Status, ComponentStatus, Severity, Title, Body string
}

func (a *admin) incidentRow(in data.Incident, d data.IncidentDetails) incidentRow {
	r := incidentRow{ID: in.ID, Name: in.Name, Kind: string(in.Kind),
		Status: labelView{Value: string(in.Status), Label: in.Status.Label(), Class: string(in.Status)},
		Impact: impactView(in.Impact), Severity: string(d.Severity), Started: a.srv.timeView(in.StartedAt),
		NextUpdate: a.srv.timeView(d.NextUpdateBy), Overdue: d.Overdue(in, a.now())}
	if in.Kind == data.KindMaintenance {
		r.Started = a.srv.timeView(in.ScheduledFor)
		r.Window = a.srv.timeView(in.ScheduledFor).Text + " to " + a.srv.timeView(in.ScheduledUntil).Text
		now := a.now()
		switch {
		case in.AutoTransition:
		case in.Status == data.Scheduled && !in.ScheduledFor.IsZero() && !in.ScheduledFor.After(now):
			r.Late = "not started"
		case in.Active() && !in.ScheduledUntil.IsZero() && !in.ScheduledUntil.After(now):
			r.Late = "overrunning"
		}
	}
	return r
}

func (a *admin) draftRow(d data.Draft) draftRow {
	r := draftRow{ID: d.ID, Title: d.Name, What: "New " + string(d.Kind), Status: d.Status.Label(), ProposedBy: d.ProposedBy,
		By: d.CreatedBy, Created: a.srv.timeView(d.CreatedAt)}
	if d.IncidentID != "" {
		r.What = "Update"
		if r.Title == "" {
			r.Title = d.IncidentID
		}
	}
	return r
}

func minutesOptions(selected string) []option {
	out := []option{{Value: "", Label: "No time promised"}}
	for _, m := range []int{15, 30, 60, 120, 240} {
		label := strconv.Itoa(m) + " minutes"
		if m >= 60 {
			label = strconv.Itoa(m/60) + " hour"
			if m > 60 {
				label += "s"
			}
		}
		v := strconv.Itoa(m)
		out = append(out, option{Value: v, Label: "In " + label, Selected: v == selected})
	}
	return out
}
