package data

import "time"

// StatusChange is one recorded change of a component's status: the base of
// uptime bars and of "why did this change".
type StatusChange struct {
	ID          int64
	ComponentID string
	OldStatus   ComponentStatus // "" for the first record of a component
	NewStatus   ComponentStatus
	Source      string // what changed it: "config", "incident", "admin", "probe"…
	Actor       string // who: a user, a probe name, "statusd"
	Reason      string
	At          time.Time
}

// SetStatus asks for a component's status to change.
type SetStatus struct {
	ComponentID string
	Status      ComponentStatus
	Source      string
	Actor       string
	Reason      string
}

// Validate checks a status change request.
func (s SetStatus) Validate() error {
	if err := ValidateID("component", s.ComponentID); err != nil {
		return err
	}
	if !s.Status.Valid() {
		return Invalid("status", "%q is not a component status", s.Status)
	}
	if err := ValidateID("source", s.Source); err != nil {
		return err
	}
	if err := ValidateText("actor", s.Actor, 200, true, false); err != nil {
		return err
	}
	return ValidateText("reason", s.Reason, 2000, false, true)
}

// Event is a row of the outbox: something happened that readers of the page
// and subscribers should learn about. It is written in the same transaction
// as the change it announces.
type Event struct {
	ID        int64
	Kind      string // e.g. "component.status", "incident.created"
	Subject   string // the id of what changed
	Payload   string // JSON
	CreatedAt time.Time
}

// The event kinds the store writes.
const (
	EventComponentStatus    = "component.status"
	EventIncidentCreated    = "incident.created"
	EventIncidentUpdated    = "incident.updated"
	EventMaintenanceCreated = "maintenance.created"
	EventMaintenanceUpdated = "maintenance.updated"
	EventCatalogSynced      = "catalog.synced"
)

// PartialOutageWeight is the share of a partial outage counted as downtime,
// the convention status pages commonly use: a major outage counts in full,
// degraded performance and maintenance not at all.
const PartialOutageWeight = 0.3

// DayUptime is one day of a component's uptime bar.
type DayUptime struct {
	Date    time.Time       // midnight in the page's time zone
	HasData bool            // false for days before the component existed or outside recorded history
	Uptime  float64         // 0..1, meaningful when HasData
	Worst   ComponentStatus // the worst status seen that day
	Known   time.Duration   // how much of the day has recorded status
	// Seconds spent in each non-operational status that day.
	Degraded, Partial, Major, Maintenance time.Duration
}

// Downtime is how much of the day counts as down, in nanoseconds: major
// outages in full, partial outages at PartialOutageWeight. Uptime is
// 1 - Downtime/Known; sums of Downtime over days give uptime over a period.
func (d DayUptime) Downtime() float64 {
	return float64(d.Major) + PartialOutageWeight*float64(d.Partial)
}
