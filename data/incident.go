package data

import (
	"time"
)

// Kind tells an incident from a scheduled maintenance. Both share one shape,
// as they do in Statuspage's API.
type Kind string

// The kinds of incident record.
const (
	KindIncident    Kind = "incident"
	KindMaintenance Kind = "maintenance"
)

// Incident is an unplanned incident or a scheduled maintenance, with its
// updates newest first.
type Incident struct {
	ID             string
	Kind           Kind
	Name           string
	Status         IncidentStatus
	Impact         Impact
	CreatedAt      time.Time
	UpdatedAt      time.Time
	StartedAt      time.Time
	MonitoringAt   time.Time // zero if never monitoring
	ResolvedAt     time.Time // zero while open
	ScheduledFor   time.Time // maintenance only
	ScheduledUntil time.Time // maintenance only
	ComponentIDs   []string  // every component the incident has touched, in page order
	AutoTransition bool      // maintenance only: starts and completes at its times
	Updates        []IncidentUpdate
}

// IncidentUpdate is one message posted on an incident.
type IncidentUpdate struct {
	ID         string
	IncidentID string
	Status     IncidentStatus
	Body       string // plain text: the API, feeds, email and webhooks carry it
	// BodyHTML is Body as the page shows it, rendered from Markdown when it
	// was published; "" for an update posted as plain text.
	BodyHTML  string
	CreatedAt time.Time
	UpdatedAt time.Time
	DisplayAt time.Time
	Affected  []AffectedComponent
}

// AffectedComponent records a component status change made by an update.
type AffectedComponent struct {
	ComponentID string          `json:"component_id"`
	Name        string          `json:"name"`
	OldStatus   ComponentStatus `json:"old_status"`
	NewStatus   ComponentStatus `json:"new_status"`
	// Declared is the status the update declared for the component ("" when
	// it declared none); NewStatus is what the component then showed, which
	// a stronger input such as an override may have kept different.
	Declared ComponentStatus `json:"declared,omitempty"`
}

// Open reports whether the incident is unresolved, or the maintenance not yet
// completed.
func (i Incident) Open() bool {
	switch i.Status {
	case Resolved, Postmortem, Completed:
		return false
	}
	return true
}

// Active reports whether a maintenance is in progress or being verified.
func (i Incident) Active() bool {
	return i.Kind == KindMaintenance && (i.Status == InProgress || i.Status == Verifying)
}

// NewIncident is what a comms lead supplies to open an incident.
type NewIncident struct {
	Name   string
	Status IncidentStatus // investigating, identified or monitoring; investigating if empty
	Impact Impact         // none, minor, major or critical; none if empty
	Body   string
	// BodyHTML is Body rendered for the page ("" shows Body as text).
	BodyHTML string
	// Components declares the status of affected components during the
	// incident: each becomes the component's incident input.
	Components map[string]ComponentStatus
	Actor      string
	// Silent publishes without notifying subscribers.
	Silent bool
}

// NewMaintenance is what a comms lead supplies to schedule maintenance.
type NewMaintenance struct {
	Name           string
	Body           string
	BodyHTML       string // Body rendered for the page ("" shows Body as text)
	ScheduledFor   time.Time
	ScheduledUntil time.Time
	ComponentIDs   []string
	Actor          string
	// AutoTransition starts the window at ScheduledFor and completes it at
	// ScheduledUntil without a person.
	AutoTransition bool
	Silent         bool
}

// NewUpdate is a further message on an incident or maintenance.
type NewUpdate struct {
	Status     IncidentStatus
	Body       string
	BodyHTML   string // Body rendered for the page ("" shows Body as text)
	Components map[string]ComponentStatus
	Actor      string
	Silent     bool // publish without notifying subscribers
}

func validIncidentStatus(s IncidentStatus, k Kind) bool {
	switch k {
	case KindIncident:
		switch s {
		case Investigating, Identified, Monitoring, Resolved, Postmortem:
			return true
		}
	case KindMaintenance:
		switch s {
		case Scheduled, InProgress, Verifying, Completed:
			return true
		}
	}
	return false
}

// CanMove reports whether an incident of kind k may go from status from to
// status to. Open incidents move freely between investigating, identified and
// monitoring and may be resolved; a resolved incident may be reopened or get
// a postmortem; a postmortem only takes further postmortem notes. Maintenance
// goes scheduled → in progress → verifying → completed, may step back from
// verifying to in progress, and may be completed (or cancelled) at any point;
// a completed maintenance takes no more updates.
func CanMove(k Kind, from, to IncidentStatus) bool {
	if !validIncidentStatus(from, k) || !validIncidentStatus(to, k) {
		return false
	}
	if k == KindIncident {
		switch from {
		case Investigating, Identified, Monitoring:
			return to != Postmortem
		case Resolved:
			return true
		case Postmortem:
			return to == Postmortem
		}
		return false
	}
	switch from {
	case Scheduled:
		return to == Scheduled || to == InProgress || to == Completed
	case InProgress:
		return to == InProgress || to == Verifying || to == Completed
	case Verifying:
		return to == InProgress || to == Verifying || to == Completed
	}
	return false
}

func validateComponentsMap(m map[string]ComponentStatus) error {
	if len(m) > 500 {
		return Invalid("components", "at most 500 components per update")
	}
	for id, s := range m {
		if err := ValidateID("components", id); err != nil {
			return err
		}
		if !s.Valid() {
			return Invalid("components", "status %q for %q is not a component status", s, id)
		}
	}
	return nil
}

// Validate checks a new incident and fills in defaults.
func (n *NewIncident) Validate() error {
	if n.Status == "" {
		n.Status = Investigating
	}
	if n.Impact == "" {
		n.Impact = ImpactNone
	}
	if err := ValidateText("name", n.Name, 200, true, false); err != nil {
		return err
	}
	if err := ValidateText("body", n.Body, 20000, true, true); err != nil {
		return err
	}
	switch n.Status {
	case Investigating, Identified, Monitoring:
	default:
		return Invalid("status", "%q: a new incident is investigating, identified or monitoring", n.Status)
	}
	switch n.Impact {
	case ImpactNone, ImpactMinor, ImpactMajor, ImpactCritical:
	default:
		return Invalid("impact", "%q is not one of none, minor, major, critical", n.Impact)
	}
	if err := validateComponentsMap(n.Components); err != nil {
		return err
	}
	return ValidateText("actor", n.Actor, 200, true, false)
}

// Validate checks a new maintenance.
func (n *NewMaintenance) Validate() error {
	if err := ValidateText("name", n.Name, 200, true, false); err != nil {
		return err
	}
	if err := ValidateText("body", n.Body, 20000, true, true); err != nil {
		return err
	}
	if n.ScheduledFor.IsZero() || n.ScheduledUntil.IsZero() {
		return Invalid("scheduled_for", "a maintenance needs a start and an end")
	}
	if !n.ScheduledUntil.After(n.ScheduledFor) {
		return Invalid("scheduled_until", "must be after scheduled_for")
	}
	if len(n.ComponentIDs) > 500 {
		return Invalid("components", "at most 500 components per maintenance")
	}
	for _, id := range n.ComponentIDs {
		if err := ValidateID("components", id); err != nil {
			return err
		}
	}
	return ValidateText("actor", n.Actor, 200, true, false)
}

// Validate checks a new update.
func (n *NewUpdate) Validate() error {
	if err := ValidateText("body", n.Body, 20000, true, true); err != nil {
		return err
	}
	if !validIncidentStatus(n.Status, KindIncident) && !validIncidentStatus(n.Status, KindMaintenance) {
		return Invalid("status", "%q is not an incident or maintenance status", n.Status)
	}
	if err := validateComponentsMap(n.Components); err != nil {
		return err
	}
	return ValidateText("actor", n.Actor, 200, true, false)
}
