package data

import "time"

// StatusChange is one recorded change of a component's status: the base of
// uptime bars and of "why did this change".
type StatusChange struct {
	ID          int64
	ComponentID string
	OldStatus   ComponentStatus // "" for the first record of a component
	NewStatus   ComponentStatus
	// Source is the input that decided the new status (override, incident,
	// maintenance, automatic), "config" for a component's first record, or
	// "" when no input remains and the component is operational by default.
	Source string
	Actor  string // who made the change that caused it: a user, "probes", "statusd"
	Reason string // the deciding input's reason
	At     time.Time
}

// SetStatus asks for a person's override of a component's status; see
// Store.SetComponentStatus.
type SetStatus struct {
	ComponentID string
	Status      ComponentStatus
	Actor       string
	Reason      string
}

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
	// Measured is set when Uptime comes from probe results (the share of
	// successful checks) rather than from the status history.
	Measured bool
	// Seconds spent in each non-operational status that day.
	Degraded, Partial, Major, Maintenance time.Duration
}

// Downtime is how much of the day counts as down, in nanoseconds: major
// outages in full, partial outages at PartialOutageWeight. Uptime is
// 1 - Downtime/Known; sums of Downtime over days give uptime over a period.
func (d DayUptime) Downtime() float64 {
	return float64(d.Major) + PartialOutageWeight*float64(d.Partial)
}
