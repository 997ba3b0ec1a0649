package data

import (
	"strings"
	"time"
)

// Severity is how bad an incident is for the business, as the people
// running it grade it: SEV1 (worst) to SEV3. Each maps to a default impact,
// which a comms lead may change.
type Severity string

// The severities, worst first.
const (
	SEV1 Severity = "SEV1"
	SEV2 Severity = "SEV2"
	SEV3 Severity = "SEV3"
)

// Severities lists every severity, worst first.
var Severities = []Severity{SEV1, SEV2, SEV3}

// Valid reports whether s is a defined severity.
func (s Severity) Valid() bool { return s == SEV1 || s == SEV2 || s == SEV3 }

// DefaultImpact is the impact an incident of severity s has unless set
// otherwise: SEV1 critical, SEV2 major, SEV3 minor.
func (s Severity) DefaultImpact() Impact {
	switch s {
	case SEV1:
		return ImpactCritical
	case SEV2:
		return ImpactMajor
	case SEV3:
		return ImpactMinor
	}
	return ImpactNone
}

// Label is the severity with what it means, for people.
func (s Severity) Label() string {
	switch s {
	case SEV1:
		return "SEV1 — critical: many customers cannot use a core journey"
	case SEV2:
		return "SEV2 — major: a journey is broken for some customers"
	case SEV3:
		return "SEV3 — minor: degraded, with a workaround"
	}
	return "Not graded"
}

// ParseSeverity validates a severity given by a user; "" is no severity.
// Lower case is accepted.
func ParseSeverity(v string) (Severity, error) {
	s := Severity(strings.ToUpper(strings.TrimSpace(v)))
	if s == "" || s.Valid() {
		return s, nil
	}
	return "", Invalid("severity", "%q is not one of SEV1, SEV2, SEV3", v)
}

// ParseImpact validates an impact given by a user for an incident.
func ParseImpact(v string) (Impact, error) {
	switch i := Impact(v); i {
	case ImpactNone, ImpactMinor, ImpactMajor, ImpactCritical:
		return i, nil
	}
	return "", Invalid("impact", "%q is not one of none, minor, major, critical", v)
}

// ParseIncidentStatus validates a status given by a user for kind k.
func ParseIncidentStatus(v string, k Kind) (IncidentStatus, error) {
	s := IncidentStatus(v)
	if !validIncidentStatus(s, k) {
		if k == KindMaintenance {
			return "", Invalid("status", "%q is not one of scheduled, in_progress, verifying, completed", v)
		}
		return "", Invalid("status", "%q is not one of investigating, identified, monitoring, resolved, postmortem", v)
	}
	return s, nil
}

// MaxBodyLength is the most characters a message body (Markdown) may have.
const MaxBodyLength = 20000

// maxBodyHTML bounds a rendered body; Markdown never grows this much.
const maxBodyHTML = 200000

// Draft is a message that is not public yet: a new incident or maintenance,
// or an update on one. It declares no status and announces nothing until it
// is published, which happens once, in one transaction with the update, the
// component inputs, the audit entry and the events.
type Draft struct {
	ID   string
	Kind Kind
	// IncidentID is the incident or maintenance the draft updates; "" when
	// publishing it opens a new one.
	IncidentID string
	Name       string // the title of a new one; "" for an update
	Status     IncidentStatus
	Severity   Severity
	Impact     Impact
	// Body is the message in Markdown, rendered at publish.
	Body string
	// Components are the affected components with the status each has
	// during the incident; for a maintenance the status is "" (they go
	// under maintenance when it starts).
	Components     map[string]ComponentStatus
	NextUpdateBy   time.Time // zero: not promised
	Notify         bool      // notify subscribers when published
	TemplateID     string    // the template it was made from, if any
	Variables      map[string]string
	ScheduledFor   time.Time // maintenance
	ScheduledUntil time.Time // maintenance
	AutoTransition bool      // maintenance: starts and completes on its own
	// Note is an internal note posted with it, which never reaches
	// customers.
	Note string
	// ProposedBy is "" for a draft a person started and "statusd" for one
	// detection proposed; JourneyID is the journey it was proposed for.
	ProposedBy string
	JourneyID  string
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time

	PublishedAt         time.Time // zero while a draft
	PublishedBy         string
	PublishedIncidentID string
	PublishedUpdateID   string
	DiscardedAt         time.Time
}

// Pending reports whether the draft can still be published.
func (d Draft) Pending() bool { return d.PublishedAt.IsZero() && d.DiscardedAt.IsZero() }

// DraftInput is what a person (or detection) writes into a draft.
type DraftInput struct {
	Kind           Kind
	IncidentID     string
	Name           string
	Status         IncidentStatus
	Severity       Severity
	Impact         Impact
	Body           string
	Components     map[string]ComponentStatus
	NextUpdateBy   time.Time
	Notify         bool
	TemplateID     string
	Variables      map[string]string
	ScheduledFor   time.Time
	ScheduledUntil time.Time
	AutoTransition bool
	Note           string
	ProposedBy     string
	JourneyID      string
	Actor          string
	// Idempotency, if set, stores the response to this create in its
	// transaction (an API create with an Idempotency-Key).
	Idempotency *Idempotency
}

// Validate checks a draft's input and fills in defaults: the kind from the
// status, investigating (or scheduled) when no status is given, and the
// impact from the severity.
func (d *DraftInput) Validate() error {
	if d.Kind == "" {
		d.Kind = KindIncident
		if validIncidentStatus(d.Status, KindMaintenance) {
			d.Kind = KindMaintenance
		}
	}
	if d.Kind != KindIncident && d.Kind != KindMaintenance {
		return Invalid("kind", "%q is not incident or maintenance", d.Kind)
	}
	if d.Status == "" {
		d.Status = Investigating
		if d.Kind == KindMaintenance {
			d.Status = Scheduled
		}
	}
	if !validIncidentStatus(d.Status, d.Kind) {
		_, err := ParseIncidentStatus(string(d.Status), d.Kind)
		return err
	}
	if d.IncidentID == "" {
		if err := ValidateText("title", d.Name, 200, true, false); err != nil {
			return err
		}
		if d.Kind == KindIncident {
			switch d.Status {
			case Investigating, Identified, Monitoring:
			default:
				return Invalid("status", "%q: a new incident is investigating, identified or monitoring", d.Status)
			}
		} else if d.Status != Scheduled {
			return Invalid("status", "a new maintenance is scheduled")
		}
	} else if err := ValidateText("title", d.Name, 200, false, false); err != nil {
		return err
	}
	if d.Severity != "" && !d.Severity.Valid() {
		return Invalid("severity", "%q is not one of SEV1, SEV2, SEV3", d.Severity)
	}
	if d.Kind == KindMaintenance {
		d.Impact, d.Severity = ImpactMaintenance, ""
	} else {
		if d.Impact == "" {
			d.Impact = d.Severity.DefaultImpact()
		}
		if _, err := ParseImpact(string(d.Impact)); err != nil {
			return err
		}
	}
	if err := ValidateText("body", d.Body, MaxBodyLength, true, true); err != nil {
		return err
	}
	if d.Kind == KindMaintenance {
		for id, st := range d.Components {
			if err := ValidateID("components", id); err != nil {
				return err
			}
			if st != "" && d.IncidentID == "" {
				return Invalid("components", "a scheduled maintenance affects no status until it starts")
			}
		}
		if len(d.Components) > 500 {
			return Invalid("components", "at most 500 components")
		}
		if d.IncidentID == "" {
			if d.ScheduledFor.IsZero() {
				return Invalid("scheduled_for", "a maintenance needs a start")
			}
			if d.ScheduledUntil.IsZero() {
				return Invalid("scheduled_until", "a maintenance needs an end")
			}
			if !d.ScheduledUntil.After(d.ScheduledFor) {
				return Invalid("scheduled_until", "must be after the start")
			}
		}
	} else if err := validateComponentsMap(d.Components); err != nil {
		return err
	}
	if len(d.Variables) > 50 {
		return Invalid("variables", "at most 50 variables")
	}
	for k, v := range d.Variables {
		if err := ValidateText("variables", k, 64, true, false); err != nil {
			return err
		}
		if err := ValidateText(k, v, 2000, false, true); err != nil {
			return err
		}
	}
	if d.TemplateID != "" {
		if err := ValidateID("template", d.TemplateID); err != nil {
			return err
		}
	}
	if err := ValidateText("note", d.Note, MaxBodyLength, false, true); err != nil {
		return err
	}
	return ValidateText("actor", d.Actor, 300, true, false)
}

// Published is what a publish rendered and wrote.
type Published struct {
	Draft    Draft
	Incident Incident
	UpdateID string
}

// RenderedBody is a draft's Markdown as it is published: the HTML the page
// shows and the plain text the API, feeds, email and webhooks carry. The
// store does not render (Markdown is not its business); the caller renders
// once, right before publishing.
type RenderedBody struct {
	HTML string
	Text string
}

func (r RenderedBody) validate() error {
	if strings.TrimSpace(r.Text) == "" {
		return Invalid("body", "must not be empty")
	}
	if len(r.HTML) > maxBodyHTML {
		return Invalid("body", "is too long once rendered")
	}
	return ValidateText("body", r.Text, 2*MaxBodyLength, true, true)
}

// Note is an internal note on an incident: for the team, never for
// customers.
type Note struct {
	ID         string
	IncidentID string
	Body       string
	Actor      string
	CreatedAt  time.Time
}

// IncidentDetails is what the workflow keeps about an incident besides its
// public record.
type IncidentDetails struct {
	IncidentID   string
	Severity     Severity
	NextUpdateBy time.Time // zero: none promised
	TemplateID   string
	Postmortem   string // Markdown, as written
	PostmortemAt time.Time
	SeriesID     string // maintenance: the recurring window it belongs to
	Notes        []Note // oldest first
}

// Overdue reports whether an update was promised by a time that has passed
// while the incident is open.
func (d IncidentDetails) Overdue(inc Incident, now time.Time) bool {
	return inc.Open() && inc.Kind == KindIncident && !d.NextUpdateBy.IsZero() && now.After(d.NextUpdateBy)
}
