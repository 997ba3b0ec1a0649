package server

import (
	"encoding/json"
	"time"

	"github.com/statusd/statusd/data"
)

// The types below are Statuspage's public API v2 shapes (see
// shared/reference/statuspage-v2.md): field names, nesting and order are
// theirs, so existing clients and widgets read them unchanged.

// spTime is an instant in Statuspage's format: ISO 8601, milliseconds, UTC
// with a Z suffix. The zero time encodes as null.
type spTime time.Time

func (t spTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + tt.UTC().Format("2006-01-02T15:04:05.000Z07:00") + `"`), nil
}

type spPage struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	UpdatedAt spTime `json:"updated_at"`
}

type spComponent struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	Status             string   `json:"status"`
	CreatedAt          spTime   `json:"created_at"`
	UpdatedAt          spTime   `json:"updated_at"`
	Position           int      `json:"position"`
	Description        *string  `json:"description"`
	Showcase           bool     `json:"showcase"`
	StartDate          *string  `json:"start_date"`
	GroupID            *string  `json:"group_id"`
	PageID             string   `json:"page_id"`
	Group              bool     `json:"group"`
	OnlyShowIfDegraded bool     `json:"only_show_if_degraded"`
	Components         []string `json:"components,omitempty"`
}

type spAffected struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

type spUpdate struct {
	ID                   string       `json:"id"`
	Status               string       `json:"status"`
	Body                 string       `json:"body"`
	IncidentID           string       `json:"incident_id"`
	CreatedAt            spTime       `json:"created_at"`
	UpdatedAt            spTime       `json:"updated_at"`
	DisplayAt            spTime       `json:"display_at"`
	AffectedComponents   []spAffected `json:"affected_components"`
	DeliverNotifications bool         `json:"deliver_notifications"`
	CustomTweet          *string      `json:"custom_tweet"`
	TweetID              *string      `json:"tweet_id"`
}

type spIncident struct {
	ID              string        `json:"id"`
	Name            string        `json:"name"`
	Status          string        `json:"status"`
	CreatedAt       spTime        `json:"created_at"`
	UpdatedAt       spTime        `json:"updated_at"`
	MonitoringAt    spTime        `json:"monitoring_at"`
	ResolvedAt      spTime        `json:"resolved_at"`
	Impact          string        `json:"impact"`
	Shortlink       string        `json:"shortlink"`
	StartedAt       spTime        `json:"started_at"`
	PageID          string        `json:"page_id"`
	IncidentUpdates []spUpdate    `json:"incident_updates"`
	Components      []spComponent `json:"components"`
	// Maintenance only.
	ScheduledFor   *spTime `json:"scheduled_for,omitempty"`
	ScheduledUntil *spTime `json:"scheduled_until,omitempty"`
}

type spStatus struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

type spSummary struct {
	Page                  spPage        `json:"page"`
	Components            []spComponent `json:"components"`
	Incidents             []spIncident  `json:"incidents"`
	ScheduledMaintenances []spIncident  `json:"scheduled_maintenances"`
	Status                spStatus      `json:"status"`
}

// journeyDoc is statusd's extension: journeys with their components, and a
// place for the SLO figures that the SLO capability fills.
type journeyDoc struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description *string  `json:"description"`
	Position    int      `json:"position"`
	Status      string   `json:"status"`
	UpdatedAt   spTime   `json:"updated_at"`
	Components  []string `json:"components"`
	// ComponentStatuses says, per component, its status and what decided
	// it ("last changed because…").
	ComponentStatuses []componentStatusDoc `json:"component_statuses"`
	SLOs              []any                `json:"slos"`
}

// componentStatusDoc is one component's status in journeys.json, with the
// input that decided it: source is override, incident, maintenance,
// automatic, or null when no input remains (operational by default).
type componentStatusDoc struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Status    string  `json:"status"`
	Source    *string `json:"source"`
	Reason    *string `json:"reason"`
	ChangedAt spTime  `json:"changed_at"`
}

// apiDocs renders every /api/v2 document from m.
func apiDocs(m *model) ([]doc, error) {
	page := spPage{ID: m.page.ID, Name: m.page.Name, URL: m.page.URL, TimeZone: m.page.TimeZoneName, UpdatedAt: spTime(m.updatedAt)}
	comps := make([]spComponent, 0, len(m.snap.Components))
	byID := map[string]spComponent{}
	for i, c := range m.snap.Components {
		sc := spComponent{
			ID: c.ID, Name: c.Name, Status: string(c.Status), CreatedAt: spTime(c.CreatedAt), UpdatedAt: spTime(c.UpdatedAt),
			Position: i + 1, Description: nullable(c.Description), Showcase: c.Showcase, GroupID: nullable(c.GroupID),
			PageID: m.page.ID, Group: c.IsGroup, OnlyShowIfDegraded: c.OnlyShowIfDegraded,
		}
		if c.IsGroup {
			sc.Components = append([]string{}, m.children[c.ID]...)
		}
		comps = append(comps, sc)
		byID[c.ID] = sc
	}
	// Each incident is converted once; the documents pick from the cache.
	cache := map[string]spIncident{}
	conv := func(list []data.Incident) []spIncident {
		out := make([]spIncident, 0, len(list))
		for _, in := range list {
			if si, ok := cache[in.ID]; ok {
				out = append(out, si)
				continue
			}
			si := spIncident{
				ID: in.ID, Name: in.Name, Status: string(in.Status), CreatedAt: spTime(in.CreatedAt), UpdatedAt: spTime(in.UpdatedAt),
				MonitoringAt: spTime(in.MonitoringAt), ResolvedAt: spTime(in.ResolvedAt), Impact: string(in.Impact),
				Shortlink: m.page.URL + "/incidents/" + in.ID, StartedAt: spTime(in.StartedAt), PageID: m.page.ID,
				IncidentUpdates: make([]spUpdate, 0, len(in.Updates)), Components: []spComponent{},
			}
			if in.Kind == data.KindMaintenance {
				sf, su := spTime(in.ScheduledFor), spTime(in.ScheduledUntil)
				si.ScheduledFor, si.ScheduledUntil = &sf, &su
			}
			for _, u := range in.Updates {
				su := spUpdate{ID: u.ID, Status: string(u.Status), Body: u.Body, IncidentID: in.ID, CreatedAt: spTime(u.CreatedAt),
					UpdatedAt: spTime(u.UpdatedAt), DisplayAt: spTime(u.DisplayAt), AffectedComponents: []spAffected{},
					DeliverNotifications: true}
				for _, a := range u.Affected {
					su.AffectedComponents = append(su.AffectedComponents, spAffected{Code: a.ComponentID, Name: a.Name,
						OldStatus: string(a.OldStatus), NewStatus: string(a.NewStatus)})
				}
				si.IncidentUpdates = append(si.IncidentUpdates, su)
			}
			for _, id := range in.ComponentIDs {
				if c, ok := byID[id]; ok { // archived components drop out
					si.Components = append(si.Components, c)
				}
			}
			cache[in.ID] = si
			out = append(out, si)
		}
		return out
	}
	incidents := conv(m.incidents)
	unresolved := conv(m.openIncidents)
	maint := conv(m.maintenances)
	upcoming := conv(m.upcoming)
	active := conv(m.activeMaint)
	current := conv(append(append([]data.Incident{}, m.activeMaint...), m.upcoming...))
	status := spStatus{Indicator: string(m.status.Indicator), Description: m.status.Description}

	journeys := make([]journeyDoc, 0, len(m.snap.Journeys))
	for i, j := range m.snap.Journeys {
		jd := journeyDoc{ID: j.ID, Name: j.Name, Description: nullable(j.Description), Position: i + 1,
			Status: string(m.journeyStatus[j.ID]), UpdatedAt: spTime(m.journeyUpdated[j.ID]), Components: []string{}, SLOs: []any{}}
		jd.ComponentStatuses = []componentStatusDoc{}
		for _, c := range m.snap.Components {
			if c.JourneyID == j.ID {
				jd.Components = append(jd.Components, c.ID)
				jd.ComponentStatuses = append(jd.ComponentStatuses, componentStatusDoc{ID: c.ID, Name: c.Name, Status: string(c.Status),
					Source: nullable(string(c.StatusSource)), Reason: nullable(c.StatusReason), ChangedAt: spTime(c.StatusChangedAt)})
			}
		}
		journeys = append(journeys, jd)
	}

	docs := []struct {
		path string
		v    any
		tags []string
	}{
		{"/api/v2/summary.json", spSummary{Page: page, Components: comps, Incidents: unresolved, ScheduledMaintenances: current, Status: status}, nil},
		{"/api/v2/status.json", struct {
			Page   spPage   `json:"page"`
			Status spStatus `json:"status"`
		}{page, status}, nil},
		{"/api/v2/components.json", struct {
			Page       spPage        `json:"page"`
			Components []spComponent `json:"components"`
		}{page, comps}, []string{"components"}},
		{"/api/v2/incidents.json", incidentsDoc{page, firstN(incidents, 50)}, []string{"incidents"}},
		{"/api/v2/incidents/unresolved.json", incidentsDoc{page, unresolved}, []string{"incidents"}},
		{"/api/v2/scheduled-maintenances.json", maintDoc{page, firstN(maint, 50)}, []string{"maintenance"}},
		{"/api/v2/scheduled-maintenances/upcoming.json", maintDoc{page, upcoming}, []string{"maintenance"}},
		{"/api/v2/scheduled-maintenances/active.json", maintDoc{page, active}, []string{"maintenance"}},
		{"/api/v2/journeys.json", struct {
			Page     spPage       `json:"page"`
			Journeys []journeyDoc `json:"journeys"`
		}{page, journeys}, []string{"journeys"}},
	}
	out := make([]doc, 0, len(docs))
	for _, d := range docs {
		b, err := json.Marshal(d.v)
		if err != nil {
			return nil, err
		}
		out = append(out, doc{path: d.path, kind: kindJSON, contentType: "application/json; charset=utf-8", body: b, tags: d.tags})
	}
	return out, nil
}

type incidentsDoc struct {
	Page      spPage       `json:"page"`
	Incidents []spIncident `json:"incidents"`
}

type maintDoc struct {
	Page                  spPage       `json:"page"`
	ScheduledMaintenances []spIncident `json:"scheduled_maintenances"`
}

func firstN[T any](l []T, n int) []T {
	if len(l) > n {
		return l[:n]
	}
	return l
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
