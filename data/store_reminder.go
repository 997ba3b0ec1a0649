package data

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// SendMaintenanceReminders writes a maintenance.reminder event for each
// scheduled window whose start is within one of the offsets (24h, 1h…)
// from now, once per window and offset. A window announced after a
// reminder's time gets no such reminder ("starts in 24 hours" would be
// wrong), and when several are due at once (statusd was down) only the
// nearest goes out. Each reminder is one transaction with its record, so
// it is sent exactly once. It returns how many reminders it wrote.
func (s *Store) SendMaintenanceReminders(ctx context.Context, offsets []time.Duration) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	if len(offsets) == 0 {
		return 0, nil
	}
	offs := append([]time.Duration(nil), offsets...)
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	now := s.Now()
	rows, err := s.reader.QueryContext(ctx, `SELECT id, scheduled_for, created_at FROM incidents
		WHERE kind = 'maintenance' AND status = 'scheduled' AND scheduled_for > ? AND scheduled_for <= ?`, ms(now), ms(now.Add(offs[len(offs)-1])))
	if err != nil {
		return 0, fmt.Errorf("list maintenance for reminders: %w", err)
	}
	type due struct {
		id          string
		start, made time.Time
	}
	var list []due
	for rows.Next() {
		var d due
		var st, cr int64
		if err := rows.Scan(&d.id, &st, &cr); err != nil {
			rows.Close()
			return 0, fmt.Errorf("list maintenance for reminders: %w", err)
		}
		d.start, d.made = fromMS(st), fromMS(cr)
		list = append(list, d)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("list maintenance for reminders: %w", err)
	}
	n := 0
	for _, d := range list {
		err := s.write(ctx, "send maintenance reminder", func(tx *sql.Tx) error {
			inc, err := readIncidentRow(ctx, tx, d.id)
			if err != nil {
				return err
			}
			if inc.status != Scheduled || !inc.sFor.After(now) {
				return errSkip
			}
			sent := false
			for _, off := range offs { // nearest first
				at := inc.sFor.Add(-off)
				if now.Before(at) || !d.made.Before(at) {
					continue
				}
				res, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO maintenance_reminders(incident_id, before_ms, sent_at) VALUES (?, ?, ?)",
					d.id, off.Milliseconds(), ms(now))
				if err != nil {
					return err
				}
				if k, _ := res.RowsAffected(); k == 0 || sent {
					continue // sent before, or a nearer one goes out now
				}
				sent = true
				ch := &incidentChange{inc: inc, actor: "statusd", old: map[string]ComponentStatus{}}
				if err := s.announceReminderTx(ctx, tx, ch, off); err != nil {
					return err
				}
			}
			if !sent {
				return errSkip
			}
			n++
			return nil
		})
		if err != nil && !errors.Is(err, errSkip) {
			return n, err
		}
	}
	return n, nil
}

func (s *Store) announceReminderTx(ctx context.Context, tx *sql.Tx, ch *incidentChange, before time.Duration) error {
	comps, err := incidentComponentsTx(ctx, tx, ch.inc.id)
	if err != nil {
		return err
	}
	inc := ch.inc
	if err := s.audit(ctx, tx, "statusd", "maintenance.reminder", inc.id, "starts in "+before.String()); err != nil {
		return err
	}
	return s.event(ctx, tx, EventMaintenanceReminder, inc.id, &IncidentChanged{IncidentID: inc.id, Kind: inc.kind, Name: inc.name,
		Impact: inc.impact, Status: inc.status, CreatedAt: inc.created, StartedAt: inc.started, ScheduledFor: inc.sFor,
		ScheduledUntil: inc.sTil, At: s.Now().UTC(), Components: comps, Notify: true, Actor: "statusd", Reminder: before})
}

// incidentComponentsTx lists the components an incident affects, in page
// order, each with the status it shows now (as both old and new).
func incidentComponentsTx(ctx context.Context, tx *sql.Tx, incidentID string) ([]AffectedComponent, error) {
	rows, err := tx.QueryContext(ctx, `SELECT c.id, c.name, c.status FROM incident_components ic JOIN components c ON c.id = ic.component_id
		JOIN journeys j ON j.id = c.journey_id WHERE ic.incident_id = ? ORDER BY j.position, c.position`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	comps := []AffectedComponent{}
	for rows.Next() {
		var a AffectedComponent
		if err := rows.Scan(&a.ComponentID, &a.Name, &a.NewStatus); err != nil {
			return nil, err
		}
		a.OldStatus = a.NewStatus
		comps = append(comps, a)
	}
	return comps, rows.Err()
}

// MaintenanceSeries is a recurring maintenance window: an RFC 5545 RRULE
// in a named time zone, expanded ahead of time into ordinary windows.
type MaintenanceSeries struct {
	ID             string
	Name           string
	RRule          string // e.g. FREQ=WEEKLY;BYDAY=SU
	TimeZone       string // IANA name; the rule's times are wall-clock times there
	FirstStart     time.Time
	Duration       time.Duration
	ComponentIDs   []string
	Body           string // Markdown of each window's first update
	AutoTransition bool
	Notify         bool
	CreatedBy      string
	CreatedAt      time.Time
	EndedAt        time.Time // zero while it recurs
}

// Validate checks a series; the RRULE itself is checked by the caller,
// which expands it.
func (m *MaintenanceSeries) Validate() error {
	if err := ValidateText("name", m.Name, 200, true, false); err != nil {
		return err
	}
	if err := ValidateText("rrule", m.RRule, 500, true, false); err != nil {
		return err
	}
	if _, err := time.LoadLocation(m.TimeZone); err != nil || m.TimeZone == "" {
		return Invalid("time_zone", "%q is not a time zone name such as Europe/Berlin", m.TimeZone)
	}
	if m.FirstStart.IsZero() {
		return Invalid("first_start", "a recurring window needs its first start")
	}
	if m.Duration < time.Minute || m.Duration > 7*24*time.Hour {
		return Invalid("duration", "must be between 1 minute and 7 days")
	}
	if len(m.ComponentIDs) > 500 {
		return Invalid("components", "at most 500 components")
	}
	for _, id := range m.ComponentIDs {
		if err := ValidateID("components", id); err != nil {
			return err
		}
	}
	if err := ValidateText("body", m.Body, MaxBodyLength, true, true); err != nil {
		return err
	}
	return validateActor(m.CreatedBy)
}

// CreateMaintenanceSeries stores a recurring window; ExpandSeries makes its
// windows.
func (s *Store) CreateMaintenanceSeries(ctx context.Context, m MaintenanceSeries) (MaintenanceSeries, error) {
	if err := m.Validate(); err != nil {
		return MaintenanceSeries{}, err
	}
	m.ID = "s" + s.NewID()
	comps, _ := json.Marshal(append([]string{}, m.ComponentIDs...)) // strings always encode
	err := s.writeQuiet(ctx, "create maintenance series", func(tx *sql.Tx) error {
		in := DraftInput{Kind: KindMaintenance, Name: m.Name, Body: m.Body, Components: map[string]ComponentStatus{},
			ScheduledFor: m.FirstStart, ScheduledUntil: m.FirstStart.Add(m.Duration), Actor: m.CreatedBy}
		for _, id := range m.ComponentIDs {
			in.Components[id] = ""
		}
		if err := s.checkDraftTx(ctx, tx, &in); err != nil {
			return err
		}
		now := ms(s.Now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO maintenance_series(id, name, rrule, time_zone, first_start, duration_ms, components, body,
			auto_transition, notify, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ID, m.Name, m.RRule, m.TimeZone, ms(m.FirstStart), m.Duration.Milliseconds(), string(comps), m.Body, m.AutoTransition, m.Notify,
			m.CreatedBy, now, now); err != nil {
			return err
		}
		return s.auditChange(ctx, tx, AuditChange{Actor: m.CreatedBy, Action: "maintenance.series.create", Subject: m.ID,
			Detail: m.Name + " (" + m.RRule + " in " + m.TimeZone + ")", After: m})
	})
	if err != nil {
		return MaintenanceSeries{}, err
	}
	return m, nil
}

// EndMaintenanceSeries stops a series from making further windows; those
// already scheduled stay. Returns ErrNotFound for an unknown series.
func (s *Store) EndMaintenanceSeries(ctx context.Context, id, actor string) error {
	return s.writeQuiet(ctx, "end maintenance series", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE maintenance_series SET ended_at = ?, updated_at = ? WHERE id = ? AND ended_at IS NULL", ms(s.Now()), ms(s.Now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("series %q: %w", id, ErrNotFound)
		}
		return s.auditChange(ctx, tx, AuditChange{Actor: actor, Action: "maintenance.series.end", Subject: id})
	})
}

// MaintenanceSeriesList returns the series, those still recurring first.
func (s *Store) MaintenanceSeriesList(ctx context.Context) ([]MaintenanceSeries, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT id, name, rrule, time_zone, first_start, duration_ms, components, body, auto_transition, notify,
		created_by, created_at, ended_at FROM maintenance_series ORDER BY ended_at IS NOT NULL, created_at`)
	if err != nil {
		return nil, fmt.Errorf("list maintenance series: %w", err)
	}
	defer rows.Close()
	var out []MaintenanceSeries
	for rows.Next() {
		var m MaintenanceSeries
		var first, dur, created int64
		var comps string
		var ended sql.NullInt64
		if err := rows.Scan(&m.ID, &m.Name, &m.RRule, &m.TimeZone, &first, &dur, &comps, &m.Body, &m.AutoTransition, &m.Notify,
			&m.CreatedBy, &created, &ended); err != nil {
			return nil, fmt.Errorf("list maintenance series: %w", err)
		}
		m.FirstStart, m.Duration, m.CreatedAt, m.EndedAt = fromMS(first), time.Duration(dur)*time.Millisecond, fromMS(created), fromNullMS(ended)
		if err := json.Unmarshal([]byte(comps), &m.ComponentIDs); err != nil {
			return nil, fmt.Errorf("series %s components: %w", m.ID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ScheduleOccurrences makes a maintenance window for each start of a
// series that has none yet, each in its own transaction with its update,
// audit entry and event (rendered body given by the caller). It returns
// how many it made.
func (s *Store) ScheduleOccurrences(ctx context.Context, m MaintenanceSeries, starts []time.Time, body RenderedBody) (int, error) {
	if err := body.validate(); err != nil {
		return 0, err
	}
	n := 0
	for _, st := range starts {
		err := s.write(ctx, "schedule maintenance occurrence", func(tx *sql.Tx) error {
			var ended sql.NullInt64
			if err := tx.QueryRowContext(ctx, "SELECT ended_at FROM maintenance_series WHERE id = ?", m.ID).Scan(&ended); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("series %q: %w", m.ID, ErrNotFound)
				}
				return err
			}
			if ended.Valid {
				return errSkip
			}
			var one int
			err := tx.QueryRowContext(ctx, "SELECT 1 FROM maintenance_occurrences WHERE series_id = ? AND starts_at = ?", m.ID, ms(st)).Scan(&one)
			if err == nil {
				return errSkip
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			id := s.NewID()
			nm := NewMaintenance{Name: m.Name, Body: body.Text, BodyHTML: body.HTML, ScheduledFor: st, ScheduledUntil: st.Add(m.Duration),
				ComponentIDs: m.ComponentIDs, Actor: "statusd", AutoTransition: m.AutoTransition, Silent: !m.Notify}
			if err := nm.Validate(); err != nil {
				return err
			}
			if _, err := s.createMaintenanceTx(ctx, tx, id, nm); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO maintenance_occurrences(series_id, starts_at, incident_id) VALUES (?, ?, ?)", m.ID, ms(st), id); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, "INSERT INTO incident_details(incident_id, series_id) VALUES (?, ?)", id, m.ID)
			return err
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
