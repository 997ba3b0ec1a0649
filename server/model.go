package server

import (
	"sort"
	"time"

	"github.com/statusd/statusd/data"
)

// model is a data.Snapshot with what every document derives from it computed
// once: the rollup, groups' children, incidents sorted by what they are.
type model struct {
	page           Page
	snap           *data.Snapshot
	stale          bool
	updatedAt      time.Time // the newest change in the data, for page.updated_at
	children       map[string][]string
	names          map[string]string // component names by id
	status         data.PageStatus
	incidents      []data.Incident // newest first
	openIncidents  []data.Incident // newest first
	maintenances   []data.Incident // newest first
	upcoming       []data.Incident // scheduled, soonest first
	activeMaint    []data.Incident // in progress or verifying, soonest end first
	journeyStatus  map[string]data.ComponentStatus
	journeyUpdated map[string]time.Time

	// Render keys (see memo.go).
	incidentKeys map[string]uint64 // every field of each incident, by id
	componentKey map[string]uint64 // every field of each component, by id
	// pageKey covers what every page shares besides its own content: the
	// stale notice and the time it names, and the component names that
	// incidents show. A page rendered under another pageKey is out of date.
	pageKey uint64
}

func newModel(p Page, snap *data.Snapshot, stale bool) *model {
	m := &model{page: p, snap: snap, stale: stale, children: map[string][]string{}, names: map[string]string{},
		journeyStatus: map[string]data.ComponentStatus{}, journeyUpdated: map[string]time.Time{},
		incidentKeys: make(map[string]uint64, len(snap.Incidents)+len(snap.Maintenances)),
		componentKey: make(map[string]uint64, len(snap.Components))}
	pk := newKeyHash().flag(stale)
	if stale {
		pk.time(snap.TakenAt)
	}
	var statuses []data.ComponentStatus
	for _, j := range snap.Journeys {
		m.journeyStatus[j.ID] = data.Operational
		m.journeyUpdated[j.ID] = j.UpdatedAt
		m.updatedAt = later(m.updatedAt, j.UpdatedAt)
	}
	for _, c := range snap.Components {
		m.updatedAt = later(m.updatedAt, c.UpdatedAt)
		m.names[c.ID] = c.Name
		pk.str(c.ID).str(c.Name)
		m.componentKey[c.ID] = newKeyHash().any(c).sum()
		if c.GroupID != "" {
			m.children[c.GroupID] = append(m.children[c.GroupID], c.ID)
		}
		if c.IsGroup {
			continue
		}
		statuses = append(statuses, c.Status)
		m.journeyStatus[c.JourneyID] = m.journeyStatus[c.JourneyID].Worse(c.Status)
		m.journeyUpdated[c.JourneyID] = later(m.journeyUpdated[c.JourneyID], c.UpdatedAt)
	}
	var impacts []data.Impact
	m.pageKey = pk.sum()
	for _, in := range snap.Incidents {
		m.incidentKeys[in.ID] = newKeyHash().any(in).sum()
		m.updatedAt = later(m.updatedAt, in.UpdatedAt)
		m.incidents = append(m.incidents, in)
		if in.Open() {
			m.openIncidents = append(m.openIncidents, in)
			impacts = append(impacts, in.Impact)
		}
	}
	for _, in := range snap.Maintenances {
		m.incidentKeys[in.ID] = newKeyHash().any(in).sum()
		m.updatedAt = later(m.updatedAt, in.UpdatedAt)
		m.maintenances = append(m.maintenances, in)
		switch {
		case in.Status == data.Scheduled:
			m.upcoming = append(m.upcoming, in)
		case in.Active():
			m.activeMaint = append(m.activeMaint, in)
			impacts = append(impacts, data.ImpactMaintenance)
		}
	}
	sort.SliceStable(m.upcoming, func(i, j int) bool { return m.upcoming[i].ScheduledFor.Before(m.upcoming[j].ScheduledFor) })
	sort.SliceStable(m.activeMaint, func(i, j int) bool { return m.activeMaint[i].ScheduledUntil.Before(m.activeMaint[j].ScheduledUntil) })
	m.status = data.Rollup(statuses, impacts)
	if m.updatedAt.IsZero() {
		m.updatedAt = snap.TakenAt
	}
	return m
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// sortByActivity orders by last update, newest first, then by id.
func sortByActivity(l []data.Incident) {
	sort.SliceStable(l, func(i, j int) bool {
		if !l[i].UpdatedAt.Equal(l[j].UpdatedAt) {
			return l[i].UpdatedAt.After(l[j].UpdatedAt)
		}
		return l[i].ID < l[j].ID
	})
}
