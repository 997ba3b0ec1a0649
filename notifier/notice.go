package notifier

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/statusd/statusd/data"
)

// Page is the status page's identity, for links, subjects and payloads.
type Page struct {
	ID       string
	Name     string
	URL      string // public base URL without a trailing slash
	Location *time.Location
	Language string
}

// Notice is what one event says to subscribers, independent of channel and
// format. Exactly one of Incident, Component and Endpoint is set.
type Notice struct {
	EventID int64
	Event   string    // the event kind, e.g. "incident.updated"
	At      time.Time // when it happened

	Incident  *IncidentNotice
	Component *ComponentNotice
	Endpoint  *EndpointNotice
	Staff     *StaffNotice

	mu     sync.Mutex
	bodies [2]*[2]string // email text and HTML, without and with a manage token
}

// IncidentNotice is an incident or maintenance created, updated, started,
// completed or about to start.
type IncidentNotice struct {
	ID             string
	Kind           data.Kind
	Name           string
	Status         data.IncidentStatus
	OldStatus      data.IncidentStatus // "" for a new one
	Impact         data.Impact
	UpdateID       string
	Body           string
	Components     []data.AffectedComponent
	CreatedAt      time.Time
	ScheduledFor   time.Time
	ScheduledUntil time.Time
	Reminder       time.Duration // > 0 for a reminder before a maintenance starts
}

// ComponentNotice is a component's status change.
type ComponentNotice struct {
	ID          string
	Name        string
	JourneyName string
	Old, New    data.ComponentStatus
	Reason      string
}

// StaffNotice is an alert for the staff addresses, never customers: an SLO
// burning its error budget or recovering, an overdue update, a waiting
// draft.
type StaffNotice struct {
	Headline   string // the subject after the page name
	Status     string // e.g. "Fast burn"
	Paragraphs []string
	Link       string // where to act
	LinkText   string // "" for "Open statusd"
}

// EndpointNotice tells a webhook's owner that it was disabled, or, with
// Warning, that it keeps failing and will be.
type EndpointNotice struct {
	URL    string // shown redacted
	Reason string
	// Warning: still enabled; DisableAfter is how long failures may last
	// before it is disabled.
	Warning      bool
	Since        time.Time // the first failure of the run; zero if unknown
	DisableAfter time.Duration
}

// Subject is the email subject: the page name, then the status.
func (n *Notice) Subject(p Page) string {
	return "[" + p.Name + "] " + n.headline()
}

func (n *Notice) headline() string {
	switch {
	case n.Incident != nil:
		in := n.Incident
		switch {
		case in.Reminder > 0:
			return fmt.Sprintf("Reminder: maintenance starts in %s: %s", humanDuration(n.untilStart()), in.Name)
		case in.Kind == data.KindMaintenance && in.Status == data.Scheduled:
			return "Scheduled maintenance: " + in.Name
		case in.Kind == data.KindMaintenance && in.Status == data.InProgress:
			return "Maintenance in progress: " + in.Name
		case in.Kind == data.KindMaintenance && in.Status == data.Verifying:
			return "Maintenance verifying: " + in.Name
		case in.Kind == data.KindMaintenance && in.Status == data.Completed:
			return "Maintenance completed: " + in.Name
		}
		return in.Status.Label() + ": " + in.Name
	case n.Component != nil:
		return n.Component.Name + ": " + n.Component.New.Label()
	case n.Endpoint != nil && n.Endpoint.Warning:
		return "Your webhook endpoint keeps failing"
	case n.Endpoint != nil:
		return "Your webhook endpoint was disabled"
	case n.Staff != nil:
		return n.Staff.Headline
	}
	return "Status update"
}

// untilStart is how long after the notice a reminded maintenance starts:
// from the window's start when known (a reminder sent late, after downtime,
// says the truth), else the reminder's offset.
func (n *Notice) untilStart() time.Duration {
	in := n.Incident
	if !in.ScheduledFor.IsZero() && !n.At.IsZero() && in.ScheduledFor.After(n.At) {
		return in.ScheduledFor.Sub(n.At)
	}
	return in.Reminder
}

// threadID is the Message-ID of the virtual first message of an incident's
// thread, which every notice about it references so mail clients group
// them. Component changes and endpoint notices are not threaded.
func (n *Notice) threadID(p Page, domain string) string {
	if n.Incident == nil {
		return ""
	}
	return "incident." + n.Incident.ID + "." + p.ID + "@" + domain
}

// humanDuration says 90m as "1 hour 30 minutes" and 24h as "1 day".
func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	var parts []string
	plural := func(n int64, unit string) {
		if n == 1 {
			parts = append(parts, "1 "+unit)
		} else if n > 1 {
			parts = append(parts, fmt.Sprintf("%d %ss", n, unit))
		}
	}
	plural(int64(d/(24*time.Hour)), "day")
	d %= 24 * time.Hour
	plural(int64(d/time.Hour), "hour")
	d %= time.Hour
	plural(int64(d/time.Minute), "minute")
	if len(parts) == 0 {
		return "less than a minute"
	}
	return strings.Join(parts, " ")
}
