package main

import (
	"context"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

var ctxBG = context.Background()

// openStore opens a second connection to a running statusd's database, as
// another process would.
func openStore(t *testing.T, path string) (*data.Store, error) {
	t.Helper()
	st, err := data.Open(ctxBG, path)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, nil
}

func newIncident(name, component, status string) data.NewIncident {
	return data.NewIncident{Name: name, Body: "We are investigating.", Impact: data.ImpactMajor, Actor: "lee",
		Components: map[string]data.ComponentStatus{component: data.ComponentStatus(status)}}
}

func newMaintenance(name string, components ...string) data.NewMaintenance {
	now := time.Now()
	return data.NewMaintenance{Name: name, Body: "Planned work.", ScheduledFor: now.Add(time.Hour), ScheduledUntil: now.Add(2 * time.Hour),
		ComponentIDs: components, Actor: "ana"}
}

func newUpdate(status string) data.NewUpdate {
	return data.NewUpdate{Status: data.IncidentStatus(status), Body: "Status: " + status + ".", Actor: "lee"}
}
