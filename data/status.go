package data

// ComponentStatus is a component's state, spelled as Statuspage spells it.
type ComponentStatus string

// The component statuses, in Statuspage's spelling.
const (
	Operational         ComponentStatus = "operational"
	DegradedPerformance ComponentStatus = "degraded_performance"
	PartialOutage       ComponentStatus = "partial_outage"
	MajorOutage         ComponentStatus = "major_outage"
	UnderMaintenance    ComponentStatus = "under_maintenance"
)

// ComponentStatuses lists every component status from best to worst.
var ComponentStatuses = []ComponentStatus{Operational, UnderMaintenance, DegradedPerformance, PartialOutage, MajorOutage}

// Valid reports whether s is one of the defined statuses.
func (s ComponentStatus) Valid() bool { return s.Severity() >= 0 }

// Severity orders statuses from operational (0) to major outage (4); it is -1
// for an unknown status. Maintenance ranks just above operational: the service
// is planned to be affected, which is worse than nothing but better than any
// unplanned trouble.
func (s ComponentStatus) Severity() int {
	switch s {
	case Operational:
		return 0
	case UnderMaintenance:
		return 1
	case DegradedPerformance:
		return 2
	case PartialOutage:
		return 3
	case MajorOutage:
		return 4
	}
	return -1
}

// Label is the status in words for people.
func (s ComponentStatus) Label() string {
	switch s {
	case Operational:
		return "Operational"
	case UnderMaintenance:
		return "Under maintenance"
	case DegradedPerformance:
		return "Degraded performance"
	case PartialOutage:
		return "Partial outage"
	case MajorOutage:
		return "Major outage"
	}
	return "Unknown"
}

// Worse returns the more severe of s and o.
func (s ComponentStatus) Worse(o ComponentStatus) ComponentStatus {
	if o.Severity() > s.Severity() {
		return o
	}
	return s
}

// ParseComponentStatus validates a status given by a user.
func ParseComponentStatus(v string) (ComponentStatus, error) {
	s := ComponentStatus(v)
	if !s.Valid() {
		return "", Invalid("status", "%q is not one of operational, degraded_performance, partial_outage, major_outage, under_maintenance", v)
	}
	return s, nil
}

// IncidentStatus is the stage an incident or a maintenance is in. Incidents
// use investigating, identified, monitoring, resolved and postmortem;
// maintenance uses scheduled, in_progress, verifying and completed.
type IncidentStatus string

// Incident and maintenance statuses, in Statuspage's spelling.
const (
	Investigating IncidentStatus = "investigating"
	Identified    IncidentStatus = "identified"
	Monitoring    IncidentStatus = "monitoring"
	Resolved      IncidentStatus = "resolved"
	Postmortem    IncidentStatus = "postmortem"

	Scheduled  IncidentStatus = "scheduled"
	InProgress IncidentStatus = "in_progress"
	Verifying  IncidentStatus = "verifying"
	Completed  IncidentStatus = "completed"
)

// Label is the status in words for people.
func (s IncidentStatus) Label() string {
	switch s {
	case Investigating:
		return "Investigating"
	case Identified:
		return "Identified"
	case Monitoring:
		return "Monitoring"
	case Resolved:
		return "Resolved"
	case Postmortem:
		return "Postmortem"
	case Scheduled:
		return "Scheduled"
	case InProgress:
		return "In progress"
	case Verifying:
		return "Verifying"
	case Completed:
		return "Completed"
	}
	return "Unknown"
}

// Impact is how much an incident affects customers, or "maintenance".
type Impact string

// The impacts, in Statuspage's spelling.
const (
	ImpactNone        Impact = "none"
	ImpactMinor       Impact = "minor"
	ImpactMajor       Impact = "major"
	ImpactCritical    Impact = "critical"
	ImpactMaintenance Impact = "maintenance"
)

// Label is the impact in words for people.
func (i Impact) Label() string {
	switch i {
	case ImpactNone:
		return "No impact"
	case ImpactMinor:
		return "Minor"
	case ImpactMajor:
		return "Major"
	case ImpactCritical:
		return "Critical"
	case ImpactMaintenance:
		return "Maintenance"
	}
	return "Unknown"
}

// Indicator is the page-wide rollup: none, minor, major, critical or
// maintenance, with Statuspage's descriptions.
type Indicator string

// The page indicators.
const (
	IndicatorNone        Indicator = "none"
	IndicatorMinor       Indicator = "minor"
	IndicatorMajor       Indicator = "major"
	IndicatorCritical    Indicator = "critical"
	IndicatorMaintenance Indicator = "maintenance"
)

func (i Indicator) rank() int {
	switch i {
	case IndicatorMaintenance:
		return 1
	case IndicatorMinor:
		return 2
	case IndicatorMajor:
		return 3
	case IndicatorCritical:
		return 4
	}
	return 0
}

// PageStatus is the rollup shown at the top of the page and in status.json.
type PageStatus struct {
	Indicator   Indicator
	Description string
}

// Rollup computes the page status the way Statuspage does: the worst of what
// the components say and what the unresolved incidents' impacts say.
//
// From components (groups excluded, as their status is derived):
// any major outage on some components is "major" (Partial System Outage), on
// all of them "critical" (Major Service Outage); a partial outage is "minor"
// (Minor Service Outage); degraded performance is "minor" (Partially Degraded
// Service); only maintenance is "maintenance" (Service Under Maintenance).
// An unresolved incident raises the indicator to its impact: minor (Minor
// Service Outage), major (Partial System Outage), critical (Major Service
// Outage). An in-progress maintenance raises it to "maintenance".
func Rollup(statuses []ComponentStatus, openImpacts []Impact) PageStatus {
	var worst ComponentStatus = Operational
	majors := 0
	for _, s := range statuses {
		worst = worst.Worse(s)
		if s == MajorOutage {
			majors++
		}
	}
	ps := PageStatus{Indicator: IndicatorNone, Description: "All Systems Operational"}
	switch worst {
	case MajorOutage:
		if majors == len(statuses) {
			ps = PageStatus{IndicatorCritical, "Major Service Outage"}
		} else {
			ps = PageStatus{IndicatorMajor, "Partial System Outage"}
		}
	case PartialOutage:
		ps = PageStatus{IndicatorMinor, "Minor Service Outage"}
	case DegradedPerformance:
		ps = PageStatus{IndicatorMinor, "Partially Degraded Service"}
	case UnderMaintenance:
		ps = PageStatus{IndicatorMaintenance, "Service Under Maintenance"}
	}
	for _, imp := range openImpacts {
		var cand PageStatus
		switch imp {
		case ImpactMinor:
			cand = PageStatus{IndicatorMinor, "Minor Service Outage"}
		case ImpactMajor:
			cand = PageStatus{IndicatorMajor, "Partial System Outage"}
		case ImpactCritical:
			cand = PageStatus{IndicatorCritical, "Major Service Outage"}
		case ImpactMaintenance:
			cand = PageStatus{IndicatorMaintenance, "Service Under Maintenance"}
		default:
			continue
		}
		if cand.Indicator.rank() > ps.Indicator.rank() {
			ps = cand
		}
	}
	return ps
}
