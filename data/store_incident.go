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

// CreateIncident opens an incident with its first update and declares the
// status of the components it names (their incident input), in one
// transaction with its audit entry and incident.created event. Returns an
// *InvalidError for bad input, including unknown components; nothing is
// stored then.
func (s *Store) CreateIncident(ctx context.Context, n NewIncident) (Incident, error) {
	if err := n.Validate(); err != nil {
		return Incident{}, err
	}
	id := s.NewID()
	err := s.write(ctx, "create incident", func(tx *sql.Tx) error {
		_, err := s.createIncidentTx(ctx, tx, id, n)
		return err
	})
	if err != nil {
		return Incident{}, err
	}
	return s.Incident(ctx, id)
}

// createIncidentTx is CreateIncident inside tx, for n already validated. It
// returns the first update's id.
func (s *Store) createIncidentTx(ctx context.Context, tx *sql.Tx, id string, n NewIncident) (string, error) {
	now := s.Now()
	var monitoringAt time.Time
	if n.Status == Monitoring {
		monitoringAt = now
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO incidents(id, kind, name, status, impact, created_at, updated_at, started_at, monitoring_at)
		VALUES (?, 'incident', ?, ?, ?, ?, ?, ?, ?)`, id, n.Name, n.Status, n.Impact, ms(now), ms(now), ms(now), nullMS(monitoringAt)); err != nil {
		return "", err
	}
	inc, err := readIncidentRow(ctx, tx, id)
	if err != nil {
		return "", err
	}
	ch := &incidentChange{inc: inc, actor: n.Actor, old: map[string]ComponentStatus{}}
	if ch.updateID, err = s.insertUpdate(ctx, tx, id, n.Status, n.Body, n.BodyHTML, now); err != nil {
		return "", err
	}
	if err := s.declareTx(ctx, tx, ch, n.Components); err != nil {
		return "", err
	}
	if err := s.audit(ctx, tx, n.Actor, "incident.create", id, n.Name); err != nil {
		return "", err
	}
	return ch.updateID, s.announceTx(ctx, tx, ch, EventIncidentCreated, "", n.Body, !n.Silent)
}

// CreateMaintenance schedules a maintenance with its first update. Its
// components keep their status until it starts: by an update moving it to
// in_progress, or on its own at ScheduledFor when AutoTransition is set (see
// AdvanceMaintenance).
func (s *Store) CreateMaintenance(ctx context.Context, n NewMaintenance) (Incident, error) {
	if err := n.Validate(); err != nil {
		return Incident{}, err
	}
	id := s.NewID()
	err := s.write(ctx, "create maintenance", func(tx *sql.Tx) error {
		_, err := s.createMaintenanceTx(ctx, tx, id, n)
		return err
	})
	if err != nil {
		return Incident{}, err
	}
	return s.Incident(ctx, id)
}

// createMaintenanceTx is CreateMaintenance inside tx, for n already
// validated. It returns the first update's id.
func (s *Store) createMaintenanceTx(ctx context.Context, tx *sql.Tx, id string, n NewMaintenance) (string, error) {
	now := s.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO incidents(id, kind, name, status, impact, created_at, updated_at, started_at,
		scheduled_for, scheduled_until, auto_transition)
		VALUES (?, 'maintenance', ?, 'scheduled', 'maintenance', ?, ?, ?, ?, ?, ?)`,
		id, n.Name, ms(now), ms(now), ms(now), ms(n.ScheduledFor), ms(n.ScheduledUntil), n.AutoTransition); err != nil {
		return "", err
	}
	inc, err := readIncidentRow(ctx, tx, id)
	if err != nil {
		return "", err
	}
	ch := &incidentChange{inc: inc, actor: n.Actor, old: map[string]ComponentStatus{}}
	if ch.updateID, err = s.insertUpdate(ctx, tx, id, Scheduled, n.Body, n.BodyHTML, now); err != nil {
		return "", err
	}
	same := map[string]ComponentStatus{}
	for _, c := range n.ComponentIDs {
		same[c] = "" // linked; nothing declared until the window starts
	}
	if err := s.declareTx(ctx, tx, ch, same); err != nil {
		return "", err
	}
	if err := s.audit(ctx, tx, n.Actor, "maintenance.create", id, n.Name); err != nil {
		return "", err
	}
	return ch.updateID, s.announceTx(ctx, tx, ch, EventMaintenanceScheduled, "", n.Body, !n.Silent)
}

// AddUpdate posts an update on an incident or maintenance, moving it to the
// update's status (see CanMove), in one transaction with the component
// inputs it implies, its audit entry and its event:
//   - components named in the update get the declared status as their
//     incident (or maintenance) input;
//   - resolving an incident, or completing a maintenance, removes all of its
//     inputs, so each component falls back to what its other inputs say;
//   - reopening an incident without naming components declares again what
//     it last declared;
//   - a maintenance moving to in_progress puts its components under
//     maintenance unless the update names other statuses.
//
// Returns ErrNotFound for an unknown incident and ErrConflict for a status
// change its state machine does not allow.
func (s *Store) AddUpdate(ctx context.Context, incidentID string, n NewUpdate) (Incident, error) {
	if err := n.Validate(); err != nil {
		return Incident{}, err
	}
	err := s.write(ctx, "add incident update", func(tx *sql.Tx) error {
		_, err := s.addUpdateTx(ctx, tx, incidentID, n)
		return err
	})
	if err != nil {
		return Incident{}, err
	}
	return s.Incident(ctx, incidentID)
}

// addUpdateTx is AddUpdate inside tx, for n already validated. It returns
// the update's id.
func (s *Store) addUpdateTx(ctx context.Context, tx *sql.Tx, incidentID string, n NewUpdate) (string, error) {
	inc, err := readIncidentRow(ctx, tx, incidentID)
	if err != nil {
		return "", err
	}
	from := inc.status
	if !CanMove(inc.kind, from, n.Status) {
		return "", fmt.Errorf("%s %s cannot go from %s to %s: %w", inc.kind, incidentID, from, n.Status, ErrConflict)
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
		return "", err
	}
	if inc, err = readIncidentRow(ctx, tx, incidentID); err != nil {
		return "", err
	}
	ch := &incidentChange{inc: inc, actor: n.Actor, old: map[string]ComponentStatus{}}
	if ch.updateID, err = s.insertUpdate(ctx, tx, incidentID, n.Status, n.Body, n.BodyHTML, now); err != nil {
		return "", err
	}
	wasOpen := (Incident{Kind: inc.kind, Status: from}).Open()
	isOpen := (Incident{Kind: inc.kind, Status: n.Status}).Open()
	var kind EventKind
	switch {
	case !isOpen:
		// Resolved, postmortem or completed: the incident no longer speaks
		// for its components. (Components named anyway are recorded.)
		if err := s.withdrawTx(ctx, tx, ch); err != nil {
			return "", err
		}
		kind = EventIncidentUpdated
		if wasOpen {
			kind = EventIncidentResolved
		}
		if inc.kind == KindMaintenance {
			kind = EventMaintenanceCompleted
		}
	case inc.kind == KindIncident:
		comps := n.Components
		if len(comps) == 0 && !wasOpen {
			if comps, err = lastDeclared(ctx, tx, incidentID); err != nil {
				return "", err
			}
		}
		if err := s.declareTx(ctx, tx, ch, comps); err != nil {
			return "", err
		}
		kind = EventIncidentUpdated
	default: // an open maintenance
		comps := n.Components
		if n.Status == Scheduled {
			if len(comps) > 0 {
				return "", Invalid("components", "a scheduled maintenance affects no status until it starts")
			}
		} else if len(comps) == 0 && from == Scheduled {
			if comps, err = linkedComponents(ctx, tx, incidentID, UnderMaintenance); err != nil {
				return "", err
			}
		}
		if err := s.declareTx(ctx, tx, ch, comps); err != nil {
			return "", err
		}
		kind = EventMaintenanceUpdated
		if from == Scheduled && n.Status == InProgress {
			kind = EventMaintenanceStarted
		}
	}
	if err := s.audit(ctx, tx, n.Actor, string(inc.kind)+".update", incidentID, fmt.Sprintf("%s → %s", from, n.Status)); err != nil {
		return "", err
	}
	return ch.updateID, s.announceTx(ctx, tx, ch, kind, from, n.Body, !n.Silent)
}

// incidentRow is an incident's own columns, read inside a transaction.
type incidentRow struct {
	id, name                     string
	kind                         Kind
	status                       IncidentStatus
	impact                       Impact
	created, started, sFor, sTil time.Time
	auto                         bool
}

func readIncidentRow(ctx context.Context, tx *sql.Tx, id string) (incidentRow, error) {
	var r incidentRow
	var created, started int64
	var sf, su sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT id, kind, name, status, impact, created_at, started_at, scheduled_for, scheduled_until, auto_transition
		FROM incidents WHERE id = ?`, id).Scan(&r.id, &r.kind, &r.name, &r.status, &r.impact, &created, &started, &sf, &su, &r.auto)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("incident %q: %w", id, ErrNotFound)
	}
	r.created, r.started, r.sFor, r.sTil = fromMS(created), fromMS(started), fromNullMS(sf), fromNullMS(su)
	return r, err
}

// incidentChange collects what one incident update did to its components,
// for the update's record and its event.
type incidentChange struct {
	inc      incidentRow
	updateID string
	actor    string
	old      map[string]ComponentStatus // effective status before, by component
}

func (r incidentRow) source() InputSource {
	if r.kind == KindMaintenance {
		return SourceMaintenance
	}
	return SourceIncident
}

// reason is the "last changed because…" text of the incident's inputs.
func (ch *incidentChange) reason() string {
	if ch.inc.kind == KindMaintenance {
		return `maintenance "` + ch.inc.name + `" started`
	}
	return `incident "` + ch.inc.name + `", posted by ` + ch.actor
}

// declareTx makes each named component's input from this incident the given
// status ("" only links the component), records it on the update, and links
// the component to the incident.
func (s *Store) declareTx(ctx context.Context, tx *sql.Tx, ch *incidentChange, comps map[string]ComponentStatus) error {
	ids := make([]string, 0, len(comps))
	for id := range comps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c, err := s.lockComponent(ctx, tx, id)
		var inv *InvalidError
		switch {
		case errors.Is(err, ErrNotFound):
			return Invalid("components", "unknown component %q", id)
		case errors.As(err, &inv):
			return Invalid("components", "%q is a group; name its components instead", id)
		case err != nil:
			return err
		}
		want := comps[id]
		after := c.status
		if want != "" {
			in := Input{ComponentID: id, Source: ch.inc.source(), Key: ch.inc.id, Status: want, Reason: ch.reason(), Actor: ch.actor}
			sc, err := s.putInputTx(ctx, tx, in)
			if err != nil {
				return err
			}
			if sc != nil {
				after = sc.NewStatus
			}
		}
		if _, ok := ch.old[id]; !ok {
			ch.old[id] = c.status
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_update_components(update_id, component_id, old_status, new_status, declared)
			VALUES (?, ?, ?, ?, ?)`, ch.updateID, id, c.status, after, want); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO incident_components(incident_id, component_id) VALUES (?, ?)", ch.inc.id, id); err != nil {
			return err
		}
	}
	return nil
}

// withdrawTx removes every input of the incident; each component falls back
// to its remaining inputs. Components whose status changed are recorded on
// the update.
func (s *Store) withdrawTx(ctx context.Context, tx *sql.Tx, ch *incidentChange) error {
	rows, err := tx.QueryContext(ctx, "SELECT component_id FROM component_inputs WHERE source = ? AND key = ? ORDER BY component_id",
		ch.inc.source(), ch.inc.id)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	what := "resolved"
	if ch.inc.kind == KindMaintenance {
		what = "completed"
	}
	for _, id := range ids {
		c, err := s.lockComponent(ctx, tx, id)
		if errors.Is(err, ErrNotFound) {
			// Archived since: drop the input without resolving.
			_, err = tx.ExecContext(ctx, "DELETE FROM component_inputs WHERE component_id = ? AND source = ? AND key = ?", id, ch.inc.source(), ch.inc.id)
			if err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		sc, err := s.clearInputTx(ctx, tx, id, ch.inc.source(), ch.inc.id, ch.actor, fmt.Sprintf(`%s "%s" %s`, ch.inc.kind, ch.inc.name, what))
		if err != nil {
			return err
		}
		ch.old[id] = c.status
		after := c.status
		if sc != nil {
			after = sc.NewStatus
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_update_components(update_id, component_id, old_status, new_status, declared)
			VALUES (?, ?, ?, ?, '')`, ch.updateID, id, c.status, after); err != nil {
			return err
		}
	}
	return nil
}

// lastDeclared returns, for each component of the incident, the last status
// an update declared for it.
func lastDeclared(ctx context.Context, tx *sql.Tx, incidentID string) (map[string]ComponentStatus, error) {
	rows, err := tx.QueryContext(ctx, `SELECT uc.component_id, uc.declared FROM incident_update_components uc
		JOIN incident_updates u ON u.id = uc.update_id
		WHERE u.incident_id = ? AND uc.declared != '' ORDER BY u.display_at, u.rowid`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]ComponentStatus{}
	for rows.Next() {
		var id string
		var st ComponentStatus
		if err := rows.Scan(&id, &st); err != nil {
			return nil, err
		}
		m[id] = st // later updates overwrite earlier ones
	}
	return m, rows.Err()
}

// linkedComponents maps each live component of the incident to st.
func linkedComponents(ctx context.Context, tx *sql.Tx, incidentID string, st ComponentStatus) (map[string]ComponentStatus, error) {
	rows, err := tx.QueryContext(ctx, `SELECT ic.component_id FROM incident_components ic JOIN components c ON c.id = ic.component_id
		WHERE ic.incident_id = ? AND c.archived_at IS NULL AND c.is_group = 0`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]ComponentStatus{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		m[id] = st
	}
	return m, rows.Err()
}

// announceTx writes the event of an incident change, with every component
// the incident affects and its status before and after.
func (s *Store) announceTx(ctx context.Context, tx *sql.Tx, ch *incidentChange, kind EventKind, from IncidentStatus, body string, notify bool) error {
	rows, err := tx.QueryContext(ctx, `SELECT c.id, c.name, c.status FROM incident_components ic JOIN components c ON c.id = ic.component_id
		JOIN journeys j ON j.id = c.journey_id WHERE ic.incident_id = ? ORDER BY j.position, c.position`, ch.inc.id)
	if err != nil {
		return err
	}
	var comps []AffectedComponent
	for rows.Next() {
		var a AffectedComponent
		if err := rows.Scan(&a.ComponentID, &a.Name, &a.NewStatus); err != nil {
			rows.Close()
			return err
		}
		a.OldStatus = a.NewStatus
		if o, ok := ch.old[a.ComponentID]; ok {
			a.OldStatus = o
		}
		comps = append(comps, a)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	var status IncidentStatus
	if err := tx.QueryRowContext(ctx, "SELECT status FROM incidents WHERE id = ?", ch.inc.id).Scan(&status); err != nil {
		return err
	}
	inc := ch.inc
	return s.event(ctx, tx, kind, inc.id, &IncidentChanged{IncidentID: inc.id, Kind: inc.kind, Name: inc.name, Impact: inc.impact,
		Status: status, OldStatus: from, CreatedAt: inc.created, StartedAt: inc.started, ScheduledFor: inc.sFor,
		ScheduledUntil: inc.sTil, UpdateID: ch.updateID, Body: body, At: s.Now().UTC(), Components: comps,
		Notify: notify, Actor: ch.actor})
}

func (s *Store) insertUpdate(ctx context.Context, tx *sql.Tx, incidentID string, status IncidentStatus, body, bodyHTML string, now time.Time) (string, error) {
	id := s.NewID()
	_, err := tx.ExecContext(ctx, `INSERT INTO incident_updates(id, incident_id, status, body, body_html, created_at, updated_at, display_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, incidentID, status, body, bodyHTML, ms(now), ms(now), ms(now))
	return id, err
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
		resolved_at, scheduled_for, scheduled_until, auto_transition FROM incidents WHERE `+where+` ORDER BY created_at DESC, id`, args...)
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
			&monitoring, &resolved, &sf, &su, &in.AutoTransition); err != nil {
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
	rows, err = q.QueryContext(ctx, `SELECT uc.update_id, uc.component_id, c.name, uc.old_status, uc.new_status, uc.declared
		FROM incident_update_components uc JOIN incident_updates u ON u.id = uc.update_id
		JOIN components c ON c.id = uc.component_id JOIN journeys j ON j.id = c.journey_id
		WHERE u.incident_id IN (`+sub+`) ORDER BY j.position, c.position`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var uid string
		var a AffectedComponent
		if err := rows.Scan(&uid, &a.ComponentID, &a.Name, &a.OldStatus, &a.NewStatus, &a.Declared); err != nil {
			rows.Close()
			return nil, err
		}
		affected[uid] = append(affected[uid], a)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}

	rows, err = q.QueryContext(ctx, `SELECT id, incident_id, status, body, body_html, created_at, updated_at, display_at
		FROM incident_updates WHERE incident_id IN (`+sub+`) ORDER BY display_at DESC, rowid DESC`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var u IncidentUpdate
		var created, updated, display int64
		if err := rows.Scan(&u.ID, &u.IncidentID, &u.Status, &u.Body, &u.BodyHTML, &created, &updated, &display); err != nil {
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
