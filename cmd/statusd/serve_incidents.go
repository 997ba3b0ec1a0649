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
// detection, and maintenance reminders with recurring windows.
func (m *Main) incidentSubsystems() []subsystem {
	if !m.Config.Admin.Enabled {
		return nil
	}
	return []subsystem{
		&loop{name: "draft proposals", run: func(ctx context.Context) {
			m.Server.RunDraftProposals(ctx, m.Store, 30*time.Second, func(err error) { m.Logger.Error("propose drafts", "err", err) })
		}},
	}
}
