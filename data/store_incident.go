package data

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// CreateIncident opens an incident with its first update and sets the status
// of the components it names, in one transaction. Returns an *InvalidError
// for bad input, including unknown components.
func (s *Store) CreateIncident(ctx context.Context, n NewIncident) (Incident, error) {
	if err := n.Validate(); err != nil {
		return Incident{}, err
	}
	id := s.NewID()
	err := s.write(ctx, "create incident", func(tx *sql.Tx) error {
		now := s.Now()
		var monitoringAt time.Time
		if n.Status == Monitoring {
			monitoringAt = now
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incidents(id, kind, name, status, impact, created_at, updated_at, started_at, monitoring_at)
			VALUES (?, 'incident', ?, ?, ?, ?, ?, ?, ?)`, id, n.Name, n.Status, n.Impact, ms(now), ms(now), ms(now), nullMS(monitoringAt)); err != nil {
			return err
		}
		updateID, err := s.insertUpdate(ctx, tx, id, n.Status, n.Body, now)
		if err != nil {
			return err
		}
		if err := s.applyComponents(ctx, tx, id, n.Name, updateID, n.Components, n.Actor, nil); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, n.Actor, "incident.create", id, n.Name); err != nil {
			return err
		}
		return s.event(ctx, tx, EventIncidentCreated, id, map[string]string{"incident_id": id, "update_id": updateID})
	})
	if err != nil {
		return Incident{}, err
	}
	return s.Incident(ctx, id)
}

// CreateMaintenance schedules a maintenance with its first update. Its
// components keep their status until it starts.
func (s *Store) CreateMaintenance(ctx context.Context, n NewMaintenance) (Incident, error) {
	if err := n.Validate(); err != nil {
		return Incident{}, err
	}
	id := s.NewID()
	err := s.write(ctx, "create maintenance", func(tx *sql.Tx) error {
		now := s.Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO incidents(id, kind, name, status, impact, created_at, updated_at, started_at, scheduled_for, scheduled_until)
			VALUES (?, 'maintenance', ?, 'scheduled', 'maintenance', ?, ?, ?, ?, ?)`,
			id, n.Name, ms(now), ms(now), ms(now), ms(n.ScheduledFor), ms(n.ScheduledUntil)); err != nil {
			return err
		}
		updateID, err := s.insertUpdate(ctx, tx, id, Scheduled, n.Body, now)
		if err != nil {
			return err
		}
		same := map[string]ComponentStatus{}
		for _, c := range n.ComponentIDs {
			same[c] = "" // "" keeps the current status
		}
		if err := s.applyComponents(ctx, tx, id, n.Name, updateID, same, n.Actor, nil); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, n.Actor, "maintenance.create", id, n.Name); err != nil {
			return err
		}
		return s.event(ctx, tx, EventMaintenanceCreated, id, map[string]string{"incident_id": id, "update_id": updateID})
	})
	if err != nil {
		return Incident{}, err
	}
	return s.Incident(ctx, id)
}

// AddUpdate posts an update on an incident or maintenance, moving it to the
// update's status (see CanMove) and applying component statuses, in one
// transaction. When an update names no components: resolving an incident
// returns its components to operational, starting a maintenance puts its
// components under maintenance, and completing one returns those still under
// maintenance to operational.
// Returns ErrNotFound for an unknown incident and ErrConflict for a status
// change its state machine does not allow.
func (s *Store) AddUpdate(ctx context.Context, incidentID string, n NewUpdate) (Incident, error) {
	if err := n.Validate(); err != nil {
		return Incident{}, err
	}
	err := s.write(ctx, "add incident update", func(tx *sql.Tx) error {
		var kind Kind
		var status IncidentStatus
		var name string
		err := tx.QueryRowContext(ctx, "SELECT kind, status, name FROM incidents WHERE id = ?", incidentID).Scan(&kind, &status, &name)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("incident %q: %w", incidentID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if !CanMove(kind, status, n.Status) {
			return fmt.Errorf("%s %s cannot go from %s to %s: %w", kind, incidentID, status, n.Status, ErrConflict)
		}
		now := s.Now()
		set := []string{"status = ?", "updated_at = ?"}
		args := []any{n.Status, ms(now)}
		switch n.Status {
		case Monitoring:
			set = append(set, "monitoring_at = COALESCE(monitoring_at, ?)")
			args = append(args, ms(now))
		case Resolved, Completed:
			set = append(set, "resolved_at = COALESCE(resolved_at, ?)")
			args = append(args, ms(now))
		case Investigating, Identified, InProgress, Verifying:
			set = append(set, "resolved_at = NULL")
		}
		args = append(args, incidentID)
		if _, err := tx.ExecContext(ctx, "UPDATE incidents SET "+strings.Join(set, ", ")+" WHERE id = ?", args...); err != nil {
			return err
		}
		updateID, err := s.insertUpdate(ctx, tx, incidentID, n.Status, n.Body, now)
		if err != nil {
			return err
		}
		comps := n.Components
		var only func(ComponentStatus) bool
		if len(comps) == 0 {
			comps, only, err = s.defaultComponents(ctx, tx, incidentID, kind, status, n.Status)
			if err != nil {
				return err
			}
		}
		if err := s.applyComponents(ctx, tx, incidentID, name, updateID, comps, n.Actor, only); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, n.Actor, string(kind)+".update", incidentID, fmt.Sprintf("%s → %s", status, n.Status)); err != nil {
			return err
		}
		ev := EventIncidentUpdated
		if kind == KindMaintenance {
			ev = EventMaintenanceUpdated
		}
		return s.event(ctx, tx, ev, incidentID, map[string]string{"incident_id": incidentID, "update_id": updateID,
			"old_status": string(status), "new_status": string(n.Status)})
	})
	if err != nil {
		return Incident{}, err
	}
	return s.Incident(ctx, incidentID)
}

// defaultComponents picks the component changes an update implies when it
// names none. only, when set, limits the change to components whose current
// status it accepts.
func (s *Store) defaultComponents(ctx context.Context, tx *sql.Tx, incidentID string, kind Kind, from, to IncidentStatus) (map[string]ComponentStatus, func(ComponentStatus) bool, error) {
	var target ComponentStatus
	var only func(ComponentStatus) bool
	switch {
	case kind == KindIncident && to == Resolved && from != Resolved && from != Postmortem:
		target = Operational
		only = func(c ComponentStatus) bool { return c != UnderMaintenance }
	case kind == KindMaintenance && to == InProgress && from == Scheduled:
		target = UnderMaintenance
		only = func(c ComponentStatus) bool { return c == Operational }
	case kind == KindMaintenance && to == Completed:
		target = Operational
		only = func(c ComponentStatus) bool { return c == UnderMaintenance }
	default:
		return nil, nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT ic.component_id FROM incident_components ic JOIN components c ON c.id = ic.component_id
		WHERE ic.incident_id = ? AND c.archived_at IS NULL AND c.is_group = 0`, incidentID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	m := map[string]ComponentStatus{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, nil, err
		}
		m[id] = target
	}
	return m, only, rows.Err()
}

func (s *Store) insertUpdate(ctx context.Context, tx *sql.Tx, incidentID string, status IncidentStatus, body string, now time.Time) (string, error) {
	id := s.NewID()
	_, err := tx.ExecContext(ctx, `INSERT INTO incident_updates(id, incident_id, status, body, created_at, updated_at, display_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, incidentID, status, body, ms(now), ms(now), ms(now))
	return id, err
}

// applyComponents sets each named component's status ("" keeps it), records
// the change on the update and links the component to the incident. only, when
// set, skips components whose current status it rejects.
func (s *Store) applyComponents(ctx context.Context, tx *sql.Tx, incidentID, name, updateID string, comps map[string]ComponentStatus, actor string, only func(ComponentStatus) bool) error {
	ids := make([]string, 0, len(comps))
	for id := range comps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		var cur ComponentStatus
		var isGroup bool
		err := tx.QueryRowContext(ctx, "SELECT status, is_group FROM components WHERE id = ? AND archived_at IS NULL", id).Scan(&cur, &isGroup)
		if errors.Is(err, sql.ErrNoRows) {
			return Invalid("components", "unknown component %q", id)
		}
		if err != nil {
			return err
		}
		if isGroup {
			return Invalid("components", "%q is a group; name its components instead", id)
		}
		if only != nil && !only(cur) {
			continue
		}
		want := comps[id]
		if want == "" {
			want = cur
		}
		if want != cur {
			if _, _, err := s.setStatusTx(ctx, tx, SetStatus{ComponentID: id, Status: want, Source: "incident", Actor: actor,
				Reason: fmt.Sprintf("%s: %s", incidentID, name)}); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO incident_update_components(update_id, component_id, old_status, new_status) VALUES (?, ?, ?, ?)",
			updateID, id, cur, want); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO incident_components(incident_id, component_id) VALUES (?, ?)", incidentID, id); err != nil {
			return err
		}
	}
	return nil
}

// Incident returns one incident or maintenance with its updates. Returns
// ErrNotFound if there is none with that id.
func (s *Store) Incident(ctx context.Context, id string) (Incident, error) {
	if s.closed.Load() {
		return Incident{}, ErrClosed
	}
	list, err := loadIncidents(ctx, s.reader, "id = ?", id)
	if err != nil {
		return Incident{}, fmt.Errorf("load incident %s: %w", id, err)
	}
	if len(list) == 0 {
		return Incident{}, fmt.Errorf("incident %q: %w", id, ErrNotFound)
	}
	return list[0], nil
}

// loadIncidents loads the incidents matching where (a condition on the
// incidents table), newest first, with their updates (newest first), the
// components each update changed and the components each incident touched.
func loadIncidents(ctx context.Context, q querier, where string, args ...any) ([]Incident, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, kind, name, status, impact, created_at, updated_at, started_at, monitoring_at,
		resolved_at, scheduled_for, scheduled_until FROM incidents WHERE `+where+` ORDER BY created_at DESC, id`, args...)
	if err != nil {
		return nil, err
	}
	var list []Incident
	index := map[string]int{}
	for rows.Next() {
		var in Incident
		var created, updated, started int64
		var monitoring, resolved, sf, su sql.NullInt64
		if err := rows.Scan(&in.ID, &in.Kind, &in.Name, &in.Status, &in.Impact, &created, &updated, &started,
			&monitoring, &resolved, &sf, &su); err != nil {
			rows.Close()
			return nil, err
		}
		in.CreatedAt, in.UpdatedAt, in.StartedAt = fromMS(created), fromMS(updated), fromMS(started)
		in.MonitoringAt, in.ResolvedAt = fromNullMS(monitoring), fromNullMS(resolved)
		in.ScheduledFor, in.ScheduledUntil = fromNullMS(sf), fromNullMS(su)
		index[in.ID] = len(list)
		list = append(list, in)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	sub := "SELECT id FROM incidents WHERE " + where

	rows, err = q.QueryContext(ctx, `SELECT ic.incident_id, ic.component_id FROM incident_components ic
		JOIN components c ON c.id = ic.component_id JOIN journeys j ON j.id = c.journey_id
		WHERE ic.incident_id IN (`+sub+`) ORDER BY j.position, c.position`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var iid, cid string
		if err := rows.Scan(&iid, &cid); err != nil {
			rows.Close()
			return nil, err
		}
		if i, ok := index[iid]; ok {
			list[i].ComponentIDs = append(list[i].ComponentIDs, cid)
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}

	affected := map[string][]AffectedComponent{}
	rows, err = q.QueryContext(ctx, `SELECT uc.update_id, uc.component_id, c.name, uc.old_status, uc.new_status
		FROM incident_update_components uc JOIN incident_updates u ON u.id = uc.update_id
		JOIN components c ON c.id = uc.component_id JOIN journeys j ON j.id = c.journey_id
		WHERE u.incident_id IN (`+sub+`) ORDER BY j.position, c.position`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var uid string
		var a AffectedComponent
		if err := rows.Scan(&uid, &a.ComponentID, &a.Name, &a.OldStatus, &a.NewStatus); err != nil {
			rows.Close()
			return nil, err
		}
		affected[uid] = append(affected[uid], a)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}

	rows, err = q.QueryContext(ctx, `SELECT id, incident_id, status, body, created_at, updated_at, display_at
		FROM incident_updates WHERE incident_id IN (`+sub+`) ORDER BY display_at DESC, rowid DESC`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var u IncidentUpdate
		var created, updated, display int64
		if err := rows.Scan(&u.ID, &u.IncidentID, &u.Status, &u.Body, &created, &updated, &display); err != nil {
			return nil, err
		}
		u.CreatedAt, u.UpdatedAt, u.DisplayAt = fromMS(created), fromMS(updated), fromMS(display)
		u.Affected = affected[u.ID]
		if i, ok := index[u.IncidentID]; ok {
			list[i].Updates = append(list[i].Updates, u)
		}
	}
	return list, rows.Err()
}
