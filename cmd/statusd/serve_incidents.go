package main

import (
	"context"
	"time"

	"github.com/statusd/statusd/server"
)

// incidentOptions adds the incident workflow's configuration to the
// admin's: templates from the file and the journeys whose proposed drafts
// publish themselves.
func (m *Main) incidentOptions(o server.AdminOptions) server.AdminOptions {
	o.Templates = m.Config.IncidentTemplates
	for _, j := range m.Config.Journeys {
		if j.AutoPublish {
			if o.AutoPublish == nil {
				o.AutoPublish = map[string]bool{}
			}
			o.AutoPublish[j.ID] = true
		}
	}
	return o
}

// incidentSubsystems are the incident workflow's loops: drafts proposed by
// detection, and maintenance reminders with recurring windows and staff
// alerts.
func (m *Main) incidentSubsystems() []subsystem {
	if !m.Config.Admin.Enabled {
		return nil
	}
	return []subsystem{
		&loop{name: "draft proposals", run: func(ctx context.Context) {
			m.Server.RunDraftProposals(ctx, m.Store, 30*time.Second, func(err error) { m.Logger.Error("propose drafts", "err", err) })
		}},
		&loop{name: "reminders and staff alerts", run: m.runReminders},
	}
}

// runReminders sends maintenance reminders and staff alerts (an overdue
// update, a draft proposed by detection) and schedules recurring windows
// ahead: at start, every half minute, and after changes (a window just
// made may be due for a reminder, a draft just proposed waits).
func (m *Main) runReminders(ctx context.Context) {
	changed, stop := m.Store.Subscribe()
	defer stop()
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		if _, err := server.ExpandMaintenanceSeries(ctx, m.Store, m.Store.Now()); err != nil && ctx.Err() == nil {
			m.Logger.Error("schedule recurring maintenance", "err", err)
		}
		if _, err := m.Store.SendMaintenanceReminders(ctx, m.Config.Maintenance.Reminders); err != nil && ctx.Err() == nil {
			m.Logger.Error("send maintenance reminders", "err", err)
		}
		if _, err := m.Store.SendStaffAlerts(ctx); err != nil && ctx.Err() == nil {
			m.Logger.Error("send staff alerts", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changed:
			if !ok {
				return
			}
		case <-t.C:
		}
	}
}
