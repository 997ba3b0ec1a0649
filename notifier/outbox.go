package notifier

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/statusd/statusd/data"
)

// consumerName is the notifier's cursor in the event log.
const consumerName = "notifier"

// ChangePolicy says which component status changes a channel announces.
type ChangePolicy string

// The component change policies.
const (
	// ChangesAll: every change of a component's effective status, whatever
	// decided it (Statuspage's behaviour for webhooks).
	ChangesAll ChangePolicy = "all"
	// ChangesOverride: only changes a person made with an override; those
	// caused by incidents and maintenance are told by their own notices,
	// and automatic detection alone stays quiet.
	ChangesOverride ChangePolicy = "override"
	// ChangesNone: component changes are never announced on their own;
	// subscribers hear about incidents and maintenance (Statuspage's
	// behaviour for email).
	ChangesNone ChangePolicy = "none"
)

// ParseChangePolicy validates a policy from the configuration.
func ParseChangePolicy(s string) (ChangePolicy, error) {
	switch p := ChangePolicy(strings.ToLower(s)); p {
	case ChangesAll, ChangesOverride, ChangesNone:
		return p, nil
	}
	return "", fmt.Errorf("component change policy %q: use all, override or none", s)
}

func (p ChangePolicy) allows(c *data.ComponentStatusChanged) bool {
	switch p {
	case ChangesAll:
		return true
	case ChangesOverride:
		return c.Source == data.SourceOverride
	}
	return false
}

// plan decides who hears about ev:
//
//   - Incidents and maintenance (created, updated, started, completed,
//     resolved, reminders) go to email and webhook subscribers of an
//     affected component, its group or its journey, and to those who
//     subscribed to everything; one that names no component goes to every
//     subscriber. An update published with Notify unset goes to nobody.
//   - A component's status change goes to the subscribers of that
//     component (its group, its journey, everything) on the channels whose
//     ChangePolicy allows it: by default webhooks hear every change, as
//     Statuspage's component webhooks do, and email hears none (incident
//     and maintenance notices carry the news).
//   - An SLO burning its error budget (or recovering), an incident whose
//     promised next update is overdue and a draft incident proposed by
//     detection are staff alerts: email to the configured staff addresses
//     only.
//   - Anything else (catalog syncs, events from older versions) goes to
//     nobody.
//
// Re-asserting a status writes no event, so it sends nothing.
func (e *Engine) plan(ev data.Event) (data.Fanout, bool) {
	f := data.Fanout{EventID: ev.ID, EventAt: ev.CreatedAt, Audience: data.AudienceScoped}
	switch p := ev.Payload.(type) {
	case *data.IncidentChanged:
		if !p.Notify {
			return f, false
		}
		for _, c := range p.Components {
			f.Components = append(f.Components, c.ComponentID)
		}
		if len(f.Components) == 0 {
			f.Audience = data.AudienceEveryone
		}
		f.Email, f.Webhook = true, true
	case *data.ComponentStatusChanged:
		f.Components = []string{p.ComponentID}
		f.Email = e.o.ComponentChanges.Email.allows(p)
		f.Webhook = e.o.ComponentChanges.Webhook.allows(p)
	case *data.SLOBurn, *data.StaffAlert:
		f.Audience, f.Email = data.AudienceStaff, true
	default:
		return f, false
	}
	return f, f.Email || f.Webhook
}

// noticeFor turns an event into what its messages say.
func noticeFor(ev data.Event, page Page) (*Notice, bool) {
	n := &Notice{EventID: ev.ID, Event: string(ev.Kind), At: ev.CreatedAt}
	switch p := ev.Payload.(type) {
	case *data.IncidentChanged:
		if !p.At.IsZero() {
			n.At = p.At
		}
		n.Incident = &IncidentNotice{ID: p.IncidentID, Kind: p.Kind, Name: p.Name, Status: p.Status, OldStatus: p.OldStatus,
			Impact: p.Impact, UpdateID: p.UpdateID, Body: p.Body, Components: p.Components, CreatedAt: p.CreatedAt,
			ScheduledFor: p.ScheduledFor, ScheduledUntil: p.ScheduledUntil, Reminder: p.Reminder}
		if ev.Kind == data.EventMaintenanceReminder && n.Incident.Reminder <= 0 && !p.ScheduledFor.IsZero() {
			n.Incident.Reminder = max(p.ScheduledFor.Sub(n.At), 1)
		}
	case *data.ComponentStatusChanged:
		if !p.At.IsZero() {
			n.At = p.At
		}
		n.Component = &ComponentNotice{ID: p.ComponentID, Name: p.ComponentName, JourneyName: p.JourneyName,
			Old: p.Old, New: p.New, Reason: p.Reason}
	case *data.SLOBurn:
		if !p.At.IsZero() {
			n.At = p.At
		}
		n.Staff = sloNotice(p, page)
	case *data.StaffAlert:
		if !p.At.IsZero() {
			n.At = p.At
		}
		n.Staff = staffNotice(ev.Kind, p, page, n.At)
	default:
		return nil, false
	}
	return n, true
}

// sloNotice is the staff alert of an SLO burning, or recovering.
func sloNotice(b *data.SLOBurn, page Page) *StaffNotice {
	name := b.SLOName
	if name == "" {
		name = b.SLOID
	}
	if b.JourneyName != "" {
		name += " (" + b.JourneyName + ")"
	}
	sn := &StaffNotice{Link: strings.TrimRight(page.URL, "/") + "/admin"}
	if b.Severity == "" {
		sn.Headline = "SLO recovered: " + name
		sn.Status = "Recovered"
		sn.Paragraphs = []string{"The error budget is no longer burning fast enough to alert; the SLO's automatic status on its components is cleared."}
		if b.OldSeverity != "" {
			sn.Paragraphs = append(sn.Paragraphs, "It was a "+b.OldSeverity+" burn.")
		}
		return sn
	}
	sn.Headline = "SLO burning (" + b.Severity + "): " + name
	sn.Status = strings.ToUpper(b.Severity[:1]) + b.Severity[1:] + " burn"
	if b.Reason != "" {
		sn.Paragraphs = append(sn.Paragraphs, b.Reason)
	}
	sn.Paragraphs = append(sn.Paragraphs,
		fmt.Sprintf("Burn rate %.1f× over %s and %.1f× over %s; the alert threshold is %.1f×. Objective %g%%; %.0f%% of the error budget is left.",
			b.LongRate, humanDuration(b.Long), b.ShortRate, humanDuration(b.Short), b.Factor, b.Objective, 100*b.BudgetRemaining),
		"Its components are set to "+strings.ToLower(b.Status.Label())+" by automatic detection until it recovers. "+
			"Consider opening an incident to tell customers.")
	return sn
}

// staffNotice is the alert of an overdue update, a waiting draft, or a
// maintenance window late to start or overrunning its end.
func staffNotice(kind data.EventKind, a *data.StaffAlert, page Page, at time.Time) *StaffNotice {
	loc := page.Location
	if loc == nil {
		loc = time.UTC
	}
	when := func(t time.Time) string { return t.In(loc).Format("Mon 2 Jan 2006, 15:04 MST") }
	base := strings.TrimRight(page.URL, "/") + "/admin"
	var affects []string
	for _, c := range a.Components {
		s := c.Name + " (" + strings.ToLower(c.NewStatus.Label())
		if c.Declared != "" && c.Declared != c.NewStatus {
			s += " now; the draft declares " + strings.ToLower(c.Declared.Label())
		}
		affects = append(affects, s+")")
	}
	if kind == data.EventDraftWaiting {
		sn := &StaffNotice{Headline: "Draft incident waiting: " + a.Name, Status: "Draft waiting", Link: base + "/drafts/" + a.DraftID,
			LinkText: "Review the draft"}
		who := "Automatic detection"
		if a.ProposedBy != "" && a.ProposedBy != "statusd" {
			who = a.ProposedBy
		}
		where := ""
		if a.JourneyName != "" {
			where = " for " + a.JourneyName
		}
		sn.Paragraphs = append(sn.Paragraphs, who+" proposed an incident"+where+". Customers see nothing of it until someone publishes it.")
		if len(affects) > 0 {
			sn.Paragraphs = append(sn.Paragraphs, "It would affect: "+strings.Join(affects, ", ")+".")
		}
		sn.Paragraphs = append(sn.Paragraphs, "Review it, then publish it as it is, edit it, or discard it.")
		return sn
	}
	if kind == data.EventMaintenanceLate || kind == data.EventMaintenanceOverrun {
		sn := &StaffNotice{Link: base + "/incidents/" + a.IncidentID, LinkText: "Open the maintenance"}
		late := ""
		if d := at.Sub(a.Due); d >= time.Minute {
			late = ", " + humanDuration(d.Truncate(time.Minute)) + " ago"
		}
		if kind == data.EventMaintenanceLate {
			sn.Headline, sn.Status = "Maintenance not started: "+a.Name, "Not started"
			sn.Paragraphs = append(sn.Paragraphs,
				"This maintenance was scheduled to start at "+when(a.Due)+late+", and it starts by hand: the page still shows it as scheduled.",
				"Start it now, or reschedule it so customers see the new time.")
		} else {
			sn.Headline, sn.Status = "Maintenance overrunning: "+a.Name, "Overrunning"
			sn.Paragraphs = append(sn.Paragraphs,
				"This maintenance was scheduled to end at "+when(a.Due)+late+", and it ends by hand: the page still shows it as "+strings.ToLower(a.Status.Label())+".",
				"Complete it when the work is done, or post an update with the new expected end.")
		}
		if len(affects) > 0 {
			sn.Paragraphs = append(sn.Paragraphs, "It affects: "+strings.Join(affects, ", ")+".")
		}
		return sn
	}
	sn := &StaffNotice{Headline: "Update overdue: " + a.Name, Status: "Update overdue", Link: base + "/incidents/" + a.IncidentID,
		LinkText: "Post an update"}
	late := ""
	if d := at.Sub(a.Due); d >= time.Minute {
		late = ", " + humanDuration(d.Truncate(time.Minute)) + " ago"
	}
	sn.Paragraphs = append(sn.Paragraphs,
		"Customers were promised the next update on this incident by "+when(a.Due)+late+". Post an update, even if only to say the work goes on, and promise the next one.",
		"It is "+strings.ToLower(a.Status.Label())+"; the last update was at "+when(a.LastUpdateAt)+".")
	if len(affects) > 0 {
		sn.Paragraphs = append(sn.Paragraphs, "It affects: "+strings.Join(affects, ", ")+".")
	}
	return sn
}

// expand plans the fan-outs of new events and expands pending fan-outs
// into deliveries until there is nothing left to do. It returns how many
// deliveries it inserted.
func (e *Engine) expand(ctx context.Context) (int, error) {
	for {
		_, pending, err := e.store.Cursor(ctx, consumerName)
		if err != nil {
			return 0, fmt.Errorf("read notifier cursor: %w", err)
		}
		if pending == 0 {
			break
		}
		n, err := e.store.Consume(ctx, consumerName, 200, func(tx *data.Tx, evs []data.Event) error {
			for _, ev := range evs {
				if f, ok := e.plan(ev); ok {
					if err := tx.PlanFanout(f); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("plan fan-outs: %w", err)
		}
		if n == 0 {
			break
		}
	}
	total := 0
	for {
		n, more, err := e.store.ExpandFanouts(ctx, e.o.ExpandPage)
		if err != nil {
			return total, fmt.Errorf("expand fan-out: %w", err)
		}
		total += n
		e.metrics.expanded.Add(float64(n))
		if n > 0 {
			// Workers start on the first page while the rest expands.
			e.nudge()
		}
		if !more {
			return total, nil
		}
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}
