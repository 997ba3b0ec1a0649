package data

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// StaffAlert is the payload of the staff alert events: something the team
// should act on, which customers never see. It goes by email to the
// configured staff addresses only.
type StaffAlert struct {
	// IncidentID is the incident whose update is overdue, or the incident
	// a draft would update ("" for a draft that opens a new one).
	IncidentID string `json:"incident_id,omitempty"`
	// DraftID is the waiting draft ("" for an overdue update).
	DraftID string `json:"draft_id,omitempty"`
	// Name is the incident's name, or the draft's title.
	Name   string         `json:"name"`
	Status IncidentStatus `json:"status"`
	// Due is when the next update was promised (overdue updates), or when
	// the maintenance window was to start (late) or end (overrun).
	Due time.Time `json:"due,omitzero"`
	// LastUpdateAt is when the incident was last updated (overdue updates).
	LastUpdateAt time.Time `json:"last_update_at,omitzero"`
	// ProposedBy is who proposed the draft ("statusd" for detection).
	ProposedBy  string `json:"proposed_by,omitempty"`
	JourneyID   string `json:"journey_id,omitempty"`
	JourneyName string `json:"journey_name,omitempty"`
	// Components are what the draft would declare, or what the incident
	// affects, with the status each shows now (NewStatus) and, for a
	// draft, the status it would declare (Declared).
	Components []AffectedComponent `json:"components"`
	At         time.Time           `json:"at"`
}

func (*StaffAlert) eventPayload() {}

// SendStaffAlerts writes a staff alert event for each open incident whose
// promised next update ("next update by") has passed, once per promise;
// for each pending draft proposed by detection, once per draft; and for
// each maintenance window without automatic transitions that passed its
// start without being started, or its end without being completed, once
// per scheduled time. Each
// alert is one transaction with its record, so it is sent exactly once,
// also across restarts; a draft published or discarded before the check
// gets none. It returns how many alerts it wrote.
func (s *Store) SendStaffAlerts(ctx context.Context) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	now := s.Now()
	type due struct {
		key, subject string
		kind         EventKind
	}
	var list []due
	rows, err := s.reader.QueryContext(ctx, `SELECT i.id, d.next_update_by FROM incident_details d JOIN incidents i ON i.id = d.incident_id
		WHERE d.next_update_by IS NOT NULL AND d.next_update_by <= ? AND i.kind = 'incident' AND i.status NOT IN ('resolved', 'postmortem', 'completed')
		ORDER BY d.next_update_by`, ms(now))
	if err != nil {
		return 0, fmt.Errorf("list overdue updates: %w", err)
	}
	for rows.Next() {
		var id string
		var by int64
		if err := rows.Scan(&id, &by); err != nil {
			rows.Close()
			return 0, fmt.Errorf("list overdue updates: %w", err)
		}
		list = append(list, due{key: "overdue:" + id + ":" + strconv.FormatInt(by, 10), subject: id, kind: EventUpdateOverdue})
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("list overdue updates: %w", err)
	}
	rows, err = s.reader.QueryContext(ctx, `SELECT id FROM incident_drafts
		WHERE proposed_by != '' AND published_at IS NULL AND discarded_at IS NULL ORDER BY created_at`)
	if err != nil {
		return 0, fmt.Errorf("list waiting drafts: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("list waiting drafts: %w", err)
		}
		list = append(list, due{key: "draft:" + id, subject: id, kind: EventDraftWaiting})
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("list waiting drafts: %w", err)
	}
	// Manual maintenance windows late to start, or overrunning their end.
	rows, err = s.reader.QueryContext(ctx, `SELECT id, status, scheduled_for, scheduled_until FROM incidents
		WHERE kind = 'maintenance' AND auto_transition = 0 AND (
			(status = 'scheduled' AND scheduled_for <= ?) OR (status IN ('in_progress', 'verifying') AND scheduled_until <= ?))
		ORDER BY scheduled_for`, ms(now), ms(now))
	if err != nil {
		return 0, fmt.Errorf("list late maintenance: %w", err)
	}
	for rows.Next() {
		var id, status string
		var from, until sql.NullInt64
		if err := rows.Scan(&id, &status, &from, &until); err != nil {
			rows.Close()
			return 0, fmt.Errorf("list late maintenance: %w", err)
		}
		if IncidentStatus(status) == Scheduled {
			list = append(list, due{key: "late:" + id + ":" + strconv.FormatInt(from.Int64, 10), subject: id, kind: EventMaintenanceLate})
		} else {
			list = append(list, due{key: "overrun:" + id + ":" + strconv.FormatInt(until.Int64, 10), subject: id, kind: EventMaintenanceOverrun})
		}
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("list late maintenance: %w", err)
	}
	n := 0
	for _, d := range list {
		// Most are sent already: a read decides before any write.
		var one int
		err := s.reader.QueryRowContext(ctx, "SELECT 1 FROM staff_alerts WHERE key = ?", d.key).Scan(&one)
		if err == nil {
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return n, fmt.Errorf("read staff alerts: %w", err)
		}
		err = s.write(ctx, "send staff alert", func(tx *sql.Tx) error {
			var a *StaffAlert
			var err error
			switch d.kind {
			case EventUpdateOverdue:
				a, err = s.overdueAlertTx(ctx, tx, d.subject, now)
			case EventDraftWaiting:
				a, err = s.draftAlertTx(ctx, tx, d.subject)
			default:
				a, err = s.maintenanceAlertTx(ctx, tx, d.subject, d.kind, now)
			}
			if err != nil {
				return err
			}
			if a == nil {
				return errSkip // updated, resolved, published or discarded since
			}
			res, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO staff_alerts(key, sent_at) VALUES (?, ?)", d.key, ms(now))
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 0 {
				return errSkip // another process sent it
			}
			a.At = now.UTC()
			return s.event(ctx, tx, d.kind, d.subject, a)
		})
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// overdueAlertTx reads an incident whose update is overdue; nil when it no
// longer is (updated or resolved since the list was read).
func (s *Store) overdueAlertTx(ctx context.Context, tx *sql.Tx, id string, now time.Time) (*StaffAlert, error) {
	var name, status string
	var updated int64
	var by sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT i.name, i.status, i.updated_at, d.next_update_by FROM incidents i JOIN incident_details d ON d.incident_id = i.id
		WHERE i.id = ?`, id).Scan(&name, &status, &updated, &by)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	inc := Incident{Kind: KindIncident, Status: IncidentStatus(status)}
	if !inc.Open() || !by.Valid || fromMS(by.Int64).After(now) {
		return nil, nil
	}
	comps, err := incidentComponentsTx(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	return &StaffAlert{IncidentID: id, Name: name, Status: inc.Status, Due: fromMS(by.Int64).UTC(), LastUpdateAt: fromMS(updated).UTC(),
		Components: comps}, nil
}

// maintenanceAlertTx reads a maintenance window late to start (kind
// EventMaintenanceLate) or overrunning (EventMaintenanceOverrun); nil when
// it no longer is.
func (s *Store) maintenanceAlertTx(ctx context.Context, tx *sql.Tx, id string, kind EventKind, now time.Time) (*StaffAlert, error) {
	r, err := readIncidentRow(ctx, tx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if r.kind != KindMaintenance || r.auto {
		return nil, nil
	}
	a := &StaffAlert{IncidentID: id, Name: r.name, Status: r.status}
	switch {
	case kind == EventMaintenanceLate && r.status == Scheduled && !r.sFor.IsZero() && !r.sFor.After(now):
		a.Due = r.sFor.UTC()
	case kind == EventMaintenanceOverrun && (r.status == InProgress || r.status == Verifying) && !r.sTil.IsZero() && !r.sTil.After(now):
		a.Due = r.sTil.UTC()
	default:
		return nil, nil
	}
	if a.Components, err = incidentComponentsTx(ctx, tx, id); err != nil {
		return nil, err
	}
	return a, nil
}

// draftAlertTx reads a waiting draft; nil when it no longer waits.
func (s *Store) draftAlertTx(ctx context.Context, tx *sql.Tx, id string) (*StaffAlert, error) {
	d, err := readDraftTx(ctx, tx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !d.Pending() {
		return nil, nil
	}
	a := &StaffAlert{DraftID: d.ID, IncidentID: d.IncidentID, Name: d.Name, Status: d.Status, ProposedBy: d.ProposedBy, JourneyID: d.JourneyID,
		Components: []AffectedComponent{}}
	if d.JourneyID != "" {
		if err := tx.QueryRowContext(ctx, "SELECT name FROM journeys WHERE id = ?", d.JourneyID).Scan(&a.JourneyName); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	ids := make([]string, 0, len(d.Components))
	for cid := range d.Components {
		ids = append(ids, cid)
	}
	sort.Strings(ids)
	for _, cid := range ids {
		c := AffectedComponent{ComponentID: cid, Declared: d.Components[cid]}
		err := tx.QueryRowContext(ctx, "SELECT name, status FROM components WHERE id = ?", cid).Scan(&c.Name, &c.NewStatus)
		if errors.Is(err, sql.ErrNoRows) {
			continue // archived or gone since
		}
		if err != nil {
			return nil, err
		}
		c.OldStatus = c.NewStatus
		a.Components = append(a.Components, c)
	}
	return a, nil
}
