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
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Status          string            `json:"status"`
	CreatedAt       spTime            `json:"created_at"`
	UpdatedAt       spTime            `json:"updated_at"`
	MonitoringAt    spTime            `json:"monitoring_at"`
	ResolvedAt      spTime            `json:"resolved_at"`
	Impact          string            `json:"impact"`
	Shortlink       string            `json:"shortlink"`
	StartedAt       spTime            `json:"started_at"`
	PageID          string            `json:"page_id"`
	IncidentUpdates []spUpdate        `json:"incident_updates"`
	Components      []json.RawMessage `json:"components"` // spComponent JSON, kept per component`
	// Maintenance only.
	ScheduledFor   *spTime `json:"scheduled_for,omitempty"`
	ScheduledUntil *spTime `json:"scheduled_until,omitempty"`
}

type spStatus struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
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

// apiDocs renders every /api/v2 document from m. Each component and each
// incident is marshalled once and kept by render key; the documents are put
// together from those pieces, byte for byte what json.Marshal makes of the
// whole (TestAPIDocsAssembled checks it), so a change of one component
// re-marshals that component and the incidents that show it.
func (s *Server) apiDocs(m *model) ([]doc, error) {
	f := &s.frags
	page, err := json.Marshal(spPage{ID: m.page.ID, Name: m.page.Name, URL: m.page.URL, TimeZone: m.page.TimeZoneName, UpdatedAt: spTime(m.updatedAt)})
	if err != nil {
		return nil, err
	}
	comps := make([][]byte, 0, len(m.snap.Components))
	compKey := make(map[string]uint64, len(m.snap.Components))
	byID := make(map[string][]byte, len(m.snap.Components))
	for i, c := range m.snap.Components {
		k := newKeyHash().str("component").str(m.page.ID).u64(m.componentKey[c.ID]).i64(int64(i))
		if c.IsGroup {
			k.any(m.children[c.ID])
		}
		key := k.sum()
		b, ok := f.compJSON.get(key)
		if !ok {
			sc := spComponent{
				ID: c.ID, Name: c.Name, Status: string(c.Status), CreatedAt: spTime(c.CreatedAt), UpdatedAt: spTime(c.UpdatedAt),
				Position: i + 1, Description: nullable(c.Description), Showcase: c.Showcase, GroupID: nullable(c.GroupID),
				PageID: m.page.ID, Group: c.IsGroup, OnlyShowIfDegraded: c.OnlyShowIfDegraded,
			}
			if c.IsGroup {
				sc.Components = append([]string{}, m.children[c.ID]...)
			}
			if b, err = json.Marshal(sc); err != nil {
				return nil, err
			}
			f.compJSON.put(key, b)
		}
		comps = append(comps, b)
		compKey[c.ID] = key
		byID[c.ID] = b
	}
	incident := func(in data.Incident) ([]byte, error) {
		k := newKeyHash().str("incident").str(m.page.ID).str(m.page.URL).u64(m.incidentKeys[in.ID])
		for _, id := range in.ComponentIDs {
			k.u64(compKey[id]) // 0 for an archived component, which drops out
		}
		key := k.sum()
		if b, ok := f.incJSON.get(key); ok {
			return b, nil
		}
		b, err := json.Marshal(spIncidentOf(m, in, byID))
		if err != nil {
			return nil, err
		}
		f.incJSON.put(key, b)
		return b, nil
	}
	conv := func(list []data.Incident) ([][]byte, error) {
		out := make([][]byte, 0, len(list))
		for _, in := range list {
			b, err := incident(in)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
		return out, nil
	}
	lists := map[string][][]byte{}
	for name, l := range map[string][]data.Incident{
		"incidents": firstN(m.incidents, 50), "unresolved": m.openIncidents, "maintenance": firstN(m.maintenances, 50),
		"upcoming": m.upcoming, "active": m.activeMaint, "current": append(append([]data.Incident{}, m.activeMaint...), m.upcoming...),
	} {
		if lists[name], err = conv(l); err != nil {
			return nil, err
		}
	}
	status, err := json.Marshal(spStatus{Indicator: string(m.status.Indicator), Description: m.status.Description})
	if err != nil {
		return nil, err
	}

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
	journeysJSON, err := json.Marshal(struct {
		Page     json.RawMessage `json:"page"`
		Journeys []journeyDoc    `json:"journeys"`
	}{page, journeys})
	if err != nil {
		return nil, err
	}

	type field struct {
		name  string
		value any // []byte: JSON as it is; [][]byte: a list of them
	}
	object := func(fields ...field) []byte {
		n := 2
		for _, f := range fields {
			switch v := f.value.(type) {
			case []byte:
				n += len(v)
			case [][]byte:
				for _, b := range v {
					n += len(b) + 1
				}
			}
			n += len(f.name) + 5
		}
		b := make([]byte, 0, n)
		b = append(b, '{')
		for i, f := range fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(append(append(b, '"'), f.name...), `":`...)
			switch v := f.value.(type) {
			case []byte:
				b = append(b, v...)
			case [][]byte:
				b = append(b, '[')
				for i, item := range v {
					if i > 0 {
						b = append(b, ',')
					}
					b = append(b, item...)
				}
				b = append(b, ']')
			}
		}
		return append(b, '}')
	}
	docs := []struct {
		path string
		body []byte
		tags []string
	}{
		{"/api/v2/summary.json", object(field{"page", page}, field{"components", comps}, field{"incidents", lists["unresolved"]},
			field{"scheduled_maintenances", lists["current"]}, field{"status", status}), nil},
		{"/api/v2/status.json", object(field{"page", page}, field{"status", status}), nil},
		{"/api/v2/components.json", object(field{"page", page}, field{"components", comps}), []string{"components"}},
		{"/api/v2/incidents.json", object(field{"page", page}, field{"incidents", lists["incidents"]}), []string{"incidents"}},
		{"/api/v2/incidents/unresolved.json", object(field{"page", page}, field{"incidents", lists["unresolved"]}), []string{"incidents"}},
		{"/api/v2/scheduled-maintenances.json", object(field{"page", page}, field{"scheduled_maintenances", lists["maintenance"]}), []string{"maintenance"}},
		{"/api/v2/scheduled-maintenances/upcoming.json", object(field{"page", page}, field{"scheduled_maintenances", lists["upcoming"]}), []string{"maintenance"}},
		{"/api/v2/scheduled-maintenances/active.json", object(field{"page", page}, field{"scheduled_maintenances", lists["active"]}), []string{"maintenance"}},
		{"/api/v2/journeys.json", journeysJSON, []string{"journeys"}},
	}
	out := make([]doc, 0, len(docs))
	for _, d := range docs {
		out = append(out, doc{path: d.path, kind: kindJSON, contentType: "application/json; charset=utf-8", body: d.body, tags: d.tags})
	}
	return out, nil
}

// spIncidentOf converts an incident for the API. comps holds the JSON of
// the page's components by id; an archived component drops out.
func spIncidentOf(m *model, in data.Incident, comps map[string][]byte) spIncident {
	si := spIncident{
		ID: in.ID, Name: in.Name, Status: string(in.Status), CreatedAt: spTime(in.CreatedAt), UpdatedAt: spTime(in.UpdatedAt),
		MonitoringAt: spTime(in.MonitoringAt), ResolvedAt: spTime(in.ResolvedAt), Impact: string(in.Impact),
		Shortlink: m.page.URL + "/incidents/" + in.ID, StartedAt: spTime(in.StartedAt), PageID: m.page.ID,
		IncidentUpdates: make([]spUpdate, 0, len(in.Updates)), Components: []json.RawMessage{},
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
		if c, ok := comps[id]; ok {
			si.Components = append(si.Components, c)
		}
	}
	return si
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
