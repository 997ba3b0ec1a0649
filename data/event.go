package data

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventKind names what happened.
type EventKind string

// The event kinds the store writes. Each has one payload type.
const (
	// EventComponentStatusChanged: a component's effective status changed.
	// Payload *ComponentStatusChanged.
	EventComponentStatusChanged EventKind = "component.status_changed"
	// Incident events. Payload *IncidentChanged.
	EventIncidentCreated  EventKind = "incident.created"
	EventIncidentUpdated  EventKind = "incident.updated"
	EventIncidentResolved EventKind = "incident.resolved"
	// Maintenance events. Payload *IncidentChanged.
	EventMaintenanceScheduled EventKind = "maintenance.scheduled"
	EventMaintenanceStarted   EventKind = "maintenance.started"
	EventMaintenanceUpdated   EventKind = "maintenance.updated"
	EventMaintenanceCompleted EventKind = "maintenance.completed"
	// EventMaintenanceReminder: a window starts soon. Payload
	// *IncidentChanged with Reminder set.
	EventMaintenanceReminder EventKind = "maintenance.reminder"
	// EventCatalogSynced: the configured journeys and components changed.
	// Payload *CatalogSynced.
	EventCatalogSynced EventKind = "catalog.synced"
	// EventSLOBurn: an SLO started burning its error budget fast enough to
	// alert, or changed severity. Payload *SLOBurn.
	EventSLOBurn EventKind = "slo.burn"
	// EventSLORecovered: an SLO stopped burning. Payload *SLOBurn with an
	// empty Severity.
	EventSLORecovered EventKind = "slo.recovered"
	// Staff alerts: for the team, never for customers. Payload *StaffAlert.
	// EventUpdateOverdue: an open incident's promised next update is late.
	EventUpdateOverdue EventKind = "staff.update_overdue"
	// EventDraftWaiting: detection proposed a draft incident that waits for
	// a person to publish or discard it.
	EventDraftWaiting EventKind = "staff.draft_waiting"
	// EventMaintenanceLate: a maintenance window without automatic
	// transitions passed its scheduled start and was not started.
	EventMaintenanceLate EventKind = "staff.maintenance_late"
	// EventMaintenanceOverrun: a maintenance window without automatic
	// transitions passed its scheduled end and was not completed.
	EventMaintenanceOverrun EventKind = "staff.maintenance_overrun"
)

// Event is a row of the outbox: something happened that readers of the page
// and subscribers should learn about. It is written in the same transaction
// as the change it announces, and carries everything a notifier needs
// without reading the store again.
type Event struct {
	ID        int64
	Kind      EventKind
	Subject   string // the id of what changed
	CreatedAt time.Time
	// Payload is one of *ComponentStatusChanged, *IncidentChanged,
	// *CatalogSynced, *SLOBurn or *StaffAlert, according to Kind; nil for events written by an older
	// version, which consumers skip.
	Payload EventPayload
}

// EventPayload is the typed body of an event.
type EventPayload interface {
	eventPayload()
}

// ComponentStatusChanged is the payload of EventComponentStatusChanged.
type ComponentStatusChanged struct {
	ComponentID   string          `json:"component_id"`
	ComponentName string          `json:"component_name"`
	GroupID       string          `json:"group_id,omitempty"`
	JourneyID     string          `json:"journey_id"`
	JourneyName   string          `json:"journey_name"`
	Old           ComponentStatus `json:"old_status"`
	New           ComponentStatus `json:"new_status"`
	// Source and Reason are the input that decided the new status; Source is
	// "" when no input remains and the component is operational by default.
	Source InputSource `json:"source"`
	Key    string      `json:"key,omitempty"`
	Reason string      `json:"reason"`
	// Actor wrote the input change that caused this.
	Actor string    `json:"actor"`
	At    time.Time `json:"at"`
}

// IncidentChanged is the payload of incident and maintenance events: the
// incident as it is after the change and the update that changed it.
type IncidentChanged struct {
	IncidentID     string         `json:"incident_id"`
	Kind           Kind           `json:"kind"`
	Name           string         `json:"name"`
	Impact         Impact         `json:"impact"`
	Status         IncidentStatus `json:"status"`
	OldStatus      IncidentStatus `json:"old_status,omitempty"`
	CreatedAt      time.Time      `json:"created_at"`
	StartedAt      time.Time      `json:"started_at"`
	ScheduledFor   time.Time      `json:"scheduled_for,omitzero"`
	ScheduledUntil time.Time      `json:"scheduled_until,omitzero"`
	// The update this event announces (empty for a reminder).
	UpdateID string    `json:"update_id,omitempty"`
	Body     string    `json:"body,omitempty"`
	At       time.Time `json:"at"`
	// Components are every component the incident affects, with the status
	// each had before and after this change.
	Components []AffectedComponent `json:"components"`
	// Notify is false when the person posting chose not to notify
	// subscribers; the page still shows the update.
	Notify bool   `json:"notify"`
	Actor  string `json:"actor"`
	// Reminder is how long before ScheduledFor a reminder was sent.
	Reminder time.Duration `json:"reminder,omitempty"`
}

// CatalogSynced is the payload of EventCatalogSynced.
type CatalogSynced struct {
	Added    []string `json:"added"`
	Updated  []string `json:"updated"`
	Archived []string `json:"archived"`
	Restored []string `json:"restored"`
}

func (*ComponentStatusChanged) eventPayload() {}
func (*IncidentChanged) eventPayload()        {}
func (*CatalogSynced) eventPayload()          {}

// eventVersion is written with each event; rows of version 1 have untyped
// payloads and decode with a nil Payload.
const eventVersion = 2

// decodePayload turns a stored payload into its typed form.
func decodePayload(kind EventKind, version int, raw string) (EventPayload, error) {
	if version < eventVersion {
		return nil, nil
	}
	var p EventPayload
	switch kind {
	case EventComponentStatusChanged:
		p = &ComponentStatusChanged{}
	case EventIncidentCreated, EventIncidentUpdated, EventIncidentResolved,
		EventMaintenanceScheduled, EventMaintenanceStarted, EventMaintenanceUpdated,
		EventMaintenanceCompleted, EventMaintenanceReminder:
		p = &IncidentChanged{}
	case EventCatalogSynced:
		p = &CatalogSynced{}
	case EventSLOBurn, EventSLORecovered:
		p = &SLOBurn{}
	case EventUpdateOverdue, EventDraftWaiting, EventMaintenanceLate, EventMaintenanceOverrun:
		p = &StaffAlert{}
	default:
		return nil, nil // a kind from a newer version: skipped, not an error
	}
	if err := json.Unmarshal([]byte(raw), p); err != nil {
		return nil, fmt.Errorf("decode %s payload: %w", kind, err)
	}
	return p, nil
}
